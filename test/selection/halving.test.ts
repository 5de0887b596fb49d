/**
 * Successive halving: rung sizes, the promotion rule and the time budget, worked out by hand on a fake
 * scorer (a candidate's score is its `q` param, known in advance) and a fake clock (one second per
 * scored batch): nothing here is timed.
 */
import { describe, expect, it } from "vitest";
import {
  BATCH_PER_MODEL,
  type HalvingCandidate,
  promote,
  raceCost,
  rungRows,
  successiveHalving,
} from "../../src/selection/halving.ts";

describe("rungRows", () => {
  it("rungs of n/9, n/3, n while the first keeps >= 500 rows", () => {
    expect(rungRows(8843)).toEqual([982, 2947, 8843]);
    expect(rungRows(4500)).toEqual([500, 1500, 4500]);
    expect(rungRows(4499)).toEqual([1499, 4499]);
    expect(rungRows(1500)).toEqual([500, 1500]);
    expect(rungRows(1499)).toEqual([1499]);
    expect(rungRows(10_000_000)).toHaveLength(3);
  });
});

describe("raceCost", () => {
  it("candidate-rows of the race: ceil(k/3) go on at each rung", () => {
    // 27 → 9 → 3 on 10, 30, 90 rows: 270 + 270 + 270
    expect(raceCost([27], [10, 30, 90])).toBe(810);
    // 3 → 1 → 1: 30 + 30 + 90 (the later rungs cost more than the first)
    expect(raceCost([3], [10, 30, 90])).toBe(150);
    // models add up; 4 → 2 → 1: 40 + 60 + 90
    expect(raceCost([3, 4], [10, 30, 90])).toBe(340);
    expect(raceCost([5], [100])).toBe(500);
  });
});

describe("promote", () => {
  it("keeps the best ceil(k/3), ties to the earlier candidate, in candidate order", () => {
    expect(promote([0.5, 0.9, 0.7, 0.9, 0.1])).toEqual([1, 3]);
    expect(promote([0.8, 0.8, 0.8, 0.8])).toEqual([0, 1]);
    expect(promote([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])).toEqual([4, 5, 6]);
    expect(promote([0.3])).toEqual([0]);
    expect(promote([0.2, 0.1, 0.3])).toEqual([2]);
  });
});

/** `n` candidates of `model` whose scores are the given q values. */
function cands(model: string, qs: number[]): HalvingCandidate[] {
  return qs.map((q, i) => ({ model, params: { q, i } }));
}

function fake(rungsSeen: { rung: number; rows: number; ids: string[] }[]) {
  let t = 0;
  return {
    now: () => t,
    score: async (batch: HalvingCandidate[], rung: number, rows: number) => {
      rungsSeen.push({ rung, rows, ids: batch.map((c) => `${c.model}${c.params.i}`) });
      t += 1000; // every scored batch costs one second
      return batch.map((c) => ({ cv_mean: c.params.q as number }));
    },
  };
}

describe("successiveHalving", () => {
  it("without a binding budget: every candidate raced, the best third promoted per model at each rung", async () => {
    const seen: { rung: number; rows: number; ids: string[] }[] = [];
    const f = fake(seen);
    const a = cands("a", [0.1, 0.9, 0.3, 0.8, 0.2, 0.7, 0.4, 0.6, 0.5]);
    const b = cands("b", [0.6, 0.2, 0.9, 0.1]);
    const h = await successiveHalving({
      candidates: new Map([
        ["a", a],
        ["b", b],
      ]),
      rows: [100, 300, 900],
      budgetSeconds: 1e6,
      now: f.now,
      score: f.score,
    });
    expect(h.budgetSpent).toBe(false);
    // first rung: batches of BATCH_PER_MODEL per model, models interleaved
    expect(BATCH_PER_MODEL).toBe(3);
    expect(seen.map((s) => [s.rung, s.rows, s.ids.join(",")])).toEqual([
      [0, 100, "a0,a1,a2,b0,b1,b2"],
      [0, 100, "a3,a4,a5,b3"],
      [0, 100, "a6,a7,a8"],
      // a: 9 → 3 (q 0.9, 0.8, 0.7: a1, a3, a5); b: 4 → 2 (0.9, 0.6: b2, b0), in candidate order
      [1, 300, "a1,a3,a5,b0,b2"],
      // a: 3 → 1 (a1); b: 2 → 1 (b2)
      [2, 900, "a1,b2"],
    ]);
    const ra = h.rungs.get("a")!;
    expect(ra.map((r) => [r.rows, r.candidates.length])).toEqual([
      [100, 9],
      [300, 3],
      [900, 1],
    ]);
    expect(ra[2]!.candidates[0]!.params.q).toBe(0.9);
    expect(h.launched.get("b")).toEqual({ launched: 4, offered: 4 });
  });

  it("stops launching first-rung batches once time spent x rungs reaches the budget; launched ones are raced to the end", async () => {
    const seen: { rung: number; rows: number; ids: string[] }[] = [];
    const f = fake(seen);
    const qs = Array.from({ length: 15 }, (_, i) => (i * 7) % 15);
    const stops: Map<string, number>[] = [];
    // 3 rungs, 10 s, one second per batch; the projection is the time spent x raceCost / first-rung
    // cost of the k launched per model: k = 3 at 1 s: x (3 + 3 + 9) / 3 = 5 s; k = 6 at 2 s: x 21/6 =
    // 7 s; k = 9 at 3 s: x 27/9 = 9 s (< 10, launch); k = 12 at 4 s: x (12 + 12 + 18) / 12 = 14 s: stop
    const h = await successiveHalving({
      onStop: (l) => stops.push(l),
      candidates: new Map([
        ["a", cands("a", qs)],
        ["b", cands("b", qs)],
      ]),
      rows: [10, 30, 90],
      budgetSeconds: 10,
      now: f.now,
      score: f.score,
    });
    expect(h.budgetSpent).toBe(true);
    expect(h.secondsAtStop).toBe(4);
    expect(h.projectedSeconds).toBe(14);
    expect(seen.filter((s) => s.rung === 0)).toHaveLength(4);
    expect(h.launched.get("a")).toEqual({ launched: 12, offered: 15 });
    expect(stops).toEqual([
      new Map([
        ["a", 12],
        ["b", 12],
      ]),
    ]);
    // the 12 launched (q = 0, 7, 14, 6, 13, 5, 12, 4, 11, 3, 10, 2): best 4 are 14, 13, 12, 11
    const r1 = h.rungs.get("a")![1]!;
    expect(r1.candidates.map((c) => c.params.q)).toEqual([14, 13, 12, 11]);
    // then ceil(4/3) = 2: 14 and 13
    expect(h.rungs.get("a")![2]!.candidates.map((c) => c.params.q)).toEqual([14, 13]);
    expect(seen.map((s) => s.rung)).toEqual([0, 0, 0, 0, 1, 2]);
  });

  it("with few candidates the later rungs weigh more: 3 launched on 3 rungs project 5x the first rung", async () => {
    const seen: { rung: number; rows: number; ids: string[] }[] = [];
    const f = fake(seen);
    // after the first batch (1 s): 1 x (3·10 + 1·30 + 1·90) / (3·10) = 5 s >= 4.5: stop (spent x
    // rungs, 3 s, would have launched another)
    const h = await successiveHalving({
      candidates: new Map([["a", cands("a", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])]]),
      rows: [10, 30, 90],
      budgetSeconds: 4.5,
      now: f.now,
      score: f.score,
    });
    expect(h.launched.get("a")).toEqual({ launched: 3, offered: 6 });
    expect(h.projectedSeconds).toBe(5);
    expect(seen.map((s) => s.rung)).toEqual([0, 1, 2]);
  });

  it("the first batch always goes out, however small the budget", async () => {
    const seen: { rung: number; rows: number; ids: string[] }[] = [];
    const f = fake(seen);
    const h = await successiveHalving({
      candidates: new Map([["a", cands("a", [0.1, 0.2, 0.3, 0.4, 0.5])]]),
      rows: [50],
      budgetSeconds: 1e-9,
      now: f.now,
      score: f.score,
    });
    expect(h.launched.get("a")).toEqual({ launched: 3, offered: 5 });
    expect(h.budgetSpent).toBe(true);
    expect(seen).toHaveLength(1);
  });
});
