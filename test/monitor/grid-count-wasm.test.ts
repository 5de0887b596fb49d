/**
 * The WebAssembly kernel that counts a column's cells per grid value (src/monitor/grid-count-wasm.ts):
 * against hand-counted columns and a plain count of `===` matches, for 1 to 8 values, odd and even
 * row counts, a column past the kernel's first memory page; and `countNumeric` (counts.ts) gives the
 * same sums and bins with the kernel as without it, on grids of whole numbers and of tenths, with
 * missing cells and cells off the grid.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.ts";
import { countNumeric, lookupOf, scratchFor } from "../../src/monitor/counts.ts";
import {
  countGridValues,
  disableGridCountWasm,
  GRID_COUNT_MAX_VALUES,
} from "../../src/monitor/grid-count-wasm.ts";

afterEach(() => disableGridCountWasm(false));

const NaN_ = Number.NaN;

describe("countGridValues", () => {
  it("counts a hand-made column per value, its missing cells apart", () => {
    const x = Float64Array.from([-1, 0, 1, 1, NaN_, 0, -1, 1, 1]); // 9 cells: an odd pair at the end
    const counts = new Int32Array(3);
    expect(countGridValues(x, 9, Float64Array.from([-1, 0, 1]), counts)).toBe(1);
    expect([...counts]).toEqual([2, 2, 4]);
    // −0 is 0 (as `===` says)
    expect(countGridValues(Float64Array.from([-0, 0, 1]), 3, Float64Array.from([0, 1]), counts)).toBe(0);
    expect([...counts.subarray(0, 2)]).toEqual([2, 1]);
    // only the first n cells
    expect(countGridValues(Float64Array.from([1, 1, 5]), 2, Float64Array.from([1]), counts)).toBe(0);
    expect(counts[0]).toBe(2);
    expect(countGridValues(new Float64Array(0), 0, Float64Array.from([1]), counts)).toBe(0);
    expect(counts[0]).toBe(0);
  });

  it("declines a column with a cell that is neither one of the values nor missing", () => {
    const counts = new Int32Array(3);
    const values = Float64Array.from([-1, 0, 1]);
    expect(countGridValues(Float64Array.from([-1, 0, 0.5, 1]), 4, values, counts)).toBe(-1);
    expect(countGridValues(Float64Array.from([2]), 1, values, counts)).toBe(-1);
    expect(countGridValues(Float64Array.from([1, 1 + 2 ** -52]), 2, values, counts)).toBe(-1);
    expect(countGridValues(Float64Array.from([Number.POSITIVE_INFINITY]), 1, values, counts)).toBe(-1);
    // more values than the kernel takes, none, or no kernel: declined
    const many = Float64Array.from({ length: GRID_COUNT_MAX_VALUES + 1 }, (_, i) => i);
    expect(countGridValues(Float64Array.from([0]), 1, many, new Int32Array(many.length))).toBe(-1);
    expect(countGridValues(Float64Array.from([0]), 1, new Float64Array(0), counts)).toBe(-1);
    disableGridCountWasm(true);
    expect(countGridValues(Float64Array.from([0]), 1, values, counts)).toBe(-1);
  });

  it("matches a plain count for 1 to 8 values, any row count, past its first memory page", () => {
    const rng = new Rng(19);
    for (let k = 1; k <= GRID_COUNT_MAX_VALUES; k++)
      for (const n of [1, 2, 3, 4, 5, 7, 1000, 1001, 20_000]) {
        const values = Float64Array.from({ length: k }, (_, i) => (i - 2) / 10);
        const x = Float64Array.from({ length: n }, () => {
          const u = rng.next();
          return u < 0.05 ? NaN_ : values[Math.floor(rng.next() * k)]!;
        });
        const counts = new Int32Array(k);
        const missing = countGridValues(x, n, values, counts);
        expect(missing).toBe(x.filter((c) => Number.isNaN(c)).length);
        expect([...counts]).toEqual([...values].map((v) => x.filter((c) => c === v).length));
      }
  });
});

describe("countNumeric with and without the kernel", () => {
  const count = (x: Float64Array, edges: number[], wasm: boolean) => {
    disableGridCountWasm(!wasm);
    const look = lookupOf(edges);
    const scratch = scratchFor(edges.length, x.length);
    const sums = countNumeric(x, x.length, look, scratch);
    return { sums, bins: [...scratch.bins.subarray(0, edges.length + 2)] };
  };

  it("gives the same sums and bins on whole and tenths grids, with missing and off-grid cells", () => {
    const rng = new Rng(7);
    const cases: { edges: number[]; cell: () => number }[] = [
      // phishing's flags: edges −1 and 1, the cells −1, 0, 1
      { edges: [-1, 1], cell: () => Math.floor(rng.next() * 3) - 1 },
      { edges: [0, 1], cell: () => (rng.next() < 0.3 ? 1 : 0) },
      { edges: [0, 1, 2, 3, 4, 5, 6, 7], cell: () => Math.floor(rng.next() * 8) },
      { edges: [0, 0.1, 0.2, 0.3], cell: () => Math.floor(rng.next() * 4) / 10 },
      // values outside the edges and between grid points go to the JS loop, the same counts
      { edges: [-1, 1], cell: () => (rng.next() < 0.01 ? 3.5 : Math.floor(rng.next() * 3) - 1) },
      { edges: [0, 0.1, 0.2, 0.3], cell: () => (rng.next() < 0.01 ? 0.15 : Math.floor(rng.next() * 4) / 10) },
    ];
    for (const { edges, cell } of cases)
      for (const n of [64, 999, 1000]) {
        const x = Float64Array.from({ length: n }, () => (rng.next() < 0.02 ? NaN_ : cell()));
        const js = count(x, edges, false);
        expect(count(x, edges, true)).toEqual(js);
        expect(js.sums.missing).toBe(x.filter((c) => Number.isNaN(c)).length);
        expect(js.bins.reduce((a, b) => a + b, 0) + js.sums.missing).toBe(n);
      }
  });
});
