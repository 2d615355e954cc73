/**
 * The one `--json` envelope (docs/json.md): every run prints exactly one object whose first key is
 * `version`, with snake_case keys that the shape functions of this folder build at the source; a failed
 * run adds `error`. Nothing here renames keys of arbitrary data: user data (tags, table names) passes as is.
 */
import { ConfigError, EXIT, JSON_OUTPUT_VERSION, SqlbakError } from "../model/index.ts";

export type JsonFields = Record<string, unknown>;

/** What went wrong, by exit code (docs/exit-codes.md); `config` and `usage` are both exit 2. */
export const ERROR_KINDS = ["usage", "config", "failed", "unhealthy", "locked", "timeout", "internal"] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export interface ErrorJson {
  exit_code: number;
  kind: ErrorKind;
  message: string;
  hint: string | null;
}

/** `fields` behind `"version": 1`. */
export function jsonOutput(fields: JsonFields): JsonFields {
  return { version: JSON_OUTPUT_VERSION, ...fields };
}

const KIND_OF_CODE: Record<number, ErrorKind> = {
  [EXIT.failed]: "failed",
  [EXIT.usage]: "usage",
  [EXIT.unhealthy]: "unhealthy",
  [EXIT.locked]: "locked",
  [EXIT.timeout]: "timeout",
};

/**
 * The `error` object for what ended the run with `exitCode`: a config file's problems are kind `config`;
 * anything neither a SqlbakError nor citty's own usage error (`CLIError`) is `internal` (a bug).
 */
export function errorToJson(err: unknown, exitCode: number): ErrorJson {
  const known = err instanceof SqlbakError || (err instanceof Error && err.name === "CLIError");
  const kind: ErrorKind = !known
    ? "internal"
    : err instanceof ConfigError
      ? "config"
      : (KIND_OF_CODE[exitCode] ?? "failed");
  return {
    exit_code: exitCode,
    kind,
    message: err instanceof Error ? err.message : String(err),
    hint: err instanceof SqlbakError && err.hint ? err.hint : null,
  };
}
