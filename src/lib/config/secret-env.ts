/** The variables a config reads secrets from, and the rule that a command hook is never handed one. */
import type { Checker } from "./checker.ts";
import type { ConfigFile } from "./config-file.ts";
import { hooksEnvList } from "./hooks.ts";
import { commandEnvLists, notifySecretEnv } from "./notify-schema.ts";
import { pingSecretEnvNames } from "./ping.ts";

/**
 * The environment variables this config reads secrets from, each with the key
 * that names it. AWS_* variables are secrets by rule (S3's default credentials).
 */
export function secretEnvNames(config: ConfigFile): { name: string; key: string }[] {
  const out: { name: string; key: string }[] = [];
  if (config.encryption?.passphrase_env)
    out.push({ name: config.encryption.passphrase_env, key: "encryption.passphrase_env" });
  out.push(...notifySecretEnv(config.notify));
  (config.destination ?? []).forEach((d, i) => {
    for (const k of ["access_key_id_env", "secret_access_key_env", "session_token_env"]) {
      const v = d[k];
      if (typeof v === "string") out.push({ name: v, key: `destination[${i}].${k}` });
    }
  });
  out.push(...pingSecretEnvNames(config.ping, config.database));
  return out;
}

/** A command hook must never be handed a secret, even when an admin lists it by mistake. */
export function checkCommandEnvSecrets(c: Checker, config: ConfigFile) {
  const secrets = secretEnvNames(config);
  for (const { key, names } of [...commandEnvLists(config.notify), ...hooksEnvList(config.hooks)]) {
    for (const name of names) {
      const secret = secrets.find((s) => s.name === name);
      if (secret) c.add(key, `"${name}" holds a secret (${secret.key}); the command never gets it`);
      else if (name.startsWith("AWS_"))
        c.add(key, `"${name}" is an AWS_* variable (credentials); the command never gets those`);
    }
  }
}
