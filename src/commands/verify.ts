import { defineCommand } from "citty";
import { loadDecryptionKeys } from "../lib/codec/index.ts";
import { findDestination } from "../lib/destinations/index.ts";
import { OutcomeError, suggestCommand, UsageError } from "../lib/model/index.ts";
import { verifyResultToJson } from "../lib/output/index.ts";
import { describeProblem } from "../lib/store/index.ts";
import {
  databaseOfId,
  parseRandomCount,
  parseVerifyTarget,
  runVerifyJob,
  sweepStaleVerifyScratch,
  VERIFY_LEVELS,
  type VerifyJobResult,
  type VerifyLevel,
  type VerifySelector,
  verifyJobFailure,
} from "../lib/verify/index.ts";
import { commonArgs, identityArgs } from "./_args.ts";
import { fromArgs } from "./_args-from.ts";
import { type CommandContext, openContext, printData } from "./_context.ts";
import { writeMetricsAfterRun } from "./_metrics.ts";
import { progressFor } from "./_progress.ts";
import { configArgsOf, guarded, timeoutArgs } from "./_run-guard.ts";

export default defineCommand({
  meta: {
    name: "verify",
    description: "Prove backups restore: checksum, decompress, check and compare with the manifest",
  },
  args: {
    ...commonArgs,
    ...identityArgs,
    ...timeoutArgs,
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
  run: guarded(async ({ args, rawArgs }, guard) => {
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
    const keys = loadDecryptionKeys(args.identity, ctx.config.encryption);
    const dest = args.from !== undefined ? findDestination(ctx.config, args.from) : null;
    // The job's monitor hears from runs over every database; `verify ID|NAME` is a one-off.
    const guardOpts = { job: "verify" as const, pingJob: !positional, configArgs: configArgsOf(args) };
    await guard.begin(ctx, { ...guardOpts, timeout: args.timeout });
    const progress = progressFor(ctx);
    const job = await runVerifyJob(ctx.config, {
      target,
      selector,
      level: (args.level ?? "quick") as VerifyLevel,
      levelGiven: args.level !== undefined,
      keys,
      from: dest,
      listCommand,
      onProgress: progress.update,
      onSkipped: (p) => ctx.logger.warn(`skipped ${describeProblem(p)}`),
      onChecksumOnly: () =>
        ctx.logger.warn(
          "no age identity here, so verifying checksums only (level checksum); " +
            "a restore test needs the identity: " +
            `run \`sqlbak verify${args.from !== undefined ? ` --from ${args.from}` : ""} ` +
            "--identity key.txt` where the key is",
        ),
    }).finally(() => progress.done());
    report(ctx, job);
  }),
  cleanup: writeMetricsAfterRun,
});

/**
 * `--random [N]`: citty has no optional flag values, so N is read from the raw arguments
 * (and is not the positional).
 */
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

function report(ctx: CommandContext, job: VerifyJobResult): void {
  const { results } = job;
  for (const p of job.packs) {
    for (const w of p.warnings) ctx.logger.warn(`${p.database}: ${w}`);
    const bad = p.bad.length ? `, ${p.bad.length} FAILED: ${p.bad.join(", ")}` : "";
    ctx.logger.info(`${p.database}: checked ${p.checked.length} of ${p.total} packs (checksum)${bad}`);
  }
  for (const r of results) {
    if (r.warning) ctx.logger.warn(`${r.id}: ${r.warning}`);
    if (r.vanished) ctx.logger.info(`${r.id}: removed by another run while being verified; skipped`);
    else if (r.ok) ctx.logger.success(`${r.id}: ok (${r.level}, ${(r.durationMs / 1000).toFixed(1)}s)`);
    else if (r.error) ctx.logger.error(`${r.id}: could not verify: ${r.error}`);
    else ctx.logger.error(`${r.id}: FAILED ${r.level} verification: ${r.problems.join("; ")}`);
  }
  if (ctx.json) printData(ctx, { results: results.map(verifyResultToJson) }, () => "");
  for (const w of job.notifyWarnings) ctx.logger.warn(w);
  const failure = verifyJobFailure(results);
  if (failure) throw new OutcomeError(failure.message, failure.code);
}
