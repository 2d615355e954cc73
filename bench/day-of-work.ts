/**
 * A deterministic "day of work" on a bench database (generate.ts): append 1%
 * more rows and update 0.5% of the rows at random in every table, delete 0.1%
 * of the events and attachments.
 * The same database and day always give the same result. The WAL is then
 * checkpointed and truncated, so the database file alone is the day's image
 * (the benchmark owns the database; no backup runs meanwhile).
 *   bun bench/day-of-work.ts PATH DAY
 */
import { Database } from "bun:sqlite";
import { prng } from "./generate.ts";

const WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma".split(
  " ",
);

export function dayOfWork(path: string, day: number): void {
  const rand = prng(1000 + day);
  const words = (n: number) => Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(" ");
  const blob = () => {
    const b = new Uint8Array(2048 + Math.floor(rand() * 6144));
    for (let k = 0; k < b.length; k++) b[k] = k < b.length / 2 ? Math.floor(rand() * 256) : k & 0x0f;
    return b;
  };
  const db = new Database(path);
  db.run("PRAGMA synchronous = OFF");
  const stat = (table: string) =>
    db.query(`SELECT count(*) AS n, coalesce(max(id), 0) AS top FROM ${table}`).get() as { n: number; top: number };
  const users = stat("users");
  const events = stat("events");
  const attachments = stat("attachments");
  const someId = (top: number) => 1 + Math.floor(rand() * top);
  const profile = () => JSON.stringify({ bio: words(12), tags: [words(1), words(1)], score: rand() });
  const payload = () => JSON.stringify({ text: words(20), n: Math.floor(rand() * 1e6) });
  db.transaction(() => {
    const addUser = db.prepare("INSERT INTO users (name, email, profile) VALUES (?, ?, ?)");
    const addEvent = db.prepare("INSERT INTO events (user_id, kind, payload, created_at) VALUES (?, ?, ?, ?)");
    const addBlob = db.prepare("INSERT INTO attachments (event_id, name, data) VALUES (?, ?, ?)");
    for (let i = 0; i < Math.ceil(users.n / 100); i++) addUser.run(words(2), `day${day}-${i}@example.com`, profile());
    for (let i = 0; i < Math.ceil(events.n / 100); i++)
      addEvent.run(someId(users.top), words(1), payload(), 1_800_000_000 + day * 86_400 + i);
    for (let i = 0; i < Math.ceil(attachments.n / 100); i++) addBlob.run(someId(events.top), `${words(1)}.bin`, blob());

    const setProfile = db.prepare("UPDATE users SET profile = ? WHERE id = ?");
    const setPayload = db.prepare("UPDATE events SET payload = ? WHERE id = ?");
    const setData = db.prepare("UPDATE attachments SET data = ? WHERE id = ?");
    for (let i = 0; i < Math.ceil(users.n / 200); i++) setProfile.run(profile(), someId(users.top));
    for (let i = 0; i < Math.ceil(events.n / 200); i++) setPayload.run(payload(), someId(events.top));
    for (let i = 0; i < Math.ceil(attachments.n / 200); i++) setData.run(blob(), someId(attachments.top));

    // Users are not deleted: events reference them (a foreign key the restore checks).
    for (const [table, s] of [
      ["events", events],
      ["attachments", attachments],
    ] as const) {
      const del = db.prepare(`DELETE FROM ${table} WHERE id = ?`);
      for (let i = 0; i < Math.ceil(s.n / 1000); i++) del.run(someId(s.top));
    }
  })();
  db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
}

if (import.meta.main) {
  const [path, day] = process.argv.slice(2);
  if (!path || !day) {
    console.error("usage: bun bench/day-of-work.ts PATH DAY");
    process.exit(2);
  }
  dayOfWork(path, Number(day));
}
