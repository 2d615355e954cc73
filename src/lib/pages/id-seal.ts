/**
 * Keys derived from the id key, and the seal made with them. Pack indexes and
 * the meta block of encrypted backups must be readable by the host that
 * writes backups, and with recipients only that host holds no age identity:
 * it holds the id key. So they are sealed with AES-256-GCM under keys derived
 * by HKDF-SHA256 from the id key (one per purpose), not with age.
 *
 * Sealed bytes: magic `SQLBKSLD`, u32le version 1, the id key's 8-byte
 * fingerprint, a random 12-byte nonce, then the ciphertext and the 16-byte
 * tag; those 32 header bytes are the additional data, so a changed header
 * fails like changed ciphertext. Layout: docs/format.md ("The id key").
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { ID_KEY_BYTES, KEY_FINGERPRINT_BYTES, keyFingerprint } from "./page-id.ts";

/** What a derived key seals: pack indexes, or the meta block of a backup. */
export type SealPurpose = "index" | "meta";

/** The HKDF info string of each purpose (salt empty, 32 bytes out). */
export const SEAL_KEY_INFO: Record<SealPurpose, string> = {
  index: "sqlbak pack index key",
  meta: "sqlbak meta key",
};

const MAGIC = "SQLBKSLD";
const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** magic + version + fingerprint + nonce. */
export const SEAL_HEADER_BYTES = MAGIC.length + 4 + KEY_FINGERPRINT_BYTES + NONCE_BYTES;

/** A key derived from an id key for one purpose, with the fingerprint of the id key it came from. */
export interface SealKey {
  purpose: SealPurpose;
  key: Uint8Array;
  fingerprint: Uint8Array;
}

function derive(idKey: Uint8Array, purpose: SealPurpose): SealKey {
  if (idKey.length !== ID_KEY_BYTES) throw new Error(`an id key is ${ID_KEY_BYTES} bytes, got ${idKey.length}`);
  const key = new Uint8Array(hkdfSync("sha256", idKey, new Uint8Array(0), SEAL_KEY_INFO[purpose], 32));
  return { purpose, key, fingerprint: keyFingerprint(idKey) };
}

/** The key pack indexes are sealed with: HKDF-SHA256(id key, salt empty, "sqlbak pack index key"). */
export function indexKey(idKey: Uint8Array): SealKey {
  return derive(idKey, "index");
}

/** The key meta blocks are sealed with: HKDF-SHA256(id key, salt empty, "sqlbak meta key"). */
export function metaKey(idKey: Uint8Array): SealKey {
  return derive(idKey, "meta");
}

/**
 * Why sealed bytes did not open: `other-key` when their header names another
 * id key (expected after a key change: such files are ignored), `damaged`
 * for anything else (not sealed bytes, or changed since sealing).
 */
export class SealError extends Error {
  constructor(
    message: string,
    readonly reason: "other-key" | "damaged",
  ) {
    super(message);
    this.name = "SealError";
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function header(fingerprint: Uint8Array, nonce: Uint8Array): Uint8Array {
  const out = new Uint8Array(SEAL_HEADER_BYTES);
  out.set(Buffer.from(MAGIC, "latin1"), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, VERSION, true);
  out.set(fingerprint, MAGIC.length + 4);
  out.set(nonce, MAGIC.length + 4 + KEY_FINGERPRINT_BYTES);
  return out;
}

/** Seals `plain` under `sk` with a fresh random nonce. */
export function seal(sk: SealKey, plain: Uint8Array): Uint8Array {
  const head = header(sk.fingerprint, randomBytes(NONCE_BYTES));
  const cipher = createCipheriv("aes-256-gcm", sk.key, head.subarray(SEAL_HEADER_BYTES - NONCE_BYTES));
  cipher.setAAD(head);
  const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** The fingerprint (hex) of the id key that sealed `sealed`, read without any key; null when it is not sealed bytes. */
export function sealedFingerprint(sealed: Uint8Array): string | null {
  if (sealed.length < SEAL_HEADER_BYTES + TAG_BYTES) return null;
  if (Buffer.from(sealed.subarray(0, MAGIC.length)).toString("latin1") !== MAGIC) return null;
  if (new DataView(sealed.buffer, sealed.byteOffset).getUint32(MAGIC.length, true) !== VERSION) return null;
  return hex(sealed.subarray(MAGIC.length + 4, MAGIC.length + 4 + KEY_FINGERPRINT_BYTES));
}

/** Opens what seal() made under the same key; throws SealError (other-key / damaged) otherwise. */
export function openSealed(sk: SealKey, sealed: Uint8Array): Uint8Array {
  const fp = sealedFingerprint(sealed);
  if (fp === null) throw new SealError(`not sealed ${sk.purpose} bytes (bad header or too short)`, "damaged");
  if (fp !== hex(sk.fingerprint))
    throw new SealError(`sealed under id key ${fp}, not ${hex(sk.fingerprint)}`, "other-key");
  const head = sealed.subarray(0, SEAL_HEADER_BYTES);
  const body = sealed.subarray(SEAL_HEADER_BYTES, sealed.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", sk.key, head.subarray(SEAL_HEADER_BYTES - NONCE_BYTES));
  decipher.setAAD(head);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]));
  } catch {
    throw new SealError(
      `sealed ${sk.purpose} bytes do not authenticate (damaged, or sealed for another purpose)`,
      "damaged",
    );
  }
}
