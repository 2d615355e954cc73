/** What the `[notify]` table resolves to: which events go to which channels, and their timeout. */
/** `report`: the status report of `sqlbak report --send`, sent only to channels that list it (docs/report.md). */
export const NOTIFY_EVENTS = ["success", "failure", "health", "report"] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];
/** A slow endpoint must not hold up the next database's backup for long. */
export const DEFAULT_NOTIFY_TIMEOUT_MS = 10_000;

export interface NotifyConfig {
  on: NotifyEvent[];
  ntfy?: string;
  /** The token itself, read from the environment variable the config names. */
  ntfyToken?: string;
  webhook?: string;
  command?: string;
  /** Variables the admin lets the command see (`command_env`), beyond COMMAND_BASE_ENV. */
  commandEnv?: string[];
  /** Variables the config reads secrets from: never passed to the command. */
  secretEnv?: string[];
  timeoutMs: number;
}
