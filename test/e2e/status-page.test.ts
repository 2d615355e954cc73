/**
 * `stats --html FILE` through the compiled binary, rendered for real in headless Chromium (file://, no
 * network): the DOM must hold each database's backups and every problem `stats --check` names, for full
 * and incremental backups, an encrypted setup, empty folders and an empty setup. Screenshots are kept in
 * test-artifacts/ (gitignored) for a person to look at.
 */
import { describe, expect, it } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { flipByte, withDatabase } from "../helpers/backups.ts";
import { dumpDom, pngSize, screenshot } from "../helpers/chromium.ts";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { readStatusPage } from "../helpers/status-page-dom.ts";
import { tempDir } from "../helpers/tmp.ts";

const ARTIFACTS = join(import.meta.dir, "..", "..", "test-artifacts");
const SLOW_MS = 120_000;

async function ok(dir: string, args: string[], env: Record<string, string> = {}) {
  const r = await runCli(args, { cwd: dir, env });
  if (r.code !== 0) throw new Error(`sqlbak ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r;
}

async function listed(dir: string): Promise<{ id: string; database: string; stored: { format: string } }[]> {
  return parseJson((await ok(dir, ["list", "--json"])).stdout).backups;
}

/** Renders `page` in Chromium: its DOM read into data, and a screenshot kept as `name`.png. */
async function render(page: string, name: string) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const png = join(ARTIFACTS, `${name}.png`);
  await screenshot(page, png);
  expect(pngSize(readFileSync(png))).toEqual({ width: 1280, height: 2000 });
  return readStatusPage(await dumpDom(page));
}

function grow(db: string, n: number) {
  withDatabase(db, (d) => {
    const ins = d.prepare("INSERT INTO items (name, payload) VALUES (?, randomblob(2000))");
    for (let i = 0; i < n; i++) ins.run(`grown ${i}`);
  });
}

describe("sqlbak stats --html", () => {
  it(
    "shows full and incremental history, the restore test, a failed verification, destinations and empty folders",
    async () => {
      const dir = tempDir();
      for (const n of ["app", "legacy", "fresh"]) makeDatabase(join(dir, `${n}.db`), { rows: 40 });
      mkdirSync(join(dir, "nas"));
      writeFileSync(
        join(dir, "sqlbak.toml"),
        'backup_dir = "backups"\n' +
          '[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\n' +
          '[[database]]\nname = "app"\npath = "app.db"\n' +
          '[[database]]\nname = "legacy"\npath = "legacy.db"\nincremental = false\n' +
          '[[database]]\nname = "fresh"\npath = "fresh.db"\n',
      );
      for (let i = 0; i < 3; i++) {
        await ok(dir, ["backup", "app", "--kind", "scheduled"]);
        grow(join(dir, "app.db"), 200);
      }
      await ok(dir, ["backup", "legacy"]);
      await ok(dir, ["backup", "legacy"]);
      mkdirSync(join(dir, "backups", "ghost")); // a folder with nothing in it, not in the config
      await ok(dir, ["verify", "app", "--latest", "--level", "full"]);
      const all = await listed(dir);
      const legacyIds = all.filter((b) => b.database === "legacy").map((b) => b.id);
      const bad = readdirSync(join(dir, "backups", "legacy")).find(
        (f) => f.startsWith(legacyIds[1]!) && f.endsWith(".zst"),
      )!;
      flipByte(join(dir, "backups", "legacy", bad), 200);
      expect((await runCli(["verify", "legacy", "--latest"], { cwd: dir })).code).toBe(3);

      const page = join(dir, "www", "index.html");
      mkdirSync(join(dir, "www"));
      const written = await ok(dir, ["stats", "--html", page]);
      expect(written.stdout).toBe("");
      expect(written.stderr).toContain(`wrote status page ${page}`);
      expect(statSync(page).mode & 0o777).toBe(0o644);
      expect(readdirSync(join(dir, "www"))).toEqual(["index.html"]); // no temporary left beside it
      const check = await runCli(["stats", "--check"], { cwd: dir });
      expect(check.code).toBe(3);
      const expected = check.stdout.trim().split("\n");

      const dom = await render(page, "status-page-mixed");
      expect(dom.scripts).toBe(1); // the inline stale-page check, nothing else
      expect(dom.externalRefs).toEqual([]);
      expect(dom.stale).toBeNull(); // written just now
      expect(dom.healthy).toBe(false);
      expect(dom.problems).toEqual(expected);
      expect(dom.title).toBe(`sqlbak status (${expected.length} problems)`);
      const byName = Object.fromEntries(dom.databases.map((d) => [d.name, d]));
      expect(Object.keys(byName).sort()).toEqual(["app", "fresh", "ghost", "legacy"]);

      const app = byName.app!;
      const appIds = all.filter((b) => b.database === "app").map((b) => b.id);
      expect(app.rows.map((r) => r.id)).toEqual([...appIds].reverse()); // newest first
      expect(app.rows.map((r) => r.cells[3])).toEqual(["pages", "pages", "pages"]);
      expect(app.rows.map((r) => r.state)).toEqual(["ok", "never", "never"]);
      expect(app.facts["last restore test"]).toMatch(new RegExp(`^ok \\(full\\) .* ${appIds[2]}$`));
      expect(app.badges).toEqual(["incremental (pages)"]);
      expect(app.problems).toEqual([]);
      expect(app.plots).toBe(3);

      const legacy = byName.legacy!;
      expect(legacy.rows.map((r) => r.id)).toEqual([...legacyIds].reverse());
      expect(legacy.rows.map((r) => r.cells[3])).toEqual(["full", "full"]);
      expect(legacy.rows.map((r) => r.state)).toEqual(["failed", "never"]);
      expect(legacy.rows[0]!.cells[8]).toMatch(/^FAILED \(quick\) \d+s ago.*does not match/);
      expect(legacy.unhealthy).toBe(true);
      expect(legacy.problems).toEqual(expected.filter((p) => p.startsWith("legacy: ")));
      expect(legacy.problems.length).toBeGreaterThan(0);
      expect(legacy.facts["last verification"]).toStartWith("FAILED (");

      for (const empty of [byName.fresh!, byName.ghost!]) {
        expect(empty.rows).toEqual([]);
        expect(empty.empty).toBe(true);
        expect(empty.plots).toBe(0);
      }
      expect(byName.fresh!.problems).toEqual(["fresh: no backups"]);
      expect(byName.ghost!.badges).toContain("not in the config");

      expect(dom.destinations.map((d) => [d.database, d.destination, d.cells[3], d.cells.at(-1)])).toEqual([
        ["app", "nas", "3", "in sync"],
        ["fresh", "nas", "0", "-"],
        ["ghost", "nas", "0", "-"],
        ["legacy", "nas", "2", "in sync"],
      ]);
    },
    SLOW_MS,
  );

  it(
    "an encrypted setup shows what its manifests tell without the identity; --check refreshes the page and keeps its mode",
    async () => {
      const dir = tempDir();
      makeDatabase(join(dir, "vault.db"), { rows: 40 });
      const keygen = Bun.spawnSync(["age-keygen"], { stdout: "pipe", stderr: "pipe" });
      const recipient = /public key: (age1\w+)/.exec(keygen.stderr.toString() + keygen.stdout.toString())![1]!;
      writeFileSync(
        join(dir, "sqlbak.toml"),
        `backup_dir = "backups"\n[encryption]\nrecipients = ["${recipient}"]\n` +
          '[[database]]\nname = "vault"\npath = "vault.db"\n',
      );
      await ok(dir, ["backup"]);
      await ok(dir, ["backup"]);
      await ok(dir, ["verify", "vault", "--latest"]); // checksum level: no identity here
      const page = join(dir, "status.html");
      writeFileSync(page, "old page");
      chmodSync(page, 0o640);
      const before = statSync(page).ino;
      const check = await runCli(["stats", "--check", "--html", page], { cwd: dir });
      expect(check.code).toBe(0);
      expect(check.stdout.trim()).toBe("healthy");
      expect(statSync(page).mode & 0o777).toBe(0o640);
      expect(statSync(page).ino).not.toBe(before); // replaced by a rename, never rewritten in place

      const dom = await render(page, "status-page-encrypted");
      expect(dom.healthy).toBe(true);
      expect(dom.problems).toEqual([]);
      const [vault] = dom.databases;
      expect(vault!.name).toBe("vault");
      expect(vault!.badges).toEqual(["encrypted", "incremental (pages)"]);
      expect(vault!.rows).toHaveLength(2);
      expect(vault!.rows.map((r) => r.cells[7])).toEqual(["yes", "yes"]);
      expect(vault!.rows[0]!.cells[8]).toStartWith("ok (checksum)");
      expect(vault!.facts["last restore test"]).toBe("never");
      for (const r of vault!.rows) expect(r.cells[4]).toMatch(/^\d+(\.\d)? (B|KiB|MiB)$/); // raw size is in the clear
    },
    SLOW_MS,
  );

  it(
    "status_page: the health job's stats --check rewrites it, plain stats leaves it, and its folder is writable for systemd",
    async () => {
      const dir = tempDir();
      makeDatabase(join(dir, "app.db"), { rows: 40 });
      mkdirSync(join(dir, "www"));
      writeFileSync(
        join(dir, "sqlbak.toml"),
        'backup_dir = "backups"\nstatus_page = "www/index.html"\n[[database]]\nname = "app"\npath = "app.db"\n',
      );
      const page = join(dir, "www", "index.html");
      await ok(dir, ["stats"]);
      expect(readdirSync(join(dir, "www"))).toEqual([]); // only the health check (or --html) writes it
      const unhealthy = await runCli(["stats", "--check"], { cwd: dir });
      expect(unhealthy.code).toBe(3);
      expect(readStatusPage(await dumpDom(page)).problems).toEqual(["app: no backups"]);
      await ok(dir, ["backup"]);
      expect((await runCli(["stats", "--check"], { cwd: dir })).stdout.trim()).toBe("healthy");
      const dom = await render(page, "status-page-configured");
      expect(dom.healthy).toBe(true);
      expect(dom.databases.map((d) => [d.name, d.rows.length])).toEqual([["app", 1]]);

      // A page that cannot be written does not hide the verdict: it is one more problem (exit 3, notified).
      rmSync(join(dir, "www"), { recursive: true });
      const lost = await runCli(["stats", "--check"], { cwd: dir });
      expect(lost.code).toBe(3);
      expect(lost.stdout.trim()).toBe(`cannot write the status page ${page}: no such file or directory`);
      mkdirSync(join(dir, "www"));

      const units = await runCli(["install-schedule", "--print", "--platform", "systemd", "--system"], {
        cwd: dir,
        env: { SQLBAK_SYSTEMD_DIR: join(dir, "units") },
      });
      expect(units.code).toBe(0);
      const rw = units.stdout.split("\n").filter((l) => l.startsWith("ReadWritePaths="));
      expect(rw.length).toBe(6); // three jobs and their OnFailure= units
      for (const l of rw) expect(l).toBe(`ReadWritePaths=-${join(dir, "backups")} -${dir} -${join(dir, "www")}`);
    },
    SLOW_MS,
  );

  it(
    "an empty setup renders its one problem; a missing folder or --html without a file is one clear error",
    async () => {
      const dir = tempDir();
      const page = join(dir, "index.html");
      await ok(dir, ["stats", "--html", page]);
      const dom = await render(page, "status-page-empty");
      expect(dom.databases).toEqual([]);
      expect(dom.problems).toEqual([
        "no databases: none is configured and no backups exist, so nothing is being backed up",
      ]);
      const missing = await runCli(["stats", "--html", join(dir, "nope", "index.html")], { cwd: dir });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(
        `cannot write the status page ${join(dir, "nope", "index.html")}: no such file or directory`,
      );
      expect(missing.stderr).not.toContain("    at ");
      const bare = await runCli(["stats", "--html"], { cwd: dir });
      expect(bare.code).toBe(2);
      expect(bare.stderr).toContain("--html needs a file name");
    },
    SLOW_MS,
  );
});
