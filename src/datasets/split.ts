/**
 * Train/test splits. All are seeded and deterministic.
 * - stratified: each class keeps its share on both sides (scikit-learn's StratifiedShuffleSplit idea).
 * - duplicate-aware: rows with identical feature vectors form one group and groups go whole to one
 *   side, stratified by the group's majority label — identical rows never straddle the split, which
 *   would otherwise inflate test scores (phishing: 5,206 of 11,055 rows are exact duplicates).
 * - time: the latest rows by a timestamp column form the test side.
 * - predefined: train and test come from different files (handled by the caller).
 */
import { NetsecError } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import { Rng } from "../core/rng.ts";

export interface Split {
  train: Uint32Array;
  test: Uint32Array;
  kind: "stratified" | "duplicate_aware" | "time" | "predefined";
}

function checkTestSize(testSize: number, n: number): number {
  if (!(testSize > 0 && testSize < 1)) {
    throw new NetsecError("CONFIG_INVALID", `test_size must be in (0, 1), got ${testSize}`, {
      value: testSize,
    });
  }
  const nTest = Math.round(testSize * n);
  if (nTest < 1 || n - nTest < 1) {
    throw new NetsecError("DATA_INVALID", `${n} rows cannot be split with test_size ${testSize}`, {
      value: n,
    });
  }
  return nTest;
}

/**
 * Per-class test quotas summing to nTest, proportional to class counts (largest remainder), at least one
 * row per side for classes with two or more rows.
 */
function quotas(counts: readonly number[], nTest: number): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  const exact = counts.map((c) => (c * nTest) / n);
  const q = exact.map(Math.floor);
  let left = nTest - q.reduce((a, b) => a + b, 0);
  const order = exact
    .map((e, i) => [e - Math.floor(e), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    q[i]!++;
    left--;
  }
  return q;
}

/** Stratified shuffle split of row indices by class codes `y` (values >= 0; -1 = unlabelled is an error). */
export function stratifiedSplit(y: Int32Array, testSize: number, seed: number): Split {
  const n = y.length;
  const nTest = checkTestSize(testSize, n);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = y[i]!;
    if (c < 0) throw new NetsecError("DATA_INVALID", `row ${i + 1} has no label`, { row: i + 1 });
    let a = byClass.get(c);
    if (!a) byClass.set(c, (a = []));
    a.push(i);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const q = quotas(
    classes.map((c) => byClass.get(c)!.length),
    nTest,
  );
  const rng = new Rng(seed);
  const train: number[] = [];
  const test: number[] = [];
  classes.forEach((c, k) => {
    const rows = Uint32Array.from(byClass.get(c)!);
    rng.shuffle(rows);
    for (let i = 0; i < rows.length; i++) (i < q[k]! ? test : train).push(rows[i]!);
  });
  return { train: Uint32Array.from(train).sort(), test: Uint32Array.from(test).sort(), kind: "stratified" };
}

/**
 * Group id per row: rows with identical values in `columns` share a group (numbers equal as their
 * decimal text: -0 is 0, every NaN alike; categories by value). Ids 0..nGroups-1 in order of each
 * group's first row. Rows are hashed from their typed columns (no text per cell) and a hash hit is
 * confirmed by comparing the two rows, so a hash collision never merges distinct rows.
 */
export function duplicateGroupsOfFrame(
  frame: Frame,
  columns: readonly string[],
): { groups: Int32Array; nGroups: number } {
  const n = frame.nRows;
  const cols = columns.map((c) => frame.column(c));
  // a category's canonical code: the first code of its value (a dictionary may repeat a value)
  const canon = cols.map((c) => {
    if (c.kind === "numeric") return null;
    const first = new Map<string, number>();
    return Int32Array.from(c.categories, (v, i) => {
      const f = first.get(v);
      if (f !== undefined) return f;
      first.set(v, i);
      return i;
    });
  });
  const key = (c: number, i: number): number => {
    const col = cols[c]!;
    if (col.kind === "numeric") {
      const v = col.values[i]!;
      return v === 0 ? 0 : v; // -0 is 0
    }
    const code = col.codes[i]!;
    return code < 0 ? -1 : canon[c]![code]!;
  };
  const same = (a: number, b: number): boolean => {
    for (let c = 0; c < cols.length; c++) {
      const x = key(c, a);
      const y = key(c, b);
      if (x !== y && !(Number.isNaN(x) && Number.isNaN(y))) return false;
    }
    return true;
  };
  const bits = new Float64Array(1);
  const words = new Int32Array(bits.buffer);
  const groups = new Int32Array(n);
  // 52-bit row hash → group id of the first row with it; rows sharing a hash with a different row
  // go to `other` by their exact text key (rare)
  const byHash = new Map<number, number>();
  const other = new Map<string, number>();
  const firstRow: number[] = [];
  for (let i = 0; i < n; i++) {
    let h1 = 0x811c9dc5;
    let h2 = 0x9747b28c;
    for (let c = 0; c < cols.length; c++) {
      const v = key(c, i);
      bits[0] = Number.isNaN(v) ? Number.NaN : v;
      const lo = words[0]!;
      const hi = words[1]!;
      h1 = Math.imul(h1 ^ lo, 0x01000193);
      h1 = Math.imul(h1 ^ hi ^ (h1 >>> 15), 0x01000193);
      h2 = Math.imul(h2 ^ hi, 0x5bd1e995);
      h2 = Math.imul(h2 ^ lo ^ (h2 >>> 13), 0x5bd1e995);
    }
    const h = (h1 >>> 0) * 0x100000 + (h2 >>> 12);
    let g = byHash.get(h);
    if (g === undefined) {
      g = firstRow.length;
      byHash.set(h, g);
      firstRow.push(i);
    } else if (!same(firstRow[g]!, i)) {
      const k = `${h}:${cols.map((_, c) => String(key(c, i))).join("\u0001")}`;
      const o = other.get(k);
      if (o !== undefined) g = o;
      else {
        g = firstRow.length;
        other.set(k, g);
        firstRow.push(i);
      }
    }
    groups[i] = g;
  }
  return { groups, nGroups: firstRow.length };
}

/**
 * Duplicate-aware stratified split: groups (identical feature vectors) are kept whole; each group is
 * stratified by its majority label; within each stratum groups are shuffled and taken into the test side
 * until the stratum's row quota is reached (a group that would overshoot by more than it undershoots is
 * skipped), so class shares and the test size stay close to the target.
 */
export function duplicateAwareSplit(
  y: Int32Array,
  groups: Int32Array,
  nGroups: number,
  testSize: number,
  seed: number,
): Split {
  const n = y.length;
  const nTest = checkTestSize(testSize, n);
  // each group's rows (ascending) as one flat array: group g's are rows[start[g]..start[g + 1]-1]
  // (an array per group took about 100 bytes a group: over 1 GB for 10 M mostly distinct rows)
  const start = new Int32Array(nGroups + 1);
  for (let i = 0; i < n; i++) start[groups[i]! + 1]!++;
  for (let g = 0; g < nGroups; g++) start[g + 1]! += start[g]!;
  const rows = new Uint32Array(n);
  const fill = start.slice(0, nGroups);
  for (let i = 0; i < n; i++) rows[fill[groups[i]!]!++] = i;
  const size = (g: number): number => start[g + 1]! - start[g]!;
  // majority label per group (ties → smallest code)
  const strata = new Map<number, number[]>();
  for (let g = 0; g < nGroups; g++) {
    // a group of one row: its label (no group is empty: ids come from rows)
    let best = size(g) === 0 ? -1 : y[rows[start[g]!]!]!;
    if (size(g) > 1) {
      const counts = new Map<number, number>();
      for (let j = start[g]!; j < start[g + 1]!; j++)
        counts.set(y[rows[j]!]!, (counts.get(y[rows[j]!]!) ?? 0) + 1);
      let bestC = -1;
      for (const [c, k] of [...counts.entries()].sort((a, b) => a[0] - b[0])) {
        if (k > bestC) {
          best = c;
          bestC = k;
        }
      }
    }
    let s = strata.get(best);
    if (!s) strata.set(best, (s = []));
    s.push(g);
  }
  const classes = [...strata.keys()].sort((a, b) => a - b);
  const rowsIn = classes.map((c) => strata.get(c)!.reduce((a, g) => a + size(g), 0));
  const q = quotas(rowsIn, nTest);
  const rng = new Rng(seed);
  const isTest = new Uint8Array(n);
  classes.forEach((c, k) => {
    const gs = Uint32Array.from(strata.get(c)!);
    rng.shuffle(gs);
    let taken = 0;
    const quota = q[k]!;
    for (const g of gs) {
      if (taken >= quota) break;
      const m = size(g);
      if (taken + m > quota && taken + m - quota > quota - taken) continue;
      for (let j = start[g]!; j < start[g + 1]!; j++) isTest[rows[j]!] = 1;
      taken += m;
    }
  });
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < n; i++) (isTest[i] ? test : train).push(i);
  if (test.length === 0 || train.length === 0) {
    throw new NetsecError(
      "DATA_INVALID",
      `duplicate-aware split left one side empty (${n} rows, ${nGroups} distinct)`,
      {},
    );
  }
  return { train: Uint32Array.from(train), test: Uint32Array.from(test), kind: "duplicate_aware" };
}

/** The latest `testSize` share of rows by time goes to test (ties broken by row order). */
export function timeSplit(times: Float64Array, testSize: number): Split {
  const n = times.length;
  const nTest = checkTestSize(testSize, n);
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    const ta = times[a]!;
    const tb = times[b]!;
    if (Number.isNaN(ta) || Number.isNaN(tb)) {
      throw new NetsecError(
        "DATA_INVALID",
        `row ${Number.isNaN(ta) ? a + 1 : b + 1} has no timestamp; a time split needs one on every row`,
        {},
      );
    }
    return ta - tb || a - b;
  });
  return {
    train: order.slice(0, n - nTest).sort(),
    test: order.slice(n - nTest).sort(),
    kind: "time",
  };
}
