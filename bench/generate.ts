/**
 * Deterministic benchmark databases: WAL mode, mixed text, JSON and BLOBs,
 * several indexes. The same size and seed always give the same content.
 *   bun bench/generate.ts PATH SIZE_MIB [SEED]
 */
import { Database } from "bun:sqlite";
import { existsSync, statSync } from "node:fs";

/** mulberry32: tiny, fast, and the same sequence on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore " +
  "magna aliqua enim minim veniam quis nostrud exercitation ullamco laboris nisi aliquip commodo consequat"
).split(" ");

/** Fills `path` with about `sizeMiB` of data; returns the final file size in bytes. */
export function generateDatabase(path: string, sizeMiB: number, seed = 42): number {
  const rand = prng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(" ");
  const db = new Database(path, { create: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = OFF");
  db.run("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, profile TEXT NOT NULL)");
  db.run(
    "CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), " +
      "kind TEXT NOT NULL, payload TEXT NOT NULL, created_at INTEGER NOT NULL)",
  );
  db.run(
    "CREATE TABLE attachments (id INTEGER PRIMARY KEY, " +
      "event_id INTEGER NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL)",
  );
  db.run("CREATE INDEX users_email ON users(email)");
  db.run("CREATE INDEX events_user ON events(user_id, created_at)");
  db.run("CREATE INDEX events_kind ON events(kind)");
  db.run("CREATE INDEX attachments_event ON attachments(event_id)");
  const addUser = db.prepare("INSERT INTO users (name, email, profile) VALUES (?, ?, ?)");
  const addEvent = db.prepare("INSERT INTO events (user_id, kind, payload, created_at) VALUES (?, ?, ?, ?)");
  const addBlob = db.prepare("INSERT INTO attachments (event_id, name, data) VALUES (?, ?, ?)");
  const target = sizeMiB * 1024 * 1024;
  let users = 0;
  let events = 0;
  const batch = db.transaction(() => {
    for (let i = 0; i < 200; i++) {
      users++;
      addUser.run(
        words(2),
        `user${users}@example.com`,
        JSON.stringify({ bio: words(12), tags: [pick(WORDS), pick(WORDS)], score: rand() }),
      );
      for (let j = 0; j < 10; j++) {
        events++;
        addEvent.run(
          users,
          pick(["login", "view", "edit", "share", "delete"]),
          JSON.stringify({ text: words(20), n: Math.floor(rand() * 1e6) }),
          1_700_000_000 + events,
        );
        if (rand() < 0.1) {
          // Half random, half repetitive: blobs compress like real attachments do, partly.
          const blob = new Uint8Array(2048 + Math.floor(rand() * 6144));
          for (let k = 0; k < blob.length; k++) blob[k] = k < blob.length / 2 ? Math.floor(rand() * 256) : k & 0x0f;
          addBlob.run(events, `${words(1)}.bin`, blob);
        }
      }
    }
  });
  while (fileSize(path) < target) batch();
  db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  return fileSize(path);
}

function fileSize(path: string): number {
  return (existsSync(path) ? statSync(path).size : 0) + (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
}

if (import.meta.main) {
  const [path, size, seed] = process.argv.slice(2);
  if (!path || !size) {
    console.error("usage: bun bench/generate.ts PATH SIZE_MIB [SEED]");
    process.exit(2);
  }
  console.log(generateDatabase(path, Number(size), seed ? Number(seed) : 42));
}
