/** The id key of a database folder (local 0600 file, copies beside the backups) and the seal made with keys derived from it. */
import { describe, expect, it } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { decryptBytes, generateIdentity, parseIdentity } from "../../src/age/index.ts";
import { type DecryptionKeys, NO_KEYS, sealerFor } from "../../src/lib/codec/index.ts";
import { OperationError } from "../../src/lib/model/index.ts";
import {
  ID_KEY_BYTES,
  idKeyCopyName,
  indexKey,
  keyFingerprint,
  LOCAL_ID_KEY_FILE,
  loadOrCreateIdKey,
  metaKey,
  openSealed,
  SEAL_HEADER_BYTES,
  SealError,
  seal,
  sealedFingerprint,
} from "../../src/lib/pages/index.ts";
import { tempDir } from "../helpers/tmp.ts";

const ID = generateIdentity();
const RECIPIENTS = sealerFor({ type: "recipients", recipients: [ID.recipient] })!;
const WITH_IDENTITY: DecryptionKeys = { ...NO_KEYS, identities: [parseIdentity(ID.identity)] };
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const fpOf = (key: Uint8Array) => hex(keyFingerprint(key));
const modeOf = (path: string) => statSync(path).mode & 0o777;
/** Names in `dir` other than temporaries (none may be left behind). */
const namesIn = (dir: string) => readdirSync(dir).sort();

describe("loadOrCreateIdKey", () => {
  it("creates a 32-byte key, 0600 locally, with a plain copy named by its fingerprint when nothing is encrypted", async () => {
    const dir = join(tempDir(), "app");
    const k = await loadOrCreateIdKey(dir, null);
    expect(k.created).toBe(true);
    expect(k.adoptedFrom).toBeNull();
    expect(k.key.length).toBe(ID_KEY_BYTES);
    expect(k.fingerprint).toBe(fpOf(k.key));
    expect(namesIn(dir)).toEqual([LOCAL_ID_KEY_FILE, `id-key-${k.fingerprint}`]);
    expect(hex(readFileSync(join(dir, LOCAL_ID_KEY_FILE)))).toBe(hex(k.key));
    expect(hex(readFileSync(join(dir, `id-key-${k.fingerprint}`)))).toBe(hex(k.key));
    expect(modeOf(join(dir, LOCAL_ID_KEY_FILE))).toBe(0o600);
    expect(modeOf(join(dir, `id-key-${k.fingerprint}`))).toBe(0o600);
  });

  it("makes the local file 0600 whatever the umask (one that drops the owner's write bit too)", async () => {
    const dir = tempDir();
    const old = process.umask(0o277);
    try {
      await loadOrCreateIdKey(dir, null);
    } finally {
      process.umask(old);
    }
    expect(modeOf(join(dir, LOCAL_ID_KEY_FILE))).toBe(0o600);
  });

  it("reloads the same key, writing nothing new", async () => {
    const dir = tempDir();
    const first = await loadOrCreateIdKey(dir, null);
    const again = await loadOrCreateIdKey(dir, null);
    expect(again.created).toBe(false);
    expect(again.key).toEqual(first.key);
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(namesIn(dir)).toEqual([LOCAL_ID_KEY_FILE, `id-key-${first.fingerprint}`]);
  });

  it("with recipients only: the copy decrypts with the identity, and the local key is used without it", async () => {
    const dir = tempDir();
    const k = await loadOrCreateIdKey(dir, RECIPIENTS);
    const copy = join(dir, `id-key-${k.fingerprint}.age`);
    expect(namesIn(dir)).toEqual([LOCAL_ID_KEY_FILE, `id-key-${k.fingerprint}.age`]);
    expect(readFileSync(copy).includes(Buffer.from(k.key))).toBe(false);
    expect(await decryptBytes(readFileSync(copy), { identities: [parseIdentity(ID.identity)] })).toEqual(k.key);
    const again = await loadOrCreateIdKey(dir, RECIPIENTS); // no identity on this host
    expect(again).toMatchObject({ created: false, fingerprint: k.fingerprint });
    expect(again.key).toEqual(k.key);
  });

  it("with a passphrase: the copy decrypts with it, and a folder without the local file adopts it", async () => {
    const env = { SQLBAK_TEST_PW: "correct horse battery staple" };
    const sealer = sealerFor({ type: "passphrase", passphraseEnv: "SQLBAK_TEST_PW" }, env)!;
    const dir = tempDir();
    const k = await loadOrCreateIdKey(dir, sealer, { ...NO_KEYS, env });
    const copy = `id-key-${k.fingerprint}.age`;
    expect(
      await decryptBytes(readFileSync(join(dir, copy)), { identities: [], passphrase: env.SQLBAK_TEST_PW }),
    ).toEqual(k.key);
    unlinkSync(join(dir, LOCAL_ID_KEY_FILE));
    const adopted = await loadOrCreateIdKey(dir, sealer, { ...NO_KEYS, env });
    expect(adopted).toMatchObject({ created: false, adoptedFrom: copy, fingerprint: k.fingerprint });
    expect(adopted.key).toEqual(k.key);
  }, 30_000);

  it("adopts the copy when the local file is gone (backup_dir restored from a destination), 0600 again", async () => {
    const dir = tempDir();
    const k = await loadOrCreateIdKey(dir, RECIPIENTS);
    unlinkSync(join(dir, LOCAL_ID_KEY_FILE));
    const adopted = await loadOrCreateIdKey(dir, RECIPIENTS, WITH_IDENTITY);
    expect(adopted).toMatchObject({ created: false, adoptedFrom: `id-key-${k.fingerprint}.age`, skipped: [] });
    expect(adopted.key).toEqual(k.key);
    expect(hex(readFileSync(join(dir, LOCAL_ID_KEY_FILE)))).toBe(hex(k.key));
    expect(modeOf(join(dir, LOCAL_ID_KEY_FILE))).toBe(0o600);
    expect(namesIn(dir)).toEqual([LOCAL_ID_KEY_FILE, `id-key-${k.fingerprint}.age`]);
  });

  it("adopts the newest copy whose content matches its name, passing over one whose name lies", async () => {
    const dir = tempDir();
    const older = randomBytes(32);
    const newer = randomBytes(32);
    const liar = randomBytes(32);
    writeFileSync(join(dir, idKeyCopyName(fpOf(older), false)), older);
    writeFileSync(join(dir, idKeyCopyName(fpOf(newer), false)), newer);
    writeFileSync(join(dir, idKeyCopyName("00112233445566ff", false)), liar);
    const t = Date.now() / 1000;
    utimesSync(join(dir, idKeyCopyName(fpOf(older), false)), t - 200, t - 200);
    utimesSync(join(dir, idKeyCopyName(fpOf(newer), false)), t - 100, t - 100);
    utimesSync(join(dir, idKeyCopyName("00112233445566ff", false)), t, t);
    const k = await loadOrCreateIdKey(dir, null);
    expect(k).toMatchObject({ created: false, adoptedFrom: idKeyCopyName(fpOf(newer), false) });
    expect(k.key).toEqual(new Uint8Array(newer));
    expect(k.skipped).toEqual([
      {
        name: "id-key-00112233445566ff",
        reason: `holds the key with fingerprint ${fpOf(liar)}, not the one its name gives`,
      },
    ]);
  });

  it("in an encrypted setup never adopts a key stored in plain beside the backups", async () => {
    const dir = tempDir();
    const plain = randomBytes(32);
    writeFileSync(join(dir, idKeyCopyName(fpOf(plain), false)), plain);
    const k = await loadOrCreateIdKey(dir, RECIPIENTS, WITH_IDENTITY);
    expect(k.created).toBe(true);
    expect(k.fingerprint).not.toBe(fpOf(plain));
    expect(k.skipped).toEqual([
      { name: idKeyCopyName(fpOf(plain), false), reason: "stored in plain, and backups here are encrypted" },
    ]);
  });

  it("starts a new key when no copy opens here, and never touches the old key's copy", async () => {
    const dir = tempDir();
    const old = await loadOrCreateIdKey(dir, RECIPIENTS);
    const oldCopy = join(dir, `id-key-${old.fingerprint}.age`);
    const oldBytes = readFileSync(oldCopy);
    unlinkSync(join(dir, LOCAL_ID_KEY_FILE));
    const fresh = await loadOrCreateIdKey(dir, RECIPIENTS); // recipients only: no identity here
    expect(fresh.created).toBe(true);
    expect(fresh.fingerprint).not.toBe(old.fingerprint);
    expect(fresh.skipped).toEqual([
      { name: `id-key-${old.fingerprint}.age`, reason: "no identity or passphrase given here opens it" },
    ]);
    expect(readFileSync(oldCopy)).toEqual(oldBytes);
    expect(namesIn(dir)).toEqual(
      [LOCAL_ID_KEY_FILE, `id-key-${old.fingerprint}.age`, `id-key-${fresh.fingerprint}.age`].sort(),
    );
  });

  it("never overwrites an existing file under the copy's name", async () => {
    const dir = tempDir();
    const k = await loadOrCreateIdKey(dir, null);
    const copy = join(dir, `id-key-${k.fingerprint}`);
    unlinkSync(copy);
    writeFileSync(copy, "someone else's bytes");
    await loadOrCreateIdKey(dir, null);
    expect(readFileSync(copy, "utf8")).toBe("someone else's bytes");
    // The same for a sealed copy: the name exists, whatever it holds, so nothing is written.
    const sealedCopy = join(dir, `id-key-${k.fingerprint}.age`);
    writeFileSync(sealedCopy, "not age");
    await loadOrCreateIdKey(dir, RECIPIENTS);
    expect(readFileSync(sealedCopy, "utf8")).toBe("not age");
    expect(namesIn(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it.each([
    ["31 bytes", (p: string) => writeFileSync(p, randomBytes(31), { mode: 0o600 }), /is 31 bytes, an id key is 32/],
    ["33 bytes", (p: string) => writeFileSync(p, randomBytes(33), { mode: 0o600 }), /is 33 bytes, an id key is 32/],
    [
      "mode 0644",
      (p: string) => {
        writeFileSync(p, randomBytes(32));
        chmodSync(p, 0o644);
      },
      /has mode 0644: others may read it, it must be 0600/,
    ],
    [
      "a symlink",
      (p: string) => {
        writeFileSync(`${p}-target`, randomBytes(32), { mode: 0o600 });
        symlinkSync(`${p}-target`, p);
      },
      /is a symlink, not a regular file/,
    ],
    ["a folder", (p: string) => mkdirSync(p), /is not a regular file/],
  ])("refuses a local key file of %s, leaving it as it is", async (_what, make, message) => {
    const dir = tempDir();
    const local = join(dir, LOCAL_ID_KEY_FILE);
    make(local);
    const before = statSync(local).isFile() ? readFileSync(local) : null;
    const err = await loadOrCreateIdKey(dir, null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as OperationError).message).toMatch(message);
    expect((err as OperationError).hint).toContain("move the file away");
    if (before) expect(readFileSync(local)).toEqual(before);
    else expect(statSync(local).isDirectory()).toBe(true);
    expect(readdirSync(dir).filter((n) => n.startsWith("id-key-"))).toEqual([]);
  });

  it("leaves no temporary file behind", async () => {
    const dir = tempDir();
    await loadOrCreateIdKey(dir, RECIPIENTS);
    expect(namesIn(dir).every((n) => !n.endsWith(".tmp"))).toBe(true);
    expect(existsSync(join(dir, LOCAL_ID_KEY_FILE))).toBe(true);
  });
});

/** HKDF-SHA256 written out from RFC 5869 (empty salt, one 32-byte block): an independent check of the derivation. */
function rfc5869(ikm: Uint8Array, info: string): Uint8Array {
  const prk = createHmac("sha256", Buffer.alloc(32)).update(ikm).digest();
  return new Uint8Array(
    createHmac("sha256", prk)
      .update(Buffer.concat([Buffer.from(info), Buffer.from([1])]))
      .digest(),
  );
}

/** The SealError `fn` throws (fails the test when it throws nothing else). */
function thrown(fn: () => unknown): SealError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SealError);
    return err as SealError;
  }
  throw new Error("expected a SealError, nothing was thrown");
}

describe("indexKey, metaKey and the seal", () => {
  const idKey = new Uint8Array(randomBytes(32));

  it("derive the documented HKDF-SHA256 keys, distinct per purpose, with the id key's fingerprint", () => {
    expect(indexKey(idKey).key).toEqual(rfc5869(idKey, "sqlbak pack index key"));
    expect(metaKey(idKey).key).toEqual(rfc5869(idKey, "sqlbak meta key"));
    expect(indexKey(idKey).fingerprint).toEqual(keyFingerprint(idKey));
    expect(indexKey(idKey).key).not.toEqual(metaKey(idKey).key);
  });

  it("round trip: what seal() makes opens with the same key and names the fingerprint in its header", () => {
    const plain = new Uint8Array(randomBytes(1000));
    const sealed = seal(indexKey(idKey), plain);
    expect(sealed.length).toBe(SEAL_HEADER_BYTES + plain.length + 16);
    expect(Buffer.from(sealed.subarray(0, 8)).toString()).toBe("SQLBKSLD");
    expect(sealedFingerprint(sealed)).toBe(fpOf(idKey));
    expect(openSealed(indexKey(idKey), sealed)).toEqual(plain);
    expect(openSealed(indexKey(idKey), seal(indexKey(idKey), new Uint8Array(0)))).toEqual(new Uint8Array(0));
    // A fresh nonce each time: the same bytes never seal the same way twice.
    expect(hex(seal(indexKey(idKey), plain))).not.toBe(hex(sealed));
  });

  it("detects any changed byte, in the header, the ciphertext or the tag", () => {
    const sealed = seal(indexKey(idKey), new Uint8Array(randomBytes(64)));
    // 0–7 magic, 8–11 version, 12–19 fingerprint (another key's name), 20–31 nonce, then ciphertext, tag last.
    for (const at of [3, 9, 13, 20, SEAL_HEADER_BYTES - 1, SEAL_HEADER_BYTES + 5, sealed.length - 1]) {
      const bad = new Uint8Array(sealed);
      bad[at]! ^= 0x01;
      const err = thrown(() => openSealed(indexKey(idKey), bad));
      expect(err).toBeInstanceOf(SealError);
      expect(err.reason).toBe(at >= 12 && at < 20 ? "other-key" : "damaged");
    }
    expect(thrown(() => openSealed(indexKey(idKey), sealed.subarray(0, sealed.length - 1))).reason).toBe("damaged");
  });

  it("does not open under another id key (other-key) nor under the other purpose's key (damaged)", () => {
    const sealed = seal(indexKey(idKey), new Uint8Array([1, 2, 3]));
    const other = new Uint8Array(randomBytes(32));
    const otherKey = thrown(() => openSealed(indexKey(other), sealed));
    expect([otherKey.reason, otherKey.message]).toEqual([
      "other-key",
      `sealed under id key ${fpOf(idKey)}, not ${fpOf(other)}`,
    ]);
    expect(thrown(() => openSealed(metaKey(idKey), sealed)).reason).toBe("damaged");
  });
});
