/**
 * The `[encryption]` table: age recipients (public keys, safe to keep in the
 * config) or the name of an environment variable holding a passphrase — never
 * the passphrase itself. Checked key by key like the rest of the config.
 */
import { AgeKeyError, parseRecipient } from "../../age/index.ts";

export interface EncryptionEntry {
  recipients?: string[];
  passphrase_env?: string;
}

/** Resolved: how new backups are encrypted. */
export type EncryptionConfig =
  | { type: "recipients"; recipients: string[] }
  | { type: "passphrase"; passphraseEnv: string };

const KEYS = ["recipients", "passphrase_env"];
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

type AddProblem = (key: string, what: string) => void;

/** Checks `[encryption]`; every problem goes to `add` with its key path. */
export function checkEncryptionTable(raw: unknown, add: AddProblem): EncryptionEntry | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    add("encryption", "expected a table [encryption]");
    return undefined;
  }
  const obj = raw as Record<string, unknown>;
  for (const k of Object.keys(obj))
    if (!KEYS.includes(k)) add(`encryption.${k}`, `unknown key (allowed here: ${KEYS.join(", ")})`);
  const entry: EncryptionEntry = {};
  if (obj.recipients !== undefined) {
    if (!Array.isArray(obj.recipients) || obj.recipients.length === 0) {
      add(
        "encryption.recipients",
        'expected a non-empty list of age recipients ("age1…", from `age-keygen -y KEYFILE`)',
      );
    } else {
      const good: string[] = [];
      for (const [i, r] of (obj.recipients as unknown[]).entries()) {
        const key = `encryption.recipients[${i}]`;
        if (typeof r !== "string") {
          add(key, `expected a string "age1…", got ${JSON.stringify(r)}`);
          continue;
        }
        try {
          good.push(parseRecipient(r.trim()).text);
        } catch (err) {
          if (!(err instanceof AgeKeyError)) throw err;
          // A secret key pasted by mistake must not be echoed into logs.
          const shown = /^age-secret-key-/i.test(r.trim()) ? "AGE-SECRET-KEY-1…" : JSON.stringify(r);
          add(key, `${shown} ${err.message}`);
        }
      }
      entry.recipients = [...new Set(good)];
    }
  }
  if (obj.passphrase_env !== undefined) {
    if (typeof obj.passphrase_env !== "string" || !ENV_NAME_RE.test(obj.passphrase_env)) {
      add(
        "encryption.passphrase_env",
        'expected the NAME of an environment variable holding the passphrase (e.g. "SQLBAK_PASSPHRASE"), ' +
          "not the passphrase",
      );
    } else entry.passphrase_env = obj.passphrase_env;
  }
  if (obj.recipients !== undefined && obj.passphrase_env !== undefined) {
    add("encryption", "set recipients or passphrase_env, not both (age does not mix passphrases with recipients)");
  } else if (obj.recipients === undefined && obj.passphrase_env === undefined) {
    add("encryption", 'needs recipients = ["age1…"] or passphrase_env = "VAR"');
  }
  return entry;
}

export function resolveEncryption(entry: EncryptionEntry | undefined): EncryptionConfig | null {
  if (entry?.recipients?.length) return { type: "recipients", recipients: entry.recipients };
  if (entry?.passphrase_env) return { type: "passphrase", passphraseEnv: entry.passphrase_env };
  return null;
}
