/**
 * What every new manifest records, whatever stores the backup's bytes (one
 * data file or a page map over packs): the shared fields, the shrink guard
 * and the source's mode and owner.
 */
import { statSync } from "node:fs";
import type { ResolvedDatabase } from "../config/index.ts";
import {
  type BackupKind,
  describeWalStarvation,
  detectShrink,
  MANIFEST_FORMAT,
  type Manifest,
  shrinkReference,
  walStarvationOf,
} from "../model/index.ts";
import type { CheckResult, DatabaseFacts } from "../snapshot/index.ts";
import type { BackupListing } from "../store/index.ts";
import { hostName, SQLBAK_VERSION } from "../system/index.ts";

/** What a run was asked for that its manifest records. */
export interface ManifestRequest {
  kind: BackupKind;
  tags: string[];
  /** `--accept-shrink` */
  acceptShrink?: boolean;
}

export interface ManifestFields {
  id: string;
  db: ResolvedDatabase;
  opts: ManifestRequest;
  started: Date;
  stat: Manifest["source_stat"];
  /** `wal_frames`/`wal_bytes`: page-level snapshots only. */
  snap: { method: Manifest["snapshot"]["method"]; journal_mode: string; wal_frames?: number; wal_bytes?: number };
  facts: DatabaseFacts;
  raw: Manifest["raw"];
  stored: Manifest["stored"];
  /** `reused_from`: the backup whose check and facts stand for this image (pages backups). */
  check: CheckResult & { reused_from?: string };
  shrunk: Manifest["shrunk"] | null;
}

/** The manifest of a backup just stored; `duration_ms` runs to now. */
export function newManifest(f: ManifestFields): Manifest {
  return {
    format: MANIFEST_FORMAT,
    id: f.id,
    database: f.db.name,
    source: f.db.path,
    source_stat: f.stat,
    created_at: f.started.toISOString(),
    kind: f.opts.kind,
    tags: f.opts.tags,
    snapshot: { method: f.snap.method, journal_mode: f.snap.journal_mode, ...f.facts, ...walFields(f.snap) },
    raw: f.raw,
    stored: f.stored,
    check: {
      level: f.check.level,
      ok: f.check.ok,
      result: f.check.result,
      ...(f.check.reused_from ? { reused_from: f.check.reused_from } : {}),
    },
    duration_ms: Date.now() - f.started.getTime(),
    host: hostName(),
    sqlbak_version: SQLBAK_VERSION,
    verifications: [],
    ...(f.shrunk ? { shrunk: f.shrunk } : {}),
    ...(f.shrunk && f.opts.acceptShrink ? { shrink_accepted: true } : {}),
  };
}

function walFields(snap: ManifestFields["snap"]): Pick<Manifest["snapshot"], "wal_frames" | "wal_bytes"> {
  if (snap.wal_frames === undefined || snap.wal_bytes === undefined) return {};
  return { wal_frames: snap.wal_frames, wal_bytes: snap.wal_bytes };
}

/** The checkpoint-starvation warning a new backup's manifest calls for, or null. */
export function walWarning(m: Manifest): string | null {
  const w = walStarvationOf(m);
  return w ? describeWalStarvation(m.database, w, m.raw.size) : null;
}

/**
 * The shrink against the folder's earlier backups (its listing under this
 * backup's lock), or null. Pre-restore copies may be of another file: only
 * scheduled and manual backups are compared.
 */
export function shrinkOf(
  listing: Pick<BackupListing, "backups">,
  opts: ManifestRequest,
  rawSize: number,
  facts: DatabaseFacts,
): Manifest["shrunk"] | null {
  if (opts.kind === "pre-restore") return null;
  const earlier = listing.backups.map((b) => b.manifest);
  return detectShrink(shrinkReference(earlier), {
    rawSize,
    pageCount: facts.page_count,
    tableCount: Object.keys(facts.tables).length,
  });
}

/** Mode and owner of the live file, so a restore to a new path can give them back; see docs/restore.md. */
export function sourceStat(path: string): Manifest["source_stat"] {
  try {
    const st = statSync(path);
    return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  } catch {
    return undefined; // the snapshot reports a missing source precisely
  }
}
