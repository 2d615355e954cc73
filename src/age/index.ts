/**
 * age v1 (c2sp.org/age) on Bun's built-in crypto, streaming: files written
 * here decrypt with `age -d`, and files from `age -r` / `age -p` decrypt here.
 * Supported: X25519 recipients/identities and scrypt passphrases (binary
 * format; no armor, plugins or SSH keys).
 */
import { randomBytes } from "node:crypto";
import { open } from "node:fs/promises";
import {
  type AgeKeys,
  FILE_KEY_BYTES,
  formatHeader,
  parseHeader,
  scryptStanza,
  unwrapHeader,
  x25519Stanza,
} from "./header.ts";
import type { X25519Recipient } from "./keys.ts";
import { PayloadDecrypter, PayloadEncrypter } from "./stream.ts";

export { AgeFormatError, type AgeKeys, AgeNoIdentityError, SCRYPT_LOG_N } from "./header.ts";
export {
  AgeKeyError,
  generateIdentity,
  parseIdentity,
  parseIdentityFile,
  parseRecipient,
  type X25519Identity,
  type X25519Recipient,
} from "./keys.ts";
export { decryptTransform, PayloadDecrypter, PayloadEncrypter } from "./stream.ts";

/** Headers are a few hundred bytes per recipient; anything past this is not a header we wrote or would accept. */
export const MAX_HEADER_BYTES = 1024 * 1024;

export type EncryptTo = { recipients: X25519Recipient[] } | { passphrase: string; logN?: number };

/** A fresh file key and header for `to`; push the plaintext through the result, then end() it. */
export async function createEncrypter(to: EncryptTo): Promise<PayloadEncrypter> {
  const fileKey = randomBytes(FILE_KEY_BYTES);
  const stanzas =
    "recipients" in to
      ? await Promise.all(to.recipients.map((r) => x25519Stanza(fileKey, r)))
      : [await scryptStanza(fileKey, to.passphrase, to.logN)];
  return PayloadEncrypter.create(fileKey, formatHeader(stanzas, fileKey));
}

/**
 * Reads the header of the age file at `path` and unwraps its file key with
 * `keys` (checking the MAC). Returns the key and the header's length; throws
 * AgeNoIdentityError / AgeFormatError. Reads at most MAX_HEADER_BYTES.
 */
export async function openAgeFile(path: string, keys: AgeKeys): Promise<{ fileKey: Uint8Array; headerBytes: number }> {
  const fh = await open(path, "r");
  let head: Uint8Array;
  try {
    const buf = Buffer.alloc(MAX_HEADER_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const header = parseHeader(head);
  return { fileKey: await unwrapHeader(header, keys), headerBytes: header.length };
}

/**
 * The stanzas of the age file at `path`, read without any key (at most
 * MAX_HEADER_BYTES): what a check without the identity can prove about it.
 * Throws AgeFormatError when the file does not start with a valid header.
 */
export async function readAgeStanzas(path: string): Promise<string[][]> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(MAX_HEADER_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return parseHeader(buf.subarray(0, bytesRead)).stanzas.map((s) => s.args);
  } finally {
    await fh.close();
  }
}

/** Encrypts a small buffer in memory (tests and tooling; backups stream through createEncrypter). */
export async function encryptBytes(plain: Uint8Array, to: EncryptTo): Promise<Uint8Array> {
  const enc = await createEncrypter(to);
  return Buffer.concat([...(await enc.push(plain)), ...(await enc.end())]);
}

/** Decrypts a small age file held in memory. */
export async function decryptBytes(file: Uint8Array, keys: AgeKeys): Promise<Uint8Array> {
  const header = parseHeader(file);
  const dec = new PayloadDecrypter(await unwrapHeader(header, keys));
  return Buffer.concat([...(await dec.push(file.subarray(header.length))), await dec.end()]);
}
