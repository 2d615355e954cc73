import { existsSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { formatLocalTime, nextRuns, UsageError } from "../lib/model/index.ts";
import {
  applySchedule,
  createEnvFile,
  handEnvFileTo,
  missingEnvVars,
  PLATFORMS,
  type Platform,
  planSchedule,
  scheduleTarget,
  schtasksCreate,
} from "../lib/schedule/index.ts";
import { commonArgs } from "./_args.ts";
import { openContext, printData } from "./_context.ts";
import { sqlbakArgv } from "./_self.ts";

export default defineCommand({
  meta: {
    name: "install-schedule",
    description: "Print or install scheduler entries (cron, systemd, launchd, Windows) for [schedule]",
  },
  args: {
    ...commonArgs,
    platform: {
      type: "enum",
      options: [...PLATFORMS],
      description: "Scheduler (default: detected)",
      valueHint: "PLATFORM",
    },
    print: { type: "boolean", description: "Print the entries and the next run times (the default)" },
    apply: { type: "boolean", description: "Install the entries; re-running changes nothing" },
    uninstall: { type: "boolean", description: "Remove sqlbak's entries, and only those" },
    user: { type: "boolean", description: "The invoking user's units/agents/tasks (default unless root)" },
    system: { type: "boolean", description: "System-wide units/daemons/tasks (default for root)" },
    "user-name": {
      type: "string",
      description: "systemd system units: run the jobs as this user (and group) instead of root",
      valueHint: "NAME[:GROUP]",
    },
  },
  run({ args }) {
    // --apply creates the environment file, so one named but not there yet is expected here.
    const ctx = openContext(args, { envFileMayBeMissing: true });
    const { config } = ctx;
    if ([args.print, args.apply, args.uninstall].filter(Boolean).length > 1)
      throw new UsageError("choose one of --print, --apply, --uninstall");
    const target = scheduleTarget(
      {
        platform: args.platform as Platform | undefined,
        user: args.user,
        system: args.system,
        userName: args["user-name"],
      },
      process.getuid?.() === 0,
    );
    const { platform, system, runAs } = target;
    if (!config.file)
      ctx.logger.warn(
        "no config file found: the jobs will run without --config; write one first (see sqlbak.example.toml)",
      );
    const { envFile, needed, jobs, rendered, dir } = planSchedule(config, target, sqlbakArgv(), process.env);
    if (config.shutdownBackup && platform !== "systemd")
      ctx.logger.warn(`[schedule] shutdown: only systemd runs a backup at shutdown; ${platform} gets no such entry`);

    // --apply creates the environment file only once the entries have passed validation (see onValidated below).
    const createEnv = () => {
      const created = createEnvFile(envFile, needed);
      if (created)
        ctx.logger.info(
          `created ${envFile} (mode 0600)${needed.length ? `: fill in ${needed.map((v) => v.name).join(", ")}` : ""}`,
        );
      const warning = runAs ? handEnvFileTo(envFile, runAs, created) : null;
      if (warning) ctx.logger.warn(warning);
    };
    if (!args.apply && !args.uninstall && !existsSync(envFile))
      ctx.logger.info(`the jobs read ${envFile}; --apply creates it (mode 0600)`);
    for (const v of args.uninstall ? [] : missingEnvVars(needed, process.env, envFile)) {
      ctx.logger.warn(
        `${v.name} (${v.key}) is set neither in the environment nor in ${envFile}: ` +
          "the scheduled jobs will fail without it",
      );
    }

    if (args.apply || args.uninstall) {
      if (args.apply && jobs.length === 0)
        ctx.logger.warn(
          "every job is disabled in [schedule]: nothing to install (use --uninstall to remove old entries)",
        );
      const result = applySchedule(rendered, Boolean(args.uninstall), {
        system,
        env: process.env,
        onStep: (m) => ctx.logger.info(m),
        onValidated: args.apply ? createEnv : undefined,
      });
      const action = args.uninstall ? "uninstall" : "apply";
      if (ctx.json) printData(ctx, { platform, system, action, changed: result.changed, todo: result.todo }, () => "");
      else for (const cmd of result.todo) process.stdout.write(`${cmd}\n`);
      if (result.todo.length)
        ctx.logger.info("run the commands above in an elevated Windows prompt to register the tasks");
      ctx.logger.success(
        result.changed.length
          ? `${platform}: ${result.changed.length} change(s)`
          : `${platform}: already up to date, nothing changed`,
      );
      return;
    }

    const runs = jobs.map((j) => ({ job: j.name, cron: j.cron.source, next: nextRuns(j.cron, new Date(), 3) }));
    const files = rendered.files.map((f) => ({ path: join(dir ?? "", f.name), content: f.content }));
    printData(ctx, { platform, system, crontab: rendered.cronBlock, files, next_runs: runs }, () => {
      if (rendered.cronBlock) return rendered.cronBlock.trimEnd();
      const body = files.map((f) => `# ==> ${f.path} <==\n${f.content.trimEnd()}`);
      if (platform === "windows")
        body.push(
          `# register with:\n${jobs.map((j) => schtasksCreate(j, join(dir!, `sqlbak-${j.name}.xml`))).join("\n")}`,
        );
      return body.join("\n\n");
    });
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    for (const r of runs)
      ctx.logger.info(`${r.job} (${r.cron}) next runs, ${zone}: ${r.next.map(formatLocalTime).join(", ")}`);
    if (jobs.length === 0) ctx.logger.warn("every job is disabled in [schedule]");
  },
});
