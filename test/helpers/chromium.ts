/**
 * Headless Chromium (Debian's `chromium`, installed by `install.sh --test-deps`) for page tests:
 * the DOM after rendering, and a screenshot. Started with the flags that keep it off the network
 * (no background connections, no updates, no sync) and a fresh profile folder each time.
 */
import { join } from "node:path";
import { tempDir } from "./tmp.ts";

export const CHROMIUM = process.env.SQLBAK_CHROMIUM ?? "/usr/bin/chromium";
const RUN_TIMEOUT_MS = 60_000;

async function chromium(args: string[]): Promise<string> {
  const profile = join(tempDir("sqlbak-chromium-"), "profile");
  const proc = Bun.spawn(
    [
      CHROMIUM,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      ...args,
    ],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const timer = setTimeout(() => proc.kill("SIGKILL"), RUN_TIMEOUT_MS);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`chromium ${args.join(" ")} exited ${code}:\n${stderr}`);
  return stdout;
}

/** The DOM of the page at `path` (loaded as file://) after Chromium rendered it. */
export function dumpDom(path: string): Promise<string> {
  return chromium(["--dump-dom", `file://${path}`]);
}

/** A PNG screenshot of the page at `path`, `width` x `height` pixels, written to `png`. */
export async function screenshot(path: string, png: string, width = 1280, height = 2000): Promise<void> {
  await chromium([`--screenshot=${png}`, `--window-size=${width},${height}`, `file://${path}`]);
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
