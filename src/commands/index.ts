/**
 * Command name → lazy loader. Only the chosen command's module is evaluated,
 * which keeps `sqlbak --help` and every other command fast.
 */
import type { AnyCommand } from "./_command-tree.ts";

type Loader = () => Promise<AnyCommand>;

export const commands = {
  backup: () => import("./backup.ts").then((m) => m.default),
  list: () => import("./list.ts").then((m) => m.default),
  verify: () => import("./verify.ts").then((m) => m.default),
  restore: () => import("./restore.ts").then((m) => m.default),
  rotate: () => import("./rotate.ts").then((m) => m.default),
  forget: () => import("./forget.ts").then((m) => m.default),
  pin: () => import("./pin.ts").then((m) => m.default),
  unpin: () => import("./unpin.ts").then((m) => m.default),
  tag: () => import("./tag.ts").then((m) => m.default),
  untag: () => import("./untag.ts").then((m) => m.default),
  stats: () => import("./stats.ts").then((m) => m.default),
  report: () => import("./report.ts").then((m) => m.default),
  notify: () => import("./notify.ts").then((m) => m.default),
  "install-schedule": () => import("./install-schedule.ts").then((m) => m.default),
  "notify-failure": () => import("./notify-failure.ts").then((m) => m.default),
  completion: () => import("./completion.ts").then((m) => m.default),
} satisfies Record<string, Loader>;

export type CommandName = keyof typeof commands;
export const COMMAND_NAMES = Object.keys(commands) as CommandName[];
