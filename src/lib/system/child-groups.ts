/**
 * Process groups of the helpers a run starts (hook shells, the SFTP session).
 * Each runs in its own group (detached), so a timeout or a close can kill what
 * it started, which a Ctrl-C or a `kill` of sqlbak no longer reaches: while
 * one is tracked, sqlbak's exit (a run's `timeout` exits the process), SIGINT
 * and SIGTERM kill them first (not SIGHUP, which nohup ignores: a handler
 * would undo that), and sqlbak waits until they are gone. A helper never
 * outlives the sqlbak run that started it.
 */
import { readdirSync, readFileSync } from "node:fs";

const running = new Set<number>();
const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** SIGKILLs the process group led by `pid`; nothing when it is gone already. */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // the group is gone already
  }
}

/** How long sqlbak's exit waits for killed helpers to be gone (a loaded machine may take a moment). */
const GONE_WAIT_MS = 2_000;

/** Whether a live (not zombie) process of group `pgid` is left; false where /proc cannot tell. */
function groupAlive(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return false;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z" && state !== "X") return true;
    } catch {
      // the process ended while we looked
    }
  }
  return false;
}

/** Kills every tracked group and waits (briefly, synchronously: this runs at exit) until they are gone. */
function killRunning() {
  const groups = [...running];
  for (const p of groups) killGroup(p);
  const deadline = Date.now() + GONE_WAIT_MS;
  while (groups.some(groupAlive) && Date.now() < deadline) Bun.sleepSync(5);
}
function onStopSignal(signal: NodeJS.Signals) {
  killRunning();
  untrackAll();
  process.kill(process.pid, signal); // dies of the signal as it would have, now that no handler is set
}
function untrackAll() {
  running.clear();
  process.off("exit", killRunning);
  for (const s of STOP_SIGNALS) process.off(s, onStopSignal);
}

/** Kills the group led by `pid` when sqlbak exits or is stopped, until `untrackGroup`. */
export function trackGroup(pid: number): void {
  if (running.size === 0) {
    process.on("exit", killRunning);
    for (const s of STOP_SIGNALS) process.on(s, onStopSignal);
  }
  running.add(pid);
}

export function untrackGroup(pid: number): void {
  if (!running.delete(pid)) return;
  if (running.size === 0) untrackAll();
}
