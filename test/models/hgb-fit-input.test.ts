/**
 * hist_gradient_boosting's binned input on two threads (src/models/hgb/fit-input.ts): the bin mapper,
 * the binned matrix and the sparse rows are those of the one-thread functions, to the bit, whether the
 * helper thread did its share or this thread did it (a helper descheduled by other work on the
 * machine leaves it here: each call is compared, and called again until the helper has done one).
 */
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix } from "../../src/core/frame.ts";
import { closePool } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { checkValues } from "../../src/models/checks.ts";
import {
  BIN_PARALLEL_MIN_VALUES,
  binOnTwoThreads,
  fitInputHandOffs,
  helperColumns,
  SPARSE_PARALLEL_MIN_ROWS,
  sparseRowsOnTwoThreads,
} from "../../src/models/hgb/fit-input.ts";
import { histOffsets, sparseRows } from "../../src/models/hgb/histogram.ts";
import { disableHistogramHelper } from "../../src/models/hgb/wasm-kernels.ts";
import { createModel } from "../../src/models/registry.ts";
import { binMatrix, fitBinMapper } from "../../src/models/tree/binning.ts";
import { waitForHelper, wakeHelper } from "../helpers/helper-thread.ts";

afterAll(() => closePool());

/**
 * Columns of every kind: flags, counts, continuous (quantile bins) with NaN, constant; `sparse`: the
 * counts and continuous values mostly one value (rows with no uncommon bin).
 */
function matrix(n: number, p: number, seed: number, sparse = false) {
  const rng = new Rng(seed);
  const X = allocMatrix(n, p);
  const rare = (v: () => number) => (!sparse || rng.next() < 0.1 ? v() : 0);
  for (let f = 0; f < p; f++)
    for (let r = 0; r < n; r++)
      X.data[f * n + r] =
        f % 4 === 0
          ? +(rng.next() < 0.1)
          : f % 4 === 1
            ? rare(() => rng.int(30))
            : f % 4 === 2
              ? rare(() => (rng.next() < 0.02 ? Number.NaN : rng.normal()))
              : 7;
  return X;
}

/** Call `f` until the helper has done a share (at most 10 times), checking each result. */
async function untilHandedOff(f: () => void): Promise<void> {
  const before = fitInputHandOffs();
  for (let attempt = 0; attempt < 10 && fitInputHandOffs() === before; attempt++) {
    expect(await wakeHelper()).toBe(true);
    f();
  }
  expect(fitInputHandOffs()).toBeGreaterThan(before);
}

describe("a fit's bins on two threads", () => {
  it("the mapper and binned matrix of fitBinMapper and binMatrix", async () => {
    const p = 17;
    const n = Math.ceil(BIN_PARALLEL_MIN_VALUES / p) + 11;
    const X = matrix(n, p, 3);
    const opts = { maxBins: 255, seed: 0, rule: "averaged_inverted_cdf" } as const;
    const want = fitBinMapper(X, opts);
    const wantBins = binMatrix(X, want);
    await untilHandedOff(() => {
      const { mapper, bins } = binOnTwoThreads(X, opts, true);
      expect(bins.buffer).toBeInstanceOf(SharedArrayBuffer);
      // (the first differing byte: a million of them compared one by one would be slow to report)
      expect(bins.findIndex((b, i) => b !== wantBins[i])).toBe(-1);
      expect(Array.from(mapper.nBins)).toEqual(Array.from(want.nBins));
      expect(Array.from(mapper.hasMissing)).toEqual(Array.from(want.hasMissing));
      for (let f = 0; f < p; f++) {
        expect(Array.from(mapper.thresholds[f]!)).toEqual(Array.from(want.thresholds[f]!));
        expect(Array.from(mapper.cuts[f]!)).toEqual(Array.from(want.cuts[f]!));
        // one bin per value: the cuts are the bounds (the same array, as fitBinMapper's)
        expect(mapper.cuts[f] === mapper.thresholds[f]).toBe(want.cuts[f] === want.thresholds[f]);
      }
    });
  });

  it("says whether a column holds ±Infinity, in the helper's columns or this thread's", async () => {
    const p = 17;
    const n = Math.ceil(BIN_PARALLEL_MIN_VALUES / p) + 11;
    const opts = { maxBins: 255, seed: 0, rule: "averaged_inverted_cdf" } as const;
    const X = matrix(n, p, 6);
    const helperColumn = helperColumns(X, false)[0]!;
    expect(helperColumn).toBeDefined();
    // a flag column (f % 4 === 0: this thread's) and one of the helper's
    for (const f of [4, helperColumn]) {
      for (const inf of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        const Y = allocMatrix(n, p);
        Y.data.set(X.data);
        Y.data[f * n + n - 2] = inf;
        await untilHandedOff(() => {
          expect(binOnTwoThreads(Y, opts, true).infinite, `column ${f}, ${inf}`).toBe(true);
        });
      }
    }
    await untilHandedOff(() => {
      expect(binOnTwoThreads(X, opts, true).infinite).toBe(false);
    });
    expect(binOnTwoThreads(X, opts, false).infinite).toBe(false);
  });

  it("a fit refuses ±Infinity naming row and column, as checkValues", async () => {
    const p = 17;
    const n = Math.ceil(BIN_PARALLEL_MIN_VALUES / p) + 11;
    const X = matrix(n, p, 7);
    X.data[9 * n + 1234] = Number.NEGATIVE_INFINITY;
    const y = Int32Array.from({ length: n }, (_, r) => r % 2);
    let want = "";
    try {
      checkValues(X, "hist_gradient_boosting", true);
    } catch (e) {
      want = (e as Error).message;
    }
    expect(want).toMatch(/row 1235, column feature 9 is -Infinity/);
    for (const useHelper of [true, false]) {
      disableHistogramHelper(!useHelper);
      try {
        if (useHelper) expect(await waitForHelper()).toBe(true);
        const m = createModel("hist_gradient_boosting", { max_iter: 2, early_stopping: false });
        await expect(m.fit(X, y, 2)).rejects.toThrow(want);
      } finally {
        disableHistogramHelper(false);
      }
    }
  });

  it("the helper bins the costliest columns, fewer when they are copied for it", () => {
    // 20 one-hot columns, 4 of many values (at 3, 9, 15, 21): copied, the helper's share is 3 of
    // those (each costs about eleven one-hot columns to bin, its copy two: a one-hot column costs
    // less to bin than to copy and is never copied); on shared memory (no copies) it takes 2 of
    // them and one-hot columns up to about half the work
    const n = 5000;
    const rng = new Rng(9);
    const X = allocMatrix(n, 24);
    for (let f = 0; f < 24; f++)
      for (let r = 0; r < n; r++) X.data[f * n + r] = f % 6 === 3 ? rng.normal() : +(rng.next() < 0.3);
    expect(Array.from(helperColumns(X, false))).toEqual([3, 9, 15]);
    const shared = Array.from(helperColumns(X, true));
    expect(shared.filter((f) => f % 6 === 3)).toHaveLength(2);
    expect(shared.length).toBeGreaterThan(2);
    expect(shared.length).toBeLessThan(12);
  });

  it("the sparse rows of sparseRows", async () => {
    const n = SPARSE_PARALLEL_MIN_ROWS + 777;
    const X = matrix(n, 6, 4, true);
    const mapper = fitBinMapper(X, { maxBins: 64 });
    const bins = binMatrix(X, mapper, true);
    const off = histOffsets(mapper.nBins);
    const want = sparseRows(bins, n, mapper.nBins, off);
    // rows with no uncommon bin and rows with several
    expect(Array.from(want.ptr.subarray(1)).some((e, r) => e === want.ptr[r])).toBe(true);
    // on this thread alone too, with the columns at every alignment of the words the steps read
    // (n is odd: each column starts at another byte of a word; and the matrix one byte on)
    const moved = new Uint8Array(bins.length + 4).subarray(1, bins.length + 1);
    moved.set(bins);
    for (const b of [bins, moved]) {
      const alone = sparseRowsOnTwoThreads(b, n, mapper.nBins, off, false);
      expect(Array.from(alone.ptr)).toEqual(Array.from(want.ptr));
      expect(Array.from(alone.index)).toEqual(Array.from(want.index));
      expect(Array.from(alone.common)).toEqual(Array.from(want.common));
    }
    await untilHandedOff(() => {
      const got = sparseRowsOnTwoThreads(bins, n, mapper.nBins, off, true);
      expect(Array.from(got.ptr)).toEqual(Array.from(want.ptr));
      expect(Array.from(got.index)).toEqual(Array.from(want.index));
      expect(Array.from(got.common)).toEqual(Array.from(want.common));
      // where the kernels split a histogram: the first slot at which the entries up to and
      // including it are more than half of all (counted here from the entries)
      const size = off[off.length - 1]!;
      const count = new Int32Array(size);
      for (const x of want.index) count[x]!++;
      let below = 0;
      let half = size;
      for (let x = 0; x < size && half === size; x += 3) {
        if (2 * (below + count[x]!) > want.index.length) half = x;
        below += count[x]!;
      }
      expect(half).toBeGreaterThan(0);
      expect(half).toBeLessThan(size);
      expect(got.half).toBe(half);
    });
  });
});
