/**
 * What a run costs at an S3 destination, counted on the real s3rver on
 * 127.0.0.1: once a destination is caught up, a run decides presence from the
 * listing (key, size, ETag) and what this machine last read or wrote there
 * (src/lib/store/listing-cache.ts), so it reads no manifest again; a manifest
 * that is new or changed there is read; one that is corrupt is read and
 * reported by every run and still holds the packs it might name.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { S3Client } from "bun";
import { createAppDatabase, exec, makeProject, type Project } from "../helpers/backups.ts";
import { fabricateBackups } from "../helpers/fabricate.ts";
import { parseJson } from "../helpers/json.ts";
import { runCli } from "../helpers/run-cli.ts";
import { listRequests, objectGets, S3_KEY, type S3Server, s3DestinationToml, startS3 } from "../helpers/s3.ts";

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.stop();
});

let p: Project;
let PREFIX = "";
let ids: string[] = [];
let seq = 0;

/** A project of its own (its own key prefix), with `n` backups of a changing database copied there. */
async function caughtUp(n: number) {
  PREFIX = `fleet${++seq}`;
  const dest = s3DestinationToml(s3).replace('prefix = "sqlbak/prod"', `prefix = "${PREFIX}"`);
  // Nothing is rotated away by time here: every count of requests is of a run that removes nothing.
  p = makeProject({ toml: "[retention]\nkeep_last = 1000\n", dbToml: dest });
  ids = [];
  for (let i = 0; i < n; i++) {
    exec(p.db, `INSERT INTO items (name, payload) VALUES ('more', randomblob(20000))`);
    await backup();
  }
}

async function backup() {
  const [r] = (await json(p, ["backup", "app"])).results;
  expect(r.copies[0].ok).toBe(true);
  ids.push(r.id);
  return r;
}

const cli = (p: Project, args: string[]) => runCli(args, { cwd: p.dir, env: S3_KEY });
const bucket = () =>
  new S3Client({
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    accessKeyId: S3_KEY.AWS_ACCESS_KEY_ID,
    secretAccessKey: S3_KEY.AWS_SECRET_ACCESS_KEY,
    region: "us-east-1",
  });
const objectPath = (name: string) => `/${s3.bucket}/${PREFIX}/app/${name}`;

async function json(p: Project, args: string[]) {
  const r = await cli(p, [...args, "--json"]);
  if (r.code !== 0) throw new Error(`${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return parseJson(r.stdout);
}

/** What one command asked of the server: listings, and GETs of manifests (and markers: `.json`). */
async function counted(p: Project, args: string[]) {
  s3.requests.length = 0;
  const out = await json(p, args);
  return {
    out,
    lists: listRequests(s3.requests).length,
    manifestGets: objectGets(s3.requests, ".json").map((r) => r.path),
  };
}

describe("requests per run at an S3 destination", () => {
  it(`a run where nothing changed there lists the folder a constant number of times \
and reads no manifest, however many backups are there`, async () => {
    await caughtUp(3);
    s3.requests.length = 0;
    await backup();
    const lists3 = listRequests(s3.requests).length;
    expect(objectGets(s3.requests, ".json")).toEqual([]);
    for (let i = 0; i < 3; i++) await backup();
    s3.requests.length = 0;
    await backup();
    expect(listRequests(s3.requests).length).toBe(lists3);
    expect(objectGets(s3.requests, ".json")).toEqual([]);
    expect(lists3).toBeLessThanOrEqual(3);

    const stats = await counted(p, ["stats"]);
    expect(stats.out.destinations[0]).toMatchObject({ ok: true, count: ids.length, missing: 0, problems: [] });
    expect([stats.lists, stats.manifestGets]).toEqual([1, []]);
    const rotate = await counted(p, ["rotate"]);
    expect(rotate.out.results[0].destinations[0]).toMatchObject({ ok: true, removed: [], kept: ids.length });
    expect(rotate.lists).toBeLessThanOrEqual(3);
    expect(rotate.manifestGets).toEqual([]);
  });

  it("a manifest changed there (same size, new ETag) or new there is read, once", async () => {
    await caughtUp(3);
    await counted(p, ["stats"]);
    const name = `${ids[1]}.json`;
    const text = readFileSync(join(p.folder, name), "utf8");
    // The same manifest, the same length, other bytes: one space moved from inside to the end.
    const changed = `${text.replace('": ', '":').trimEnd()} \n`;
    expect(changed.length).toBe(text.length);
    await bucket().write(`${PREFIX}/app/${name}`, changed);
    // A backup another machine put there: this one has never seen its manifest.
    const elsewhere = join(p.dir, "elsewhere");
    mkdirSync(elsewhere);
    const [planted] = fabricateBackups(join(p.folder, `${ids.at(-1)}.json`), elsewhere, "app", [
      { at: "2024-06-01T12:00:00Z", kind: "manual" },
    ]);
    for (const path of [planted!.data_path, planted!.manifest_path])
      await bucket().write(`${PREFIX}/app/${path.slice(elsewhere.length + 1)}`, Bun.file(path));

    const first = await counted(p, ["stats"]);
    expect(first.out.destinations[0]).toMatchObject({ ok: true, count: ids.length + 1, problems: [] });
    expect(first.manifestGets.sort()).toEqual([objectPath(name), objectPath(`${planted!.id}.json`)].sort());
    const again = await counted(p, ["stats"]);
    expect(again.out.destinations[0].count).toBe(ids.length + 1);
    expect(again.manifestGets).toEqual([]);
  });

  it(`a manifest corrupt there (same size) is read and reported by every run, \
and the packs only it names are held, not marked or freed`, async () => {
    await caughtUp(2);
    // The newest backup of a changed database is the only one naming its new packs.
    exec(p.db, `INSERT INTO items (name, payload) VALUES ('new', randomblob(50000))`);
    const newest = await backup();
    const manifest = JSON.parse(readFileSync(join(p.folder, `${newest.id}.json`), "utf8"));
    const own = manifest.stored.packs.map((x: { name: string }) => x.name) as string[];
    const older = new Set(
      ids
        .slice(0, -1)
        .flatMap((id) =>
          JSON.parse(readFileSync(join(p.folder, `${id}.json`), "utf8")).stored.packs.map(
            (x: { name: string }) => x.name,
          ),
        ),
    );
    const onlyItsOwn = own.filter((n) => !older.has(n));
    expect(onlyItsOwn.length).toBeGreaterThan(0);
    const name = `${newest.id}.json`;
    const size = Bun.file(join(p.folder, name)).size;
    await bucket().write(`${PREFIX}/app/${name}`, "x".repeat(size));

    for (let run = 0; run < 2; run++) {
      const stats = await counted(p, ["stats"]);
      expect(stats.out.destinations[0].problems).toEqual([expect.objectContaining({ id: newest.id })]);
      expect(stats.manifestGets).toEqual([objectPath(name)]);
    }
    const rotate = await counted(p, ["rotate"]);
    const at = rotate.out.results[0].destinations[0];
    expect(at.ok).toBe(true);
    expect([at.freed, at.marked]).toEqual([[], []]);
    expect(at.pieces_held).toEqual(expect.arrayContaining(onlyItsOwn));
    expect(rotate.manifestGets).toContain(objectPath(name));
    for (const n of onlyItsOwn) expect(await bucket().exists(`${PREFIX}/app/${n}`)).toBe(true);
  });

  it(`a run over many databases lists the destination once (a page per 1,000 keys), \
not each database's folder, and reads no manifest`, async () => {
    PREFIX = `fleet${++seq}`;
    const dest = s3DestinationToml(s3).replace('prefix = "sqlbak/prod"', `prefix = "${PREFIX}"`);
    p = makeProject({ toml: "[retention]\nkeep_last = 1000\n", dbToml: dest, incremental: false });
    const dbs = join(p.dir, "tenants");
    mkdirSync(dbs);
    for (let i = 0; i < 20; i++) createAppDatabase(join(dbs, `t${i}.db`), 5, 100);
    writeFileSync(
      join(p.dir, "sqlbak.toml"),
      `${readFileSync(join(p.dir, "sqlbak.toml"), "utf8")}
[[database]]\nfolder = "tenants"\n`,
    );
    const run = async () => {
      const out = (await json(p, ["backup"])).results;
      const bad = out.filter((r: { copies: { ok: boolean }[] }) => !r.copies[0]?.ok);
      expect(bad).toEqual([]);
      expect(out).toHaveLength(21);
      return out as { database: string; id: string; copies: { forgotten: string[] }[] }[];
    };
    const [first] = (await run()).filter((r) => r.database === "t3");
    s3.requests.length = 0;
    await run();
    // One whole listing; the uploads of the new full backups list nothing.
    expect(listRequests(s3.requests).length).toBe(1);
    expect(objectGets(s3.requests, ".json")).toEqual([]);
    const stats = await counted(p, ["stats"]);
    expect(stats.out.destinations).toHaveLength(21);
    expect(
      stats.out.destinations.every((d: { count: number; missing: number }) => d.count === 2 && d.missing === 0),
    ).toBe(true);
    expect([stats.lists, stats.manifestGets]).toEqual([1, []]);

    // What the run-wide listing shows is removed from a fresh listing of that database: a forget still follows.
    expect((await cli(p, ["forget", first!.id])).code).toBe(0);
    s3.requests.length = 0;
    const after = await run();
    expect(after.find((r) => r.database === "t3")!.copies[0]!.forgotten).toEqual([first!.id]);
    expect(after.filter((r) => r.copies[0]!.forgotten.length > 0)).toHaveLength(1);
    expect(listRequests(s3.requests).length).toBe(2);
    expect(await bucket().exists(`${PREFIX}/t3/${first!.id}.json`)).toBe(false);
  });
});
