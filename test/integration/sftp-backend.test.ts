/**
 * The SFTP backend against a real OpenSSH server on 127.0.0.1 (test/helpers/sshd.ts).
 * The server's files are on this machine, so the tests also look at them directly.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSftpBackend, type SftpEntry } from "../../src/lib/destinations/sftp.ts";
import { freePort, type Sshd, startSshd } from "../helpers/sshd.ts";

const MIB = 1024 * 1024;
// One SSH connection per backend, but several servers and failures; on a loaded 2-core CI machine a test can take seconds.
setDefaultTimeout(60_000);
let server: Sshd;
// Everything this file writes lives under one folder removed in afterAll: the server's
// folder must outlive single tests, which helpers/tmp.ts's folders do not.
let base: string;

/** A fresh folder under this file's temporary root. */
function tempDir(prefix = "t-"): string {
  return mkdtempSync(join(base, prefix));
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), "sqlbak-sftp-test-"));
  server = await startSshd(tempDir("sshd-"));
});

/** Backends a test made, closed after it: no session outlives its test. */
const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const b of opened.splice(0)) await b.close();
});

afterAll(async () => {
  await server?.stop();
  rmSync(base, { recursive: true, force: true });
});

/** A backend on a fresh remote folder of its own (returned as `root`, a local path too). */
function backend(over: Partial<SftpEntry> = {}) {
  const root = join(server.root, `t-${randomBytes(4).toString("hex")}`);
  const b = createSftpBackend({
    name: "offsite",
    host: server.host,
    port: server.port,
    user: server.user,
    key_file: server.keyFile,
    known_hosts: server.knownHosts,
    path: root,
    ...over,
  });
  opened.push(b);
  return { b, root: over.path ?? root };
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function randomFile(dir: string, name: string, bytes: number): string {
  const path = join(dir, name);
  writeFileSync(path, randomBytes(bytes));
  return path;
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected the operation to fail");
}

describe("sftp backend", () => {
  it("uploads and downloads a multi-MiB file unchanged, with no temporary file left", async () => {
    const local = tempDir();
    const src = randomFile(local, "app.db.zst", 5 * MIB + 123);
    chmodSync(src, 0o600);
    const { b, root } = backend();
    await b.put(src, "app/2026-11-22T07-00-00Z.db.zst");
    expect(readdirSync(join(root, "app"))).toEqual(["2026-11-22T07-00-00Z.db.zst"]);
    // Backups hold user data: the remote copy keeps the private mode of the local file.
    expect(statSync(join(root, "app/2026-11-22T07-00-00Z.db.zst")).mode & 0o777).toBe(0o600);
    expect(sha256(join(root, "app/2026-11-22T07-00-00Z.db.zst"))).toBe(sha256(src));
    const back = join(local, "back.db.zst");
    await b.get("app/2026-11-22T07-00-00Z.db.zst", back);
    expect(sha256(back)).toBe(sha256(src));
    expect(readdirSync(local).sort()).toEqual(["app.db.zst", "back.db.zst"]);
    await b.close();
    await b.close();
  });

  it("runs every operation through one SSH connection, misses and failures included, until close()", async () => {
    const local = tempDir();
    const { b } = backend();
    const before = server.logins();
    await b.put(randomFile(local, "f", 100), "app/f.db");
    expect(await b.stat("app/none.db")).toBeNull();
    expect(await b.readText("app/none.json")).toBeNull();
    expect(await failure(b.get("app/none.db", join(local, "out")))).toEndWith("app/none.db does not exist");
    await b.remove("app/none.db");
    expect(await failure(b.put(join(local, "missing"), "app/g.db"))).toContain("no such file");
    // Concurrent calls queue up on the one session.
    const [listed, stat] = await Promise.all([b.list("app/"), b.stat("app/f.db"), b.readText("app/f.db")]);
    expect([listed, stat]).toEqual([[{ key: "app/f.db", size: 100 }], { key: "app/f.db", size: 100 }]);
    await b.remove("app/f.db");
    expect(b.connections()).toBe(1);
    await b.close();
    await Bun.sleep(100);
    expect(server.logins() - before).toBe(1);
    // After close() the next operation connects again.
    expect(await b.stat("app/f.db")).toBeNull();
    expect(b.connections()).toBe(2);
    await b.close();
  });

  it("replaces an existing key with a new upload", async () => {
    const local = tempDir();
    const { b, root } = backend();
    await b.put(randomFile(local, "one", 1000), "app/x.json");
    const second = randomFile(local, "two", 10);
    await b.put(second, "app/x.json");
    expect(sha256(join(root, "app/x.json"))).toBe(sha256(second));
  });

  it("stats files and says null for a missing key or a folder", async () => {
    const local = tempDir();
    const { b } = backend();
    await b.put(randomFile(local, "f", 4242), "app/f.db");
    expect(await b.stat("app/f.db")).toEqual({ key: "app/f.db", size: 4242 });
    expect(await b.stat("app/missing.db")).toBeNull();
    expect(await b.stat("nothing/missing.db")).toBeNull();
    await b.put(randomFile(local, "g", 1), "app/sub/g.db");
    expect(await b.stat("app/sub")).toBeNull();
  });

  it("lists files under a prefix, skipping hidden temporary files", async () => {
    const local = tempDir();
    const { b, root } = backend();
    expect(await b.list("")).toEqual([]);
    await b.put(randomFile(local, "a", 10), "app/2026-01.db");
    await b.put(randomFile(local, "b", 20), "app/2026-01.json");
    await b.put(randomFile(local, "c", 30), "other/2025-12.db");
    writeFileSync(join(root, "app", ".2026-02.db.tmp"), "partial");
    const keys = (files: { key: string; size: number }[]) => files.map((f) => `${f.key}:${f.size}`).sort();
    expect(keys(await b.list(""))).toEqual(["app/2026-01.db:10", "app/2026-01.json:20", "other/2025-12.db:30"]);
    expect(keys(await b.list("app/"))).toEqual(["app/2026-01.db:10", "app/2026-01.json:20"]);
    expect(keys(await b.list("app/2026-01.j"))).toEqual(["app/2026-01.json:20"]);
    expect(keys(await b.list("oth"))).toEqual(["other/2025-12.db:30"]);
    expect(await b.list("none/")).toEqual([]);
  });

  it("reads a small file whole, or null when it does not exist", async () => {
    const local = tempDir();
    const { b } = backend();
    writeFileSync(join(local, "m.json"), '{"id":"x"}\n');
    await b.put(join(local, "m.json"), "app/m.json");
    expect(await b.readText("app/m.json")).toBe('{"id":"x"}\n');
    expect(await b.readText("app/none.json")).toBeNull();
  });

  it("reads many small files in one batch, each with its own outcome, on the same connection", async () => {
    const { b, root } = backend();
    mkdirSync(join(root, "app"), { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(join(root, "app", `${i}.json`), `{"n":${i}}\n`);
    chmodSync(join(root, "app", "3.json"), 0);
    const keys = ["app/0.json", "app/none.json", "app/1.json", "app/2.json", "app/4.json"];
    expect(await b.readTexts!(keys)).toEqual(['{"n":0}\n', null, '{"n":1}\n', '{"n":2}\n', '{"n":4}\n']);
    expect(await b.readTexts!(["app/0.json", "app/4.json"])).toEqual(['{"n":0}\n', '{"n":4}\n']);
    // A file sftp may not read is that key's Error (root reads it anyway), never another key's text.
    const [unreadable] = await b.readTexts!(["app/3.json"]);
    if (process.getuid?.() === 0) expect(unreadable).toBe('{"n":3}\n');
    else expect(unreadable).toBeInstanceOf(Error);
    expect(b.connections()).toBe(1);
  });

  it("removes a key, and removing it again succeeds", async () => {
    const local = tempDir();
    const { b, root } = backend();
    await b.put(randomFile(local, "f", 10), "app/f.db");
    await b.remove("app/f.db");
    expect(existsSync(join(root, "app/f.db"))).toBe(false);
    expect(await b.stat("app/f.db")).toBeNull();
    await b.remove("app/f.db");
    await b.remove("never/was.db");
  });

  it("handles spaces, quotes and glob characters in the folder and the key", async () => {
    const local = tempDir();
    const root = join(server.root, `with space "q" [x]*?-${randomBytes(3).toString("hex")}`);
    const { b } = backend({ path: root });
    const key = "my db/backup 1 [a]*?'\".db";
    const src = randomFile(local, "src file", 3 * MIB);
    await b.put(src, key);
    expect(sha256(join(root, key))).toBe(sha256(src));
    expect(await b.stat(key)).toEqual({ key, size: 3 * MIB });
    expect(await b.list("my db/")).toEqual([{ key, size: 3 * MIB }]);
    await b.get(key, join(local, "back copy"));
    expect(sha256(join(local, "back copy"))).toBe(sha256(src));
    await b.remove(key);
    expect(existsSync(join(root, key))).toBe(false);
  });

  it.each(["rel-%s/sub", "~/rel-%s", "."])("works with a folder relative to the login folder: %p", async (spelling) => {
    const local = tempDir();
    const id = randomBytes(4).toString("hex");
    const path = spelling.replace("%s", id);
    const db = `db-${id}`;
    const { b } = backend({ path });
    const onServer = join(server.root, path.replace(/^~\//, ""), db);
    const src = randomFile(local, "x", 1000);
    await b.put(src, `${db}/x.db`);
    expect(sha256(join(onServer, "x.db"))).toBe(sha256(src));
    expect(await b.stat(`${db}/x.db`)).toEqual({ key: `${db}/x.db`, size: 1000 });
    expect(await b.list(`${db}/`)).toEqual([{ key: `${db}/x.db`, size: 1000 }]);
    expect(await b.readText(`${db}/x.db`)).toBe(readFileSync(src, "utf8"));
    await b.remove(`${db}/x.db`);
    expect(readdirSync(onServer)).toEqual([]);
    expect(b.describe).toBe(
      `sftp://${server.user}@127.0.0.1:${server.port}/~/${path === "." ? "" : path.replace(/^~\//, "")}`,
    );
  });

  it("leaves nothing under the final key when an upload is cut off, and the next upload completes", async () => {
    const local = tempDir();
    const src = randomFile(local, "big.db.zst", 8 * MIB);
    // A second server whose writes stop at 1 MiB (RLIMIT_FSIZE): the session dies mid-upload, every time.
    const limited = await startSshd(tempDir("sshd-"), { fileSizeLimitBytes: MIB });
    try {
      const root = join(limited.root, "dest");
      const cut = createSftpBackend({
        name: "offsite",
        host: limited.host,
        port: limited.port,
        user: limited.user,
        key_file: limited.keyFile,
        known_hosts: limited.knownHosts,
        path: root,
      });
      opened.push(cut);
      const message = await failure(cut.put(src, "app/big.db.zst"));
      expect(message).not.toContain("\n");
      expect(message).toStartWith('sftp destination "offsite"');
      expect(message).toMatch(
        /upload of app\/big\.db\.zst failed: the connection to 127\.0\.0\.1 port \d+ (broke off|was closed)/,
      );
      // The bytes that did arrive are in the hidden partial, never under the key.
      expect(readdirSync(join(root, "app"))).toEqual([".big.db.zst.tmp"]);
      expect(statSync(join(root, "app/.big.db.zst.tmp")).size).toBe(MIB);
      expect(await cut.stat("app/big.db.zst")).toBeNull();
      expect(await cut.list("app/")).toEqual([]);

      // The next run (here through an unlimited server, same folder) replaces the stale partial.
      const { b } = backend({ path: root });
      await b.put(src, "app/big.db.zst");
      expect(sha256(join(root, "app/big.db.zst"))).toBe(sha256(src));
      expect(readdirSync(join(root, "app"))).toEqual(["big.db.zst"]);
    } finally {
      await limited.stop();
    }
  }, 60_000);
});

describe("sftp backend failures", () => {
  it("names the destination and says authentication failed for a key the server does not accept", async () => {
    const { b } = backend({ key_file: server.wrongKeyFile });
    const message = await failure(b.stat("app/x"));
    expect(message).not.toContain("\n");
    expect(message).toStartWith(`sftp destination "offsite" (sftp://${server.user}@127.0.0.1:${server.port}/`);
    expect(message).toContain(`authentication failed for user "${server.user}"`);
    expect(message).toContain(server.wrongKeyFile);
  });

  it("tries a connection that failed only once until close(): every operation reports that failure", async () => {
    const { b } = backend({ key_file: server.wrongKeyFile });
    const first = await failure(b.stat("app/x"));
    expect(await failure(b.list("app/"))).toContain("authentication failed");
    expect(first).toContain("authentication failed");
    expect(b.connections()).toBe(1);
    await b.close();
    expect(await failure(b.stat("app/x"))).toContain("authentication failed");
    expect(b.connections()).toBe(2);
    await b.close();
  });

  it("says the connection was refused when nothing listens on the port", async () => {
    const port = await freePort();
    const { b } = backend({ port });
    const message = await failure(b.list("app/"));
    expect(message).not.toContain("\n");
    expect(message).toContain(`connection refused by 127.0.0.1 port ${port}`);
  });

  it("refuses a server whose host key differs from the pinned one", async () => {
    const dir = tempDir();
    const pinned = join(dir, "known_hosts");
    writeFileSync(pinned, `[127.0.0.1]:${server.port} ${readFileSync(`${server.wrongKeyFile}.pub`, "utf8")}`);
    const message = await failure(backend({ known_hosts: pinned }).b.put(randomFile(dir, "f", 10), "app/f"));
    expect(message).not.toContain("\n");
    expect(message).toContain(
      `the host key of 127.0.0.1 port ${server.port} does not match the one in known_hosts file ${pinned}`,
    );
  });

  it("refuses a server whose host key is not in the pinned file", async () => {
    const dir = tempDir();
    const pinned = join(dir, "known_hosts");
    writeFileSync(pinned, "");
    const message = await failure(backend({ known_hosts: pinned }).b.readText("app/m.json"));
    expect(message).not.toContain("\n");
    expect(message).toContain(
      `the host key of 127.0.0.1 port ${server.port} is not known in known_hosts file ${pinned}`,
    );
  });

  // Without known_hosts in the config, ssh's own files and settings decide. Only meaningful (and
  // read-only) where this user's ssh config keeps the default: never trust an unknown host silently.
  const policy = Bun.spawnSync(["ssh", "-G", "127.0.0.1"], { stdin: "ignore", stderr: "ignore" })
    .stdout.toString()
    .match(/^stricthostkeychecking (\S+)/m)?.[1];
  it.skipIf(policy !== "ask" && policy !== "true")(
    "by default refuses a host that this user's ssh has never seen",
    async () => {
      const message = await failure(backend({ known_hosts: undefined }).b.stat("app/x"));
      expect(message).not.toContain("\n");
      expect(message).toContain(
        `the host key of 127.0.0.1 port ${server.port} is not known in this user's ~/.ssh/known_hosts`,
      );
    },
  );

  it("says so when the key file or the known_hosts file is missing", async () => {
    expect(await failure(backend({ key_file: "/nonexistent/id" }).b.stat("a/b"))).toEndWith(
      "key file /nonexistent/id does not exist",
    );
    expect(await failure(backend({ known_hosts: "/nonexistent/kh" }).b.stat("a/b"))).toEndWith(
      "known_hosts file /nonexistent/kh does not exist",
    );
  });

  it("says which key is missing when a download finds nothing", async () => {
    const dir = tempDir();
    const message = await failure(backend().b.get("app/none.db", join(dir, "out")));
    expect(message).toEndWith("app/none.db does not exist");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses keys that would leave the destination folder", async () => {
    const { b } = backend();
    expect(await failure(b.stat("../etc/passwd"))).toContain("invalid destination key");
    expect(await failure(b.remove("/abs"))).toContain("invalid destination key");
  });
});
