/**
 * The one logger: consola writing everything to stderr, so stdout carries only
 * data (tables, --json). Level: --quiet shows warnings and errors, --verbose
 * adds debug detail.
 */
import { createConsola } from "consola";

const options = {
  stdout: process.stderr,
  stderr: process.stderr,
  // Plain `[error] message` lines for cron mail and log files; the fancy form only on a terminal.
  fancy: Boolean(process.stderr.isTTY),
  formatOptions: { date: false },
};
export const logger = createConsola(options);

export function setLogLevel(opts: { quiet?: boolean; verbose?: boolean }): void {
  logger.level = opts.verbose ? 4 : opts.quiet ? 1 : 3;
}
