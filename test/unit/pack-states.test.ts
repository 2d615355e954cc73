/** A pack's verification state, derived from the records of the backups that reference it. */
import { describe, expect, it } from "bun:test";
import type { Manifest, Verification } from "../../src/lib/model/index.ts";
import { packStates, trimVerifications } from "../../src/lib/model/index.ts";
import { manifestFixture, pagesStored } from "../helpers/manifest-fixture.ts";

/** The states without the deciding backup's id (badPacksOf's tests cover `by`). */
const states = (ms: Manifest[]) => new Map([...packStates(ms)].map(([k, { bad, at }]) => [k, { bad, at }]));

let backups = 0;
const nextId = () => `app-20260101T000000000Z-${(++backups).toString(16).padStart(8, "0")}`;

/** A pages backup referencing `packs`, with its verification history. */
function pagesBackup(packs: string[], verifications: Verification[]): Manifest {
  const id = nextId();
  const stored = pagesStored(
    id,
    packs.map((name) => ({ name, size: 100 })),
  );
  return manifestFixture(id, { stored, verifications });
}

function fileBackup(verifications: Verification[]): Manifest {
  return manifestFixture(nextId(), { verifications });
}

const rec = (at: string, bad_packs?: string[], ok = !bad_packs?.length): Verification => ({
  at,
  level: "checksum",
  ok,
  problems: ok ? [] : ["something"],
  ...(bad_packs ? { bad_packs } : {}),
});

const T1 = "2026-01-01T00:00:00.000Z";
const T2 = "2026-01-02T00:00:00.000Z";
const T3 = "2026-01-03T00:00:00.000Z";

describe("packStates", () => {
  it("marks the packs a record lists as bad and the others it checked as good", () => {
    const s = states([pagesBackup(["p1", "p2"], [rec(T1, ["p1"])])]);
    expect(Object.fromEntries(s)).toEqual({ p1: { bad: true, at: T1 }, p2: { bad: false, at: T1 } });
  });

  it("leaves out packs no record checked: no records, records without bad_packs, file backups", () => {
    const s = states([
      pagesBackup(["p1"], []),
      pagesBackup(["p2"], [rec(T2), rec(T3, undefined, false)]), // older records: packs not checked
      fileBackup([rec(T3, ["p3"])]),
    ]);
    expect(s.size).toBe(0);
  });

  it("takes the newest record across manifests, whichever manifest holds it", () => {
    const bad = pagesBackup(["p1", "p2"], [rec(T2, ["p1"])]);
    const good = pagesBackup(["p1"], [rec(T1, []), rec(T3, [])]);
    expect(Object.fromEntries(states([bad, good]))).toEqual({
      p1: { bad: false, at: T3 },
      p2: { bad: false, at: T2 },
    });
    const later = pagesBackup(["p1"], [rec(T1, [])]);
    expect(states([later, bad]).get("p1")).toEqual({ bad: true, at: T2 });
  });

  it("orders by the time, not by where a record sits in a history", () => {
    const m = pagesBackup(["p1"], [rec(T3, ["p1"]), rec(T1, [])]);
    expect(states([m]).get("p1")).toEqual({ bad: true, at: T3 });
  });

  it("counts a record as checking only the packs its own backup references", () => {
    // A name in bad_packs that this backup does not reference says nothing (the pack is another's).
    const s = states([pagesBackup(["p1"], [rec(T2, ["p1", "p9"])]), pagesBackup(["p9"], [rec(T1, [])])]);
    expect(s.get("p9")).toEqual({ bad: false, at: T1 });
  });

  it("lets a failure win on equal times, and ranks an unparseable time before every other", () => {
    const a = pagesBackup(["p1"], [rec(T2, [])]);
    const b = pagesBackup(["p1"], [rec(T2, ["p1"])]);
    expect(states([a, b]).get("p1")?.bad).toBe(true);
    expect(states([b, a]).get("p1")?.bad).toBe(true);
    const undated = pagesBackup(["p1"], [rec("not a time", ["p1"])]);
    expect(states([undated]).get("p1")).toEqual({ bad: true, at: "not a time" });
    expect(states([undated, a]).get("p1")).toEqual({ bad: false, at: T2 });
  });
});

describe("packStates with packs_checked (pack records of verify --random)", () => {
  const packRec = (at: string, checked: string[], bad: string[] = []): Verification => ({
    ...rec(at, bad),
    packs_checked: checked,
  });

  it("speaks only for the packs it checked: the others keep their older state or none", () => {
    const s = states([pagesBackup(["p1", "p2", "p3"], [rec(T1, ["p2"]), packRec(T2, ["p1"])])]);
    expect(Object.fromEntries(s)).toEqual({
      p1: { bad: false, at: T2 },
      p2: { bad: true, at: T1 },
      p3: { bad: false, at: T1 },
    });
  });

  it("marks a checked pack bad, and a later record that checked other packs does not clear it", () => {
    const a = pagesBackup(["p1", "p2"], [packRec(T1, ["p1"], ["p1"]), packRec(T2, ["p2"])]);
    expect(Object.fromEntries(states([a]))).toEqual({ p1: { bad: true, at: T1 }, p2: { bad: false, at: T2 } });
  });

  it("a pack never checked by any record is absent", () => {
    expect([...states([pagesBackup(["p1", "p2"], [packRec(T3, ["p2"])])]).keys()]).toEqual(["p2"]);
  });
});

describe("trimVerifications", () => {
  const at = (d: number) => `2026-01-${String(d).padStart(2, "0")}T00:00:00.000Z`;
  const packRec = (d: number, checked: string[], bad: string[] = []): Verification => ({
    ...rec(at(d), bad),
    packs_checked: checked,
  });

  it("drops the oldest records first, as a plain cap does, when each is superseded", () => {
    const vs = [1, 2, 3, 4].map((d) => rec(at(d), []));
    expect(trimVerifications(vs, ["p1"], 2).map((v) => v.at)).toEqual([at(3), at(4)]);
  });

  it("keeps a pack record still deciding a pack, and the backup's own latest verdict, over the cap", () => {
    const vs = [
      rec(at(1), ["p1"], false), // own verdict: failed, the latest own one
      packRec(2, ["p2"], ["p2"]), // the only record that checked p2
      packRec(3, ["p3"]),
      packRec(4, ["p3"]),
      packRec(5, ["p3"]),
    ];
    const kept = trimVerifications(vs, ["p1", "p2", "p3"], 2);
    expect(kept.map((v) => v.at)).toEqual([at(1), at(2), at(5)]);
    expect(states([pagesBackup(["p1", "p2", "p3"], kept)]).get("p2")?.bad).toBe(true);
  });
});
