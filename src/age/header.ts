/**
 * The age v1 header (c2sp.org/age): a version line, one or more recipient
 * stanzas wrapping the 16-byte file key, and an HMAC-SHA-256 over all of it.
 * Parsing is strict (canonical base64, 64-column body lines) as the spec asks.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { X25519Identity, X25519Recipient } from "./keys.ts";
import {
  hkdf,
  hmacSha256,
  scryptKey,
  unwrapFileKey,
  wrapFileKey,
  x25519,
  x25519Generate,
  x25519PrivateKey,
} from "./primitives.ts";

export const VERSION_LINE = "age-encryption.org/v1";
export const FILE_KEY_BYTES = 16;
/** age's own default work factor for passphrases (2^18: about a second and 256 MiB). */
export const SCRYPT_LOG_N = 18;
/** Highest work factor accepted when decrypting (age's limit too): 2^22 needs 4 GiB. */
export const MAX_SCRYPT_LOG_N = 22;
const X25519_INFO = "age-encryption.org/v1/X25519";
const SCRYPT_SALT_LABEL = "age-encryption.org/v1/scrypt";
const BODY_COLUMNS = 64;

export interface Stanza {
  /** The arguments of the `->` line; the first names the recipient type. */
  args: string[];
  body: Uint8Array;
}

/** The file is not a (valid) age file, or is damaged. */
export class AgeFormatError extends Error {}
/** The file is fine but none of the given identities (or the passphrase) can open it. */
export class AgeNoIdentityError extends Error {}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64").replace(/=+$/, "");
}

/** Decodes unpadded, canonical base64; null for anything else. */
export function decodeBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*$/.test(text) || text.length % 4 === 1) return null;
  const bytes = new Uint8Array(Buffer.from(text, "base64"));
  return encodeBase64(bytes) === text ? bytes : null;
}

/** Header text up to and including `---`, the part the MAC covers. */
function headerWithoutMac(stanzas: Stanza[]): string {
  let text = `${VERSION_LINE}\n`;
  for (const s of stanzas) {
    text += `-> ${s.args.join(" ")}\n`;
    const b64 = encodeBase64(s.body);
    for (let i = 0; i <= b64.length; i += BODY_COLUMNS) text += `${b64.slice(i, i + BODY_COLUMNS)}\n`;
  }
  return `${text}---`;
}

function headerMac(fileKey: Uint8Array, macInput: Uint8Array): Uint8Array {
  return hmacSha256(hkdf(fileKey, new Uint8Array(0), "header"), macInput);
}

/** The complete header bytes for `stanzas`, MAC included. */
export function formatHeader(stanzas: Stanza[], fileKey: Uint8Array): Uint8Array {
  const head = Buffer.from(headerWithoutMac(stanzas), "latin1");
  return Buffer.concat([head, Buffer.from(` ${encodeBase64(headerMac(fileKey, head))}\n`, "latin1")]);
}

export async function x25519Stanza(fileKey: Uint8Array, recipient: X25519Recipient): Promise<Stanza> {
  const eph = x25519Generate();
  const shared = x25519(x25519PrivateKey(eph.secret), recipient.publicKey);
  if (!shared) throw new Error("recipient public key is a low-order point");
  const salt = Buffer.concat([eph.publicKey, recipient.publicKey]);
  const body = await wrapFileKey(hkdf(shared, salt, X25519_INFO), fileKey);
  return { args: ["X25519", encodeBase64(eph.publicKey)], body };
}

export async function scryptStanza(fileKey: Uint8Array, passphrase: string, logN = SCRYPT_LOG_N): Promise<Stanza> {
  const salt = randomBytes(16);
  const key = await scryptKey(passphrase, Buffer.concat([Buffer.from(SCRYPT_SALT_LABEL), salt]), logN);
  return { args: ["scrypt", encodeBase64(salt), String(logN)], body: await wrapFileKey(key, fileKey) };
}

export interface ParsedHeader {
  stanzas: Stanza[];
  /** The bytes the MAC covers (through `---`). */
  macInput: Uint8Array;
  mac: Uint8Array;
  /** Bytes of the header; the payload starts here. */
  length: number;
}

/**
 * Parses the header at the start of `buf` (which may hold more: the payload).
 * Throws AgeFormatError, also when `buf` ends before the header does.
 */
export function parseHeader(buf: Uint8Array): ParsedHeader {
  let pos = 0;
  const nextLine = (): string => {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) throw new AgeFormatError("header is truncated");
    const line = Buffer.from(buf.subarray(pos, nl)).toString("latin1");
    pos = nl + 1;
    return line;
  };
  const version = nextLine();
  if (version !== VERSION_LINE) {
    if (version.startsWith("-----BEGIN AGE ENCRYPTED FILE"))
      throw new AgeFormatError("is ASCII-armored; decode it with `age -d` instead");
    if (version.startsWith("age-encryption.org/"))
      throw new AgeFormatError(`has unsupported age version ${JSON.stringify(version.slice(19))}`);
    throw new AgeFormatError("is not an age-encrypted file");
  }
  const stanzas: Stanza[] = [];
  for (;;) {
    const lineStart = pos;
    const line = nextLine();
    if (line.startsWith("---")) {
      const mac = line.startsWith("--- ") && line.length === 47 ? decodeBase64(line.slice(4)) : null;
      if (!mac || stanzas.length === 0) throw new AgeFormatError("header has a malformed MAC line or no recipient");
      return { stanzas, macInput: buf.subarray(0, lineStart + 3), mac, length: pos };
    }
    const args = line.startsWith("-> ") ? line.slice(3).split(" ") : [];
    if (args.length === 0 || args.some((a) => !/^[\x21-\x7e]+$/.test(a)))
      throw new AgeFormatError("header has a malformed stanza line");
    let b64 = "";
    for (;;) {
      const body = nextLine();
      if (body.length > BODY_COLUMNS || !/^[A-Za-z0-9+/]*$/.test(body))
        throw new AgeFormatError("header has a malformed stanza body");
      b64 += body;
      if (body.length < BODY_COLUMNS) break;
    }
    const body = decodeBase64(b64);
    if (!body) throw new AgeFormatError("header has a non-canonical stanza body");
    stanzas.push({ args, body });
  }
}

/** What can open a file: identities from an identity file, and/or a passphrase. */
export interface AgeKeys {
  identities: X25519Identity[];
  passphrase?: string;
}

async function unwrapScrypt(s: Stanza, count: number, passphrase: string | undefined): Promise<Uint8Array> {
  if (count !== 1) throw new AgeFormatError("header mixes a passphrase (scrypt) stanza with others, which age forbids");
  if (passphrase === undefined)
    throw new AgeNoIdentityError("the file is encrypted with a passphrase, and none was given");
  const salt = s.args.length === 3 ? decodeBase64(s.args[1]!) : null;
  const logN = /^[1-9][0-9]*$/.test(s.args[2] ?? "") ? Number(s.args[2]) : NaN;
  if (salt?.length !== 16 || !(logN > 0) || s.body.length !== 32)
    throw new AgeFormatError("header has a malformed scrypt stanza");
  if (logN > MAX_SCRYPT_LOG_N)
    throw new AgeFormatError(`scrypt work factor 2^${logN} is above the limit 2^${MAX_SCRYPT_LOG_N}`);
  const key = await scryptKey(passphrase, Buffer.concat([Buffer.from(SCRYPT_SALT_LABEL), salt]), logN);
  const fileKey = await unwrapFileKey(key, s.body);
  if (!fileKey) throw new AgeNoIdentityError("the passphrase is wrong");
  return fileKey;
}

async function unwrapX25519(s: Stanza, identities: X25519Identity[]): Promise<Uint8Array | null> {
  const share = s.args.length === 2 ? decodeBase64(s.args[1]!) : null;
  if (share?.length !== 32 || s.body.length !== 32) throw new AgeFormatError("header has a malformed X25519 stanza");
  for (const id of identities) {
    const shared = x25519(id.privateKey, share);
    if (!shared) throw new AgeFormatError("header has an X25519 stanza with a low-order share");
    const fileKey = await unwrapFileKey(hkdf(shared, Buffer.concat([share, id.publicKey]), X25519_INFO), s.body);
    if (fileKey) return fileKey;
  }
  return null;
}

/**
 * Finds the file key in a parsed header with `keys` and checks the header MAC.
 * Throws AgeNoIdentityError when nothing matches, AgeFormatError when the
 * header is malformed or its MAC does not match.
 */
export async function unwrapHeader(h: ParsedHeader, keys: AgeKeys): Promise<Uint8Array> {
  let fileKey: Uint8Array | null = null;
  const scrypt = h.stanzas.find((s) => s.args[0] === "scrypt");
  if (scrypt) fileKey = await unwrapScrypt(scrypt, h.stanzas.length, keys.passphrase);
  for (const s of h.stanzas) {
    if (fileKey) break;
    if (s.args[0] === "X25519") fileKey = await unwrapX25519(s, keys.identities);
  }
  if (!fileKey) {
    const how =
      keys.identities.length === 0
        ? "no identity was given"
        : `tried ${keys.identities.map((i) => i.recipient).join(", ")}`;
    throw new AgeNoIdentityError(`no identity matches any recipient of the file (${how})`);
  }
  if (fileKey.length !== FILE_KEY_BYTES) throw new AgeFormatError("header wraps a file key of the wrong length");
  const expected = headerMac(fileKey, h.macInput);
  if (!timingSafeEqual(expected, h.mac))
    throw new AgeFormatError("header MAC does not match (the header was damaged or altered)");
  return fileKey;
}
