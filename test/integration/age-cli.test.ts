/**
 * Interop with Debian's `age` CLI, both ways: what sqlbak encrypts, `age -d`
 * decrypts, and what `age -r` / `age -p` encrypt, sqlbak decrypts. Passphrase
 * prompts (age reads them from the terminal only) are typed through tmux.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  createEncrypter,
  decryptBytes,
  encryptBytes,
  generateIdentity,
  openAgeFile,
  parseIdentityFile,
  parseRecipient,
} from "../../src/age/index.ts";
import { decryptTransform } from "../../src/age/stream.ts";
import { compressFile, decompressFile } from "../../src/lib/codec/compress.ts";
import { tempDir } from "../helpers/tmp.ts";
import { TmuxSession } from "../helpers/tmux.ts";

function run(cmd: string[], stdin?: Uint8Array): Buffer {
  const r = Bun.spawnSync(cmd, { stdin: stdin ?? "ignore", stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}: ${r.stderr.toString()}`);
  return r.stdout;
}

/** A key pair made by age-keygen itself. */
function ageKeygen(dir: string): { keyFile: string; recipient: string } {
  const keyFile = join(dir, `key-${randomBytes(3).toString("hex")}.txt`);
  run(["age-keygen", "-o", keyFile]);
  return { keyFile, recipient: run(["age-keygen", "-y", keyFile]).toString().trim() };
}

const SIZES = [0, 1, 65535, 65536, 65537, 3 * 65536 + 99];

describe("sqlbak → age -d", () => {
  it.each(SIZES)("age -d -i decrypts %d bytes sqlbak encrypted", async (n) => {
    const dir = tempDir();
    const { keyFile, recipient } = ageKeygen(dir);
    const plain = randomBytes(n);
    const file = join(dir, "f.age");
    writeFileSync(file, await encryptBytes(plain, { recipients: [parseRecipient(recipient)] }));
    expect(run(["age", "-d", "-i", keyFile, file]).equals(plain)).toBe(true);
  });

  it("a streamed, compressed, encrypted file decrypts with `age -d -i key | zstd -d`", async () => {
    const dir = tempDir();
    const { keyFile, recipient } = ageKeygen(dir);
    const other = ageKeygen(dir);
    const src = join(dir, "src.bin");
    // Half random, half zeros: several 4 MiB compression chunks, some compressible.
    writeFileSync(src, Buffer.concat([randomBytes(5 * 1024 * 1024), Buffer.alloc(4 * 1024 * 1024)]));
    const dest = join(dir, "src.bin.zst.age");
    const enc = await createEncrypter({ recipients: [parseRecipient(recipient), parseRecipient(other.recipient)] });
    const sums = await compressFile(src, dest, "zstd", 3, { filter: enc });
    expect(sums.storedSha256).toBe(new Bun.CryptoHasher("sha256").update(readFileSync(dest)).digest("hex"));
    for (const key of [keyFile, other.keyFile]) {
      run(["sh", "-c", `age -d -i '${key}' '${dest}' | zstd -d -q -o '${dir}/out' -f`]);
      expect(readFileSync(join(dir, "out")).equals(readFileSync(src))).toBe(true);
    }
  });

  it("age-keygen -y derives the same recipient as sqlbak from a sqlbak-generated identity", () => {
    const dir = tempDir();
    const g = generateIdentity();
    writeFileSync(join(dir, "id.txt"), `${g.identity}\n`);
    expect(
      run(["age-keygen", "-y", join(dir, "id.txt")])
        .toString()
        .trim(),
    ).toBe(g.recipient);
  });

  it("age -d decrypts sqlbak's passphrase (scrypt) encryption, typed at its prompt", async () => {
    const dir = tempDir();
    const plain = randomBytes(70_000);
    const file = join(dir, "p.age");
    writeFileSync(file, await encryptBytes(plain, { passphrase: "correct horse battery" }));
    const tmux = new TmuxSession();
    try {
      tmux.start(`age -d -o '${dir}/out' '${file}'; echo "exit=$?"; sleep 30`);
      await tmux.waitFor("Enter passphrase");
      tmux.send("correct horse battery", "Enter");
      await tmux.waitFor("exit=0", 20_000);
    } finally {
      tmux.kill();
    }
    expect(readFileSync(join(dir, "out")).equals(plain)).toBe(true);
  }, 60_000); // scrypt at work factor 2^18, a second or more on a busy machine
});

describe("age → sqlbak", () => {
  let tmux: TmuxSession | null = null;
  afterEach(() => {
    tmux?.kill();
    tmux = null;
  });

  it.each(SIZES)("sqlbak decrypts %d bytes `age -r` encrypted", async (n) => {
    const dir = tempDir();
    const { keyFile, recipient } = ageKeygen(dir);
    const plain = randomBytes(n);
    const file = run(["age", "-r", recipient], plain);
    const identities = parseIdentityFile(readFileSync(keyFile, "utf8"));
    expect(Buffer.from(await decryptBytes(file, { identities })).equals(plain)).toBe(true);
  });

  it("a `zstd | age -r` file decompresses through sqlbak's streaming decrypter", async () => {
    const dir = tempDir();
    const { keyFile, recipient } = ageKeygen(dir);
    const src = join(dir, "src.bin");
    writeFileSync(src, Buffer.concat([randomBytes(3 * 1024 * 1024), Buffer.alloc(2 * 1024 * 1024)]));
    const stored = join(dir, "src.zst.age");
    run(["sh", "-c", `zstd -q -c '${src}' | age -r ${recipient} -o '${stored}'`]);
    const { fileKey, headerBytes } = await openAgeFile(stored, {
      identities: parseIdentityFile(readFileSync(keyFile, "utf8")),
    });
    const sums = await decompressFile(stored, join(dir, "out"), "zstd", () => decryptTransform(fileKey, headerBytes));
    expect(readFileSync(join(dir, "out")).equals(readFileSync(src))).toBe(true);
    expect(sums.storedSize).toBe(readFileSync(stored).length);
  });

  it("sqlbak decrypts an `age -p` file with the same passphrase, and refuses a wrong one", async () => {
    const dir = tempDir();
    const plain = randomBytes(100_000);
    writeFileSync(join(dir, "plain"), plain);
    tmux = new TmuxSession();
    tmux.start(`age -p -o '${dir}/p.age' '${dir}/plain'; echo "exit=$?"; sleep 30`);
    await tmux.waitFor("Enter passphrase");
    tmux.send("tr0ub4dor & 3", "Enter");
    await tmux.waitFor("Confirm passphrase");
    tmux.send("tr0ub4dor & 3", "Enter");
    await tmux.waitFor("exit=0", 20_000);
    const file = readFileSync(join(dir, "p.age"));
    expect(file.toString("latin1")).toContain("\n-> scrypt ");
    expect(Buffer.from(await decryptBytes(file, { identities: [], passphrase: "tr0ub4dor & 3" })).equals(plain)).toBe(
      true,
    );
    await expect(decryptBytes(file, { identities: [], passphrase: "tr0ub4dor & 4" })).rejects.toThrow(
      "the passphrase is wrong",
    );
  }, 60_000);
});
