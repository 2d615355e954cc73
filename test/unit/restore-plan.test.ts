import { describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedConfig } from "../../src/lib/config/resolved.ts";
import type { BackupKind, Manifest } from "../../src/lib/model/manifest.ts";
import {
  parseAtTime,
  parseRestoreSelector,
  planRestore,
  selectBackup,
  undoCommand,
  undoKeptCommand,
} from "../../src/lib/restore/plan.ts";
import type { StoredBackup } from "../../src/lib/store/list.ts";
import { tempDir } from "../helpers/tmp.ts";

// Local time on purpose: relative forms are calendar arithmetic in the operator's zone.
const NOW = new Date(2026, 10, 22, 12, 30, 0, 0);

function backup(
  createdAt: Date,
  kind: BackupKind = "manual",
  id = `app-${createdAt.toISOString().replace(/[-:.]/g, "")}-0000abcd`,
): StoredBackup {
  const manifest = {
    id,
    database: "app",
    created_at: createdAt.toISOString(),
    kind,
    source: "/srv/app.db",
    check: { level: "quick", ok: true },
    verifications: [],
  } as unknown as Manifest;
  return { manifest, manifestPath: `/b/${id}.json`, dataPath: `/b/${id}.sqlite.zst` };
}

describe("parseAtTime", () => {
  it.each([
    ["now", new Date(NOW)],
    ["2h ago", new Date(2026, 10, 22, 10, 30)],
    ["2 hours ago", new Date(2026, 10, 22, 10, 30)],
    ["1h30m ago", new Date(2026, 10, 22, 11, 0)],
    ["90m ago", new Date(2026, 10, 22, 11, 0)],
    ["3d ago", new Date(NOW.getTime() - 3 * 86_400_000)],
    ["3 days ago", new Date(NOW.getTime() - 3 * 86_400_000)],
    ["1 week ago", new Date(NOW.getTime() - 7 * 86_400_000)],
    ["45 minutes ago", new Date(2026, 10, 22, 11, 45)],
    ["today", new Date(NOW)],
    ["today 08:15", new Date(2026, 10, 22, 8, 15)],
    ["yesterday", new Date(2026, 10, 21, 23, 59, 59, 999)],
    ["yesterday 18:00", new Date(2026, 10, 21, 18, 0)],
    ["Yesterday  18:00:30", new Date(2026, 10, 21, 18, 0, 30, 999)],
    ["2026-11-20", new Date(2026, 10, 20, 23, 59, 59, 999)],
    ["2026-11-20 18:00", new Date(2026, 10, 20, 18, 0)],
    ["2026-11-20T18:00:05", new Date(2026, 10, 20, 18, 0, 5, 999)],
    ["2026-11-20T18:00:00Z", new Date(Date.UTC(2026, 10, 20, 18, 0, 0, 999))],
    ["2026-11-20T18:00:00.250Z", new Date(Date.UTC(2026, 10, 20, 18, 0, 0, 250))],
    ["2026-11-20T18:00+02:00", new Date(Date.UTC(2026, 10, 20, 16))],
    ["2026-11-20T18:00:00+0200", new Date(Date.UTC(2026, 10, 20, 16, 0, 0, 999))],
    ["2026-11-20 18:00:05 +02:00", new Date(Date.UTC(2026, 10, 20, 16, 0, 5, 999))],
  ])("reads %p", (text, expected) => {
    expect(parseAtTime(text, NOW)).toEqual(expected);
  });

  it.each([
    "",
    "soon",
    "2 fortnights ago",
    "ago",
    "yesterday 25:00",
    "today 12:61",
    "2026-02-30",
    "2026-13-01",
    "2026-11-20 24:00",
    "20261120",
    "next tuesday",
  ])("rejects %p", (text) => {
    expect(parseAtTime(text, NOW)).toBeNull();
  });
});

describe("parseRestoreSelector", () => {
  it("returns null when nothing selects a backup", () => {
    expect(parseRestoreSelector({}, NOW)).toBeNull();
  });
  it("reads each selector", () => {
    expect(parseRestoreSelector({ latest: true }, NOW)).toEqual({ kind: "latest" });
    expect(parseRestoreSelector({ id: "app-20261122T050607123Z-0123abcd" }, NOW)).toEqual({
      kind: "id",
      id: "app-20261122T050607123Z-0123abcd",
    });
    expect(parseRestoreSelector({ at: "2h ago" }, NOW)).toEqual({
      kind: "at",
      at: new Date(2026, 10, 22, 10, 30),
      text: "2h ago",
    });
  });
  it.each([
    [{ id: "app-20261122T050607123Z-0123abcd", latest: true }, "choose one of --id, --latest"],
    [{ id: "../../etc/passwd" }, '"../../etc/passwd" is not a backup id'],
    [{ at: "whenever" }, 'cannot read --at "whenever"'],
  ])("refuses %p", (opts, message) => {
    expect(() => parseRestoreSelector(opts, NOW)).toThrow(message);
  });
});

describe("selectBackup", () => {
  const a = backup(new Date(2026, 10, 20, 18, 0));
  const b = backup(new Date(2026, 10, 21, 18, 0));
  const pre = backup(new Date(2026, 10, 22, 9, 0), "pre-restore");
  const all = [a, b, pre];

  it("--latest is the newest backup that is not a pre-restore one", () => {
    expect(selectBackup(all, { kind: "latest" })).toBe(b);
  });
  it("--at is the newest at or before the time, skipping pre-restore backups", () => {
    expect(selectBackup(all, { kind: "at", at: new Date(2026, 10, 21, 18, 0), text: "" })).toBe(b);
    expect(selectBackup(all, { kind: "at", at: new Date(2026, 10, 21, 17, 59), text: "" })).toBe(a);
    expect(selectBackup(all, { kind: "at", at: NOW, text: "" })).toBe(b);
  });
  it("--id finds any backup, pre-restore ones included", () => {
    expect(selectBackup(all, { kind: "id", id: pre.manifest.id })).toBe(pre);
  });
  it.each([
    [
      [a, b],
      { kind: "at", at: new Date(2026, 10, 1), text: "2026-11-01" },
      "no backup at or before 2026-11-01 00:00:00",
    ],
    [
      [a, b],
      { kind: "id", id: "app-20200101T000000000Z-00000000" },
      "no backup with id app-20200101T000000000Z-00000000",
    ],
    [[], { kind: "latest" }, "there are no backups to restore"],
    [[pre], { kind: "latest" }, "there are only pre-restore backups; restore one of those by --id"],
  ] as const)("refuses when nothing matches (%#)", (backups, sel, message) => {
    expect(() => selectBackup([...backups], sel as never)).toThrow(message);
  });
});

describe("planRestore", () => {
  function config(dir: string): ResolvedConfig {
    const db = {
      name: "app",
      path: join(dir, "app.db"),
      probes: [],
      check: "quick",
      compression: "zstd",
      compressionLevel: 3,
      maxAgeMs: 0,
      verifyMaxAgeMs: 0,
    };
    return {
      file: join(dir, "sqlbak.toml"),
      backupDir: join(dir, "backups"),
      compression: "zstd",
      compressionLevel: 3,
      check: "quick",
      lockTimeoutMs: 1000,
      logFile: join(dir, "log"),
      maxAgeMs: 0,
      verifyMaxAgeMs: 0,
      databases: [db],
    } as unknown as ResolvedConfig;
  }
  const b = backup(new Date(2026, 10, 20, 18, 0));

  it("targets the configured database, keeping the replaced file (or a pre-restore backup) when it exists", () => {
    const dir = tempDir();
    expect(planRestore(config(dir), b, { force: false })).toMatchObject({
      target: join(dir, "app.db"),
      targetExists: false,
      preRestore: null,
      toOther: false,
    });
    writeFileSync(join(dir, "app.db"), "");
    const plan = planRestore(config(dir), b, { force: false });
    expect(plan).toMatchObject({
      targetExists: true,
      preRestore: { name: "app", path: join(dir, "app.db") },
      preRestoreMode: "keep",
      undoNeedsTo: false,
    });
    const kept = join(dir, "app.db.pre-restore-20261122T050607123Z");
    expect(undoKeptCommand(plan, kept)).toBe(`sqlbak restore app --file ${kept} --yes`);
    const backupPlan = planRestore(config(dir), b, { force: false, preRestoreMode: "backup" });
    expect(backupPlan).toMatchObject({ preRestore: { name: "app" }, preRestoreMode: "backup" });
    expect(undoCommand(backupPlan, "app-20261122T050607123Z-0123abcd")).toBe(
      "sqlbak restore app --id app-20261122T050607123Z-0123abcd --yes",
    );
  });

  it("restores --to a new file without touching the configured one", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "app.db"), "");
    expect(planRestore(config(dir), b, { to: "copy.db", force: false, cwd: dir })).toMatchObject({
      target: join(dir, "copy.db"),
      targetExists: false,
      toOther: true,
      preRestore: null,
    });
  });

  it("refuses an existing --to file without --force; with it, undo needs --to and --force", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "my copy.db"), "");
    expect(() => planRestore(config(dir), b, { to: "my copy.db", force: false, cwd: dir })).toThrow(
      `refusing to overwrite existing file ${join(dir, "my copy.db")}; pass --force to replace it`,
    );
    const plan = planRestore(config(dir), b, { to: "my copy.db", force: true, cwd: dir });
    expect(undoCommand(plan, "app-20261122T050607123Z-0123abcd")).toBe(
      `sqlbak restore app --id app-20261122T050607123Z-0123abcd --to '${join(dir, "my copy.db")}' --force --yes`,
    );
    const kept = join(dir, "my copy.db.pre-restore-20261122T050607123Z");
    expect(undoKeptCommand(plan, kept)).toBe(
      `sqlbak restore app --file '${kept}' --to '${join(dir, "my copy.db")}' --force --yes`,
    );
  });

  it.each([
    [
      "an unconfigured database without --to",
      (c: ResolvedConfig) => ({ ...c, databases: [] }),
      {},
      'database "app" is not in the config, so there is no target to restore to; give --to PATH',
    ],
    [
      "a folder that does not exist",
      (c: ResolvedConfig) => c,
      { to: "/nonexistent-dir/x.db" },
      "cannot restore to /nonexistent-dir/x.db: folder /nonexistent-dir does not exist",
    ],
    [
      "a target that is a directory",
      (c: ResolvedConfig) => c,
      { to: "/tmp", force: true },
      "cannot restore to /tmp: not a regular file",
    ],
  ])("refuses %s", (_what, tweak, opts, message) => {
    const dir = tempDir();
    expect(() => planRestore(tweak(config(dir)), b, { force: false, ...opts })).toThrow(message);
  });
});
