import { defineCommand } from "citty";
import { JOB_NAMES, type JobName } from "../lib/config/index.ts";
import { UsageError } from "../lib/model/index.ts";
import { type FailedRunReport, reportFailedRun, unitFailure } from "../lib/ping/index.ts";
import { commonArgs } from "./_args.ts";
import { openContext, printData } from "./_context.ts";

export default defineCommand({
  meta: {
    name: "notify-failure",
    description: "Send the failure of a job that could not say so itself (systemd's OnFailure= unit runs this)",
  },
  args: {
    ...commonArgs,
    job: {
      type: "positional",
      required: true,
      description: `The job that failed: ${JOB_NAMES.join(" | ")}`,
      valueHint: "JOB",
    },
    report: {
      type: "boolean",
      description: "Read the failure as JSON on stdin (how a timed-out run reports itself)",
    },
  },
  async run({ args }) {
    const ctx = openContext(args);
    const job = args.job as JobName;
    if (!JOB_NAMES.includes(job)) throw new UsageError(`unknown job "${args.job}"`, `jobs: ${JOB_NAMES.join(", ")}`);
    const report = args.report ? readReport(await Bun.stdin.text(), job) : unitFailure(job, process.env);
    if (!report) {
      if (ctx.json) printData(ctx, { job, sent: false, warnings: [] }, () => "");
      ctx.logger.info(
        `the ${job} job exited with status ${process.env.MONITOR_EXIT_STATUS}: sqlbak sent its failure itself`,
      );
      return;
    }
    const warnings = await reportFailedRun(ctx.config, report);
    for (const w of warnings) ctx.logger.warn(w);
    if (ctx.json) printData(ctx, { job, sent: true, warnings }, () => "");
    if (!args.report) ctx.logger.info(`sent: ${report.error}`);
  },
});

function readReport(text: string, job: JobName): FailedRunReport {
  try {
    const r = JSON.parse(text) as FailedRunReport;
    if (typeof r.error !== "string" || !Array.isArray(r.databases)) throw new Error("not a report");
    return { ...r, job };
  } catch {
    throw new UsageError("--report expects the failure as JSON on stdin");
  }
}
