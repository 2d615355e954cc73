/** Types and helpers shared by the per-platform renderers (pure). */
import { EXIT, SqlbakError } from "../model/index.ts";

export interface RenderOptions {
  /** System-wide units/daemons (root) rather than the invoking user's. */
  system: boolean;
  /** Folders a job writes to (backup dir, database folders, log folder, dir destinations): systemd's ReadWritePaths. */
  writablePaths: string[];
  /** launchd: folder for the jobs' stdout/stderr files. */
  logDir: string;
  /** systemd system units: run the jobs as this user (and group), not root (docs/least-privilege.md). */
  runAs?: { user: string; group?: string };
  /** systemd: the backup `sqlbak-shutdown.service` runs at shutdown (`[schedule] shutdown`); absent: no such unit. */
  shutdownArgv?: string[];
}

/** One file to install, named relative to the platform's folder. */
export interface RenderedFile {
  name: string;
  content: string;
}

/** The platform cannot express a cron expression exactly; the hint says what to write instead. */
export class UnsupportedScheduleError extends SqlbakError {
  constructor(message: string, hint: string) {
    super(message, { exitCode: EXIT.usage, hint });
  }
}

/** Escapes text for XML element content and attribute values. */
export function xmlEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** Every combination of one value from each list (the empty product is one empty combination). */
export function product<T>(lists: T[][]): T[][] {
  return lists.reduce<T[][]>((acc, list) => acc.flatMap((combo) => list.map((v) => [...combo, v])), [[]]);
}
