/**
 * Retention as a pure function: which backups of one database survive a
 * rotation, and every reason why. The rules over `scheduled` backups are
 * restic's `forget` (internal/data/snapshot_policy.go) step for step (restic-rules.ts); sqlbak's
 * safety nets (manual, pre-restore, the `keep` tag, the newest, an empty
 * policy) only ever add keeps on top. Calendar periods are taken in an explicit
 * IANA time zone through Intl, never from the process's TZ alone (calendar.ts).
 */
import { machineTimeZone, type RetentionPolicy, UNLIMITED } from "../config/index.ts";
import type { BackupKind } from "../model/index.ts";
import { civilTime } from "./calendar.ts";
import { countText, isEmptyPolicy, KEEP_TAG } from "./policy-rules.ts";
import { applyResticRules } from "./restic-rules.ts";

/**
 * Why a backup cannot stand in for a good one: its own latest verification
 * failed, a pack it references failed its newest verification, or its data is gone.
 */
export type BadBackup = "failed verification" | "pack failed verification" | "data missing";

export interface RetentionInput {
  id: string;
  created_at: string;
  kind: BackupKind;
  tags: string[];
  /** Set when it or a pack it references FAILED verification, or its data file is gone: it never fills a keep slot. */
  bad?: BadBackup;
}

export interface RetentionDecision extends RetentionInput {
  keep: boolean;
  /** Every rule that keeps it, in evaluation order; empty when removed. */
  reasons: string[];
  /** Why a bad backup kept as evidence is removed now (absent for an ordinary removal). */
  removal?: string;
}

export interface RetentionPlan {
  /** Every count zero and no window: nothing is removed (restic refuses too). */
  emptyPolicy: boolean;
  /** Newest first (ties: larger id first), one entry per input backup. */
  decisions: RetentionDecision[];
  keep: string[];
  remove: string[];
}

export interface PlanOptions {
  /** IANA zone for calendar periods; default the machine's. */
  timeZone?: string;
  /** Backups after this are ignored when picking the newest time for windows (restic's rule). */
  now?: Date;
  /**
   * Ids never removed, kept with the given reason when nothing else keeps them:
   * a bare id is "just taken" (`backup --rotate`: the backups this run just took).
   */
  protect?: (string | { id: string; reason: string })[];
}

function byNewest(a: { ms: number; id: string }, b: { ms: number; id: string }): number {
  return b.ms - a.ms || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

type Planned = { b: RetentionInput; id: string; ms: number; reasons: string[] };

/**
 * Bad backups (failed verification, of a pack too; data missing) are evidence: kept, with
 * that reason, while they are not older than the oldest good backup the
 * policy keeps (future-dated ones aside); older ones are removed, saying why.
 * Without any kept good backup, every bad one is kept. Returns the removal
 * reasons.
 */
function keepEvidence(all: Planned[], nowMs: number): Map<Planned, string> {
  const out = new Map<Planned, string>();
  const keptGood = all.filter((x) => !x.b.bad && x.reasons.length > 0 && !(x.ms > nowMs));
  const oldest = keptGood.at(-1);
  for (const x of all) {
    if (!x.b.bad) continue;
    if (x.reasons.length > 0 || !oldest || byNewest(x, oldest) <= 0) x.reasons.push(`${x.b.bad} (evidence)`);
    else out.set(x, `${x.b.bad}, older than the oldest kept backup ${oldest.id}`);
  }
  return out;
}

/**
 * Given one database's backups and a policy, return keep or remove for every
 * backup with all its reasons. Pure: same input, same plan. Keep and remove
 * partition the input; manual, `keep`-tagged, protected and the newest backups are always
 * kept; an empty policy keeps everything and sets `emptyPolicy`.
 */
export function planRetention(
  backups: RetentionInput[],
  policy: RetentionPolicy,
  opts: PlanOptions = {},
): RetentionPlan {
  const tz = opts.timeZone ?? machineTimeZone();
  const all: Planned[] = backups
    .map((b) => ({ b, id: b.id, ms: Date.parse(b.created_at), reasons: [] as string[] }))
    .sort(byNewest);
  const empty = isEmptyPolicy(policy);
  // A backup dated after now (a clock that was wrong) never takes a
  // keep slot nor counts as the newest: it is kept and reported.
  const nowMs = opts.now?.getTime() ?? Number.POSITIVE_INFINITY;
  for (const x of all) if (x.ms > nowMs) x.reasons.push("future-dated");
  const present = all.filter((x) => !(x.ms > nowMs));
  // restic's rules, the pre-restore count and the newest net see
  // the good backups only: a corrupt one never fills a slot.
  const good = present.filter((x) => !x.b.bad);
  const scheduled = good.filter((x) => x.b.kind === "scheduled");
  if (!empty) {
    const ruled = applyResticRules(
      scheduled.map((x) => ({ ms: x.ms, civil: civilTime(x.ms, tz) })),
      policy,
      tz,
      opts.now,
    );
    for (const [i, x] of scheduled.entries()) x.reasons.push(...ruled[i]!);
  }
  let preRestoreSeen = 0;
  for (const x of present) {
    if (x.b.kind === "manual") x.reasons.push("manual");
    if (x.b.kind === "pre-restore" && !x.b.bad) {
      preRestoreSeen++;
      if (policy.keepPreRestore === UNLIMITED || preRestoreSeen <= policy.keepPreRestore)
        x.reasons.push(`pre-restore ${countText(policy.keepPreRestore)}`);
    }
    if (x.b.tags.includes(KEEP_TAG)) x.reasons.push(`tag ${KEEP_TAG}`);
  }
  if (empty) for (const x of all) if (x.reasons.length === 0) x.reasons.push("empty policy");
  for (const newest of [good[0], scheduled[0]])
    if (newest && newest.reasons.length === 0) newest.reasons.push("newest");
  const protect = new Map(
    (opts.protect ?? []).map((p) => (typeof p === "string" ? [p, "just taken"] : [p.id, p.reason])),
  );
  for (const x of all) if (protect.has(x.id) && x.reasons.length === 0) x.reasons.push(protect.get(x.id)!);
  const removal = keepEvidence(all, nowMs);
  const decisions = all.map((x) => ({
    id: x.b.id,
    created_at: x.b.created_at,
    kind: x.b.kind,
    tags: x.b.tags,
    ...(x.b.bad ? { bad: x.b.bad } : {}),
    keep: x.reasons.length > 0,
    reasons: x.reasons,
    ...(removal.has(x) ? { removal: removal.get(x) } : {}),
  }));
  return {
    emptyPolicy: empty,
    decisions,
    keep: decisions.filter((d) => d.keep).map((d) => d.id),
    remove: decisions.filter((d) => !d.keep).map((d) => d.id),
  };
}
