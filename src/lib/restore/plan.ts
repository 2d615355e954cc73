/**
 * Deciding a restore, before anything is touched: which backup (`--id`, `--at`,
 * `--latest`), which target file, whether a pre-restore backup is needed, and
 * the plan `--dry-run` prints. Pure apart from stat calls on the target.
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import type { DecryptionKeys } from "../codec/index.ts";
import { adHocDatabase, type ResolvedConfig, type ResolvedDatabase } from "../config/index.ts";
import {
  formatBytes,
  formatLocalTime,
  OperationError,
  parseBackupId,
  parseSpanMs,
  storedPages,
  suggestCommand,
  UsageError,
} from "../model/index.ts";
import type { StoredBackup } from "../store/index.ts";

export type BackupSelector = { kind: "id"; id: string } | { kind: "at"; at: Date; text: string } | { kind: "latest" };

const WORD_UNITS: Record<string, string> = {
  sec: "s",
  second: "s",
  min: "m",
  minute: "m",
  hour: "h",
  day: "d",
  week: "w",
};
const CLOCK_RE = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)? ?(Z|[+-]\d{2}:?\d{2})?)?$/;

function atClock(day: Date, clock: string | undefined, endOfDay: boolean): Date | null {
  const d = new Date(day);
  if (clock === undefined) {
    if (endOfDay) d.setHours(23, 59, 59, 999);
    return d;
  }
  const m = CLOCK_RE.exec(clock);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) return null;
  d.setHours(Number(m[1]), Number(m[2]), Number(m[3] ?? 0), m[3] === undefined ? 0 : 999);
  return d;
}

function parseIso(text: string): Date | null {
  const m = ISO_RE.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, ms, zone] = m;
  if (h === undefined) {
    // A bare date means that whole day: the newest backup taken on it or before.
    const date = new Date(Number(y), Number(mo) - 1, Number(d), 23, 59, 59, 999);
    return date.getMonth() === Number(mo) - 1 && date.getDate() === Number(d) ? date : null;
  }
  // A time given to the second (as `list` shows it) covers that whole second: backups carry milliseconds.
  const wholeSecond = s !== undefined && ms === undefined ? 999 : 0;
  if (zone) {
    const date = new Date(
      `${y}-${mo}-${d}T${h}:${mi}:${s ?? "00"}.${(ms ?? "0").padEnd(3, "0")}` +
        `${zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`,
    );
    return Number.isNaN(date.getTime()) ? null : new Date(date.getTime() + wholeSecond);
  }
  const date = new Date(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s ?? 0),
    Number((ms ?? "0").padEnd(3, "0")) + wholeSecond,
  );
  const exact =
    date.getMonth() === Number(mo) - 1 &&
    date.getDate() === Number(d) &&
    date.getHours() === Number(h) &&
    date.getMinutes() === Number(mi);
  return exact ? date : null;
}

/**
 * Parses `--at`: ISO dates and times (`2026-11-20`, `2026-11-20 18:00`,
 * `2026-11-20T18:00:00Z`, `2026-11-20 18:00:05 +01:00` as `list` shows it; no
 * zone = local time; a bare date = the end of that day; a time to the second
 * without milliseconds = the end of that second, since backups carry them), `now`,
 * `today [HH:MM]`, `yesterday [HH:MM]` (bare = end of yesterday), and `<span> ago`
 * (`2h ago`, `1h30m ago`, `3 days ago`). Null when malformed.
 */
export function parseAtTime(input: string, now: Date): Date | null {
  const text = input.trim().toLowerCase().replace(/\s+/g, " ");
  if (text === "now") return new Date(now);
  const ago = /^(.+?) ?ago$/.exec(text);
  if (ago) {
    const words = ago[1]!.replace(
      /(\d+(?:\.\d+)?) ?([a-z]+?)s?\b/g,
      (_all, n: string, unit: string) => `${n}${WORD_UNITS[unit] ?? unit}`,
    );
    const ms = parseSpanMs(words.replace(/ /g, ""));
    return ms === null ? null : new Date(now.getTime() - ms);
  }
  const day = /^(today|yesterday)(?: (.+))?$/.exec(text);
  if (day) {
    const base = new Date(now);
    if (day[1] === "yesterday") base.setDate(base.getDate() - 1);
    if (day[1] === "today" && day[2] === undefined) return base;
    return atClock(base, day[2], true);
  }
  return parseIso(text.toUpperCase());
}

/**
 * Turns `--id` / `--at` / `--latest` into one selector (null when none was
 * given). More than one, a malformed id or an unreadable time is a UsageError.
 */
export function parseRestoreSelector(
  opts: { id?: string; at?: string; latest?: boolean },
  now: Date,
): BackupSelector | null {
  const given = [opts.id !== undefined && "--id", opts.at !== undefined && "--at", opts.latest && "--latest"].filter(
    Boolean,
  );
  if (given.length > 1) throw new UsageError(`choose one of ${given.join(", ")}`);
  if (opts.id !== undefined) {
    if (!parseBackupId(opts.id))
      throw new UsageError(
        `"${opts.id}" is not a backup id`,
        "ids look like app-20261122T050607123Z-1a2b3c4d; see `sqlbak list`",
      );
    return { kind: "id", id: opts.id };
  }
  if (opts.at !== undefined) {
    const at = parseAtTime(opts.at, now);
    if (!at)
      throw new UsageError(
        `cannot read --at "${opts.at}"`,
        'use e.g. 2026-11-20, "2026-11-20 18:00", 2026-11-20T18:00:00Z, ' +
          '"2h ago", "3d ago", yesterday, "yesterday 18:00"',
      );
    return { kind: "at", at, text: opts.at };
  }
  return opts.latest ? { kind: "latest" } : null;
}

/**
 * Picks the backup a selector names from one database's backups (oldest
 * first). `--latest` and `--at` skip pre-restore backups: right after a restore
 * the newest backup is the state just replaced, and one taken for `--to` is of
 * another file; those are restored by id (the undo command prints it).
 * `listCommand` is the `sqlbak list …` hints suggest (same config, folder, destination).
 */
export function selectBackup(backups: StoredBackup[], sel: BackupSelector, listCommand = "sqlbak list"): StoredBackup {
  if (backups.length === 0)
    throw new OperationError("there are no backups to restore", { hint: `see \`${listCommand}\`` });
  if (sel.kind === "id") {
    const b = backups.find((x) => x.manifest.id === sel.id);
    if (!b) throw new UsageError(`no backup with id ${sel.id}`, `see \`${listCommand}\` for the backups there are`);
    return b;
  }
  const regular = backups.filter((b) => b.manifest.kind !== "pre-restore");
  if (regular.length === 0)
    throw new OperationError("there are only pre-restore backups; restore one of those by --id", {
      hint: `see \`${listCommand}\``,
    });
  if (sel.kind === "latest") return regular.at(-1)!;
  const before = regular.filter((b) => Date.parse(b.manifest.created_at) <= sel.at.getTime());
  if (before.length === 0)
    throw new UsageError(
      `no backup at or before ${formatLocalTime(sel.at)} (--at "${sel.text}"); ` +
        `the oldest is from ${formatLocalTime(new Date(regular[0]!.manifest.created_at))}`,
    );
  return before.reduce((a, b) => (Date.parse(b.manifest.created_at) >= Date.parse(a.manifest.created_at) ? b : a));
}

/**
 * How a restore proves its copy before the swap: `checksum` (the default) compares the image's SHA-256,
 * computed while it is decompressed, with the one recorded at backup time; `quick` and `full` also run
 * quick_check / integrity_check and compare the facts with the manifest (docs/restore.md).
 */
export const RESTORE_CHECKS = ["checksum", "quick", "full"] as const;
export type RestoreCheck = (typeof RESTORE_CHECKS)[number];

/**
 * The check a restore runs: the one asked for, else `checksum`, except for a backup that never passed a
 * SQLite check (taken with `check = "none"`): its checksum proves only that it is what was stored, so quick_check.
 */
export function restoreCheckFor(manifest: StoredBackup["manifest"], asked: RestoreCheck | undefined): RestoreCheck {
  if (asked) return asked;
  return manifest.check.level === "none" ? "quick" : "checksum";
}

/** Reads `--check`; a value that is not a restore check is a UsageError. */
export function parseRestoreCheck(value: string | undefined): RestoreCheck | undefined {
  if (value === undefined) return undefined;
  if ((RESTORE_CHECKS as readonly string[]).includes(value)) return value as RestoreCheck;
  throw new UsageError(`--check must be one of ${RESTORE_CHECKS.join(", ")}, not "${value}"`);
}

export interface RestorePlan {
  database: string;
  /** How the copy is proven before the swap (restoreCheckFor). */
  check: RestoreCheck;
  backup: StoredBackup;
  /** Absolute path that will be replaced (symlinks resolved). */
  target: string;
  targetExists: boolean;
  /** True for `--to`: the configured database is not touched. */
  toOther: boolean;
  /** Where the pre-restore backup of the current target goes, or null when there is no target yet. */
  preRestore: ResolvedDatabase | null;
  /**
   * `keep`: keep the replaced file itself beside the target when nobody uses it and the folder allows a
   * hard link (kept.ts), else take a pre-restore backup; `backup`: always take the backup.
   */
  preRestoreMode: "keep" | "backup";
  /** The pre-restore backup's database is not configured at the target, so undoing needs `--to`. */
  undoNeedsTo: boolean;
  force: boolean;
  /** What an encrypted backup is decrypted with. */
  keys?: DecryptionKeys;
  /**
   * Options from the user's command line the undo command must repeat (--config, --backup-dir,
   * --identity as given).
   */
  carry?: string[];
  /**
   * The destination read (`--from` as given): hints about the chosen backup repeat it; the undo
   * command does not (pre-restore backups are local).
   */
  from?: string;
}

/**
 * Given the chosen backup and `--to` / `--force`, return the plan. Refuses
 * (UsageError) an unconfigured database without `--to`, and an existing
 * `--to` file without `--force`.
 */
export function planRestore(
  config: ResolvedConfig,
  backup: StoredBackup,
  opts: {
    to?: string;
    force: boolean;
    cwd?: string;
    keys?: DecryptionKeys;
    carry?: string[];
    from?: string;
    check?: RestoreCheck;
    preRestoreMode?: "keep" | "backup";
  },
): RestorePlan {
  const name = backup.manifest.database;
  const configured = config.databases.find((d) => d.name === name);
  if (!opts.to && !configured) {
    throw new UsageError(
      `database "${name}" is not in the config, so there is no target to restore to; give --to PATH`,
      backup.manifest.source ? `it was backed up from ${backup.manifest.source}` : undefined,
    );
  }
  const given = opts.to
    ? isAbsolute(opts.to)
      ? opts.to
      : resolve(opts.cwd ?? process.cwd(), opts.to)
    : configured!.path;
  const targetExists = existsSync(given);
  const target = targetExists ? realpathSync(given) : given;
  if (targetExists && !statSync(target).isFile())
    throw new OperationError(`cannot restore to ${target}: not a regular file`);
  if (!targetExists && !existsSync(dirname(target)))
    throw new OperationError(`cannot restore to ${target}: folder ${dirname(target)} does not exist`);
  const toOther = Boolean(opts.to) && target !== configured?.path;
  if (toOther && targetExists && !opts.force) {
    throw new UsageError(
      `refusing to overwrite existing file ${target}; ` +
        "pass --force to replace it (a pre-restore backup of it is taken first)",
    );
  }
  // The pre-restore copy goes to the folder of the database configured at that path, else of the restored
  // one, else (neither configured) to the folder named after the target file, as `backup PATH` would.
  const owner = config.databases.find((d) => d.path === target) ?? configured;
  const preRestore = targetExists ? { ...(owner ?? adHocDatabase(config, target)), path: target } : null;
  return {
    database: name,
    check: restoreCheckFor(backup.manifest, opts.check),
    backup,
    target,
    targetExists,
    toOther,
    preRestore,
    // --pre-restore, else `pre_restore` of the database whose file is replaced, else the global one.
    preRestoreMode: opts.preRestoreMode ?? preRestore?.preRestore ?? config.preRestore ?? "keep",
    undoNeedsTo: owner?.path !== target,
    force: opts.force,
    keys: opts.keys,
    carry: opts.carry,
    from: opts.from,
  };
}

const CHECK_STEP: Record<RestoreCheck, string> = {
  checksum: "",
  quick: "; quick_check and compare with the manifest",
  full: "; integrity_check and compare with the manifest",
};

/** The plan as lines for `--dry-run` and the confirmation prompt. */
export function describePlan(plan: RestorePlan): string[] {
  const m = plan.backup.manifest;
  return [
    `backup:  ${m.id} (${m.kind}, ${formatLocalTime(new Date(m.created_at))}, ${formatBytes(m.raw.size)})`,
    `target:  ${plan.target}${plan.targetExists ? "" : " (new file)"}`,
    `steps:   ${m.stored.encryption ? "decrypt and " : ""}${storedPages(m) ? "reassemble" : "decompress"} beside ` +
      `the target, comparing its SHA-256 with the backup's${CHECK_STEP[plan.check]}; fsync`,
    plan.preRestore && plan.preRestoreMode === "keep"
      ? `         keep ${plan.target} beside it as ${basename(plan.target)}.pre-restore-<time> ` +
        `(else a pre-restore backup into ${plan.preRestore.name})`
      : plan.preRestore
        ? `         pre-restore backup of ${plan.target} into ${plan.preRestore.name}`
        : "         no pre-restore backup (nothing there yet)",
    `         ${plan.force ? "replace even if in use (--force)" : "refuse if the database is in use"}; ` +
      "rename into place; remove stale -wal/-shm/-journal",
  ];
}

/** The command that puts the pre-restore backup back. */
export function undoCommand(plan: RestorePlan, preRestoreId: string): string {
  const to = plan.undoNeedsTo ? ["--to", plan.target, "--force"] : [];
  return suggestCommand(
    ["restore", plan.preRestore!.name, "--id", preRestoreId, ...to, ...(plan.carry ?? [])],
    ["--yes"],
  );
}

/** The command that puts the kept copy `kept` (kept.ts) back in place of the target. */
export function undoKeptCommand(
  plan: Pick<RestorePlan, "undoNeedsTo" | "target" | "carry"> & { preRestore: { name: string } | null },
  kept: string,
): string {
  const to = plan.undoNeedsTo ? ["--to", plan.target, "--force"] : [];
  return suggestCommand(["restore", plan.preRestore!.name, "--file", kept, ...to, ...(plan.carry ?? [])], ["--yes"]);
}
