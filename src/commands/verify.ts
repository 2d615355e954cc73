import { defineCommand } from "citty";
import { loadDecryptionKeys, requireDecryptionKeys } from "../lib/codec/index.ts";
import { findDestination, listFrom, withBackend } from "../lib/destinations/index.ts";
import { EXIT, type Manifest, OutcomeError, suggestCommand, UsageError } from "../lib/model/index.ts";
import { sendNotifications } from "../lib/notify/index.ts";
import { describeProblem, type FolderListing, listDatabases, type StoredBackup } from "../lib/store/index.ts";
import {
  databaseOfId,
  parseRandomCount,
  parseVerifyTarget,
  runVerify,
  runVerifyFrom,
  selectForVerify,
  sweepStaleVerifyScratch,
  VERIFY_LEVELS,
  type VerifyLevel,
  type VerifyResult,
  type VerifySelector,
  verifyNotification,
} from "../lib/verify/index.ts";
import { commonArgs, identityArgs } from "./_args.ts";
import { fromArgs } from "./_args-from.ts";
import { type CommandContext, openContext, printData } from "./_context.ts";

export default defineCommand({
  meta: {
    name: "verify",
    description: "Prove backups restore: checksum, decompress, check and compare with the manifest",
  },
  args: {
    ...commonArgs,
    ...identityArgs,
    target: {
      type: "positional",
      required: false,
      description: "A backup id, or a database name (its newest backup)",
      valueHint: "ID|NAME",
    },
    latest: { type: "boolean", description: "The newest backup of each database (the default)" },
    all: { type: "boolean", description: "Every backup" },
    random: {
      type: "boolean",
      description: "`--random [N]`: N backups at random (default 1), never or least recently verified first",
    },
    ...fromArgs,
    level: {
      type: "enum",
      options: [...VERIFY_LEVELS],
      description: "checksum | quick (default) | full",
      valueHint: "LEVEL",
    },
  },
  async run({ args, rawArgs }) {
    const ctx = openContext(args);
    for (const p of sweepStaleVerifyScratch(Date.now()))
      ctx.logger.info(`removed ${p}, a scratch folder left by a killed verify`);
    const { count, positionals } = randomCount(rawArgs, args._);
    if (positionals.length > 1) throw new UsageError(`verify takes one ID or NAME, not ${positionals.length}`);
    const positional = positionals[0];
    const selector = pickSelector(Boolean(args.latest), Boolean(args.all), count);
    const target = parseVerifyTarget(positional);
    // Hints name a `sqlbak list` that reads what this verify read.
    const where = (["config", "backup-dir", "from"] as const).flatMap((k) =>
      args[k] !== undefined ? [`--${k}`, String(args[k])] : [],
    );
    const listCommand = suggestCommand(["list", ...(target.id ? [databaseOfId(target.id)!] : []), ...where]);
    if (target.id && selector.kind !== "latest")
      throw new UsageError("a backup id selects one backup; drop --all / --random");
    const name = target.name ?? (target.id ? databaseOfId(target.id) : undefined);
    let level = (args.level ?? "quick") as VerifyLevel;
    const keys = loadDecryptionKeys(args.identity, ctx.config.encryption);
    // Without an identity and without an explicit --level (recipients-only setups, key kept off this machine),
    // check what can be checked without decrypting instead of failing every scheduled run.
    const needKeys = (bs: { manifest: Manifest }[]) => {
      if (level === "checksum") return;
      try {
        requireDecryptionKeys(
          bs.map((b) => b.manifest),
          keys,
        );
      } catch (err) {
        if (
          args.level !== undefined ||
          keys.identities.length > 0 ||
          !bs.some((b) => b.manifest.stored.encryption && "recipients" in b.manifest.stored.encryption)
        )
          throw err;
        level = "checksum";
        const from = args.from !== undefined ? ` --from ${args.from}` : "";
        ctx.logger.warn(
          `no age identity here, so verifying checksums only (level checksum); a restore test needs the identity: run \`sqlbak verify${from} --identity key.txt\` where the key is`,
        );
      }
    };
    const warn = (ls: FolderListing[]) => {
      for (const p of ls.flatMap((l) => l.problems)) ctx.logger.warn(`skipped ${describeProblem(p)}`);
    };
    const none = (where: string) =>
      new OutcomeError(
        `nothing to verify: no backups ${where}${target.name ? ` for "${target.name}"` : ""}`,
        EXIT.unhealthy,
      );
    const dest = args.from !== undefined ? findDestination(ctx.config, args.from) : null;
    if (dest) {
      const { results, files } = await withBackend(dest, async (backend) => {
        const listings = await listFrom(backend, dest, name);
        warn(listings);
        const backups = selectForVerify(listings, target, selector, undefined, listCommand);
        if (backups.length === 0) throw none(`at destination ${dest.name}`);
        needKeys(backups);
        return {
          results: await runVerifyFrom(ctx.config, backend, dest, backups, level, keys),
          files: dataPaths(backups),
        };
      });
      return report(ctx, results, files, dest.name);
    }
    // A backup whose data file is missing is selected like any other and fails its verification.
    const listings = (await listDatabases(ctx.config, name)).map((l) => withMissing(l));
    warn(listings);
    const backups = selectForVerify(listings, target, selector, undefined, listCommand);
    if (backups.length === 0) throw none(`under ${ctx.config.backupDir}`);
    needKeys(backups);
    await report(ctx, await runVerify(ctx.config, backups, level, undefined, keys), dataPaths(backups));
  },
});

/** The listing with its missing-data backups among the backups (in id order) and out of the skipped problems. */
function withMissing(l: FolderListing): FolderListing {
  const missing = l.missingData ?? [];
  if (missing.length === 0) return l;
  const ids = new Set(missing.map((b) => b.manifest.id));
  return {
    ...l,
    backups: [...l.backups, ...missing].sort((a, b) =>
      a.manifest.id < b.manifest.id ? -1 : a.manifest.id > b.manifest.id ? 1 : 0,
    ),
    problems: l.problems.filter((p) => !ids.has(p.id)),
  };
}

const dataPaths = (bs: StoredBackup[]) => new Map(bs.map((b) => [b.manifest.id, b.dataPath]));

/** `--random [N]`: citty has no optional flag values, so N is read from the raw arguments (and is not the positional). */
function randomCount(rawArgs: string[], positionals: string[]): { count: number | null; positionals: string[] } {
  const i = rawArgs.findIndex((a) => a === "--random" || a.startsWith("--random="));
  if (i < 0) return { count: null, positionals };
  const inline = rawArgs[i]!.includes("=") ? rawArgs[i]!.slice("--random=".length) : undefined;
  const value = inline ?? rawArgs[i + 1];
  if (value === undefined || (inline === undefined && !/^\d+$/.test(value))) return { count: 1, positionals };
  const count = parseRandomCount(value);
  if (count === null) throw new UsageError(`--random takes a positive number, not "${value}"`);
  const at = inline === undefined ? positionals.indexOf(value) : -1;
  return { count, positionals: at < 0 ? positionals : positionals.filter((_, j) => j !== at) };
}

function pickSelector(latest: boolean, all: boolean, randomCount: number | null): VerifySelector {
  const chosen = [latest && "--latest", all && "--all", randomCount !== null && "--random"].filter(Boolean);
  if (chosen.length > 1) throw new UsageError(`choose one of ${chosen.join(", ")}`);
  if (all) return { kind: "all" };
  if (randomCount !== null) return { kind: "random", count: randomCount };
  return { kind: "latest" };
}

async function report(
  ctx: CommandContext,
  results: VerifyResult[],
  files: Map<string, string>,
  destination?: string,
): Promise<void> {
  for (const r of results) {
    if (r.warning) ctx.logger.warn(`${r.id}: ${r.warning}`);
    if (r.vanished) ctx.logger.info(`${r.id}: removed by another run while being verified; skipped`);
    else if (r.ok) ctx.logger.success(`${r.id}: ok (${r.level}, ${(r.durationMs / 1000).toFixed(1)}s)`);
    else if (r.error) ctx.logger.error(`${r.id}: could not verify: ${r.error}`);
    else ctx.logger.error(`${r.id}: FAILED ${r.level} verification: ${r.problems.join("; ")}`);
  }
  if (ctx.json) printData(ctx, results, () => "");
  const notes = results
    .filter((r) => !r.ok && !r.vanished)
    .map((r) => verifyNotification(r, files.get(r.id), destination));
  for (const w of await sendNotifications(ctx.config, notes)) ctx.logger.warn(w);
  const bad = results.filter((r) => !r.ok && !r.error);
  if (bad.length > 0)
    throw new OutcomeError(`${bad.length} of ${results.length} backups failed verification`, EXIT.unhealthy);
  const unverified = results.filter((r) => r.error);
  if (unverified.length > 0)
    throw new OutcomeError(
      `${unverified.length} of ${results.length} backups could not be verified (no verdict on them: see above)`,
      EXIT.failed,
    );
}
