/**
 * The meta block of an encrypted backup's manifest: what the database holds
 * (source path and host, table names and row counts, schema hash, user_version,
 * SQLite version, journal mode, raw SHA-256, the check's text) travels
 * encrypted, so a destination holds in plaintext only what listing, retention
 * and checksum verification need. The block is the JSON of those fields
 * (MetaFields), age-encrypted to the backup's recipients or passphrase, and
 * for pages backups also sealed under the meta key of the id key: the host
 * that writes backups holds the id key even with recipients only, and reads
 * its own backups' facts for check reuse. Layout: docs/format.md ("The meta block").
 */
import { AgeFormatError, AgeNoIdentityError, decryptBytes } from "../../age/index.ts";
import { ageKeysFor, type DecryptionKeys, type Sealer, WrongKeyError } from "../codec/index.ts";
import {
  isMetaSealed,
  type Manifest,
  metaFieldsOf,
  parseMetaFields,
  serializeManifest,
  withMetaFields,
} from "../model/index.ts";
import { metaKey, openSealed, seal } from "./id-seal.ts";

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));

/**
 * `m` (a manifest just built, every field present) with its meta block: the
 * fields age-encrypted by `sealer`, and sealed under `idKey`'s meta key when
 * given (pages backups). Serializing the result leaves those fields out.
 */
export async function withMetaBlock(m: Manifest, sealer: Sealer, idKey: Uint8Array | null): Promise<Manifest> {
  const plain = new TextEncoder().encode(JSON.stringify(metaFieldsOf(m)));
  const enc = await sealer.create();
  const age = Buffer.concat([...(await enc.push(plain)), ...(await enc.end())]);
  return { ...m, meta: { age: b64(age), ...(idKey ? { sealed: b64(seal(metaKey(idKey), plain)) } : {}) } };
}

/**
 * `m` with its meta fields filled in from the block's sealed copy, opened with
 * `idKey`; `m` itself when it has no sealed block or the block does not open
 * (another id key, or damaged: then its facts stay unknown, never guessed).
 */
export function openSealedMeta(m: Manifest, idKey: Uint8Array | null): Manifest {
  if (!idKey || !isMetaSealed(m) || !m.meta?.sealed) return m;
  try {
    return withMetaFields(
      m,
      parseMetaFields(new TextDecoder().decode(openSealed(metaKey(idKey), unb64(m.meta.sealed)))),
    );
  } catch {
    return m;
  }
}

/**
 * `m` with its meta fields filled in: from the sealed copy when `idKey` opens
 * it (no scrypt for passphrase backups), else from the age copy with `keys`.
 * Throws WrongKeyError when no key given opens it (no verdict on the backup),
 * and Error (the block is damaged) when it opens to something that is not a meta block.
 */
export async function openManifestMeta(m: Manifest, keys: DecryptionKeys, idKey: Uint8Array | null): Promise<Manifest> {
  if (!isMetaSealed(m)) return m;
  const sealed = openSealedMeta(m, idKey);
  if (!isMetaSealed(sealed)) return sealed;
  const enc = m.stored.encryption!;
  let plain: Uint8Array;
  try {
    plain = await decryptBytes(unb64(m.meta!.age), ageKeysFor(enc, keys));
  } catch (err) {
    // Worded as openEncrypted words it: the meta block is as much the backup as its data.
    if (err instanceof AgeNoIdentityError) {
      if ("passphrase_env" in enc)
        throw new WrongKeyError(`cannot decrypt backup ${m.id}: ${err.message} ($${enc.passphrase_env})`);
      const held = keys.identitySource
        ? `; ${keys.identitySource} holds ${keys.identities.map((i) => i.recipient).join(", ")}`
        : "";
      throw new WrongKeyError(
        `no identity matches backup ${m.id}: it is encrypted to ${enc.recipients.join(", ")}${held}`,
        { hint: "use the identity file whose public key (`age-keygen -y FILE`) is one of those recipients" },
      );
    }
    if (err instanceof AgeFormatError) throw new Error(`manifest meta block is not a valid age file: ${err.message}`);
    throw new Error(`manifest meta block does not decrypt: ${err instanceof Error ? err.message : String(err)}`);
  }
  return withMetaFields(m, parseMetaFields(new TextDecoder().decode(plain)));
}

/** The manifest text to write for `m`: with its meta block when `sealer` encrypts the backup, else as it is. */
export async function manifestText(m: Manifest, sealer: Sealer | null, idKey: Uint8Array | null): Promise<string> {
  return serializeManifest(sealer ? await withMetaBlock(m, sealer, idKey) : m);
}
