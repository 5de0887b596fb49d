/**
 * The random forest's out-of-bag scores (FitOptions.outOfBag) against a reference built here: each
 * tree's bootstrap sample redrawn from its documented stream (Rng(seed).fork(tree), n draws), each
 * left-out row walked through the tree on the float64 matrix (leafOf), and the forest's own
 * predictProba for the training-row scores.
 */
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix, type Matrix, takeRows } from "../../src/core/frame.ts";
import { closePool } from "../../src/core/pool.ts";
import { Rng } from "../../src/core/rng.ts";
import { RandomForestClassifier } from "../../src/models/random-forest.ts";
import { binnedMatrix } from "../../src/models/tree/binned-matrix.ts";
import { leafOf } from "../../src/models/tree/flat-tree.ts";

afterAll(() => closePool());

/** A quantile-binned column with NaNs, a three-valued flag, a 300-valued count; 3 classes. */
function data(n: number, seed: number): { X: Matrix; y: Int32Array } {
  const rng = new Rng(seed);
  const X = allocMatrix(n, 3, ["bytes", "flag", "count"]);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = Math.floor(rng.next() * 3);
    X.data[i] = rng.next() < 0.05 ? Number.NaN : Math.exp(rng.normal() * 2 + y[i]!);
    X.data[n + i] = Math.floor(rng.next() * 3) - (y[i] === 2 ? 0 : 1);
    X.data[2 * n + i] = Math.floor(rng.next() * 300) + y[i]! * 30;
  }
  return { X, y };
}

/**
 * Per fit row (X's rows), the mean leaf value of the trees whose bootstrap sample left it out (NaN
 * when none did); `rows`: the fit's rows of the matrix the bootstrap draws from.
 */
function referenceOob(
  m: RandomForestClassifier,
  X: Matrix,
  seed: number,
  nDraw: number,
  rows: Uint32Array | null,
  groups: Int32Array | null = null,
): { proba: Float64Array; missing: number; near: number } {
  const n = X.nRows;
  const K = m.nClasses;
  const sum = new Float64Array(n * K);
  const trees = new Int32Array(n);
  // the row itself out of the bag, whatever its twins (the fallback of a row whose group never is)
  const ownSum = new Float64Array(n * K);
  const ownTrees = new Int32Array(n);
  m.trees.forEach((t, k) => {
    const rng = new Rng(seed).fork(k);
    const drawn = new Uint8Array(nDraw);
    for (let i = 0; i < (rows ? rows.length : n); i++)
      drawn[rows ? rows[rng.int(rows.length)]! : rng.int(n)] = 1;
    const groupDrawn = new Set<number>();
    if (groups) for (let i = 0; i < nDraw; i++) if (drawn[i]) groupDrawn.add(groups[i]!);
    for (let j = 0; j < n; j++) {
      const i = rows ? rows[j]! : j;
      if (drawn[i]) continue;
      const leaf = leafOf(t, X.data, n, j);
      for (let c = 0; c < K; c++) ownSum[j * K + c]! += t.value[leaf * K + c]!;
      ownTrees[j]!++;
      if (groups?.length && groupDrawn.has(groups[i]!)) continue;
      for (let c = 0; c < K; c++) sum[j * K + c]! += t.value[leaf * K + c]!;
      trees[j]!++;
    }
  });
  let missing = 0;
  let near = 0;
  for (let j = 0; j < n; j++) {
    const own = groups !== null && trees[j] === 0 && ownTrees[j]! > 0;
    if (own) near++;
    const k = own ? ownTrees[j]! : trees[j]!;
    if (k === 0) missing++;
    for (let c = 0; c < K; c++)
      sum[j * K + c] = k ? (own ? ownSum[j * K + c]! : sum[j * K + c]!) / k : Number.NaN;
  }
  return { proba: sum, missing, near };
}

function close(a: Float64Array, b: Float64Array, what: string): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i]!)) expect(a[i], `${what}[${i}]`).toBeNaN();
    else expect(Math.abs(a[i]! - b[i]!), `${what}[${i}]`).toBeLessThan(1e-12);
  }
}

describe("random forest out-of-bag scores", () => {
  it("are the mean of the trees that left each row out, and the training scores the forest's own (fit on floats)", async () => {
    const { X, y } = data(3_000, 1);
    const m = new RandomForestClassifier({ nEstimators: 9, randomState: 5 });
    const rep = await m.fit(X, y, 3, { threads: 2, outOfBag: true });
    const ref = referenceOob(m, X, 5, 3_000, null);
    const oob = rep.outOfBag!;
    close(oob.proba, ref.proba, "oob");
    // with 9 trees about 0.63^9 ≈ 1.6% of rows were drawn by every tree
    expect(oob.missing).toBe(ref.missing);
    expect(oob.missing).toBeGreaterThan(0);
    close(oob.trainProba, m.predictProba(X), "train");
    // the pass changes no tree
    const plain = new RandomForestClassifier({ nEstimators: 9, randomState: 5 });
    await plain.fit(X, y, 3, { threads: 2 });
    expect(JSON.stringify(plain.toJSON())).toBe(JSON.stringify(m.toJSON()));
  });

  it("cover only the fit rows on a binned matrix, whatever the threads", async () => {
    const { X, y } = data(2_000, 2);
    const B = binnedMatrix(X, { seed: 7 });
    const rows = Uint32Array.from({ length: 1_200 }, (_, j) => Math.floor((j * 5) / 3));
    const fitWith = async (threads: number) => {
      const m = new RandomForestClassifier({ nEstimators: 20, randomState: 7 });
      const rep = await m.fitBinned(B, y, 3, { rows, threads, outOfBag: true });
      return { m, oob: rep.outOfBag! };
    };
    const one = await fitWith(1);
    const two = await fitWith(2);
    const Xfit = takeRows(X, rows);
    const ref = referenceOob(one.m, Xfit, 7, X.nRows, rows);
    close(one.oob.proba, ref.proba, "oob");
    expect(one.oob.missing).toBe(ref.missing);
    close(one.oob.trainProba, one.m.predictProba(Xfit), "train");
    expect(Buffer.from(two.oob.proba.buffer).equals(Buffer.from(one.oob.proba.buffer))).toBe(true);
    expect(Buffer.from(two.oob.trainProba.buffer).equals(Buffer.from(one.oob.trainProba.buffer))).toBe(true);
  });

  it("leave a row in the bag while a row identical to it is (groups)", async () => {
    // the second half repeats the first: rows j and j + 1000 are one group
    const { X: half, y: yHalf } = data(1_000, 4);
    const X = allocMatrix(2_000, 3, half.names);
    for (let f = 0; f < 3; f++)
      for (let k = 0; k < 2; k++)
        X.data.set(half.data.subarray(f * 1_000, (f + 1) * 1_000), f * 2_000 + k * 1_000);
    const y = Int32Array.from({ length: 2_000 }, (_, i) => yHalf[i % 1_000]!);
    const groups = Int32Array.from({ length: 2_000 }, (_, i) => i % 1_000);
    const m = new RandomForestClassifier({ nEstimators: 15, randomState: 3 });
    const oob = (
      await m.fitBinned(binnedMatrix(X, { seed: 3 }), y, 3, { threads: 2, outOfBag: true, oobGroups: groups })
    ).outOfBag!;
    const ref = referenceOob(m, X, 3, 2_000, null, groups);
    close(oob.proba, ref.proba, "oob");
    expect(oob.missing).toBe(ref.missing);
    // 15 trees: a pair is out of a bag with p ≈ e^-2, so about 11% of pairs never are
    expect(oob.nearDuplicates).toBe(ref.near);
    expect(oob.nearDuplicates).toBeGreaterThan(0);
    // a pair out of a tree's bag together: the two rows get the same score
    let same = 0;
    for (let j = 0; j < 1_000 * 3; j++) if (oob.proba[j] === oob.proba[j + 3_000]) same++;
    expect(same).toBeGreaterThan(0.8 * 3_000);
    // ungrouped, a row's twin in the bag scores it as seen: other scores
    const plain = new RandomForestClassifier({ nEstimators: 15, randomState: 3 });
    const loose = (await plain.fitBinned(binnedMatrix(X, { seed: 3 }), y, 3, { threads: 2, outOfBag: true }))
      .outOfBag!;
    expect(loose.missing).toBe(oob.missing);
    expect(loose.nearDuplicates).toBe(0);
    let differ = 0;
    for (let j = 0; j < loose.proba.length; j++) if (loose.proba[j] !== oob.proba[j]) differ++;
    expect(differ).toBeGreaterThan(1_000);
  });

  it("leave every row missing without bootstrap samples", async () => {
    const { X, y } = data(500, 3);
    const m = new RandomForestClassifier({ nEstimators: 4, bootstrap: false, randomState: 1 });
    const oob = (await m.fit(X, y, 3, { threads: 1, outOfBag: true })).outOfBag!;
    expect(oob.missing).toBe(500);
    expect(oob.proba.every(Number.isNaN)).toBe(true);
  });
});
