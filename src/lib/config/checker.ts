/**
 * The key-by-key checks of a config file: each problem is collected as
 * "key.path: what is wrong" and the value is dropped, so validation goes on.
 */
import { spanProblem } from "../model/index.ts";

export type Raw = Record<string, unknown>;

export function typeName(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (v instanceof Date) return "a date";
  if (typeof v === "object") return "a table";
  return `a ${typeof v}`;
}

export class Checker {
  problems: string[] = [];
  add(key: string, what: string) {
    this.problems.push(`${key}: ${what}`);
  }
  unknownKeys(obj: Raw, allowed: string[], prefix: string) {
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) this.add(prefix + k, `unknown key (allowed here: ${allowed.join(", ")})`);
    }
  }
  string(obj: Raw, key: string, prefix: string): string | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (v === "") {
      this.add(prefix + key, "must not be empty");
      return undefined;
    }
    if (typeof v !== "string") {
      this.add(prefix + key, `expected a non-empty string, got ${typeName(v)}`);
      return undefined;
    }
    return v;
  }
  oneOf<T extends string>(obj: Raw, key: string, prefix: string, options: readonly T[]): T | undefined {
    const v = this.string(obj, key, prefix);
    if (v === undefined) return undefined;
    if (!options.includes(v as T)) {
      this.add(prefix + key, `"${v}" is not one of ${options.join(" | ")}`);
      return undefined;
    }
    return v as T;
  }
  boolean(obj: Raw, key: string, prefix: string): boolean | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") {
      this.add(prefix + key, `expected true or false, got ${JSON.stringify(v) ?? typeName(v)}`);
      return undefined;
    }
    return v;
  }
  integer(obj: Raw, key: string, prefix: string, min: number, max: number): number | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.add(prefix + key, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(v) ?? typeName(v)}`);
      return undefined;
    }
    return v;
  }
  url(obj: Raw, key: string, prefix: string): string | undefined {
    const v = this.string(obj, key, prefix);
    if (v !== undefined && !/^https?:\/\//.test(v)) {
      this.add(prefix + key, `"${v}" is not an http(s) URL`);
      return undefined;
    }
    return v;
  }
  span(obj: Raw, key: string, prefix: string): string | undefined {
    const v = this.string(obj, key, prefix);
    const problem = v === undefined ? null : spanProblem(v);
    if (problem) {
      this.add(prefix + key, problem);
      return undefined;
    }
    return v;
  }
}
