/** What a sender needs besides its channel: the environment secrets are read from, and its timeout. */
export interface SendContext {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Variables the config reads secrets from: never handed to a command. */
  secretEnv: string[];
}

/** The value of a secret's variable; a missing one fails this channel (never the operation), naming the variable. */
export function readSecret(name: string, ctx: SendContext, key: string): string {
  const v = ctx.env[name];
  if (!v) throw new Error(`environment variable ${name} (${key}) is not set`);
  return v;
}
