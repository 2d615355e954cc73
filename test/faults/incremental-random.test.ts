/**
 * Randomized, seeded soak of incremental backups through the compiled binary: a database under
 * random work (growth, shrink, VACUUM, page size change), backups (sometimes with --rotate) and
 * rotations under a random keep_last, each sometimes killed with SIGKILL at a pause point or at a
 * random moment, and backups removed by hand (manifest first, then map, as docs/format.md says), over
 * backup_dir and a `dir` destination. After every step, every listed backup
 * verifies in full (its reassembled image matches its recorded SHA-256) at both places, and every
 * pack no manifest names is still fresh (younger than the partial age), so nothing unreferenced
 * outlives the cleanup rule. SQLBAK_SOAK_SEED and SQLBAK_SOAK_STEPS override seed and length
 * (`bun run soak` runs 200 steps); the seed is printed on failure.
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FREE_MARK_RE } from "../../src/lib/store/free-marks.ts";
import { listBackups } from "../../src/lib/store/list.ts";
import { openLocalFolder } from "../../src/lib/store/local-folder.ts";
import { makeDatabase } from "../helpers/db.ts";
import { parseJson } from "../helpers/json.ts";
import { runUntil } from "../helpers/pause.ts";
import { BIN, cleanEnv, runCli } from "../helpers/run-cli.ts";
import { tempDir } from "../helpers/tmp.ts";

const SEED = Number(process.env.SQLBAK_SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
const STEPS = Number(process.env.SQLBAK_SOAK_STEPS ?? 25);

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
    bytes(n: number) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
      return b;
    },
  };
}
type Rng = ReturnType<typeof prng>;

const BACKUP_POINTS = ["backup:snapshot-taken", "backup:data-committed"] as const;
const ROTATE_POINTS = [
  "rotate:manifest-removed@1",
  "rotate:manifest-removed@2",
  "rotate:backup-removed@1",
  "rotate:pieces-freeing",
  "rotate:piece-freed@1",
  "rotate:piece-freed@2",
  "rotate:piece-freed@4",
  "rotate:remote-piece-freed@1",
  "rotate:remote-piece-freed@3",
] as const;

function writeConfig(dir: string, keepLast: number) {
  writeFileSync(
    join(dir, "sqlbak.toml"),
    [
      'backup_dir = "backups"',
      "incremental = true",
      "[retention]",
      `keep_last = ${keepLast}`,
      "keep_daily = 0",
      "keep_weekly = 0",
      "keep_monthly = 0",
      "[[database]]",
      'name = "app"',
      'path = "app.db"',
      "[[destination]]",
      'name = "nas"',
      'type = "dir"',
      'path = "nas"',
      "",
    ].join("\n"),
  );
}

/** One batch of random work on the database; returns what it did, for the step log. */
function work(path: string, r: Rng): string {
  const db = new Database(path);
  try {
    const roll = r.next();
    if (roll < 0.05) {
      // Page size change: only takes effect through VACUUM outside WAL mode.
      const size = r.pick([1024, 2048, 4096, 8192, 16384]);
      db.run("PRAGMA journal_mode = DELETE");
      db.run(`PRAGMA page_size = ${size}`);
      db.run("VACUUM");
      db.run("PRAGMA journal_mode = WAL");
      return `page_size=${size}`;
    }
    const { c } = db.query("SELECT count(*) AS c FROM items").get() as { c: number };
    const ins = db.prepare("INSERT INTO items (name, payload) VALUES (?, ?)");
    const upd = db.prepare("UPDATE items SET name = ?, payload = ? WHERE id = ?");
    const done: string[] = [];
    db.transaction(() => {
      const adds = r.chance(0.5) ? r.int(0, 400) : r.int(0, 40);
      for (let i = 0; i < adds; i++) ins.run(`n-${r.int(0, 1e6)}`, r.bytes(r.int(10, 900)));
      done.push(`+${adds}`);
      const ups = r.int(0, Math.min(c, 60));
      for (let i = 0; i < ups; i++) upd.run(`u-${r.int(0, 1e6)}`, r.bytes(r.int(10, 900)), r.int(1, c + adds));
      done.push(`~${ups}`);
      if (r.chance(0.3)) {
        // Shrink: delete a large share of the rows.
        const lo = r.int(1, Math.max(1, c));
        db.run("DELETE FROM items WHERE id >= ? AND id < ?", [lo, lo + r.int(50, 2000)]);
        done.push("-range");
      }
      db.run("UPDATE counter SET n = n + 1");
    })();
    // Finalized, so close() really closes (an open statement keeps the connection, which would
    // block a later switch out of WAL mode).
    ins.finalize();
    upd.finalize();
    if (r.chance(0.2)) {
      db.run("VACUUM");
      done.push("vacuum");
    }
    return done.join(" ");
  } finally {
    db.close();
  }
}

/** Runs `args`, killing it with SIGKILL at `point` (if it gets there) or after `ms`; returns what happened. */
async function killed(dir: string, args: string[], r: Rng, points: readonly string[]): Promise<string> {
  if (r.chance(0.6)) {
    const point = r.pick(points);
    try {
      const run = await runUntil(point, args, dir);
      await run.kill();
      return `killed at ${point}`;
    } catch (e) {
      // Not every run reaches every point (nothing to free, fewer removals): it must have succeeded.
      const msg = String((e as Error).message);
      expect(msg).toContain("(exit 0) before reaching");
      return `finished before ${point}`;
    }
  }
  const ms = r.int(0, 250);
  const proc = Bun.spawn([BIN, ...args], { cwd: dir, env: cleanEnv({}, dir), stdout: "ignore", stderr: "ignore" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), ms);
  const code = await proc.exited;
  clearTimeout(timer);
  if (proc.signalCode === "SIGKILL") return `killed after ${ms}ms`;
  expect(code).toBe(0);
  return `finished within ${ms}ms`;
}

async function ok(dir: string, args: string[]) {
  const res = await runCli(args, { cwd: dir });
  if (res.code !== 0) throw new Error(`sqlbak ${args.join(" ")} exited ${res.code}: ${res.stderr}`);
  return res;
}

/**
 * Every listed backup at one place verifies in full. After a `rotate` that ran to its end, the
 * cleanup rule holds: no unreferenced piece is stale in backup_dir (it frees them at once), and at
 * the destination (which frees through marks that must age first) every stale one is marked.
 */
async function checkPlace(dir: string, root: string, from: string[], cleaned = false) {
  const folder = from.length ? openLocalFolder(root, "destination") : openLocalFolder(root);
  const listing = await listBackups(folder, "app");
  expect(listing.problems.map((p) => JSON.stringify(p))).toEqual([]);
  const stale = (listing.pieces?.unreferenced ?? []).filter((p) => p.stale).map((p) => p.name);
  if (cleaned && !from.length) expect(stale).toEqual([]);
  if (cleaned && from.length) {
    const there = join(root, "app");
    const marks = existsSync(there) ? readdirSync(there).filter((f) => FREE_MARK_RE.test(f)) : [];
    const marked = marks.map((m) => readFileSync(join(there, m), "utf8")).join("\n");
    expect(stale.filter((n) => !marked.includes(n))).toEqual([]);
  }
  const listed = parseJson((await ok(dir, ["list", "--json", ...from])).stdout).backups as { id: string }[];
  expect(listed.map((b) => b.id).sort()).toEqual(listing.backups.map((b) => b.manifest.id).sort());
  for (const { id } of listed) await ok(dir, ["verify", id, "--level", "full", ...from]);
  // And one real restore, of the newest, to the bytes its manifest records.
  const newest = listing.backups.at(-1);
  if (newest) {
    const to = join(tempDir(), "restored.db");
    await ok(dir, ["restore", "app", "--id", newest.manifest.id, "--to", to, "--yes", ...from]);
    expect(new Bun.CryptoHasher("sha256").update(readFileSync(to)).digest("hex")).toBe(newest.manifest.raw.sha256!);
  }
  return listed.length;
}

/**
 * Removes one listed backup by hand at backup_dir or the destination, as an admin would: its
 * manifest first, then its map. Its pieces are then unreferenced, for the cleanup rule to free;
 * a copy removed at the destination alone is uploaded again by the next backup's sync.
 */
async function removeByHand(dir: string, r: Rng): Promise<string> {
  const atNas = r.chance(0.4);
  const root = join(dir, atNas ? "nas" : "backups");
  const listing = await listBackups(atNas ? openLocalFolder(root, "destination") : openLocalFolder(root), "app");
  if (!listing.backups.length) return "nothing to remove";
  const b = r.pick(listing.backups);
  rmSync(join(root, "app", `${b.manifest.id}.json`));
  rmSync(join(root, "app", b.manifest.stored.file), { force: true });
  return `${b.manifest.id} at ${atNas ? "nas" : "backup_dir"}`;
}

const TWO_HOURS_AGO = new Date(Date.now() - 2 * 60 * 60 * 1000).toISOString().replace(/[-:.]/g, "");

/** Renames `names` in `folder` so the time in each name is two hours ago (past the partial age). */
function ageLeftovers(folder: string, names: string[]) {
  for (const n of names) renameSync(join(folder, n), join(folder, n.replace(/\d{8}T\d{9}Z/, TWO_HOURS_AGO)));
}

async function unreferenced(root: string, destination: boolean) {
  const folder = destination ? openLocalFolder(root, "destination") : openLocalFolder(root);
  return ((await listBackups(folder, "app")).pieces?.unreferenced ?? []).map((p) => p.name);
}

/**
 * Time passes (faked through names): unreferenced pieces and free marks at both places become two
 * hours old, so the next rotations really free (and can be killed while freeing). A piece a mark
 * already names keeps its name, so the mark still means it.
 */
async function timePasses(dir: string): Promise<number> {
  const here = join(dir, "backups", "app");
  const there = join(dir, "nas", "app");
  const marks = existsSync(there) ? readdirSync(there).filter((f) => FREE_MARK_RE.test(f)) : [];
  const marked = marks.map((m) => readFileSync(join(there, m), "utf8")).join("\n");
  const local = await unreferenced(join(dir, "backups"), false);
  const remote = (await unreferenced(join(dir, "nas"), true)).filter((n) => !marked.includes(n));
  ageLeftovers(here, local);
  ageLeftovers(there, [...remote, ...marks]);
  return local.length + remote.length + marks.length;
}

describe("incremental backups under random work, retention and kill -9", () => {
  it(
    `seed ${SEED}, ${STEPS} steps: every listed backup restores to its SHA-256, nothing unreferenced outlives the rule`,
    async () => {
      const r = prng(SEED);
      const dir = tempDir();
      makeDatabase(join(dir, "app.db"), { rows: 300, payloadBytes: 300 });
      mkdirSync(join(dir, "nas"));
      writeConfig(dir, r.int(1, 3));
      const log: string[] = [];
      try {
        for (let step = 1; step <= STEPS; step++) {
          const roll = r.next();
          let what: string;
          let cleaned = false;
          if (roll < 0.3) what = `work ${work(join(dir, "app.db"), r)}`;
          else if (roll < 0.38) what = `time passes: ${await timePasses(dir)} aged`;
          else if (roll < 0.43) what = `removed by hand: ${await removeByHand(dir, r)}`;
          else if (roll < 0.78) {
            const rotate = r.chance(0.4);
            const args = ["backup", "--accept-shrink", ...(rotate ? ["--rotate"] : ["--kind", "scheduled"])];
            const kill = r.chance(0.35);
            what = `${args.join(" ")}: ${kill ? await killed(dir, args, r, BACKUP_POINTS) : (await ok(dir, args), "ok")}`;
          } else {
            if (r.chance(0.3)) writeConfig(dir, r.int(1, 3));
            const kill = r.chance(0.45);
            what = `rotate: ${kill ? await killed(dir, ["rotate"], r, ROTATE_POINTS) : (await ok(dir, ["rotate"]), "ok")}`;
            cleaned = !what.includes("killed");
          }
          log.push(`${step}. ${what}`);
          const here = await checkPlace(dir, join(dir, "backups"), [], cleaned);
          const there = await checkPlace(dir, join(dir, "nas"), ["--from", "nas"], cleaned);
          log[log.length - 1] += ` [listed ${here} local, ${there} nas]`;
        }
        // The cleanup rule, run to its end: the leftovers made two hours old (their names carry
        // the time), one rotate frees them in backup_dir and marks them at the destination, the
        // marks made old too, the next frees them there; every listed backup is still whole.
        await ok(dir, ["rotate"]); // retention settled first: removals after the aging would leave fresh pieces
        const leftHere = await unreferenced(join(dir, "backups"), false);
        const leftThere = await unreferenced(join(dir, "nas"), true);
        log.push(`end: rotate, ${leftHere.length} + ${leftThere.length} leftovers aged, rotate, marks aged, rotate`);
        ageLeftovers(join(dir, "backups", "app"), leftHere);
        ageLeftovers(join(dir, "nas", "app"), leftThere);
        await ok(dir, ["rotate"]);
        expect(await unreferenced(join(dir, "backups"), false)).toEqual([]);
        ageLeftovers(
          join(dir, "nas", "app"),
          readdirSync(join(dir, "nas", "app")).filter((f) => FREE_MARK_RE.test(f)),
        );
        await ok(dir, ["rotate"]);
        expect(await unreferenced(join(dir, "nas"), true)).toEqual([]);
        await checkPlace(dir, join(dir, "backups"), []);
        await checkPlace(dir, join(dir, "nas"), ["--from", "nas"]);
      } catch (e) {
        console.error(
          `incremental soak failed: SQLBAK_SOAK_SEED=${SEED} SQLBAK_SOAK_STEPS=${STEPS}\n${log.join("\n")}`,
        );
        throw e;
      }
      if (process.env.SQLBAK_SOAK_LOG) console.error(log.join("\n"));
    },
    Math.max(120_000, STEPS * 6000),
  );
});
