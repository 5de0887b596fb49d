import { describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.ts";
import { Rng } from "../../src/core/rng.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { getDataset } from "../../src/datasets/registry.ts";
import {
  duplicateAwareSplit,
  duplicateGroupsOfFrame,
  stratifiedSplit,
  timeSplit,
} from "../../src/datasets/split.ts";
import { PHISHING_CSV, tempDir } from "../helpers/env.ts";

function labels(counts: number[]): Int32Array {
  const y: number[] = [];
  counts.forEach((c, k) => {
    for (let i = 0; i < c; i++) y.push(k);
  });
  return Int32Array.from(y);
}

describe("stratified split", () => {
  it("keeps class shares exactly where they divide, and covers every row once", () => {
    const y = labels([60, 40]);
    const s = stratifiedSplit(y, 0.25, 1);
    expect(s.test.length).toBe(25);
    expect(s.train.length).toBe(75);
    const testPos = [...s.test].filter((i) => y[i] === 1).length;
    expect(testPos).toBe(10);
    const all = new Set([...s.train, ...s.test]);
    expect(all.size).toBe(100);
  });

  it("is deterministic for a seed and differs across seeds", () => {
    const y = labels([500, 300, 200]);
    expect(stratifiedSplit(y, 0.2, 7).test).toEqual(stratifiedSplit(y, 0.2, 7).test);
    expect(stratifiedSplit(y, 0.2, 7).test).not.toEqual(stratifiedSplit(y, 0.2, 8).test);
  });

  it("rejects bad test sizes", () => {
    expect(() => stratifiedSplit(labels([5, 5]), 1.5, 0)).toThrow(/test_size must be in \(0, 1\)/);
  });
});

describe("duplicate-aware split on phishing", async () => {
  const s = getDataset("phishing", tempDir().dir);
  const { frame } = await loadFrame({ path: PHISHING_CSV }, s);
  const target = frame.column("Result");
  if (target.kind !== "categorical") throw new Error("target must be categorical");
  const y = target.codes;
  const { groups, nGroups } = duplicateGroupsOfFrame(frame, s.featureNames);

  it("finds the 5,785 distinct feature vectors", () => {
    expect(nGroups).toBe(5785);
  });

  it("never lets identical feature vectors straddle the split; sizes and class shares stay close", () => {
    const sp = duplicateAwareSplit(y, groups, nGroups, 0.2, 42);
    const testGroups = new Set([...sp.test].map((i) => groups[i]));
    for (const i of sp.train) expect(testGroups.has(groups[i]!)).toBe(false);
    expect(sp.train.length + sp.test.length).toBe(11055);
    expect(Math.abs(sp.test.length - 2211)).toBeLessThan(25);
    const share = (idx: Uint32Array) =>
      [...idx].filter((i) => s.isThreat(target.categories[y[i]!]!)).length / idx.length;
    expect(Math.abs(share(sp.test) - share(sp.train))).toBeLessThan(0.02);
  });

  it("a plain stratified split does put identical rows on both sides (why the default is duplicate-aware)", () => {
    const sp = stratifiedSplit(y, 0.2, 42);
    const testGroups = new Set([...sp.test].map((i) => groups[i]));
    const straddling = [...sp.train].filter((i) => testGroups.has(groups[i]!)).length;
    expect(straddling).toBeGreaterThan(1000);
  });
});

describe("time split", () => {
  it("puts the latest rows in test", () => {
    const t = Float64Array.from([5, 1, 4, 2, 3]);
    const s = timeSplit(t, 0.4);
    expect([...s.test]).toEqual([0, 2]);
    expect([...s.train]).toEqual([1, 3, 4]);
  });
});

describe("duplicateGroupsOfFrame", () => {
  /** The rule written out: a row's text key (numbers as decimal text, categories by value). */
  function byText(frame: Frame, columns: string[]): Int32Array {
    const ids = new Map<string, number>();
    return Int32Array.from({ length: frame.nRows }, (_, i) => {
      const k = JSON.stringify(columns.map((c) => String(frame.value(i, c))));
      let g = ids.get(k);
      if (g === undefined) ids.set(k, (g = ids.size));
      return g;
    });
  }

  it("groups rows equal by value (-0 is 0, NaNs alike, a repeated category value alike), ids by first row", () => {
    const rng = new Rng(3);
    const n = 20_000;
    const a = Float64Array.from(
      { length: n },
      () => [0, -0, Number.NaN, 1.5, 2][Math.floor(rng.next() * 5)]!,
    );
    const b = Float64Array.from({ length: n }, () => Math.floor(rng.next() * 7));
    const codes = Int32Array.from({ length: n }, () => Math.floor(rng.next() * 5) - 1);
    const frame = new Frame([
      { kind: "numeric", name: "a", values: a },
      { kind: "numeric", name: "b", values: b },
      // "tcp" twice in the dictionary: codes 0 and 3 are one value
      { kind: "categorical", name: "p", codes, categories: ["tcp", "udp", "icmp", "tcp"] },
    ]);
    const { groups, nGroups } = duplicateGroupsOfFrame(frame, ["a", "b", "p"]);
    const expected = byText(frame, ["a", "b", "p"]);
    expect(Array.from(groups)).toEqual(Array.from(expected));
    expect(nGroups).toBe(Math.max(...expected) + 1);
    // 4 values of a (±0 one), 7 of b, 4 of p with missing: at most 112 groups, and all of them here
    expect(nGroups).toBe(4 * 7 * 4);
  });
});
