/**
 * The one object a `--json` run prints (docs/json.md). Commands hand their data over (printData), and
 * cli.ts writes it once when the run ends, with the `error` of a failed run added: so a run prints
 * exactly one object on stdout, also when it fails after its data was ready.
 */
let pending: Record<string, unknown> | null = null;

export function holdJson(fields: Record<string, unknown>): void {
  pending = fields;
}

export function takeJson(): Record<string, unknown> | null {
  const p = pending;
  pending = null;
  return p;
}

/** Whether the command line asks for --json (the last of --json / --no-json before `--` wins). */
export function jsonRequested(rawArgs: string[]): boolean {
  let on = false;
  for (const a of rawArgs) {
    if (a === "--") break;
    if (a === "--json" || a === "--json=true") on = true;
    else if (a === "--no-json" || a === "--json=false") on = false;
  }
  return on;
}
