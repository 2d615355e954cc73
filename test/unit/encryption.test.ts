import { describe, expect, it } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateIdentity } from "../../src/age/index.ts";
import { loadDecryptionKeys, requireDecryptionKeys, sealerFor } from "../../src/lib/codec/encryption.ts";
import { loadConfig } from "../../src/lib/config/load.ts";
import { ConfigError, EXIT, UsageError } from "../../src/lib/model/errors.ts";
import { type Manifest, serializeManifest } from "../../src/lib/model/manifest.ts";
import { parseManifest } from "../../src/lib/model/manifest-parse.ts";
import { listFolder } from "../../src/lib/store/local.ts";
import { fileStored, manifestFixture } from "../helpers/manifest-fixture.ts";
import { tempDir } from "../helpers/tmp.ts";

const KEY = generateIdentity();
const KEY2 = generateIdentity();
/** KEY's recipient with its last character changed: always a different string, so always a bad checksum. */
const MISTYPED = `${KEY.recipient.slice(0, -1)}${KEY.recipient.endsWith("q") ? "p" : "q"}`;

function problemsOf(toml: string): string[] {
  const dir = tempDir();
  writeFileSync(join(dir, "sqlbak.toml"), toml);
  try {
    loadConfig({}, { HOME: dir }, dir);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => p.replace(`${dir}/sqlbak.toml: `, ""));
    throw err;
  }
  return [];
}

function configOf(toml: string) {
  const dir = tempDir();
  writeFileSync(join(dir, "sqlbak.toml"), toml);
  return loadConfig({}, { HOME: dir }, dir);
}

describe("[encryption] config", () => {
  it("resolves recipients (lowercased, de-duplicated) and passphrase_env; absent means null", () => {
    expect(
      configOf(`[encryption]\nrecipients = ["${KEY.recipient}", "${KEY.recipient.toUpperCase()}", "${KEY2.recipient}"]`)
        .encryption,
    ).toEqual({ type: "recipients", recipients: [KEY.recipient, KEY2.recipient] });
    expect(configOf(`[encryption]\npassphrase_env = "BACKUP_PW"`).encryption).toEqual({
      type: "passphrase",
      passphraseEnv: "BACKUP_PW",
    });
    expect(configOf(`backup_dir = "b"`).encryption).toBeNull();
  });

  it.each([
    [
      "a mistyped recipient",
      `recipients = ["${MISTYPED}"]`,
      `encryption.recipients[0]: "${MISTYPED}" is not an age recipient: ` +
        "it has a bad checksum (mistyped or truncated?)",
    ],
    [
      "a secret key instead of a recipient, never echoed",
      `recipients = ["${KEY.identity}"]`,
      "encryption.recipients[0]: AGE-SECRET-KEY-1… is a secret key (AGE-SECRET-KEY-1…); " +
        "put its public key here, as printed by `age-keygen -y KEYFILE`",
    ],
    ["a number in the list", `recipients = [1]`, 'encryption.recipients[0]: expected a string "age1…", got 1'],
    [
      "an empty list",
      `recipients = []`,
      'encryption.recipients: expected a non-empty list of age recipients ("age1…", from `age-keygen -y KEYFILE`)',
    ],
    [
      "an unknown key",
      `recipient = ["${KEY.recipient}"]`,
      "encryption.recipient: unknown key (allowed here: recipients, passphrase_env)",
    ],
    [
      "a passphrase where a variable name belongs",
      `passphrase_env = "correct horse battery"`,
      "encryption.passphrase_env: expected the NAME of an environment variable " +
        'holding the passphrase (e.g. "SQLBAK_PASSPHRASE"), not the passphrase',
    ],
    [
      "both recipients and passphrase_env",
      `recipients = ["${KEY.recipient}"]\npassphrase_env = "PW"`,
      "encryption: set recipients or passphrase_env, not both (age does not mix passphrases with recipients)",
    ],
    ["an empty table", "", 'encryption: needs recipients = ["age1…"] or passphrase_env = "VAR"'],
  ])("rejects %s (exit 2, naming the key)", (_what, body, problem) => {
    expect(problemsOf(`[encryption]\n${body}\n`)).toContain(problem);
  });

  it("rejects encryption that is not a table", () => {
    expect(problemsOf(`encryption = "age"`)).toEqual(["encryption: expected a table [encryption]"]);
  });
});

describe("sealerFor", () => {
  it("refuses to back up when the passphrase variable is unset or empty, rather than write it unencrypted", () => {
    for (const env of [{}, { PW: "" }]) {
      const err = (() => {
        try {
          sealerFor({ type: "passphrase", passphraseEnv: "PW" }, env);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).message).toBe(
        "[encryption] passphrase_env names $PW, which is not set (or empty), so the backup cannot be encrypted",
      );
    }
    expect(sealerFor({ type: "passphrase", passphraseEnv: "PW" }, { PW: "x" })?.manifest).toEqual({
      type: "age",
      passphrase_env: "PW",
      scrypt_log_n: 18,
    });
    expect(sealerFor({ type: "recipients", recipients: [KEY.recipient] })?.manifest).toEqual({
      type: "age",
      recipients: [KEY.recipient],
    });
    expect(sealerFor(null)).toBeNull();
  });
});

const ID = "app-20261122T050607123Z-0123abcd";

function manifest(
  encryption: Manifest["stored"]["encryption"],
  file = `${ID}.sqlite.zst${encryption ? ".age" : ""}`,
): Manifest {
  return manifestFixture(ID, {
    created_at: "2026-11-22T05:06:07.123Z",
    stored: { ...fileStored(ID, 1, encryption), file },
  });
}

const parse = (m: Manifest) => parseManifest(serializeManifest(m), `${ID}.json`, "app");

describe("manifest encryption", () => {
  it("accepts recipients and passphrase sections with their .age data file", () => {
    expect(parse(manifest({ type: "age", recipients: [KEY.recipient] })).stored.encryption).toEqual({
      type: "age",
      recipients: [KEY.recipient],
    });
    expect(parse(manifest({ type: "age", passphrase_env: "PW", scrypt_log_n: 18 })).stored.file).toBe(
      `${ID}.sqlite.zst.age`,
    );
  });

  it.each<[string, Manifest]>([
    [
      "an encrypted backup naming an unencrypted file",
      manifest({ type: "age", recipients: [KEY.recipient] }, `${ID}.sqlite.zst`),
    ],
    ["an unencrypted backup naming an .age file", manifest(null, `${ID}.sqlite.zst.age`)],
    ["an unknown encryption type", manifest({ type: "gpg", recipients: [KEY.recipient] } as never)],
    ["an invalid recipient", manifest({ type: "age", recipients: ["age1nope"] })],
    ["an empty recipient list", manifest({ type: "age", recipients: [] })],
    ["a passphrase section without work factor", manifest({ type: "age", passphrase_env: "PW" } as never)],
  ])("rejects %s", (_what, m) => {
    expect(() => parse(m)).toThrow(
      /manifest (names a data file|has an unknown encryption|lists an invalid|has an invalid)/,
    );
  });
});

describe("listFolder with encrypted backups", () => {
  it("lists an encrypted backup and reports an .age data file without manifest as a partial", async () => {
    const dir = tempDir();
    const folder = join(dir, "app");
    mkdirSync(folder);
    const m = manifest({ type: "age", recipients: [KEY.recipient] });
    writeFileSync(join(folder, `${ID}.json`), serializeManifest(m));
    writeFileSync(join(folder, m.stored.file), "x");
    const orphan = "app-20261122T060000000Z-00000000.sqlite.zst.age";
    writeFileSync(join(folder, orphan), "x");
    writeFileSync(join(folder, "notes.age"), "not ours");
    const listing = await listFolder(dir, "app");
    expect(listing.backups.map((b) => b.dataPath)).toEqual([join(folder, m.stored.file)]);
    expect(listing.partials.map((p) => p.path)).toEqual([join(folder, orphan)]);
  });
});

describe("decryption keys", () => {
  const encrypted = manifest({ type: "age", recipients: [KEY.recipient] });
  const withPassphrase = manifest({ type: "age", passphrase_env: "PW", scrypt_log_n: 18 });

  it("reads --identity before $SQLBAK_AGE_IDENTITY, relative to the working folder", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "a.txt"), `# key\n${KEY.identity}\n`);
    writeFileSync(join(dir, "b.txt"), `${KEY2.identity}\n`);
    const env = { SQLBAK_AGE_IDENTITY: "b.txt" };
    expect(loadDecryptionKeys("a.txt", null, env, dir).identities.map((i) => i.recipient)).toEqual([KEY.recipient]);
    expect(loadDecryptionKeys(undefined, null, env, dir).identities.map((i) => i.recipient)).toEqual([KEY2.recipient]);
    expect(loadDecryptionKeys(undefined, null, {}, dir).identities).toEqual([]);
  });

  it("refuses an unreadable or invalid identity file with exit 2", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "bad.txt"), `${KEY.recipient}\n`);
    expect(() => loadDecryptionKeys("missing.txt", null, {}, dir)).toThrow(
      `cannot read identity file (--identity) ${join(dir, "missing.txt")}: no such file or directory`,
    );
    expect(() => loadDecryptionKeys(undefined, null, { SQLBAK_AGE_IDENTITY: "bad.txt" }, dir)).toThrow(
      `identity file ${join(dir, "bad.txt")} ($SQLBAK_AGE_IDENTITY): line 1: not an age secret key`,
    );
    try {
      loadDecryptionKeys("missing.txt", null, {}, dir);
    } catch (err) {
      expect((err as UsageError).exitCode).toBe(EXIT.usage);
    }
  });

  it("requires an identity for recipient backups and the passphrase variable for passphrase backups", () => {
    const none = loadDecryptionKeys(undefined, null, {});
    expect(() => requireDecryptionKeys([manifest(null)], none)).not.toThrow();
    expect(() => requireDecryptionKeys([encrypted], none)).toThrow(
      `backup ${ID} is encrypted to ${KEY.recipient}, and no identity was given`,
    );
    expect(() => requireDecryptionKeys([withPassphrase], none)).toThrow(
      `backup ${ID} is encrypted with the passphrase from $PW, which is not set`,
    );
    expect(() =>
      requireDecryptionKeys([withPassphrase], loadDecryptionKeys(undefined, null, { PW: "x" })),
    ).not.toThrow();
    // The config's variable is the fallback when the manifest's is not set (renamed since).
    expect(() =>
      requireDecryptionKeys(
        [withPassphrase],
        loadDecryptionKeys(undefined, { type: "passphrase", passphraseEnv: "NEW_PW" }, { NEW_PW: "x" }),
      ),
    ).not.toThrow();
  });
});
