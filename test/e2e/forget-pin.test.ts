/**
 * Managing existing backups through the compiled binary: `forget ID…` (dry run,
 * refusals that remove nothing, freeing of incremental pieces), `pin`/`unpin`
 * honoured by rotate, `tag`/`untag` in `list`, and a dir destination following a
 * forget and a pin on the next sync. Both storage formats.
 */
import { describe, expect, it } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { backupNow, editManifest, exec, listBackups, makeProject, whileLocked } from "../helpers/backups.ts";
import { parseJson } from "../helpers/json.ts";
import { folderNames, pagesScenario } from "../helpers/pages.ts";
import { runCli } from "../helpers/run-cli.ts";

const keepLast = (n: number) =>
  `timezone = "UTC"\n[retention]\nkeep_last = ${n}\nkeep_daily = 0\nkeep_weekly = 0\nkeep_monthly = 0\n`;
const names = (folder: string) =>
  readdirSync(folder)
    .filter((f) => f.startsWith("app-"))
    .sort();
const SCHEDULED = ["--kind", "scheduled"];
const ofId = (folder: string, id: string) => names(folder).filter((f) => f.startsWith(`${id}.`));

for (const incremental of [true, false])
  describe(`forget, pin, tag (incremental = ${incremental})`, () => {
    const project = (toml = "", dbToml = "") => makeProject({ incremental, toml, dbToml });

    it("forget removes the backup (manifest, data, marker), says what; --dry-run removes nothing", async () => {
      const p = project();
      const a = await backupNow(p);
      const b = await backupNow(p);
      expect((await runCli(["tag", a.id, "old"], { cwd: p.dir })).code).toBe(0);
      const before = names(p.folder);
      expect(ofId(p.folder, a.id)).toContain(`${a.id}.tags.json`);

      const dry = await runCli(["forget", "--dry-run", a.id], { cwd: p.dir });
      expect(dry.code).toBe(0);
      expect(dry.stderr).toContain(`would remove ${a.id}`);
      expect(names(p.folder)).toEqual(before);

      const r = await runCli(["forget", a.id], { cwd: p.dir });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`removed ${a.id}`);
      // The first backup's pack is named by the second one too: nothing waits to be freed.
      expect(r.stderr).not.toContain("under an hour old");
      expect(ofId(p.folder, a.id)).toEqual([]);
      expect((await listBackups(p)).map((x) => x.id)).toEqual([b.id]);
      const log = readFileSync(join(p.dir, "backups", "sqlbak.log.jsonl"), "utf8");
      expect(log).toContain(`"op":"forget","database":"app","ok":true,"id":"${a.id}"`);
    });

    it("--json lists the removed backups and what is left", async () => {
      const p = project();
      const a = await backupNow(p);
      const b = await backupNow(p);
      await backupNow(p);
      const r = await runCli(["forget", "--json", a.id, b.id], { cwd: p.dir });
      expect(r.code).toBe(0);
      const [res] = parseJson(r.stdout).results;
      expect(res.database).toBe("app");
      expect(res.removed.map((x: { id: string }) => x.id)).toEqual([a.id, b.id]);
      expect(res.remaining).toBe(1);
      expect((await listBackups(p)).length).toBe(1);
    });

    it("refuses the last good backup (exit 2, nothing removed); --force forgets it", async () => {
      const p = project();
      const a = await backupNow(p);
      const before = names(p.folder);
      const r = await runCli(["forget", a.id], { cwd: p.dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`refusing to forget ${a.id}: the last good backup of app`);
      expect(r.stderr).toContain("pass --force");
      expect(names(p.folder)).toEqual(before);
      const f = await runCli(["forget", "--force", a.id], { cwd: p.dir });
      expect(f.code).toBe(0);
      expect(await listBackups(p)).toEqual([]);
    });

    it("counts only good backups: the others failed verification or lost their data", async () => {
      const p = project();
      const good = await backupNow(p);
      const failed = await backupNow(p);
      const gone = await backupNow(p);
      editManifest(failed.manifest, (m) =>
        m.verifications.push({ at: new Date().toISOString(), level: "full", ok: false, problems: ["planted"] }),
      );
      rmSync(gone.file);
      const before = names(p.folder);
      const r = await runCli(["forget", good.id], { cwd: p.dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`the last good backup of app`);
      expect(names(p.folder)).toEqual(before);
      // Forgetting the bad ones is fine: the good one stays.
      const ok = await runCli(["forget", failed.id, gone.id], { cwd: p.dir });
      expect(ok.code).toBe(0);
      expect((await listBackups(p)).map((x) => x.id)).toEqual([good.id]);
    });

    it("an unknown id or a non-id: one clear line, exit 2, nothing removed (also with a valid id beside it)", async () => {
      const p = project();
      const a = await backupNow(p);
      await backupNow(p);
      const before = names(p.folder);
      const unknown = a.id.replace(/-[0-9a-f]{8}$/, "-00000000");
      const r = await runCli(["forget", a.id, unknown], { cwd: p.dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`no backup with id ${unknown}`);
      expect(r.stderr).not.toContain("    at ");
      expect(names(p.folder)).toEqual(before);
      const bad = await runCli(["forget", "nonsense"], { cwd: p.dir });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`"nonsense" is not a backup id`);
      for (const cmd of ["pin", "unpin", "tag", "untag"]) {
        const x = await runCli(cmd.includes("tag") ? [cmd, unknown, "t"] : [cmd, unknown], { cwd: p.dir });
        expect(x.code).toBe(2);
        expect(x.stderr).toContain(`no backup with id ${unknown}`);
      }
      const none = await runCli(["forget"], { cwd: p.dir });
      expect(none.code).toBe(2);
      expect(names(p.folder)).toEqual(before);
    });

    it("waits for the folder's lock like rotate (exit 4 when it stays held), removing nothing", async () => {
      const p = project(`lock_timeout = "1s"\n`);
      const a = await backupNow(p);
      await backupNow(p);
      const before = names(p.folder);
      await whileLocked(p.folder, async () => {
        const r = await runCli(["forget", a.id], { cwd: p.dir });
        expect(r.code).toBe(4);
      });
      expect(names(p.folder)).toEqual(before);
    });

    it("a pinned backup is never rotated; unpinned, rotate decides it again", async () => {
      const p = project(keepLast(1));
      const a = await backupNow(p, SCHEDULED);
      const b = await backupNow(p, SCHEDULED);
      const c = await backupNow(p, SCHEDULED);
      const pin = await runCli(["pin", a.id], { cwd: p.dir });
      expect(pin.code).toBe(0);
      expect(pin.stderr).toContain(`${a.id}: pinned`);
      expect((await runCli(["pin", a.id], { cwd: p.dir })).stderr).toContain("already pinned");
      // Any other tag keeps nothing; rotation removes the backup with its marker.
      expect((await runCli(["tag", b.id, "other"], { cwd: p.dir })).code).toBe(0);
      const r = await runCli(["rotate", "--json"], { cwd: p.dir });
      expect(r.code).toBe(0);
      const [res] = parseJson(r.stdout).results;
      expect(res.removed).toEqual([b.id]);
      expect(res.backups.find((x: { id: string }) => x.id === a.id).reasons).toContain("tag keep");
      expect((await listBackups(p)).map((x) => x.id)).toEqual([a.id, c.id]);
      expect(ofId(p.folder, b.id)).toEqual([]);

      expect((await runCli(["unpin", a.id], { cwd: p.dir })).code).toBe(0);
      expect(existsSync(join(p.folder, `${a.id}.tags.json`))).toBe(false);
      const again = parseJson((await runCli(["rotate", "--json"], { cwd: p.dir })).stdout).results[0];
      expect(again.removed).toEqual([a.id]);
      expect((await listBackups(p)).map((x) => x.id)).toEqual([c.id]);
    });

    it("unpin removes a keep tag given at backup time (the manifest stays as written)", async () => {
      const p = project(keepLast(1));
      const a = await backupNow(p, ["--pin", ...SCHEDULED]);
      await backupNow(p, SCHEDULED);
      const manifest = readFileSync(a.manifest, "utf8");
      expect((await runCli(["unpin", a.id], { cwd: p.dir })).code).toBe(0);
      expect(readFileSync(a.manifest, "utf8")).toBe(manifest);
      const res = parseJson((await runCli(["rotate", "--json"], { cwd: p.dir })).stdout).results[0];
      expect(res.removed).toEqual([a.id]);
    });

    it("tag and untag show in list and list --json", async () => {
      const p = project();
      const a = await backupNow(p, ["--tag", "deploy"]);
      expect((await runCli(["tag", a.id, "pre-migrate"], { cwd: p.dir })).code).toBe(0);
      expect((await listBackups(p))[0]!.tags).toEqual(["deploy", "pre-migrate"]);
      const human = await runCli(["list"], { cwd: p.dir });
      expect(human.stdout).toContain("deploy,pre-migrate");
      expect((await runCli(["untag", a.id, "deploy"], { cwd: p.dir })).code).toBe(0);
      expect((await listBackups(p))[0]!.tags).toEqual(["pre-migrate"]);
      const bad = await runCli(["tag", a.id, "no spaces"], { cwd: p.dir });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`invalid tag "no spaces"`);
    });

    it("a dir destination follows: the marker is copied, a pin holds there, a forgotten backup goes there too", async () => {
      const p = makeProject({
        incremental,
        toml: keepLast(1),
        dbToml: `[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\n`,
      });
      const nas = join(p.dir, "nas");
      mkdirSync(nas);
      const remote = join(nas, "app");
      const a = await backupNow(p, SCHEDULED);
      const b = await backupNow(p, SCHEDULED);
      const c = await backupNow(p, SCHEDULED);
      // Pinned after its copy went there, before any sync copied the marker: the rotation there keeps it all the same.
      expect((await runCli(["pin", a.id], { cwd: p.dir })).code).toBe(0);
      expect(ofId(remote, a.id)).not.toContain(`${a.id}.tags.json`);
      const rot = await runCli(["rotate", "--json"], { cwd: p.dir });
      expect(rot.code).toBe(0);
      const [res] = parseJson(rot.stdout).results;
      expect(res.removed).toEqual([b.id]);
      expect(res.destinations[0].removed).toEqual([b.id]);
      expect(ofId(remote, a.id)).toContain(`${a.id}.json`);
      // The next sync copies the marker: the destination's own listing sees the pin.
      const d = await backupNow(p, SCHEDULED);
      expect(readFileSync(join(remote, `${a.id}.tags.json`), "utf8")).toBe(
        readFileSync(join(p.folder, `${a.id}.tags.json`), "utf8"),
      );
      const rot2 = parseJson((await runCli(["rotate", "--json"], { cwd: p.dir })).stdout).results[0];
      expect(rot2.destinations[0].removed).toEqual([c.id]);
      expect(ofId(remote, a.id)).toContain(`${a.id}.json`);
      expect(ofId(remote, d.id)).toContain(`${d.id}.json`);

      expect((await runCli(["forget", a.id], { cwd: p.dir })).code).toBe(0);
      expect(ofId(remote, a.id)).toContain(`${a.id}.json`);
      const next = await runCli(["backup", "app", "--json"], { cwd: p.dir });
      expect(next.code).toBe(0);
      expect(ofId(remote, a.id)).toEqual([]);
      expect(ofId(remote, d.id)).toContain(`${d.id}.json`);
      expect(parseJson(next.stdout).results[0].copies[0]).toMatchObject({ ok: true, forgotten: [a.id] });
    });
  });

describe("forget with incremental storage frees what no remaining backup names", () => {
  it("frees the stale pack only the forgotten backup named (and a stale leftover), never a shared one", async () => {
    const s = pagesScenario();
    const dry = await runCli(["forget", "--dry-run", "--json", s.old.id], { cwd: s.dir });
    expect(dry.code).toBe(0);
    const [plan] = parseJson(dry.stdout).results;
    expect(plan.freed.map((x: { name: string }) => x.name).sort()).toEqual(s.toFree);
    expect(folderNames(s.folder)).toEqual(s.before);
    const r = await runCli(["forget", s.old.id], { cwd: s.dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`removed ${s.old.id}`);
    expect(r.stderr).toContain("freed 4 unreferenced pack files");
    expect(folderNames(s.folder)).toEqual(s.after);
    const log = readFileSync(join(s.dir, "backups", "sqlbak.log.jsonl"), "utf8");
    expect(log).toContain(`"op":"free","by":"forget"`);
  });

  it("says which unreferenced packs are too young to free yet (a later run frees them)", async () => {
    const p = makeProject({ incremental: true });
    await backupNow(p);
    exec(
      p.db,
      "INSERT INTO items (name, payload) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) SELECT 'big', randomblob(3000) FROM n",
    );
    const b = await backupNow(p);
    exec(p.db, "DELETE FROM items WHERE name = 'big'");
    exec(p.db, "VACUUM");
    await backupNow(p);
    const dry = parseJson((await runCli(["forget", "--dry-run", "--json", b.id], { cwd: p.dir })).stdout).results[0];
    expect(dry.freed).toEqual([]);
    expect(dry.pieces_waiting.length).toBeGreaterThan(0);
    const r = await runCli(["forget", b.id], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${dry.pieces_waiting.length} unreferenced pack files`);
    expect(r.stderr).toContain("under an hour old");
    for (const x of dry.pieces_waiting) expect(existsSync(join(p.folder, x.name))).toBe(true);
  });
});

describe("per-destination retention: `[[destination]] retention` merged over the database's policy", () => {
  const setup = (global: number, dest: number) => {
    const p = makeProject({
      toml: keepLast(global),
      dbToml: `[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\nretention = { keep_last = ${dest} }\n`,
    });
    mkdirSync(join(p.dir, "nas"));
    return { ...p, remote: join(p.dir, "nas", "app") };
  };
  const manifests = (folder: string) => names(folder).filter((f) => /-[0-9a-f]{8}\.json$/.test(f));

  it("an off-site copy that keeps more: the destination keeps its last 3, backup_dir its last 1", async () => {
    const p = setup(1, 3);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await backupNow(p, SCHEDULED)).id);
    const r = await runCli(["rotate", "--json"], { cwd: p.dir });
    expect(r.code).toBe(0);
    const [res] = parseJson(r.stdout).results;
    expect(res.removed).toEqual(ids.slice(0, 3));
    expect(res.destinations[0].removed).toEqual([ids[0]]);
    expect(res.destinations[0].policy).toContain("keep last 3");
    expect(manifests(p.folder)).toEqual([`${ids[3]}.json`]);
    expect(manifests(p.remote)).toEqual(ids.slice(1).map((id) => `${id}.json`));
  });

  it("an off-site copy that keeps less: the destination keeps its last 1, backup_dir its last 3", async () => {
    const p = setup(3, 1);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await backupNow(p, SCHEDULED)).id);
    const [res] = parseJson((await runCli(["rotate", "--json"], { cwd: p.dir })).stdout).results;
    expect(res.removed).toEqual([ids[0]]);
    expect(res.destinations[0].removed).toEqual(ids.slice(0, 3));
    expect(manifests(p.folder)).toEqual(ids.slice(1).map((id) => `${id}.json`));
    expect(manifests(p.remote)).toEqual([`${ids[3]}.json`]);
  });

  it("a bad table is a config error naming its key (exit 2)", async () => {
    const p = makeProject({
      dbToml: `[[destination]]\nname = "nas"\ntype = "dir"\npath = "nas"\nretention = { keep_daily = "many" }\n`,
    });
    const r = await runCli(["rotate"], { cwd: p.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("destination[0].retention.keep_daily");
  });
});
