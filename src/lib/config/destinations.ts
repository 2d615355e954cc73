/**
 * `[[destination]]` entries: validation (every problem collected, as TOML key
 * paths) and resolution (relative paths against the config file's folder).
 * Credentials are never read from the config itself: an S3 entry names the
 * environment variables that hold them, or the standard AWS variables apply.
 */
import { homedir, hostname } from "node:os";
import { join, resolve } from "node:path";
import { checkRetentionTable, type RetentionEntry } from "./retention.ts";

export const DESTINATION_TYPES = ["dir", "s3", "sftp", "rclone"] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];
/** A destination name appears in messages, flags and the op log: same rules as a database name. */
export const DESTINATION_NAME_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** After an upload: "checksum" reads the copy back and hashes it; "size" only compares sizes (metered links). */
export const UPLOAD_CHECKS = ["checksum", "size"] as const;
export type UploadCheck = (typeof UPLOAD_CHECKS)[number];

interface Common {
  name: string;
  uploadCheck: UploadCheck;
  /** `retention = {...}`: keys merged over each database's policy for the rotation there (destinationPolicies in retention.ts resolves it). */
  retention?: RetentionEntry;
}
export interface DirDestination extends Common {
  type: "dir";
  /** Absolute folder; it gets one subfolder per database, like backup_dir. */
  path: string;
}
export interface S3Destination extends Common {
  type: "s3";
  /** e.g. `https://s3.eu-central-1.amazonaws.com`, `http://127.0.0.1:9000`; absent: AWS for `region`. */
  endpoint?: string;
  bucket: string;
  /** Key prefix without leading or trailing slash ("" for the bucket's root). */
  prefix: string;
  region?: string;
  /** Names of the environment variables holding the credentials (default: AWS_ACCESS_KEY_ID, …). */
  accessKeyIdEnv: string;
  secretAccessKeyEnv: string;
  sessionTokenEnv: string;
  virtualHostedStyle: boolean;
}
export interface SftpDestination extends Common {
  type: "sftp";
  host: string;
  port: number;
  user: string;
  /** Absolute path of the private key file (absent: ssh's own keys, agent and ~/.ssh/config). */
  keyFile?: string;
  /** Remote folder (as the server sees it). */
  path: string;
  /** Absolute path of a known_hosts file to check the server's key against (absent: the user's default). */
  knownHosts?: string;
}
export interface RcloneDestination extends Common {
  type: "rclone";
  /** `name:path` of a remote in rclone's own config (credentials stay there). */
  remote: string;
  /** The rclone binary: a path, or a name looked up on PATH. */
  rclone: string;
  /** Absolute path of the rclone.conf to use (absent: rclone's default, or $RCLONE_CONFIG). */
  rcloneConfig?: string;
}
export type ResolvedDestination = DirDestination | S3Destination | SftpDestination | RcloneDestination;

/** A validated entry as written (paths still relative). */
export type DestinationEntry = Record<string, string | number | boolean | RetentionEntry | undefined> & {
  name: string;
  type: DestinationType;
};

const COMMON_KEYS = ["name", "type", "upload_check", "retention"];
const TYPE_KEYS: Record<DestinationType, string[]> = {
  dir: ["path"],
  s3: [
    "endpoint",
    "bucket",
    "prefix",
    "region",
    "access_key_id_env",
    "secret_access_key_env",
    "session_token_env",
    "virtual_hosted_style",
  ],
  sftp: ["host", "port", "user", "key_file", "path", "known_hosts"],
  rclone: ["remote", "rclone", "rclone_config"],
};
const REQUIRED: Record<DestinationType, string[]> = {
  dir: ["path"],
  s3: ["bucket"],
  sftp: ["host", "user", "path"],
  rclone: ["remote"],
};
/**
 * A named remote of rclone.conf and a path on it. Connection strings
 * (`:s3,secret=…:path`, `name,opt=…:`) are refused: they would put
 * credentials in process arguments, which every user of the machine can read.
 */
const RCLONE_REMOTE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+@-]*:[^\x00-\x1f\x7f]*$/;
const INLINE_SECRETS = ["access_key_id", "secret_access_key", "session_token", "password", "passphrase"];
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

type AddProblem = (key: string, what: string) => void;

function checkValue(key: string, v: unknown, at: string, add: AddProblem): string | number | boolean | undefined {
  if (key === "port") {
    if (typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 65535) return v;
    add(at, `expected a port number from 1 to 65535, got ${JSON.stringify(v)}`);
    return undefined;
  }
  if (key === "virtual_hosted_style") {
    if (typeof v === "boolean") return v;
    add(at, `expected true or false, got ${JSON.stringify(v)}`);
    return undefined;
  }
  if (v === "" && key !== "prefix") {
    add(at, "must not be empty");
    return undefined;
  }
  if (typeof v !== "string") {
    add(at, `expected a non-empty string, got ${JSON.stringify(v) ?? typeof v}`);
    return undefined;
  }
  if (key.endsWith("_env") && !ENV_NAME_RE.test(v)) add(at, `"${v}" is not an environment variable name`);
  else if (key === "endpoint" && !/^https?:\/\/[^/\s]+\/?$/.test(v))
    add(at, `"${v}" is not an http(s) URL without a path (the bucket goes in bucket)`);
  else if (key === "prefix" && (v.split("/").some((s) => s === "." || s === "..") || /\s/.test(v)))
    add(at, `"${v}" is not a safe key prefix`);
  else if (key === "prefix" && /\{(?!hostname\})[^}]*\}/.test(v))
    add(at, `"${v}" has a placeholder other than {hostname}`);
  else if (key === "remote" && !RCLONE_REMOTE_RE.test(v))
    add(
      at,
      `"${v}" is not "name:path" of a remote in rclone.conf (connection strings are refused: credentials stay in rclone's config)`,
    );
  else if (key === "upload_check" && !(UPLOAD_CHECKS as readonly string[]).includes(v))
    add(at, `"${v}" is not one of ${UPLOAD_CHECKS.join(" | ")}`);
  else return v;
  return undefined;
}

function checkEntry(raw: unknown, index: number, add: AddProblem): DestinationEntry | undefined {
  const prefix = `destination[${index}]`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    add(prefix, "expected a table [[destination]]");
    return undefined;
  }
  const obj = raw as Record<string, unknown>;
  const name = obj.name;
  if (name === undefined) add(`${prefix}.name`, "is required");
  else if (typeof name !== "string" || !DESTINATION_NAME_RE.test(name)) {
    add(
      `${prefix}.name`,
      `${JSON.stringify(name)} is not a safe name (use a-z, 0-9, _ and -, at most 64, starting with a letter or digit)`,
    );
  }
  const type = obj.type;
  if (type === undefined) {
    add(`${prefix}.type`, `is required (${DESTINATION_TYPES.join(" | ")})`);
    return undefined;
  }
  if (!(DESTINATION_TYPES as readonly unknown[]).includes(type)) {
    add(`${prefix}.type`, `${JSON.stringify(type)} is not one of ${DESTINATION_TYPES.join(" | ")}`);
    return undefined;
  }
  const t = type as DestinationType;
  const allowed = [...COMMON_KEYS, ...TYPE_KEYS[t]];
  const entry: DestinationEntry = { name: String(name), type: t };
  for (const [k, v] of Object.entries(obj)) {
    if (k === "name" || k === "type") continue;
    if (INLINE_SECRETS.includes(k)) {
      const instead =
        k === "password" || k === "passphrase"
          ? "sftp logs in with key_file"
          : `put the secret in an environment variable and name it with ${k}_env`;
      add(`${prefix}.${k}`, `credentials are never written in the config: ${instead}`);
    } else if (!allowed.includes(k))
      add(`${prefix}.${k}`, `unknown key for type "${t}" (allowed here: ${allowed.join(", ")})`);
    else if (k === "retention") entry.retention = checkRetentionTable(v, `${prefix}.retention`, add);
    else entry[k] = checkValue(k, v, `${prefix}.${k}`, add);
  }
  for (const k of REQUIRED[t]) if (obj[k] === undefined) add(`${prefix}.${k}`, `is required for type "${t}"`);
  return entry;
}

/** Checks the `destination` array; names must be unique. Returns the entries that parsed. */
export function checkDestinations(raw: unknown, add: AddProblem): DestinationEntry[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) {
    add("destination", "expected [[destination]] entries");
    return undefined;
  }
  const entries: DestinationEntry[] = [];
  const seen = new Map<string, number>();
  raw.forEach((d, i) => {
    const e = checkEntry(d, i, add);
    if (!e) return;
    const prev = seen.get(e.name);
    if (prev !== undefined) add(`destination[${i}].name`, `"${e.name}" is already used by destination[${prev}]`);
    seen.set(e.name, i);
    entries.push(e);
  });
  return entries;
}

const str = (v: unknown) => (typeof v === "string" ? v : undefined);

/** Turns validated entries into destinations with absolute local paths (relative ones resolve against `baseDir`). */
export function resolveDestinations(entries: DestinationEntry[] | undefined, baseDir: string): ResolvedDestination[] {
  // biome-ignore lint/suspicious/useIterableCallbackReturn: the switch covers every validated type
  return (entries ?? []).map((e): ResolvedDestination => {
    const common = {
      name: e.name,
      uploadCheck: (str(e.upload_check) ?? "checksum") as UploadCheck,
      ...(e.retention && typeof e.retention === "object" ? { retention: e.retention } : {}),
    };
    // `~/…` is the home folder, as ssh and admins expect; other relative paths are against the config file.
    const local = (p: unknown) => {
      const path = String(p ?? "");
      return path.startsWith("~/") ? join(homedir(), path.slice(2)) : resolve(baseDir, path);
    };
    switch (e.type) {
      case "dir":
        return { ...common, type: "dir", path: local(e.path) };
      case "s3":
        return {
          ...common,
          type: "s3",
          endpoint: str(e.endpoint)?.replace(/\/$/, ""),
          bucket: String(e.bucket ?? ""),
          prefix: (str(e.prefix) ?? "").replace(/^\/+|\/+$/g, "").replaceAll("{hostname}", hostKey()),
          region: str(e.region),
          accessKeyIdEnv: str(e.access_key_id_env) ?? "AWS_ACCESS_KEY_ID",
          secretAccessKeyEnv: str(e.secret_access_key_env) ?? "AWS_SECRET_ACCESS_KEY",
          sessionTokenEnv: str(e.session_token_env) ?? "AWS_SESSION_TOKEN",
          virtualHostedStyle: e.virtual_hosted_style === true,
        };
      case "sftp": {
        const remote = String(e.path ?? "");
        return {
          ...common,
          type: "sftp",
          host: String(e.host ?? ""),
          port: typeof e.port === "number" ? e.port : 22,
          user: String(e.user ?? ""),
          keyFile: e.key_file !== undefined ? local(e.key_file) : undefined,
          // The remote folder is the server's path: never resolved against the local config folder.
          path: remote,
          knownHosts: e.known_hosts !== undefined ? local(e.known_hosts) : undefined,
        };
      }
      case "rclone": {
        const bin = str(e.rclone) ?? "rclone";
        return {
          ...common,
          type: "rclone",
          remote: String(e.remote ?? ""),
          // A bare name is looked up on PATH, as a shell would; a path resolves like every local path.
          rclone: bin.includes("/") ? local(bin) : bin,
          rcloneConfig: e.rclone_config !== undefined ? local(e.rclone_config) : undefined,
        };
      }
    }
  });
}

/**
 * `{hostname}` in an S3 prefix: this machine's short host name, lowercased,
 * every character other than a-z, 0-9 and `-` as `-` (docs/destinations.md),
 * so machines sharing one bucket keep their backups apart.
 */
export function hostKey(name = hostname()): string {
  return (name.split(".")[0] ?? "").toLowerCase().replace(/[^a-z0-9-]/g, "-") || "host";
}
