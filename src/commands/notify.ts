import { defineCommand } from "citty";
import { EXIT, OutcomeError, UsageError } from "../lib/model/index.ts";
import { channelLabel, describeTarget, sendTestNotifications } from "../lib/notify/index.ts";
import { commonArgs } from "./_args.ts";
import { openContext, printData } from "./_context.ts";

export default defineCommand({
  meta: { name: "notify", description: "List the notification channels; --test sends a test event to each" },
  args: {
    ...commonArgs,
    channel: { type: "positional", required: false, description: "Only this channel (by name)", valueHint: "CHANNEL" },
    test: { type: "boolean", description: "Send a test event and report each channel's result; exit 1 if any failed" },
  },
  async run({ args }) {
    const ctx = openContext(args);
    const all = ctx.config.notify.channels;
    if (all.length === 0)
      throw new UsageError(
        "no notification channel is configured",
        "add [notify] keys or [[notify.channel]] entries (docs/notifications.md)",
      );
    const channels = args.channel ? all.filter((c) => c.name === args.channel) : all;
    if (channels.length === 0)
      throw new UsageError(`unknown channel "${args.channel}"`, `channels: ${all.map((c) => c.name).join(", ")}`);
    if (!args.test) {
      const rows = channels.map((c) => ({ name: c.name, type: c.type, target: describeTarget(c), on: c.on }));
      printData(ctx, { channels: rows }, () =>
        rows.map((r) => `${r.name}\t${r.type}\t${r.target}\t${r.on.join(",") || "(no events)"}`).join("\n"),
      );
      return;
    }
    const results = await sendTestNotifications(ctx.config, channels);
    for (const d of results) {
      const ch = channels.find((c) => c.name === d.channel)!;
      if (d.ok) ctx.logger.success(`${channelLabel(ch)}: test event delivered to ${describeTarget(ch)}`);
      else ctx.logger.error(`${channelLabel(ch)}: FAILED: ${d.error}`);
    }
    if (ctx.json) printData(ctx, { results }, () => "");
    const failed = results.filter((d) => !d.ok);
    if (failed.length)
      throw new OutcomeError(
        `${failed.length} of ${results.length} channel${results.length > 1 ? "s" : ""} failed the test`,
        EXIT.failed,
      );
  },
});
