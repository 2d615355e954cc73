/**
 * `--json` output as every command prints it (docs/json.md): exactly one object on stdout whose
 * first key is `"version": 1`. parseJson asserts that and returns the object.
 */
import { expect } from "bun:test";

/** Tests read the documented shapes field by field. */
export type Json = Record<string, any>;

export function parseJson(stdout: string): Json {
  const value = JSON.parse(stdout) as unknown;
  expect(value !== null && typeof value === "object" && !Array.isArray(value)).toBe(true);
  const obj = value as Json;
  expect(Object.keys(obj)[0]).toBe("version");
  expect(obj.version).toBe(1);
  return obj;
}
