/**
 * When a job's run must stop: its own limit (`--timeout`, else the config's
 * `timeout`), or a running database's `timeout` when that comes first. Under
 * `backup --parallel` several databases run at once; the one whose limit comes
 * first is the one a timeout names (docs/exit-codes.md, exit 5).
 */
import { parseSpanMs, UsageError } from "../model/index.ts";

/** A database of the run as its backup starts or ends (backup's DatabaseProgress). */
export interface RunningDatabase {
  database: string;
  phase: "start" | "end";
  /** The run id of the database's start ping, when it has a monitor. */
  rid: string | null;
}

/** The run's limit: `--timeout` as given (absent: the config's; false: never bounded); null: no limit. */
export function runLimitMs(flag: string | undefined | false, configMs: number | null): number | null {
  if (flag === false) return null;
  if (flag === undefined) return configMs;
  const ms = parseSpanMs(flag);
  if (ms === null) throw new UsageError(`--timeout takes a duration such as 30m or 2h, not "${flag}"`);
  return ms === 0 ? null : ms;
}

export class RunDeadline {
  /** When the whole run must end; null: never. */
  readonly runDeadline: number | null;
  /** The deadline that comes first now: the run's, or a running database's own. */
  deadline: number | null;
  /** The running database whose limit comes first: the one a timeout names. */
  current: RunningDatabase | null = null;
  /** Databases backing up now (several under `backup --parallel`), each with its own deadline if it has a `timeout`. */
  private readonly active = new Map<string, { p: RunningDatabase; deadline: number | null }>();

  /** `limitOf`: a database's own `timeout` in ms (undefined: none). The run's clock starts now. */
  constructor(
    readonly runLimitMs: number | null,
    private readonly limitOf: (database: string) => number | undefined,
  ) {
    this.runDeadline = runLimitMs === null ? null : Date.now() + runLimitMs;
    this.deadline = this.runDeadline;
  }

  onDatabase(p: RunningDatabase): void {
    const own = p.phase === "start" ? this.limitOf(p.database) : undefined;
    if (p.phase === "start") this.active.set(p.database, { p, deadline: own === undefined ? null : Date.now() + own });
    else this.active.delete(p.database);
    // The one whose limit comes first is the one a timeout names.
    let first: { p: RunningDatabase; deadline: number | null } | null = null;
    for (const a of this.active.values())
      if (!first || (a.deadline ?? Infinity) < (first.deadline ?? Infinity)) first = a;
    this.current = first?.p ?? null;
    const runDeadline = this.runDeadline;
    this.deadline =
      first?.deadline == null ? runDeadline : Math.min(runDeadline ?? Number.POSITIVE_INFINITY, first.deadline);
  }

  /** The limit `deadline` enforces: the current database's own when its deadline is the one, else the run's. */
  limitMs(): number | null | undefined {
    const { current } = this;
    const ownLimit = current && this.deadline !== this.runDeadline;
    return ownLimit ? this.limitOf(current.database) : this.runLimitMs;
  }
}
