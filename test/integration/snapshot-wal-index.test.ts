/**
 * A WAL-mode state is found through SQLite's wal-index (the page-number arrays
 * in `-shm`), not by reading and checksumming every WAL frame: the image must
 * still be byte for byte what SQLite reads, over many frames, several 32 KiB
 * wal-index blocks, pages rewritten many times, page numbers above 65536, and
 * part of the WAL already checkpointed; and what a snapshot reads of the WAL
 * must not grow with its backlog. A second process holds a read transaction,
 * so checkpoints stop at its mark and the WAL cannot restart while frames pile up.
 * The reference image: once every reader is gone, a TRUNCATE checkpoint
 * leaves the database file holding exactly the latest state, page for page.
 */
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { prng } from "../../bench/generate.ts";
import { pageChunks } from "../../src/lib/snapshot/pages.ts";
import { type Pinned, pinState, SourceFiles } from "../../src/lib/snapshot/pin.ts";
import {
  indexWal,
  readShmHeader,
  SHM_FIRST_BLOCK_FRAMES,
  type ShmHeader,
  WAL_FRAME_HEADER_BYTES,
  WAL_HEADER_BYTES,
  WalChangedError,
} from "../../src/lib/snapshot/wal.ts";
import { startHolder } from "../helpers/hold.ts";
import { tempDir } from "../helpers/tmp.ts";

const holders: Bun.Subprocess[] = [];
/** Ends every holder: then nothing else reads the database. */
async function stopHolders() {
  for (const h of holders.splice(0)) {
    h.kill();
    await h.exited;
  }
}
afterEach(stopHolders);

/** Another process with a read transaction open on `path`: checkpoints stop at its mark, no WAL restart. */
async function holdReadTransaction(path: string): Promise<void> {
  holders.push(await startHolder(path, "txn"));
}

/** A WAL database of `rows` rows of `bytes` random bytes, with the given page size; the connection stays open. */
function createDb(dir: string, pageSize: number, rows: number, bytes: number) {
  const path = join(dir, "app.db");
  const db = new Database(path, { create: true });
  db.run(`PRAGMA page_size = ${pageSize}`);
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = OFF"); // thousands of commits; durability is not under test
  db.run("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
  db.run(
    `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${rows}) ` +
      `INSERT INTO t (v) SELECT randomblob(${bytes}) FROM c`,
  );
  return { path, db };
}

/** `commits` commits, each rewriting one row picked by `pick` (seeded): the same pages over and over. */
function rewrite(db: Database, commits: number, bytes: number, pick: () => number) {
  const update = db.prepare(`UPDATE t SET v = randomblob(${bytes}) WHERE id = ?`);
  for (let i = 0; i < commits; i++) update.run(pick());
  update.finalize();
}

function shmHeader(path: string): ShmHeader {
  const files = new SourceFiles(path);
  try {
    return readShmHeader(files.reader("-shm")!)!;
  } finally {
    files.closeAll();
  }
}

/**
 * Pins the current state in this process as the snapshot reader does, and reads
 * its image through pageChunks: the image's SHA-256 and what was read of -wal and -shm.
 * No other connection of this process may be open on `path` (closing our
 * descriptors drops this process's locks on the files).
 */
async function snapshot(path: string, tamper?: (pin: Pinned) => void) {
  const files = new SourceFiles(path);
  files.fd("");
  const db = new Database(path, { readonly: true });
  try {
    db.run("PRAGMA busy_timeout = 0");
    const pin = pinState(db, files);
    tamper?.(pin);
    const hash = new Bun.CryptoHasher("sha256");
    const { chunks, release } = pageChunks(files, pin);
    for await (const chunk of chunks) {
      hash.update(chunk);
      release(chunk);
    }
    return {
      pin,
      sha256: hash.digest("hex"),
      walRead: files.bytesRead.get("-wal") ?? 0,
      shmRead: files.bytesRead.get("-shm") ?? 0,
    };
  } finally {
    if (db.inTransaction) db.run("ROLLBACK");
    db.close();
    files.closeAll();
  }
}

/** With every reader gone: checkpoint everything into the file and return the file's SHA-256 and size. */
function checkpointedImage(path: string) {
  const db = new Database(path);
  const r = db.query("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number; log: number };
  expect(r).toMatchObject({ busy: 0, log: 0 });
  db.close();
  const bytes = readFileSync(path);
  return { sha256: new Bun.CryptoHasher("sha256").update(bytes).digest("hex"), size: bytes.length };
}

/** What a snapshot reads of the WAL: its header, frame mxFrame's header, and each page used with its frame header. */
const walBytesFor = (pin: Pinned) =>
  WAL_HEADER_BYTES + WAL_FRAME_HEADER_BYTES + pin.walPages.size * (WAL_FRAME_HEADER_BYTES + pin.pageSize);

describe("a WAL state found through the wal-index", () => {
  it("is what SQLite reads: frames over several wal-index blocks, pages rewritten many times, part checkpointed", async () => {
    const { path, db } = createDb(tempDir(), 4096, 300, 1000);
    db.run("PRAGMA wal_autocheckpoint = 0"); // the holder then surely takes a mark > 0 (frames not yet backfilled)
    const rand = prng(7);
    const pick = () => 1 + Math.floor(rand() * 300);
    rewrite(db, 1500, 1000, pick);
    await holdReadTransaction(path);
    rewrite(db, 9000, 1000, pick);
    db.run("PRAGMA wal_checkpoint(PASSIVE)"); // copies up to the holder's mark: nBackfill > 0
    db.close();
    const h = shmHeader(path);
    expect(h.nBackfill).toBeGreaterThan(0);
    // More than two blocks' worth of frames after nBackfill: the first block's 4062 and a whole later one.
    expect(h.mxFrame - h.nBackfill).toBeGreaterThan(SHM_FIRST_BLOCK_FRAMES + 4096);

    const snap = await snapshot(path);
    expect(snap.pin.walFrames).toBe(h.mxFrame);
    expect(snap.pin.walPages.size).toBeGreaterThan(0);
    expect(snap.pin.walPages.size).toBeLessThanOrEqual(snap.pin.pageCount);
    expect(snap.shmRead).toBeGreaterThanOrEqual(4 * (h.mxFrame - h.nBackfill));

    await stopHolders();
    const reference = checkpointedImage(path);
    expect(reference.size).toBe(snap.pin.pageCount * snap.pin.pageSize);
    expect(snap.sha256).toBe(reference.sha256);
  });

  it("is what SQLite reads with page numbers above 65536 (512-byte pages) and ~20 wal-index blocks", async () => {
    const dir = tempDir();
    const path = join(dir, "app.db");
    const setup = new Database(path, { create: true });
    setup.run("PRAGMA page_size = 512");
    setup.run("PRAGMA journal_mode = WAL");
    setup.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
    setup.close();
    await holdReadTransaction(path); // from here on nothing is checkpointed past the empty table
    const { db } = createDb(dir, 512, 80_000, 400); // one row per page: page numbers past 80,000
    db.run("PRAGMA wal_autocheckpoint = 0"); // each would sort the whole backlog only to find it cannot copy it
    const rand = prng(11);
    rewrite(db, 2000, 400, () => 70_000 + Math.floor(rand() * 10_000));
    db.close();
    const h = shmHeader(path);
    expect(h.mxFrame - h.nBackfill).toBeGreaterThan(SHM_FIRST_BLOCK_FRAMES + 18 * 4096);

    const snap = await snapshot(path);
    expect(Math.max(...snap.pin.walPages.keys())).toBeGreaterThan(65_536);
    expect(snap.walRead).toBe(walBytesFor(snap.pin));

    await stopHolders();
    const reference = checkpointedImage(path);
    expect(snap.sha256).toBe(reference.sha256);
  });

  it("reads of the WAL only the pages it uses, however long the backlog: 4 bytes of -shm per frame", async () => {
    const { path, db } = createDb(tempDir(), 4096, 40, 1000);
    await holdReadTransaction(path);
    const rand = prng(3);
    const pick = () => 1 + Math.floor(rand() * 40);
    rewrite(db, 1000, 1000, pick);
    db.close();
    const short = await snapshot(path);
    const reopened = new Database(path);
    reopened.run("PRAGMA synchronous = OFF");
    rewrite(reopened, 6000, 1000, pick);
    reopened.close();
    const long = await snapshot(path);

    expect(long.pin.walFrames).toBeGreaterThan(6 * short.pin.walFrames);
    // The same pages are rewritten: the same bytes read, however many frames hold them.
    expect(long.pin.walPages.size).toBe(short.pin.walPages.size);
    for (const s of [short, long]) {
      expect(s.walRead).toBe(walBytesFor(s.pin));
      // Reading every frame would read the whole backlog; what is read is a small fraction of it.
      expect(s.walRead * 20).toBeLessThan(WAL_HEADER_BYTES + s.pin.walFrames * (WAL_FRAME_HEADER_BYTES + 4096));
    }
    expect(long.walRead).toBe(short.walRead);
    // -shm: the header reads (100 bytes each, a few per attempt), then 4 bytes per frame not yet checkpointed.
    const h = shmHeader(path);
    expect(long.shmRead - 4 * (h.mxFrame - h.nBackfill)).toBeGreaterThan(0);
    expect(long.shmRead - 4 * (h.mxFrame - h.nBackfill)).toBeLessThanOrEqual(3 * 100 * 5);
  });
});

describe("what the wal-index leads to is checked", () => {
  async function heldWal() {
    const { path, db } = createDb(tempDir(), 4096, 50, 1000);
    await holdReadTransaction(path);
    const rand = prng(5);
    rewrite(db, 300, 1000, () => 1 + Math.floor(rand() * 50));
    db.close();
    return path;
  }

  it("refuses a wal-index header that does not match the WAL file (salts, commit size, checksum of frame mxFrame)", async () => {
    const path = await heldWal();
    const files = new SourceFiles(path);
    try {
      const readWal = files.reader("-wal")!;
      const readShm = files.reader("-shm")!;
      const h = readShmHeader(readShm)!;
      expect(indexWal(readWal, readShm, h, 4096, h.nPage).pages.size).toBeGreaterThan(0);
      const wrong: [Partial<ShmHeader>, RegExp][] = [
        [{ salt: [h.salt[0] + 1, h.salt[1]] }, /WAL salts differ/],
        [{ nPage: h.nPage + 1 }, /not the commit frame of/],
        [{ frameCksum: [h.frameCksum[0] ^ 1, h.frameCksum[1]] }, /checksum is not the wal-index's/],
        [{ mxFrame: h.mxFrame - 1 }, /.+/], // frame mxFrame-1: another page, or not a commit frame of that checksum
      ];
      for (const [change, message] of wrong) {
        expect(() => indexWal(readWal, readShm, { ...h, ...change }, 4096, h.nPage)).toThrow(WalChangedError);
        expect(() => indexWal(readWal, readShm, { ...h, ...change }, 4096, h.nPage)).toThrow(message);
      }
      expect(() => indexWal(readWal, readShm, h, 8192, h.nPage)).toThrow("WAL page size differs");
    } finally {
      files.closeAll();
    }
  });

  it("refuses a WAL frame whose header names another page than the one it is read for", async () => {
    const path = await heldWal();
    // Point one page at another page's frame: its header names the other page.
    const swap = (pin: Pinned) => {
      const [first, second] = [...pin.walPages];
      expect(second).toBeDefined();
      pin.walPages.set(second![0], first![1]);
    };
    await expect(snapshot(path, swap)).rejects.toThrow(/holds page/);
    await expect(snapshot(path, swap)).rejects.toBeInstanceOf(WalChangedError);
  });
});
