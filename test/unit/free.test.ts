/** What a listing allows freeing to remove: stale unreferenced pieces only, each index before its pack. */
import { describe, expect, it } from "bun:test";
import { planFreeing } from "../../src/lib/store/free.ts";

const piece = (name: string) => ({ name, key: `app/${name}`, path: `/b/app/${name}`, size: 10 });
const A = "pack-20250101T000000000Z-aaaaaaaaaaaaaaaa";
const B = "pack-20250102T000000000Z-bbbbbbbbbbbbbbbb";

describe("planFreeing", () => {
  it("frees stale unreferenced pieces, indexes first; never a fresh, referenced or protected one", () => {
    const plan = planFreeing({
      pieces: {
        referenced: [piece("pack-20240101T000000000Z-cccccccccccccccc.zst")],
        unreferenced: [
          { ...piece(`${A}.idx`), stale: true },
          { ...piece(`${A}.zst`), stale: true },
          { ...piece(`${B}.idx`), stale: true },
          { ...piece(`${B}.zst`), stale: true },
          { ...piece("pack-20991231T000000000Z-dddddddddddddddd.zst"), stale: false },
        ],
        protected: [],
      },
    });
    expect(plan.free.map((p) => p.name)).toEqual([`${A}.idx`, `${B}.idx`, `${A}.zst`, `${B}.zst`]);
    expect(plan.held).toEqual([]);
  });

  it("while a manifest cannot be parsed, the listing has only protected pieces: none is freed, all are held", () => {
    const held = [piece(`${A}.zst`), piece(`${A}.idx`)];
    const plan = planFreeing({ pieces: { referenced: [], unreferenced: [], protected: held } });
    expect(plan.free).toEqual([]);
    expect(plan.held).toEqual(held);
  });
});
