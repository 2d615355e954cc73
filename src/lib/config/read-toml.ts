/** A config file's text as TOML: an unreadable file, bad UTF-8 or bad TOML is one ConfigError naming line and column. */
import { readFileSync } from "node:fs";
import { ConfigError, fsErrorMessage } from "../model/index.ts";
import { findTomlErrorPosition } from "./toml-position.ts";

export function readToml(file: string): Record<string, unknown> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new ConfigError([fsErrorMessage(err, "read config file", file)]);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError([`${file}: not valid UTF-8 text`]);
  }
  try {
    return Bun.TOML.parse(text) as Record<string, unknown>;
  } catch (err) {
    const raw = (err as Error).message;
    const { line, column } = findTomlErrorPosition(text, raw);
    const msg = raw.replace(/^TOML Parse error:\s*/, "").replace(/\(0x0A\)/g, "the end of the line");
    throw new ConfigError([`${file}:${line}:${column}: invalid TOML: ${msg}`]);
  }
}
