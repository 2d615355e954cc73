/**
 * Fabricates a backup set over time from one real backup: each clone gets a
 * proper id for its time (ids embed the UTC time, and parseManifest checks
 * id, file names and database agree), a copy of the data file (so checksums
 * still verify) and the data file's mtime set to that time. A clone of an
 * incremental backup copies its page map: it references the same packs.
 */
import { copyFileSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BackupKind, Manifest } from "../../src/lib/model/manifest.ts";
import { dataFileName, manifestFileName, mapFileName, newBackupId } from "../../src/lib/model/names.ts";

export interface FabricateSpec {
  at: string;
  kind?: BackupKind;
  tags?: string[];
}

export interface Fabricated {
  id: string;
  created_at: string;
  kind: BackupKind;
  manifest_path: string;
  data_path: string;
}

/** Clones the backup whose manifest is `templateManifest` into `folder` (database `database`) once per spec. */
export function fabricateBackups(
  templateManifest: string,
  folder: string,
  database: string,
  specs: FabricateSpec[],
): Fabricated[] {
  const template = JSON.parse(readFileSync(templateManifest, "utf8")) as Manifest;
  const templateData = join(templateManifest, "..", template.stored.file);
  return specs.map((spec) => {
    const at = new Date(spec.at);
    const id = newBackupId(database, at);
    const encrypted = template.stored.encryption !== null;
    const file =
      template.stored.format === "pages"
        ? mapFileName(id, encrypted)
        : dataFileName(id, template.stored.compression, encrypted);
    const manifest: Manifest = {
      ...template,
      id,
      database,
      created_at: at.toISOString(),
      kind: spec.kind ?? "scheduled",
      tags: spec.tags ?? [],
      stored: { ...template.stored, file },
      verifications: [],
    };
    const dataPath = join(folder, file);
    const manifestPath = join(folder, manifestFileName(id));
    copyFileSync(templateData, dataPath);
    utimesSync(dataPath, at, at);
    writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    return {
      id,
      created_at: manifest.created_at,
      kind: manifest.kind,
      manifest_path: manifestPath,
      data_path: dataPath,
    };
  });
}
