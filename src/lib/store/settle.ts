/**
 * When a coarse modification time may stand for a file's content
 * (docs/folder-listing.md, "Reading a destination again"). SFTP's `ls` shows
 * a time to the minute and rclone's ModTime has the remote's precision, so a
 * file rewritten with the same size within the same minute (or second) as
 * the version this machine read would list exactly as before. Like racy git,
 * a time is trusted only once it is over: the file's time bucket must have
 * ended SETTLE_MS before the listing. A rewrite after that listing stamps a
 * later time (the server's clock moves on), so it lists differently. The
 * margin also covers a server clock running behind this machine's by less
 * than it. A fresh file is therefore read by every run until it settles.
 */

/** How long after its time bucket ended a file's listed time is trusted: the tolerated clock skew, too. */
export const SETTLE_MS = 60 * 60_000;

/**
 * `kind:<text>` when a time bucket [startMs, startMs + widthMs) ended at
 * least SETTLE_MS before `nowMs`; otherwise undefined (read the file). The
 * width may be anything (a day, for SFTP's listing of a file older than six
 * months): once a bucket is over, a rewrite lands in a later one.
 */
export function settledStamp(
  kind: string,
  text: string,
  startMs: number,
  widthMs: number,
  nowMs: number,
): string | undefined {
  if (!Number.isFinite(startMs) || !(widthMs > 0)) return undefined;
  return startMs + widthMs + SETTLE_MS <= nowMs ? `${kind}:${text}` : undefined;
}
