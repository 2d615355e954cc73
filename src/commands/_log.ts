/**
 * The one logger: consola writing everything to stderr, so stdout carries only
 * data (tables, --json). Level: --quiet shows warnings and errors, --verbose
 * adds debug detail.
 */
import { createConsola } from "consola";

/**
 * Colour only for a terminal, and never with NO_COLOR set to anything
 * (no-color.org). Messages can carry escape codes from elsewhere (citty colours
 * its argument errors unless NO_COLOR is exactly "1"), so plain output strips them.
 */
export const stderrIsPlain = !process.stderr.isTTY || Boolean(process.env.NO_COLOR);

const plainStderr = {
  write: (text: string) => process.stderr.write(Bun.stripANSI(text)),
};

const options = {
  stdout: stderrIsPlain ? plainStderr : process.stderr,
  stderr: stderrIsPlain ? plainStderr : process.stderr,
  // Plain `[error] message` lines for cron mail and log files; the fancy form only on a terminal.
  fancy: !stderrIsPlain,
  formatOptions: { date: false, colors: !stderrIsPlain },
};
export const logger = createConsola(options as Parameters<typeof createConsola>[0]);

export function setLogLevel(opts: { quiet?: boolean; verbose?: boolean }): void {
  logger.level = opts.verbose ? 4 : opts.quiet ? 1 : 3;
}
