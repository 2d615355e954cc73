/** Which packs are bad, derived from the verification records of the backups that reference them. */
import { describe, expect, it } from "bun:test";
import type { Manifest, Verification } from "../../src/lib/model/index.ts";
import { badPacksOf, describePackFailure, latestVerification, packFailuresOf } from "../../src/lib/model/index.ts";
import { manifestFixture, pagesStored } from "../helpers/manifest-fixture.ts";

/** A pages backup `id` referencing `packs`, with its verification history. */
function pagesBackup(id: string, packs: string[], verifications: Verification[] = []): Manifest {
  const stored = pagesStored(
    id,
    packs.map((name) => ({ name, size: 100 })),
  );
  return manifestFixture(id, { stored, verifications });
}

const record = (at: string, bad?: string[], ok = !bad?.length): Verification => ({
  at,
  level: "checksum",
  ok,
  problems: ok ? [] : ["x"],
  ...(bad ? { bad_packs: bad } : {}),
});

const T1 = "2026-01-01T00:00:00.000Z";
const T2 = "2026-01-02T00:00:00.000Z";
const T3 = "2026-01-03T00:00:00.000Z";

describe("badPacksOf", () => {
  it("marks a pack bad by the one record that failed it, naming that record's backup and time", () => {
    const a = pagesBackup("a", ["p1", "p2"]);
    const b = pagesBackup("b", ["p1", "p3"], [record(T2, ["p1"])]);
    expect([...badPacksOf([a, b])]).toEqual([["p1", { at: T2, by: "b" }]]);
  });

  it("lets the newest record of a pack win, whichever backup it belongs to", () => {
    // b failed p1 at T2; a checked p1 again at T3 and found it good.
    const good = [pagesBackup("a", ["p1"], [record(T3, [])]), pagesBackup("b", ["p1"], [record(T2, ["p1"])])];
    expect(badPacksOf(good).size).toBe(0);
    // a found p1 good at T1, b failed it later at T2.
    const bad = [pagesBackup("a", ["p1"], [record(T1, [])]), pagesBackup("b", ["p1"], [record(T2, ["p1"])])];
    expect([...badPacksOf(bad)]).toEqual([["p1", { at: T2, by: "b" }]]);
    // Within one history, too: a later pass of the same backup clears it.
    expect(badPacksOf([pagesBackup("a", ["p1"], [record(T1, ["p1"]), record(T2, [])])]).size).toBe(0);
  });

  it("lets a bad verdict win a tie, and ignores records that did not check packs", () => {
    const tie = [pagesBackup("a", ["p1"], [record(T2, [])]), pagesBackup("b", ["p1"], [record(T2, ["p1"])])];
    expect([...badPacksOf(tie)]).toEqual([["p1", { at: T2, by: "b" }]]);
    // A newer record without bad_packs (an older version, or a missing map) says nothing about p1.
    const older = [pagesBackup("a", ["p1"], [record(T1, ["p1"]), record(T3, undefined, true)])];
    expect([...badPacksOf(older)]).toEqual([["p1", { at: T1, by: "a" }]]);
  });

  it("finds nothing in file backups or histories without bad_packs", () => {
    const file = { id: "f", stored: { file: "f.sqlite.zst" }, verifications: [record(T1)] } as unknown as Manifest;
    expect(badPacksOf([file, pagesBackup("a", ["p1"], [record(T1, undefined, false)])]).size).toBe(0);
  });
});

describe("packFailuresOf", () => {
  it("fails every other backup referencing the bad pack, not the one whose own record failed, nor unrelated ones", () => {
    const a = pagesBackup("a", ["p1", "p2"]);
    const b = pagesBackup("b", ["p1"], [record(T1, [])]); // its own pass is older than c's failure
    const c = pagesBackup("c", ["p1", "p3"], [record(T2, ["p1"])]);
    const d = pagesBackup("d", ["p3"]);
    const failures = packFailuresOf([a, b, c, d]);
    expect([...failures]).toEqual([
      ["a", [{ pack: "p1", at: T2, by: "c" }]],
      ["b", [{ pack: "p1", at: T2, by: "c" }]],
    ]);
    expect(describePackFailure(failures.get("a")![0]!)).toBe(`pack p1 failed verification of c at ${T2}`);
  });
});

describe("pack records (packs_checked) and the backup's own verdict", () => {
  const packRecord = (at: string, checked: string[], bad: string[] = []): Verification => ({
    ...record(at, bad),
    packs_checked: checked,
  });

  it("a passing pack record after the backup's own failure neither hides it nor clears the packs it did not check", () => {
    const own = pagesBackup("a", ["p1", "p2"], [record(T1, ["p2"]), packRecord(T2, ["p1"])]);
    expect(latestVerification(own)?.at).toBe(T1);
    expect([...badPacksOf([own]).keys()]).toEqual(["p2"]);
  });

  it("a failing pack record fails another backup referencing the pack, not through the record's backup's own verdict", () => {
    const older = pagesBackup("a", ["p1"], [record(T1, [])]);
    const newer = pagesBackup("b", ["p1", "p2"], [packRecord(T2, ["p1"], ["p1"])]);
    const failures = packFailuresOf([older, newer]);
    expect(failures.get("a")?.map((f) => [f.pack, f.by])).toEqual([["p1", "b"]]);
    // newer's own latest verification: none (the pack record is not one), so it fails through the pack too.
    expect(latestVerification(newer)).toBeUndefined();
    expect(failures.get("b")?.map((f) => f.pack)).toEqual(["p1"]);
  });
});
