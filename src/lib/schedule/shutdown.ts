/**
 * "Back up on shutdown" (`[schedule] shutdown = true`, docs/hooks.md): a
 * systemd unit that does nothing when started at boot and stays active
 * (`RemainAfterExit=yes`), so that stopping it, which systemd does as the
 * machine shuts down, runs `ExecStop=`: one backup of every database. Its
 * default dependencies are kept on purpose: they give it `Conflicts=` and
 * `Before=shutdown.target` (it is stopped at shutdown, before the end) and
 * `After=basic.target`, and with `After=local-fs.target network-online.target`
 * it is stopped before the file systems are unmounted and the network goes
 * down. `DefaultDependencies=no` would let it be stopped too late.
 */
import type { RenderedFile, RenderOptions } from "./common.ts";
import { HEADER, runAsLines, systemdSandbox, unitQuote } from "./systemd.ts";

export const SHUTDOWN_UNIT = "sqlbak-shutdown.service";

/**
 * systemd's default stop timeout (90 s) would kill a backup of a large
 * database half-way; half an hour bounds how long a hung run holds a shutdown.
 */
export const SHUTDOWN_TIMEOUT = "30min";

/** The backup a shutdown runs: every database, recorded as scheduled and tagged `shutdown`. */
export function shutdownBackupArgv(binary: string[], configFile: string | null, envFile: string | null): string[] {
  return [
    ...binary,
    "backup",
    "--kind",
    "scheduled",
    "--tag",
    "shutdown",
    ...(configFile ? ["--config", configFile] : []),
    ...(envFile ? ["--env-file", envFile] : []),
  ];
}

/**
 * Given the backup's argv, return `sqlbak-shutdown.service`: started with the
 * system (multi-user.target) or the user's manager (default.target, which
 * stops at shutdown and, without lingering, at the last logout).
 */
export function renderShutdownUnit(argv: string[], opts: RenderOptions): RenderedFile {
  const lines = [
    HEADER,
    "[Unit]",
    "Description=sqlbak backup at shutdown: back up every configured database as the machine stops",
    // Stopped before these are: the backup still has its file systems and, for notifications, the network.
    `After=local-fs.target${opts.system ? " network-online.target" : ""}`,
    ...(opts.system ? ["Wants=network-online.target"] : []),
    // Implied by the default dependencies; said here so no one adds DefaultDependencies=no.
    "Before=shutdown.target",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    "ExecStart=/bin/true",
    `ExecStop=${argv.map(unitQuote).join(" ")}`,
    `TimeoutStopSec=${SHUTDOWN_TIMEOUT}`,
    "NoNewPrivileges=yes",
    ...runAsLines(opts),
    ...systemdSandbox(opts),
    "",
    "[Install]",
    `WantedBy=${opts.system ? "multi-user.target" : "default.target"}`,
    "",
  ];
  return { name: SHUTDOWN_UNIT, content: lines.join("\n") };
}
