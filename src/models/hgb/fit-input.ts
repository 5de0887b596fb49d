/**
 * A fit's binned input on two threads, this one and the helper thread (core/helper.ts): the bin
 * mapper and the binned matrix by column (the helper takes the costliest columns, about half the
 * work: `helperColumns`), then the sparse rows (histogram.ts's `sparseRows`) by row halves. Each piece is the same as on one thread, to the bit: a
 * column's bins depend on that column only (the quantile subsample's rows come from the seed, drawn
 * alike on both threads), a row's entries on that row only, and the features' slot counts are sums of
 * integers.
 *
 * As every hand-off of the fit, the helper writes only to outputs of its own (shared memory), read
 * when it is done; when it is late (descheduled by other work) this thread does its share itself.
 */
import type { Matrix } from "../../core/frame.ts";
import { helperReady, runWithHelper } from "../../core/helper.ts";
import { task } from "../../core/tasks.ts";
import { type BinMapper, type BinOptions, FeatureBinner, type FeatureBins } from "../tree/binning.ts";
import type { SparseRows } from "./histogram.ts";
import { FIT_HELPER_SPIN_MS } from "./wasm-kernels.ts";

/**
 * Values (rows × columns) from which the binning is split with the helper: NSL-KDD's 15 M take
 * about 0.25 s on one thread; phishing's 0.27 M about 5 ms, not much more than copying the helper's
 * columns to shared memory and the hand-off.
 */
export const BIN_PARALLEL_MIN_VALUES = 1 << 20;

/** Rows from which the sparse rows are built by row halves (NSL-KDD's 126k rows: 30–50 ms on one thread). */
export const SPARSE_PARALLEL_MIN_ROWS = 32768;

/** The least a hand-off here waits for the helper's share after its own. */
const WAIT_MS = 1;

/**
 * Doubles per column in the helper's binning output: [nThresholds, hasMissing, cutsSame, infinite,
 * t…, cuts…].
 */
const BIN_SLOT = 4 + 2 * 255;

interface BinColumnsArgs {
  /** Column-major values holding the helper's columns (shared memory). */
  data: Float64Array;
  nRows: number;
  /** Where each helper column starts in data. */
  base: Int32Array;
  opts: BinOptions;
  /** The helper's columns' bins, packed (nRows each; shared memory). */
  bins: Uint8Array;
  /** BIN_SLOT doubles per helper column (shared memory). */
  out: Float64Array;
  /**
   * ready[0]: the helper's columns in `data` so far (the caller copies them there one by one while
   * the helper bins those already copied).
   */
  ready: Int32Array;
}

/** How long the helper spins for its next column to be copied before it sleeps (ms). */
const COPY_SPIN_MS = 1;

/** How long the helper waits for a column to be copied before it gives its share up (ms). */
const COPY_WAIT_MAX_MS = 1000;

/**
 * Waits until column j of the helper's is in shared memory (ready[0] > j). A caller that never
 * copies it (it failed) fails the task: the caller then bins the helper's columns itself.
 */
function awaitColumn(ready: Int32Array, j: number): void {
  const t0 = performance.now();
  for (;;) {
    const k = Atomics.load(ready, 0);
    if (k > j) return;
    const waited = performance.now() - t0;
    if (waited > COPY_WAIT_MAX_MS) throw new Error(`column ${j} was not copied in ${COPY_WAIT_MAX_MS} ms`);
    // (woken by the caller's notify after each copy; the timeout only bounds a missed wake-up)
    if (waited > COPY_SPIN_MS) Atomics.wait(ready, 0, k, 5);
  }
}

/** The helper's columns: fitted and binned (their bins into `bins`, their thresholds into `out`). */
export function binColumnsTask(a: BinColumnsArgs): null {
  const binner = new FeatureBinner(a.nRows, a.opts);
  a.base.forEach((base, j) => {
    awaitColumn(a.ready, j);
    const b = binner.fitAndBin(a.data, base, a.bins, j * a.nRows);
    const o = j * BIN_SLOT;
    const nt = b.thresholds.length;
    a.out[o] = nt;
    a.out[o + 1] = b.hasMissing ? 1 : 0;
    a.out[o + 2] = b.cuts === b.thresholds ? 1 : 0;
    a.out[o + 3] = b.infinite ? 1 : 0;
    a.out.set(b.thresholds, o + 4);
    a.out.set(b.cuts, o + 4 + nt);
  });
  return null;
}

let handOffs = 0;

/** Binnings and sparse-rows steps whose share the helper did, in this thread's fits so far (tests). */
export function fitInputHandOffs(): number {
  return handOffs;
}

/** Rows a column's cost is judged on (helperColumns). */
const PROBE_ROWS = 64;

/**
 * A column's cost to bin, by the distinct values of its probe (only 0 and 1, at most 2, 3–8, more),
 * and to copy to fresh shared memory, in CPU time per row: NSL-KDD's one-hot columns 0.27 ms (126k
 * rows, FeatureBinner.fitAndBin's one pass), its other columns of two values 0.8 ms, of 3–8 values
 * 1.5 ms, of more 3.0 ms, a copy 0.55 ms (real-time, on the loaded machine).
 */
const COST_ZERO_ONE = 1;
const COST_FEW = 3;
const COST_SOME = 6;
const COST_MANY = 11;
const COST_COPY = 2;

/**
 * The columns the helper bins (ascending), a little under half the work: the costliest first (the
 * fewest columns to copy). A column's cost is judged from PROBE_ROWS rows spread over it (COST_*:
 * one-hot columns are binned in one pass, other columns of few values in one comparison a value,
 * columns of many values take quantiles and a search of many thresholds), and a column the helper
 * takes costs this thread its copy to shared memory too (unless `inPlace`): a column cheaper to bin
 * than to copy stays here.
 */
export function helperColumns(X: Matrix, inPlace: boolean): Int32Array {
  const { nRows: n, nCols } = X;
  const cost = new Int32Array(nCols);
  const seen = new Float64Array(PROBE_ROWS);
  const step = Math.max(1, Math.floor(n / PROBE_ROWS));
  let total = 0;
  for (let f = 0; f < nCols; f++) {
    let d = 0;
    let zeroOne = true;
    for (let r = 0; r < n && r < step * PROBE_ROWS; r += step) {
      const v = X.data[f * n + r]!;
      zeroOne &&= v === 0 || v === 1;
      let k = 0;
      while (k < d && !Object.is(seen[k], v)) k++;
      if (k === d) seen[d++] = v;
    }
    cost[f] = d <= 2 ? (zeroOne ? COST_ZERO_ONE : COST_FEW) : d <= 8 ? COST_SOME : COST_MANY;
    total += cost[f]!;
  }
  const copy = inPlace ? 0 : COST_COPY;
  const order = Array.from({ length: nCols }, (_, f) => f).sort((a, b) => cost[b]! - cost[a]! || a - b);
  let theirs = 0;
  let mine = total;
  const out: number[] = [];
  for (const f of order) {
    const c = cost[f]!;
    // (a tenth to spare: a helper later than this thread's share has its columns redone here)
    if (c <= copy || 10 * (theirs + c) > 9 * (mine - c + copy)) continue;
    theirs += c;
    mine += copy - c;
    out.push(f);
  }
  return Int32Array.from(out).sort();
}

/** A bin mapper of its features' bins. */
function mapperOf(found: readonly FeatureBins[]): BinMapper {
  const thresholds = found.map((b) => b.thresholds);
  return {
    nFeatures: found.length,
    thresholds,
    cuts: found.map((b) => b.cuts),
    nBins: Uint16Array.from(thresholds, (t) => t.length + 1),
    hasMissing: Uint8Array.from(found, (b) => (b.hasMissing ? 1 : 0)),
  };
}

/**
 * fitBinMapper and binMatrix (on shared memory: into `into` when given, nRows · nCols bytes of it, as
 * the fit's kernel memory) with the helper's columns done by the helper, and whether any column
 * holds ±Infinity (`infinite`: every value is read here, so the fit's check for them needs no pass
 * of its own).
 */
export function binOnTwoThreads(
  X: Matrix,
  opts: BinOptions,
  useHelper: boolean,
  into: Uint8Array | null = null,
): { mapper: BinMapper; bins: Uint8Array; infinite: boolean } {
  const { nRows, nCols } = X;
  if (into && (into.length !== nRows * nCols || !(into.buffer instanceof SharedArrayBuffer)))
    throw new RangeError(`${into.length} bytes of shared memory for ${nRows} × ${nCols} bins`);
  const bins = into ?? new Uint8Array(new SharedArrayBuffer(nRows * nCols));
  if (!useHelper || nRows * nCols < BIN_PARALLEL_MIN_VALUES || nCols < 2 || !helperReady()) {
    const binner = new FeatureBinner(nRows, opts);
    const found = Array.from({ length: nCols }, (_, f) =>
      binner.fitAndBin(X.data, f * nRows, bins, f * nRows),
    );
    return { mapper: mapperOf(found), bins, infinite: found.some((b) => b.infinite) };
  }
  // the helper's columns, copied to shared memory unless they are there
  const inPlace = X.data.buffer instanceof SharedArrayBuffer;
  const columns = helperColumns(X, inPlace);
  const mine = new Uint8Array(nCols).fill(1);
  for (const f of columns) mine[f] = 0;
  const data = inPlace ? X.data : new Float64Array(new SharedArrayBuffer(8 * nRows * columns.length));
  const ready = new Int32Array(new SharedArrayBuffer(4));
  if (inPlace) ready[0] = columns.length;
  const base = columns.map((f, j) => (inPlace ? f : j) * nRows);
  const theirBins = new Uint8Array(new SharedArrayBuffer(nRows * columns.length));
  const out = new Float64Array(new SharedArrayBuffer(8 * BIN_SLOT * columns.length));
  const found: (FeatureBins | null)[] = new Array(nCols).fill(null);
  const binner = new FeatureBinner(nRows, opts);
  const fitHere = (f: number) => {
    const b = binner.fitAndBin(X.data, f * nRows, bins, f * nRows);
    found[f] = b;
  };
  const ok = runWithHelper(
    task("hgb.binColumns", { data, nRows, base, opts, bins: theirBins, out, ready }),
    () => {
      // the helper's columns first, each handed over as soon as it is copied (a copy to fresh
      // shared memory costs about a quarter of binning a column of many values: done before the
      // helper starts, it made this thread's share the longer by all of them)
      if (!inPlace)
        for (let j = 0; j < columns.length; j++) {
          data.set(X.data.subarray(columns[j]! * nRows, (columns[j]! + 1) * nRows), j * nRows);
          Atomics.store(ready, 0, j + 1);
          Atomics.notify(ready, 0);
        }
      for (let f = 0; f < nCols; f++) if (mine[f] === 1) fitHere(f);
    },
    undefined,
    WAIT_MS,
    FIT_HELPER_SPIN_MS,
  );
  if (ok) handOffs++;
  columns.forEach((f, j) => {
    // a late helper's outputs are never read (it may still be writing them)
    if (!ok) {
      fitHere(f);
      return;
    }
    bins.set(theirBins.subarray(j * nRows, (j + 1) * nRows), f * nRows);
    const o = j * BIN_SLOT;
    const nt = out[o]!;
    const thresholds = out.slice(o + 4, o + 4 + nt);
    found[f] = {
      thresholds,
      cuts: out[o + 2] === 1 ? thresholds : out.slice(o + 4 + nt, o + 4 + 2 * nt),
      hasMissing: out[o + 1] === 1,
      infinite: out[o + 3] === 1,
    };
  });
  const all = found.map((b) => b!);
  return { mapper: mapperOf(all), bins, infinite: all.some((b) => b.infinite) };
}

/** Steps of the sparse rows' hand-offs (each over rows [from, to) of the bins, shared memory). */
type SparseStep =
  /** Each feature's count of each byte into counts[256 f + byte]. */
  | { step: "count"; counts: Int32Array }
  /** Each row's uncommon entries into perRow[r − from] (slotOf: -1 for a feature's common byte). */
  | { step: "perRow"; slotOf: Int32Array; perRow: Int32Array }
  /** Each row's entries into index[ptr[r] − ptr[from] ..] (the helper's own index). */
  | { step: "fill"; slotOf: Int32Array; ptr: Int32Array; index: Int32Array };

type SparseArgs = SparseStep & {
  bins: Uint8Array;
  nRows: number;
  nFeatures: number;
  from: number;
  to: number;
};

/** Rows a fill writes per block: a block's entries stay in cache while every feature writes them. */
const FILL_BLOCK = 2048;

/** Whether a 32-bit word's low byte is its first in memory (the word scans below read bytes so). */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** A byte four times over: a word of four rows of one value (as an int32, as `words` reads it). */
const four = (b: number) => (b * 0x01010101) | 0;

/**
 * Each feature's common bytes, the run lo..lo + span of bytes whose slotOf is −1 (its common bin, or
 * the missing slot's bytes when that is the common slot), as runs[2f], runs[2f + 1].
 */
function commonRuns(slotOf: Int32Array, p: number): Int32Array {
  const runs = new Int32Array(2 * p);
  for (let f = 0; f < p; f++) {
    const so = 256 * f;
    let lo = 0;
    while (slotOf[so + lo]! >= 0) lo++;
    let span = 0;
    while (lo + span < 255 && slotOf[so + lo + span + 1]! < 0) span++;
    runs[2 * f] = lo;
    runs[2 * f + 1] = span;
  }
  return runs;
}

/**
 * The steps below read a column four rows a word where they can (`words`: the bins' buffer as
 * 32-bit words): a word of four common bytes (one-hot and flag columns are mostly such words) is
 * one comparison instead of four; any other word, and the unaligned rows at a range's ends, byte by
 * byte. Counted and written as byte by byte: the same counts, entries and order.
 */
function sparseStep(a: SparseArgs, at: number): void {
  const { bins, nRows, nFeatures: p, from, to } = a;
  // (int32s: a Uint32Array's words past 2^31 would be doubles to V8)
  const words = LITTLE_ENDIAN ? new Int32Array(bins.buffer, 0, bins.buffer.byteLength >>> 2) : null;
  // bins[i] is the byte at address base + i of the buffer
  const base = bins.byteOffset;
  /** The first row ≥ r (≤ end) whose byte starts a word of column fo, or end without words. */
  const aligned = (fo: number, r: number, end: number) =>
    words ? Math.min(end, r + ((4 - ((base + fo + r) & 3)) & 3)) : end;
  if (a.step === "count") {
    const { counts } = a;
    const t = tallies;
    for (let f = 0; f < p; f++) {
      const fo = f * nRows;
      t.fill(0);
      // words of the column's first byte, four times over, tallied at once
      const guess = bins[fo + from] ?? 0;
      const skip = four(guess);
      let skipped = 0;
      let r = from;
      for (const head = aligned(fo, r, to); r < head; r++) t[bins[fo + r]!]!++;
      if (words)
        for (let q = (base + fo + r) >>> 2; r + 3 < to; r += 4, q++) {
          const w = words[q]!;
          if (w === skip) skipped += 4;
          else {
            t[w & 255]!++;
            t[256 + ((w >>> 8) & 255)]!++;
            t[512 + ((w >>> 16) & 255)]!++;
            t[768 + (w >>> 24)]!++;
          }
        }
      for (; r < to; r++) t[bins[fo + r]!]!++;
      const c = counts.subarray(256 * f, 256 * (f + 1));
      for (let b = 0; b < 256; b++) c[b]! += t[b]! + t[256 + b]! + t[512 + b]! + t[768 + b]!;
      c[guess]! += skipped;
    }
  } else if (a.step === "perRow") {
    const { slotOf, perRow } = a;
    const runs = commonRuns(slotOf, p);
    for (let f = 0; f < p; f++) {
      const fo = f * nRows;
      // a byte outside the common run is an entry: one unsigned comparison, no lookup
      const lo = runs[2 * f]!;
      const span = runs[2 * f + 1]!;
      let r = from;
      if (span === 0 && words) {
        const skip = four(lo);
        for (const head = aligned(fo, r, to); r < head; r++) perRow[r - at]! += +(bins[fo + r]! !== lo);
        for (let q = (base + fo + r) >>> 2; r + 3 < to; r += 4, q++) {
          const w = words[q]!;
          if (w === skip) continue;
          const i = r - at;
          perRow[i]! += +((w & 255) !== lo);
          perRow[i + 1]! += +(((w >>> 8) & 255) !== lo);
          perRow[i + 2]! += +(((w >>> 16) & 255) !== lo);
          perRow[i + 3]! += +(w >>> 24 !== lo);
        }
      }
      for (; r < to; r++) perRow[r - at]! += +((bins[fo + r]! - lo) >>> 0 > span);
    }
  } else {
    const { slotOf, ptr, index } = a;
    const runs = commonRuns(slotOf, p);
    const first = ptr[at]!;
    const fill = ptr.slice(from, to);
    // every byte's slot is written without a branch (an entry or not is unpredictable in a column
    // of many values, or in a word with a 1 of a one-hot column): to its row's next entry, which
    // then moves on, or to the last word of `index`, which holds no entry (`sink`)
    const sink = index.length - 1;
    const put = (i: number, s: number) => {
      const keep = ~s >>> 31;
      const pos = fill[i]!;
      index[sink + ((pos - first - sink) & -keep)] = s;
      fill[i] = pos + keep;
    };
    for (let r0 = from; r0 < to; r0 += FILL_BLOCK) {
      const r1 = Math.min(to, r0 + FILL_BLOCK);
      for (let f = 0; f < p; f++) {
        const fo = f * nRows;
        const so = 256 * f;
        let r = r0;
        if (runs[2 * f + 1] === 0 && words) {
          const skip = four(runs[2 * f]!);
          for (const head = aligned(fo, r, r1); r < head; r++) put(r - from, slotOf[so + bins[fo + r]!]!);
          for (let q = (base + fo + r) >>> 2; r + 3 < r1; r += 4, q++) {
            const w = words[q]!;
            if (w === skip) continue;
            const i = r - from;
            put(i, slotOf[so + (w & 255)]!);
            put(i + 1, slotOf[so + ((w >>> 8) & 255)]!);
            put(i + 2, slotOf[so + ((w >>> 16) & 255)]!);
            put(i + 3, slotOf[so + (w >>> 24)]!);
          }
        }
        for (; r < r1; r++) put(r - from, slotOf[so + bins[fo + r]!]!);
      }
    }
  }
}

/** byteCounts' four tallies (sparseStep's count). */
const tallies = new Int32Array(1024);

/** The helper's share of a sparse-rows step (its outputs are relative to its first row). */
export function sparseRowsTask(a: SparseArgs): null {
  sparseStep(a, a.from);
  return null;
}

/**
 * histogram.ts's sparseRows, by row halves with the helper (bins on shared memory) when it can take
 * them, else on this thread (the same steps on every row): the same ptr, index and common.
 */
export function sparseRowsOnTwoThreads(
  bins: Uint8Array,
  nRows: number,
  nBins: Uint16Array,
  off: Int32Array,
  useHelper: boolean,
): SparseRows {
  const p = nBins.length;
  const halves =
    useHelper &&
    nRows >= SPARSE_PARALLEL_MIN_ROWS &&
    bins.buffer instanceof SharedArrayBuffer &&
    helperReady();
  const mid = halves ? nRows >>> 1 : nRows;
  const shared = { bins, nRows, nFeatures: p };
  const lower = { ...shared, from: 0, to: mid };
  const upper = { ...shared, from: mid, to: nRows };
  /**
   * One step: the lower half here into `mine`, the upper by the helper into `theirs`; returns whether
   * the helper did it. When it did not, the upper half is done here into `mine` too (a late helper
   * may still be writing `theirs`: never read). Without halves, every row here.
   */
  const split = (mine: SparseStep, theirs: SparseStep): boolean => {
    const here = () => sparseStep({ ...lower, ...mine } as SparseArgs, 0);
    if (!halves) {
      here();
      return false;
    }
    const args = { ...upper, ...theirs } as SparseArgs;
    const ok = helperReady()
      ? runWithHelper(task("hgb.sparseRows", args), here, undefined, WAIT_MS, FIT_HELPER_SPIN_MS)
      : null;
    if (ok === null) here();
    if (!ok) sparseStep({ ...upper, ...mine } as SparseArgs, 0);
    else handOffs++;
    return ok === true;
  };
  const sharedInts = (n: number) => new Int32Array(new SharedArrayBuffer(4 * Math.max(1, n)));
  // each feature's most common slot (the missing bin 255 is the feature's last slot, nBins[f])
  const counts = new Int32Array(256 * p);
  const theirCounts = sharedInts(256 * p);
  if (split({ step: "count", counts }, { step: "count", counts: theirCounts }))
    for (let i = 0; i < counts.length; i++) counts[i]! += theirCounts[i]!;
  const common = new Int32Array(p);
  const slotOf = sharedInts(256 * p);
  let entries = 0;
  for (let f = 0; f < p; f++) {
    const nb = nBins[f]!;
    const c = counts.subarray(256 * f, 256 * (f + 1));
    for (let b = nb + 1; b < 256; b++) c[nb]! += c[b]!;
    let best = 0;
    for (let b = 1; b <= nb; b++) if (c[b]! > c[best]!) best = b;
    common[f] = off[f]! + 3 * best;
    for (let b = 0; b < 256; b++) {
      const s = Math.min(b, nb);
      slotOf[256 * f + b] = s === best ? -1 : off[f]! + 3 * s;
    }
    entries += nRows - c[best]!;
  }
  // the histogram's half (SparseRows.half) from the slots' counts: the entries of each index, in
  // index order (features, then slots), without a pass over the entries
  let half = off[p]!;
  let below = 0;
  for (let f = 0; f < p && half === off[p]; f++) {
    const c = counts.subarray(256 * f, 256 * (f + 1));
    const best = (common[f]! - off[f]!) / 3;
    for (let s = 0; s <= nBins[f]!; s++) {
      const k = s === best ? 0 : c[s]!;
      if (2 * (below + k) > entries) {
        half = off[f]! + 3 * s;
        break;
      }
      below += k;
    }
  }
  const perRow = new Int32Array(nRows);
  const theirPerRow = sharedInts(nRows - mid);
  if (split({ step: "perRow", slotOf, perRow }, { step: "perRow", slotOf, perRow: theirPerRow }))
    perRow.set(theirPerRow.subarray(0, nRows - mid), mid);
  const ptr = sharedInts(nRows + 1);
  for (let r = 0; r < nRows; r++) ptr[r + 1] = ptr[r]! + perRow[r]!;
  // (each with a last word that holds no entry: the fill's sink)
  const index = new Int32Array(ptr[nRows]! + 1);
  const theirIndex = sharedInts(ptr[nRows]! - ptr[mid]! + 1);
  if (split({ step: "fill", slotOf, ptr, index }, { step: "fill", slotOf, ptr, index: theirIndex }))
    index.set(theirIndex.subarray(0, ptr[nRows]! - ptr[mid]!), ptr[mid]!);
  return { ptr: Int32Array.from(ptr), index: index.subarray(0, ptr[nRows]!), common, half };
}

declare module "../../core/tasks.ts" {
  interface TaskFns {
    "hgb.binColumns": typeof binColumnsTask;
    "hgb.sparseRows": typeof sparseRowsTask;
  }
}
