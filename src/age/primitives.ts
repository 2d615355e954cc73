/**
 * The primitives age is built from, on what Bun provides: HKDF-SHA-256, HMAC
 * and X25519 from node:crypto, ChaCha20-Poly1305 from WebCrypto (Bun's
 * node:crypto has no chacha20-poly1305 cipher; its SubtleCrypto does, with the
 * "raw-secret" key format), scrypt from node:crypto.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  scrypt,
} from "node:crypto";

export const TAG_BYTES = 16;
const ALGORITHM = "ChaCha20-Poly1305";

/** HKDF-SHA-256 with a 32-byte output, as every age key derivation uses. */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string): Uint8Array {
  return new Uint8Array(hkdfSync("sha256", ikm, salt, info, 32));
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(data).digest());
}

type Bytes = Uint8Array<ArrayBuffer>;
type CipherParams = Parameters<SubtleCrypto["encrypt"]>[0];
const params = (nonce: Uint8Array): CipherParams => ({ name: ALGORITHM, iv: nonce as Bytes }) as CipherParams;

export function chachaKey(raw: Uint8Array): Promise<CryptoKey> {
  // "raw-secret" is the WebCrypto format for the modern algorithms (WICG webcrypto-modern-algos).
  return crypto.subtle.importKey("raw-secret" as "raw", raw as Bytes, { name: ALGORITHM }, false, [
    "encrypt",
    "decrypt",
  ]);
}

export async function chachaSeal(key: CryptoKey, nonce: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.encrypt(params(nonce), key, plaintext as Bytes));
}

/** Decrypts and authenticates; null when the tag does not match (wrong key, or damaged data). */
export async function chachaOpen(key: CryptoKey, nonce: Uint8Array, sealed: Uint8Array): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await crypto.subtle.decrypt(params(nonce), key, sealed as Bytes));
  } catch {
    return null;
  }
}

const ZERO_NONCE = new Uint8Array(12);

/** Seals a 16-byte file key under a one-time wrap key (age fixes the nonce at zero for stanza bodies). */
export async function wrapFileKey(wrapKey: Uint8Array, fileKey: Uint8Array): Promise<Uint8Array> {
  return chachaSeal(await chachaKey(wrapKey), ZERO_NONCE, fileKey);
}

export async function unwrapFileKey(wrapKey: Uint8Array, body: Uint8Array): Promise<Uint8Array | null> {
  return chachaOpen(await chachaKey(wrapKey), ZERO_NONCE, body);
}

// DER framing of a raw X25519 key (RFC 8410): node:crypto imports keys as PKCS#8 / SPKI.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

export function x25519PrivateKey(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
}

function x25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

export function x25519PublicOf(privateKey: KeyObject): Uint8Array {
  const der = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return new Uint8Array(der.subarray(SPKI_PREFIX.length));
}

/** A fresh key pair: the raw 32-byte secret and public key. */
export function x25519Generate(): { secret: Uint8Array; publicKey: Uint8Array } {
  const { privateKey } = generateKeyPairSync("x25519");
  const der = privateKey.export({ format: "der", type: "pkcs8" });
  return { secret: new Uint8Array(der.subarray(PKCS8_PREFIX.length)), publicKey: x25519PublicOf(privateKey) };
}

/** X25519(secret, share); null for a low-order share (all-zero result), which age requires rejecting. */
export function x25519(privateKey: KeyObject, share: Uint8Array): Uint8Array | null {
  let out: Uint8Array;
  try {
    out = new Uint8Array(diffieHellman({ privateKey, publicKey: x25519PublicKey(share) }));
  } catch {
    return null; // BoringSSL refuses low-order points itself
  }
  return out.every((b) => b === 0) ? null : out;
}

/** scrypt with r=8, p=1 (age's parameters); memory is 128·N·r bytes, so maxmem follows N. */
export function scryptKey(passphrase: string, salt: Uint8Array, logN: number): Promise<Uint8Array> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) => {
    scrypt(passphrase, salt, 32, { N, r: 8, p: 1, maxmem: 128 * N * 8 + 16 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(new Uint8Array(key)),
    );
  });
}
