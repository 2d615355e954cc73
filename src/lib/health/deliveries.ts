/** The last delivery to each configured notification channel, from the op log: a channel that failed is a problem. */
import type { ResolvedConfig } from "../config/index.ts";
import type { LoggedEntry } from "../store/index.ts";

export interface ChannelDelivery {
  channel: string;
  ts: string;
  event: string;
  ok: boolean;
  error?: string;
}

/** Per configured channel, its newest logged delivery (channels never used are left out). */
export function lastDeliveries(config: ResolvedConfig, log: LoggedEntry[]): ChannelDelivery[] {
  const out: ChannelDelivery[] = [];
  for (const ch of config.notify.channels) {
    const e = log.findLast((x) => x.op === "notify" && x.channel === ch.name);
    if (e) out.push({ channel: ch.name, ts: e.ts, event: String(e.event), ok: e.ok, error: e.error });
  }
  return out;
}

/** A channel whose last delivery failed stays a problem until one gets through (`sqlbak notify --test` is one). */
export function deliveryProblems(deliveries: ChannelDelivery[]): string[] {
  return deliveries
    .filter((d) => !d.ok)
    .map(
      (d) =>
        `notification channel "${d.channel}": the last delivery failed at ${d.ts} (${d.event}): ${d.error ?? "unknown error"}` +
        " (check it with `sqlbak notify --test " +
        `${d.channel}\`)`,
    );
}
