/**
 * Encryption at run time, between the config / manifest and the age library:
 * the sealer a backup pushes its compressed bytes through, and the keys that
 * verify and restore decrypt with (an identity file from `--identity` or
 * `$SQLBAK_AGE_IDENTITY`, or the passphrase from the environment).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  AgeFormatError,
  AgeKeyError,
  type AgeKeys,
  AgeNoIdentityError,
  createEncrypter,
  decryptTransform,
  openAgeFile,
  parseIdentityFile,
  parseRecipient,
  SCRYPT_LOG_N,
  type X25519Identity,
} from "../../age/index.ts";
import type { EncryptionConfig } from "../config/index.ts";
import { fsErrorMessage, type Manifest, type ManifestEncryption, OperationError, UsageError } from "../model/index.ts";
import type { StoredFilter } from "./compress.ts";

export const IDENTITY_ENV = "SQLBAK_AGE_IDENTITY";
const IDENTITY_ADVICE = `give the age identity file (AGE-SECRET-KEY-1…) with --identity FILE or $${IDENTITY_ENV}`;

export interface Sealer {
  /** A fresh encrypter (new file key and nonce) per stored file, or per retried copy. */
  create: () => Promise<StoredFilter>;
  manifest: ManifestEncryption;
}

/**
 * The sealer for new backups, or null when `[encryption]` is not configured.
 * Throws UsageError when the passphrase variable is not set: a backup is never
 * silently written unencrypted.
 */
export function sealerFor(enc: EncryptionConfig | null, env: NodeJS.ProcessEnv = process.env): Sealer | null {
  if (!enc) return null;
  if (enc.type === "recipients") {
    const recipients = enc.recipients.map((r) => parseRecipient(r));
    return { create: () => createEncrypter({ recipients }), manifest: { type: "age", recipients: enc.recipients } };
  }
  const passphrase = env[enc.passphraseEnv];
  if (!passphrase) {
    throw new UsageError(
      `[encryption] passphrase_env names $${enc.passphraseEnv}, ` +
        "which is not set (or empty), so the backup cannot be encrypted",
      `export ${enc.passphraseEnv} in the environment of the backup job (e.g. EnvironmentFile= in the systemd unit)`,
    );
  }
  return {
    create: () => createEncrypter({ passphrase, logN: SCRYPT_LOG_N }),
    manifest: { type: "age", passphrase_env: enc.passphraseEnv, scrypt_log_n: SCRYPT_LOG_N },
  };
}

/** What verify and restore may decrypt with. */
export interface DecryptionKeys {
  identities: X25519Identity[];
  /** Where the identities came from, for messages. */
  identitySource: string | null;
  env: NodeJS.ProcessEnv;
  /** The config's passphrase_env, tried when a manifest names a variable that is not set. */
  configPassphraseEnv: string | null;
}

export const NO_KEYS: DecryptionKeys = { identities: [], identitySource: null, env: {}, configPassphraseEnv: null };

/**
 * Reads the identity file named by `identityPath` (the `--identity` flag), else
 * by `$SQLBAK_AGE_IDENTITY`; none is fine (unencrypted backups need none).
 * Throws UsageError for a file that cannot be read or holds no valid identity.
 */
export function loadDecryptionKeys(
  identityPath: string | undefined,
  enc: EncryptionConfig | null,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): DecryptionKeys {
  const given = identityPath ?? env[IDENTITY_ENV];
  const configPassphraseEnv = enc?.type === "passphrase" ? enc.passphraseEnv : null;
  if (!given) return { identities: [], identitySource: null, env, configPassphraseEnv };
  const path = resolve(cwd, given);
  const from = identityPath ? "--identity" : `$${IDENTITY_ENV}`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(fsErrorMessage(err, `read identity file (${from})`, path), IDENTITY_ADVICE);
  }
  try {
    return { identities: parseIdentityFile(text), identitySource: path, env, configPassphraseEnv };
  } catch (err) {
    if (err instanceof AgeKeyError)
      throw new UsageError(`identity file ${path} (${from}): ${err.message}`, IDENTITY_ADVICE);
    throw err;
  }
}

function passphraseFor(enc: ManifestEncryption, keys: DecryptionKeys): string | undefined {
  if (!("passphrase_env" in enc)) return undefined;
  return (
    keys.env[enc.passphrase_env] ||
    (keys.configPassphraseEnv ? keys.env[keys.configPassphraseEnv] : undefined) ||
    undefined
  );
}

/** The age keys among `keys` that may open a file encrypted as `enc` says (identities, the passphrase it names). */
export function ageKeysFor(enc: ManifestEncryption, keys: DecryptionKeys): AgeKeys {
  return { identities: keys.identities, passphrase: passphraseFor(enc, keys) };
}

function describeRecipients(enc: ManifestEncryption): string {
  return "recipients" in enc
    ? `encrypted to ${enc.recipients.join(", ")}`
    : `encrypted with the passphrase from $${enc.passphrase_env}`;
}

/**
 * Before any work: each encrypted backup among `manifests` must have
 * something to decrypt it with. Throws UsageError (exit 2) with advice.
 */
export function requireDecryptionKeys(manifests: Manifest[], keys: DecryptionKeys): void {
  for (const m of manifests) {
    const enc = m.stored.encryption;
    if (!enc) continue;
    if ("recipients" in enc && keys.identities.length === 0) {
      throw new UsageError(`backup ${m.id} is ${describeRecipients(enc)}, and no identity was given`, IDENTITY_ADVICE);
    }
    if ("passphrase_env" in enc && !passphraseFor(enc, keys)) {
      throw new UsageError(
        `backup ${m.id} is ${describeRecipients(enc)}, which is not set`,
        `export ${enc.passphrase_env} with the passphrase used for the backup`,
      );
    }
  }
}

/** The key does not open the backup: an operation failure (exit 1), never a verdict on the backup. */
export class WrongKeyError extends OperationError {}

/**
 * The error for a backup `id` (encrypted as `enc`) that `keys` cannot open: the
 * passphrase's variable, or the recipients it is encrypted to and those held.
 */
export function wrongKeyError(
  id: string,
  enc: ManifestEncryption,
  keys: DecryptionKeys,
  err: AgeNoIdentityError,
): WrongKeyError {
  if ("passphrase_env" in enc)
    return new WrongKeyError(`cannot decrypt backup ${id}: ${err.message} ($${enc.passphrase_env})`);
  const held = keys.identitySource
    ? `; ${keys.identitySource} holds ${keys.identities.map((i) => i.recipient).join(", ")}`
    : "";
  return new WrongKeyError(`no identity matches backup ${id}: it is encrypted to ${enc.recipients.join(", ")}${held}`, {
    hint: "use the identity file whose public key (`age-keygen -y FILE`) is one of those recipients",
  });
}

/**
 * Opens an encrypted stored file: unwraps its file key and returns a factory
 * of decrypting transforms over the whole file. Throws WrongKeyError when no
 * key matches, Error for a file that is not valid age.
 */
export async function openEncrypted(
  path: string,
  m: Manifest,
  keys: DecryptionKeys,
): Promise<() => ReturnType<typeof decryptTransform>> {
  const enc = m.stored.encryption!;
  const ageKeys: AgeKeys = { identities: keys.identities, passphrase: passphraseFor(enc, keys) };
  try {
    const { fileKey, headerBytes } = await openAgeFile(path, ageKeys);
    return () => decryptTransform(fileKey, headerBytes);
  } catch (err) {
    if (err instanceof AgeNoIdentityError) throw wrongKeyError(m.id, enc, keys, err);
    if (err instanceof AgeFormatError) throw new Error(`stored file ${err.message}`);
    throw err;
  }
}

/**
 * Fails fast (WrongKeyError) when `keys` cannot open an encrypted backup, so
 * restore refuses before asking or touching anything. A damaged file is left
 * to the restore's own verification, which reports it as damage.
 */
export async function assertDecryptable(
  b: { dataPath: string; manifest: Manifest },
  keys: DecryptionKeys,
): Promise<void> {
  if (!b.manifest.stored.encryption) return;
  requireDecryptionKeys([b.manifest], keys);
  try {
    await openEncrypted(b.dataPath, b.manifest, keys);
  } catch (err) {
    if (err instanceof WrongKeyError) throw err;
  }
}
