/**
 * age X25519 keys as text: recipients `age1…` (public, go in the config) and
 * identities `AGE-SECRET-KEY-1…` (secret, in an identity file as written by
 * `age-keygen`: one key per line, `#` comments and blank lines ignored).
 */
import type { KeyObject } from "node:crypto";
import { Bech32Error, bech32Decode, bech32Encode } from "./bech32.ts";
import { x25519Generate, x25519PrivateKey, x25519PublicOf } from "./primitives.ts";

const RECIPIENT_HRP = "age";
const IDENTITY_HRP = "age-secret-key-";

export interface X25519Recipient {
  /** Canonical text (lowercase `age1…`). */
  text: string;
  publicKey: Uint8Array;
}

export interface X25519Identity {
  privateKey: KeyObject;
  publicKey: Uint8Array;
  /** The matching recipient, for messages. */
  recipient: string;
}

/** A key that does not parse; the message says why, without echoing a secret. */
export class AgeKeyError extends Error {}

/** Parses an `age1…` recipient; throws AgeKeyError naming the problem. */
export function parseRecipient(text: string): X25519Recipient {
  if (/^age-secret-key-1/i.test(text))
    throw new AgeKeyError(
      "is a secret key (AGE-SECRET-KEY-1…); put its public key here, as printed by `age-keygen -y KEYFILE`",
    );
  if (/^ssh-/.test(text))
    throw new AgeKeyError(
      "is an SSH key; sqlbak supports X25519 recipients (age1…) only; create one with `age-keygen`",
    );
  let decoded;
  try {
    decoded = bech32Decode(text);
  } catch (err) {
    if (err instanceof Bech32Error) throw new AgeKeyError(`is not an age recipient: it ${err.message}`);
    throw err;
  }
  if (decoded.hrp !== RECIPIENT_HRP)
    throw new AgeKeyError(`is not an X25519 age recipient (prefix "${decoded.hrp}1", expected "age1")`);
  if (decoded.data.length !== 32)
    throw new AgeKeyError(`is not an age recipient: ${decoded.data.length} bytes, expected 32`);
  return { text: text.toLowerCase(), publicKey: decoded.data };
}

/** Parses one `AGE-SECRET-KEY-1…`; throws AgeKeyError. */
export function parseIdentity(text: string): X25519Identity {
  let decoded;
  try {
    decoded = bech32Decode(text);
  } catch (err) {
    if (err instanceof Bech32Error) throw new AgeKeyError(`not an age secret key: it ${err.message}`);
    throw err;
  }
  if (decoded.hrp !== IDENTITY_HRP) throw new AgeKeyError("not an age secret key (expected AGE-SECRET-KEY-1…)");
  if (decoded.data.length !== 32)
    throw new AgeKeyError(`not an age secret key: ${decoded.data.length} bytes, expected 32`);
  const privateKey = x25519PrivateKey(decoded.data);
  const publicKey = x25519PublicOf(privateKey);
  return { privateKey, publicKey, recipient: bech32Encode(RECIPIENT_HRP, publicKey) };
}

/**
 * Parses the text of an identity file: every non-blank, non-`#` line must be
 * an AGE-SECRET-KEY-1…; at least one is required. Throws AgeKeyError with the
 * line number. Encrypted identity files and SSH keys get a specific message.
 */
export function parseIdentityFile(text: string): X25519Identity[] {
  if (text.startsWith("age-encryption.org/") || text.includes("BEGIN AGE ENCRYPTED FILE")) {
    throw new AgeKeyError(
      "is a passphrase-protected identity file, which sqlbak cannot open; " +
        "decrypt it with `age -d` to a private file first",
    );
  }
  if (text.includes("PRIVATE KEY-----"))
    throw new AgeKeyError("is an SSH or PEM key; sqlbak supports age X25519 identities (AGE-SECRET-KEY-1…) only");
  const identities: X25519Identity[] = [];
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    try {
      identities.push(parseIdentity(line));
    } catch (err) {
      if (err instanceof AgeKeyError) throw new AgeKeyError(`line ${i + 1}: ${err.message}`);
      throw err;
    }
  }
  if (identities.length === 0)
    throw new AgeKeyError("contains no identity (expected a line AGE-SECRET-KEY-1…, as written by age-keygen)");
  return identities;
}

/** A new key pair as age-keygen writes it: the identity file text and the recipient. Used by tests and docs. */
export function generateIdentity(): { identity: string; recipient: string } {
  const { secret, publicKey } = x25519Generate();
  return {
    identity: bech32Encode(IDENTITY_HRP, secret).toUpperCase(),
    recipient: bech32Encode(RECIPIENT_HRP, publicKey),
  };
}
