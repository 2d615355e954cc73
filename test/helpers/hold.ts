/** Starting test/helpers/holder.ts: another process holding a database the way an application does. */
import { join } from "node:path";

const HOLDER = join(import.meta.dir, "holder.ts");

/** Starts the holder on `db` (`how`: open, read or txn) and waits until it holds the database. */
export async function startHolder(db: string, how: string): Promise<Bun.Subprocess> {
  const proc = Bun.spawn(["bun", HOLDER, db, how], { stdout: "ignore", stderr: "pipe" });
  const reader = proc.stderr.getReader();
  let seen = "";
  while (!seen.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`holder exited: ${seen}`);
    seen += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return proc;
}
