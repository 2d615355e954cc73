import { defineCommand } from "citty";
import { DEFAULT_REPORT_DAYS, gatherReport, reportChannels, sendReport } from "../lib/health/index.ts";
import { EXIT, OutcomeError, UsageError } from "../lib/model/index.ts";
import { commonArgs } from "./_args.ts";
import { openContext, printData } from "./_context.ts";

/** A year: a longer window says little the `stats` history does not. */
const MAX_DAYS = 366;

export default defineCommand({
  meta: {
    name: "report",
    description: "Summarise the last days per database; --send delivers it to the channels that ask for it",
  },
  args: {
    ...commonArgs,
    name: { type: "positional", required: false, description: "Only this database", valueHint: "NAME" },
    days: {
      type: "string",
      description: `The window, in days (default ${DEFAULT_REPORT_DAYS})`,
      valueHint: "N",
    },
    send: {
      type: "boolean",
      description: 'Send it as the "report" event to each [notify] channel whose `on` lists it; exit 1 if one fails',
    },
    local: { type: "boolean", description: "Leave out the [[destination]]s (do not contact them)" },
  },
  async run({ args }) {
    const ctx = openContext(args);
    const days = parseDays(args.days);
    // Before gathering anything: a send that can reach nobody is a config error.
    const channels = args.send ? reportChannels(ctx.config) : [];
    const report = await gatherReport(ctx.config, { days, name: args.name, local: Boolean(args.local) });
    if (!args.send) {
      printData(ctx, { ...report.facts }, () => report.text.trimEnd());
      return;
    }
    const delivery = await sendReport(ctx.config, report, channels);
    if (ctx.json) printData(ctx, { ...report.facts, delivery }, () => "");
    for (const w of delivery.failures) ctx.logger.warn(w);
    const sent = channels.length - delivery.failures.length;
    if (delivery.failures.length)
      throw new OutcomeError(
        `report not delivered to ${delivery.failures.length} of ${channels.length} channel(s)`,
        EXIT.failed,
      );
    ctx.logger.success(
      `report sent (${report.title}) to ${sent === 1 ? "" : `${sent} channels: `}${channels.join(", ")}`,
    );
  },
});

function parseDays(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_REPORT_DAYS;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > MAX_DAYS)
    throw new UsageError(`--days ${JSON.stringify(raw)}: expected a whole number of days from 1 to ${MAX_DAYS}`);
  return n;
}
