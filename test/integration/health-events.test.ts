/** health.problem and health.recovered, remembered only through the op log (sqlbak keeps no state of its own). */
import { describe, expect, it } from "bun:test";
import { healthNotifications } from "../../src/lib/health/notification.ts";
import { readOpLog } from "../../src/lib/store/oplog.ts";
import { configProject } from "../helpers/config.ts";

const events = (ns: { event: string }[]) => ns.map((n) => n.event);

describe("health events", () => {
  it("sends a problem every unhealthy check, the recovery once, and nothing while healthy", () => {
    const config = configProject(`backup_dir = "b"`).config();
    expect(healthNotifications(config, [], "all")).toEqual([]);
    expect(events(healthNotifications(config, ["app: no backups"], "all"))).toEqual(["health.problem"]);
    const again = healthNotifications(config, ["app: no backups", "app: stale"], "all");
    expect(again).toMatchObject([{ event: "health.problem", ok: false, problems: ["app: no backups", "app: stale"] }]);
    const [recovered] = healthNotifications(config, [], "all");
    const lastBad = readOpLog(config.logFile)
      .filter((e) => e.op === "health" && !e.ok)
      .at(-1)!;
    expect(recovered).toMatchObject({
      event: "health.recovered",
      ok: true,
      since: lastBad.ts,
      previous_problems: ["app: no backups", "app: stale"],
    });
    expect(healthNotifications(config, [], "all")).toEqual([]);
  });

  it("judges each scope against its own previous verdict", () => {
    const config = configProject(`backup_dir = "b"`).config();
    expect(events(healthNotifications(config, ["app @ nas: cannot list the destination"], "all"))).toEqual([
      "health.problem",
    ]);
    // A --local check that passes has never been unhealthy: no recovery for it, and "all" still remembers its problem.
    expect(healthNotifications(config, [], "all (local)")).toEqual([]);
    expect(events(healthNotifications(config, [], "all"))).toEqual(["health.recovered"]);
  });
});
