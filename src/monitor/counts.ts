/**
 * The counts a window keeps of the traffic a model scored, on the reference's bins (reference.ts): per
 * input, missing cells and rows per bin (numeric: the inner bins plus one below and one above them,
 * and the running sum, sum of squares, min and max) or per category (the training ones, then unseen
 * ones by name, at most `MAX_UNSEEN_NAMES` of them and the rest together); per output, threats, rows
 * per probability bin and per predicted class. Their size depends on the reference alone, never on
 * the rows counted (constant memory per window), and counting a row costs one bin lookup per cell:
 * a counter increment for an input whose edges lie on a grid (whole numbers to thousandths; at most 8
 * grid points: two SIMD comparisons per pair of cells, grid-count-wasm.ts), a guided search over ≤ 256
 * edges otherwise, an array read for a category (BENCHMARKS.md, issue 19).
 *
 * A scoring thread counts an upload beside its parse and its scoring (the inputs straight after the
 * parse, the outputs straight after the scoring: `batchCounter`, window-counter.ts) and hands the
 * counts over as one flat array (`flat`); the server adds them to the open window, so the event loop
 * does per batch work of the size of the bins, not of the rows. `countBatch` (window-counter.ts) gives a batch's counts as
 * `WindowCounts` for those that keep or send them as JSON (`netsec predict`'s inbox, the stream).
 */
import { z } from "zod";
import type { Frame } from "../core/frame.ts";
import type { ColumnProfile, DataProfile } from "../validate/profile.ts";
import { countGridValues, GRID_COUNT_MAX_VALUES } from "./grid-count-wasm.ts";
import { type MonitorReference, PROBABILITY_BINS } from "./reference.ts";

/** Unseen categories counted by name per input and window; the others are counted together. */
export const MAX_UNSEEN_NAMES = 50;
/** The bin label of the unseen categories past MAX_UNSEEN_NAMES. */
export const OTHER_UNSEEN = "(other unseen)";

/** The counts as the state file and the inbox keep them (checked when read back). */
export const WindowCountsSchema = z.object({
  rows: z.number().int().min(0),
  inputs: z.record(
    z.string(),
    z.discriminatedUnion("kind", [
      z.object({
        kind: z.literal("numeric"),
        missing: z.number().min(0),
        bins: z.array(z.number().min(0)),
        sum: z.number(),
        sumsq: z.number(),
        min: z.number().nullable(),
        max: z.number().nullable(),
      }),
      z.object({
        kind: z.literal("categorical"),
        missing: z.number().min(0),
        known: z.array(z.number().min(0)),
        unseen: z.record(z.string(), z.number().min(0)),
        unseen_other: z.number().min(0),
      }),
    ]),
  ),
  outputs: z.object({
    threats: z.number().min(0),
    probability: z.array(z.number().min(0)),
    classes: z.record(z.string(), z.number().min(0)),
  }),
});

export interface NumericCounts {
  kind: "numeric";
  missing: number;
  /** [below the first edge, inner bins…, above the last edge]. */
  bins: number[];
  sum: number;
  sumsq: number;
  min: number | null;
  max: number | null;
}

export interface CategoricalCounts {
  kind: "categorical";
  missing: number;
  /** Rows per training category, in the reference's order. */
  known: number[];
  unseen: Record<string, number>;
  unseen_other: number;
}

export interface OutputCounts {
  threats: number;
  probability: number[];
  classes: Record<string, number>;
}

export interface WindowCounts {
  rows: number;
  inputs: Record<string, NumericCounts | CategoricalCounts>;
  outputs: OutputCounts;
}

/** Zero counts on the reference's bins. */
export function emptyCounts(ref: MonitorReference): WindowCounts {
  const inputs: WindowCounts["inputs"] = {};
  for (const [name, c] of Object.entries(ref.inputs)) {
    inputs[name] =
      c.kind === "numeric"
        ? {
            kind: "numeric",
            missing: 0,
            bins: new Array<number>(c.edges.length + 2).fill(0),
            sum: 0,
            sumsq: 0,
            min: null,
            max: null,
          }
        : {
            kind: "categorical",
            missing: 0,
            known: new Array<number>(c.categories.length).fill(0),
            unseen: {},
            unseen_other: 0,
          };
  }
  return {
    rows: 0,
    inputs,
    outputs: { threats: 0, probability: new Array<number>(PROBABILITY_BINS).fill(0), classes: {} },
  };
}

/** Index of the first edge ≥ x (edges.length when none). */
function firstAtLeast(edges: Float64Array, x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A numeric input's bin lookup, built once per reference: the edges as a Float64Array for the binary
 * search and, when every edge lies on a grid of whole numbers, tenths, hundredths or thousandths
 * spanning fewer than `INT_TABLE_SPAN` grid points (counts, flags, ports, rates such as 0.07, …), a
 * table from a grid point to its slot in `bins`, so such a cell costs one array read.
 */
export interface BinLookup {
  edges: Float64Array;
  /** slot in `bins` of the grid value (gridLo + i) / unit, or null without a table. */
  table: Uint16Array | null;
  /** Grid points per unit of value: 1 (whole values), 10, 100 or 1000. */
  unit: number;
  /** The first edge × unit (a whole number). */
  gridLo: number;
  /**
   * The table's grid points, (gridLo + j) / unit, when there are at most GRID_COUNT_MAX_VALUES: a
   * column of them is counted by the WebAssembly kernel (grid-count-wasm.ts); else null.
   */
  values: Float64Array | null;
  lo: number;
  /**
   * Otherwise a guide: [first edge, last edge] cut into GUIDE_CELLS equal cells, `guide[c]` the index
   * of the first edge ≥ the start of cell c, so a value's search starts next to its edge.
   */
  guide: Uint16Array;
  /** Cells per unit of value. */
  scale: number;
}

const GUIDE_CELLS = 1024;

const INT_TABLE_SPAN = 1 << 16;
/** The grids tried for a table, finest last (a value k / unit is the double "k / unit" parses to). */
const GRID_UNITS = [1, 10, 100, 1000];
const lookupCache = new WeakMap<number[], BinLookup>();

export function lookupOf(edgeList: number[]): BinLookup {
  let l = lookupCache.get(edgeList);
  if (l) return l;
  const edges = Float64Array.from(edgeList);
  const m = edges.length;
  let table: Uint16Array | null = null;
  let unit = 1;
  let gridLo = 0;
  const lo = m ? edges[0]! : 0;
  for (const u of m > 0 ? GRID_UNITS : []) {
    const gLo = Math.round(lo * u);
    const gHi = Math.round(edges[m - 1]! * u);
    if (!(gHi - gLo < INT_TABLE_SPAN)) break; // a finer grid is only wider
    // every edge a grid point: k / u is the one double nearest k/u, as parsing the edge gave it
    if (!edges.every((e) => Math.round(e * u) / u === e)) continue;
    table = new Uint16Array(gHi - gLo + 1);
    for (let k = 0; k < table.length; k++) table[k] = firstAtLeast(edges, (gLo + k) / u) + 1;
    unit = u;
    gridLo = gLo;
    break;
  }
  const span = m ? edges[m - 1]! - lo : 0;
  const scale = span > 0 ? GUIDE_CELLS / span : 0;
  const guide = new Uint16Array(GUIDE_CELLS + 2);
  for (let c = 0; c < guide.length; c++) guide[c] = Math.min(m, firstAtLeast(edges, lo + c / (scale || 1)));
  const values =
    table !== null && table.length <= GRID_COUNT_MAX_VALUES
      ? Float64Array.from(table, (_, j) => (gridLo + j) / unit)
      : null;
  l = { edges, table, unit, gridLo, values, lo, guide, scale };
  lookupCache.set(edgeList, l);
  return l;
}

/**
 * The table index of x when x is a grid point of the table (then its slot is `table[index]`), else
 * −1. The test is exact: x must be the very double (gridLo + index) / unit.
 */
function gridIndex(table: Uint16Array, unit: number, gridLo: number, x: number): number {
  // (NaN and values far off the grid fail the last test, whatever `| 0` made of them)
  const j = (x * unit - gridLo + 0.5) | 0;
  return j >= 0 && j < table.length && (gridLo + j) / unit === x ? j : -1;
}

/**
 * Index of the first edge ≥ x, for x within [first edge, last edge]: from the guide's cell, a short
 * forward scan when the cell holds few edges, else a binary search between the cell's bounds.
 */
function guidedFirstAtLeast(l: BinLookup, x: number): number {
  const e = l.edges;
  const c = Math.min(GUIDE_CELLS, Math.floor((x - l.lo) * l.scale));
  // one edge of slack either side: the cell's bounds are computed in floating point
  let k = Math.max(0, l.guide[c]! - 1);
  const end = Math.min(e.length - 1, l.guide[c + 1]! + 1);
  if (end - k <= 8) {
    // x ≤ the last edge: the scan stops there at the latest
    while (e[k]! < x) k++;
    return k;
  }
  let hi = end;
  while (k < hi) {
    const mid = (k + hi) >>> 1;
    if (e[mid]! < x) k = mid + 1;
    else hi = mid;
  }
  return k;
}

const indexCache = new WeakMap<string[], Map<string, number>>();
export function indexOf(categories: string[]): Map<string, number> {
  let m = indexCache.get(categories);
  if (!m) {
    m = new Map(categories.map((c, i) => [c, i]));
    indexCache.set(categories, m);
  }
  return m;
}

/** What a scored batch needs to be counted: its input frame and the model's outputs for it. */
export interface ScoredBatch {
  frame: Frame;
  isThreat: ArrayLike<number>;
  probability: ArrayLike<number>;
  labelNames: readonly string[];
}

/** Count lanes: consecutive cells go to different copies of the counters (see countNumeric). */
export const LANES = 4;

/** Working room of countNumeric (scratchFor). */
export interface Scratch {
  perValue: Int32Array;
  off: Int32Array;
  bins: Int32Array;
}

/**
 * The running sums of a numeric column's cells (min +Infinity and max −Infinity when every cell is
 * missing); countNumeric leaves their bin counts in its scratch's `bins`.
 */
export interface CellSums {
  missing: number;
  sum: number;
  sumsq: number;
  min: number;
  max: number;
}

/**
 * The slot in a numeric input's `bins` of a present value `x`: 0 below the first edge, m + 1 above
 * the last, else 1 + the index of the first edge ≥ x (the table's slot when x lies on its grid).
 */
export function slotOf(look: BinLookup, x: number): number {
  const edges = look.edges;
  const m = edges.length;
  if (m === 0 || x > edges[m - 1]!) return m + 1;
  if (x < edges[0]!) return 0;
  const j = look.table === null ? -1 : gridIndex(look.table, look.unit, look.gridLo, x);
  return j >= 0 ? look.table![j]! : guidedFirstAtLeast(look, x) + 1;
}

/**
 * Cells `v[0..k)` into `bins` and `s`, one at a time: a missing cell, then below/above the edges,
 * then the table or the guided search. (countCellsAt is the same loop over chosen rows: two
 * functions, so that each stays monomorphic.)
 */
function countCells(v: Float64Array, k: number, look: BinLookup, bins: Int32Array, s: CellSums): void {
  let { missing, sum, sumsq, min, max } = s;
  // the previous cell's value and slot: a column often repeats a value from row to row (rates of 0)
  let prev = Number.NaN;
  let slot = 0;
  for (let t = 0; t < k; t++) {
    const x = v[t]!;
    if (Number.isNaN(x)) {
      missing++;
      continue;
    }
    sum += x;
    sumsq += x * x;
    if (x < min) min = x;
    if (x > max) max = x;
    if (x !== prev) {
      prev = x;
      slot = slotOf(look, x);
    }
    bins[slot]!++;
  }
  s.missing = missing;
  s.sum = sum;
  s.sumsq = sumsq;
  s.min = min;
  s.max = max;
}

/** countCells over the cells `v[idx[0..k)]`. */
function countCellsAt(
  v: Float64Array,
  idx: Int32Array,
  k: number,
  look: BinLookup,
  bins: Int32Array,
  s: CellSums,
): void {
  let { missing, sum, sumsq, min, max } = s;
  // the previous cell's value and slot: a column often repeats a value from row to row (rates of 0)
  let prev = Number.NaN;
  let slot = 0;
  for (let t = 0; t < k; t++) {
    const x = v[idx[t]!]!;
    if (Number.isNaN(x)) {
      missing++;
      continue;
    }
    sum += x;
    sumsq += x * x;
    if (x < min) min = x;
    if (x > max) max = x;
    if (x !== prev) {
      prev = x;
      slot = slotOf(look, x);
    }
    bins[slot]!++;
  }
  s.missing = missing;
  s.sum = sum;
  s.sumsq = sumsq;
  s.min = min;
  s.max = max;
}

/**
 * countNumeric's per-value loop (a column on a table of no more grid points than rows): each cell on
 * the table adds 1 to its value's counter in copy `i mod LANES` of `perValue`; the rows of the others
 * (missing, fractional, outside the edges) go to `off`, whose length it returns.
 */
function countPerValue(
  v: Float64Array,
  n: number,
  look: BinLookup,
  perValue: Int32Array,
  off: Int32Array,
): number {
  const table = look.table!;
  const span = table.length;
  const lo = look.lo;
  const unit = look.unit;
  const gridLo = look.gridLo;
  let k = 0;
  let i = 0;
  if (unit !== 1) {
    // a grid of decimals: each cell's grid index checked exactly (gridIndex)
    for (; i + LANES <= n; i += LANES) {
      const ja = gridIndex(table, unit, gridLo, v[i]!);
      const jb = gridIndex(table, unit, gridLo, v[i + 1]!);
      const jc = gridIndex(table, unit, gridLo, v[i + 2]!);
      const jd = gridIndex(table, unit, gridLo, v[i + 3]!);
      if (ja >= 0) perValue[ja]!++;
      else off[k++] = i;
      if (jb >= 0) perValue[span + jb]!++;
      else off[k++] = i + 1;
      if (jc >= 0) perValue[2 * span + jc]!++;
      else off[k++] = i + 2;
      if (jd >= 0) perValue[3 * span + jd]!++;
      else off[k++] = i + 3;
    }
  }
  for (; i + LANES <= n; i += LANES) {
    const a = v[i]! - lo;
    const b = v[i + 1]! - lo;
    const c = v[i + 2]! - lo;
    const d = v[i + 3]! - lo;
    const ja = a | 0;
    const jb = b | 0;
    const jc = c | 0;
    const jd = d | 0;
    // NaN and values off the table fail the tests (NaN | 0 is 0, never equal to NaN)
    if (ja === a && ja >= 0 && ja < span) perValue[ja]!++;
    else off[k++] = i;
    if (jb === b && jb >= 0 && jb < span) perValue[span + jb]!++;
    else off[k++] = i + 1;
    if (jc === c && jc >= 0 && jc < span) perValue[2 * span + jc]!++;
    else off[k++] = i + 2;
    if (jd === d && jd >= 0 && jd < span) perValue[3 * span + jd]!++;
    else off[k++] = i + 3;
  }
  for (; i < n; i++) {
    const ja = gridIndex(table, unit, gridLo, v[i]!);
    if (ja >= 0) perValue[ja]!++;
    else off[k++] = i;
  }
  return k;
}

/**
 * One numeric column's cells counted: the sums returned, the bins in `scratch.bins[0..edges + 2)`
 * (functions of their own: small loops V8 optimises once,
 * whatever the mix of columns around them).
 *
 * A whole-valued column whose table spans no more values than the batch has rows (flags, small
 * counts, ports of a narrow range: most inputs of the datasets here) is counted per value: each cell
 * only adds 1 to its value's counter, and the bins, sum, sum of squares, min and max are made from
 * the value counters afterwards (O(span) ≤ O(rows)). The counters come in LANES copies, cell i in
 * copy i mod LANES: an increment then never waits for the one before it to the same counter (a
 * column of few values hits one counter in a row), which made the plain loop three times slower.
 * Cells off the table (missing, fractional, outside the edges) are counted one by one after. A table
 * of at most GRID_COUNT_MAX_VALUES points is first offered to the WebAssembly kernel
 * (grid-count-wasm.ts), which counts a column of only those points and missing cells about four
 * times as fast and declines any other: the same per-value counts, so the same sums and bins.
 */
export function countNumeric(
  v: Float64Array,
  n: number,
  look: BinLookup,
  /** Room for LANES × n counters, n row numbers and the bins, reused from column to column. */
  scratch: Scratch,
): CellSums {
  const m = look.edges.length;
  const bins = scratch.bins.fill(0, 0, m + 2);
  const s: CellSums = {
    missing: 0,
    sum: 0,
    sumsq: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
  };
  const table = look.table;
  if (table !== null && table.length <= n) {
    const span = table.length;
    const unit = look.unit;
    const gridLo = look.gridLo;
    const perValue = scratch.perValue.fill(0, 0, LANES * span);
    const off = scratch.off;
    let k = 0;
    // a few grid points, every cell one of them or missing: counted by the WebAssembly kernel
    const missing = look.values === null ? -1 : countGridValues(v, n, look.values, perValue);
    if (missing >= 0) s.missing = missing;
    else {
      perValue.fill(0, 0, span);
      k = countPerValue(v, n, look, perValue, off);
    }
    let { sum, sumsq, min, max } = s;
    for (let j = 0; j < span; j++) {
      const cnt = perValue[j]! + perValue[span + j]! + perValue[2 * span + j]! + perValue[3 * span + j]!;
      if (cnt === 0) continue;
      const x = (gridLo + j) / unit;
      bins[table[j]!]! += cnt;
      sum += x * cnt;
      sumsq += x * x * cnt;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    s.sum = sum;
    s.sumsq = sumsq;
    s.min = min;
    s.max = max;
    countCellsAt(v, off, k, look, bins, s);
  } else countCells(v, n, look, bins, s);
  return s;
}

/** countNumeric's working room for batches of up to `rows` rows and inputs of up to `widest` edges. */
export function scratchFor(widest: number, rows: number): Scratch {
  return {
    perValue: new Int32Array(LANES * rows),
    off: new Int32Array(rows),
    bins: new Int32Array(widest + 2),
  };
}

export function addUnseen(
  acc: Pick<CategoricalCounts, "unseen" | "unseen_other">,
  name: string,
  n: number,
): void {
  if (name in acc.unseen) acc.unseen[name]! += n;
  else if (Object.keys(acc.unseen).length < MAX_UNSEEN_NAMES) acc.unseen[name] = n;
  else acc.unseen_other += n;
}

/** Adds `b` into `a` (both on the same reference's bins). */
export function addCounts(a: WindowCounts, b: WindowCounts): void {
  a.rows += b.rows;
  for (const [name, x] of Object.entries(b.inputs)) {
    const y = a.inputs[name];
    if (!y) continue;
    y.missing += x.missing;
    if (y.kind === "numeric" && x.kind === "numeric") {
      for (let i = 0; i < y.bins.length; i++) y.bins[i]! += x.bins[i] ?? 0;
      y.sum += x.sum;
      y.sumsq += x.sumsq;
      if (x.min !== null) y.min = y.min === null ? x.min : Math.min(y.min, x.min);
      if (x.max !== null) y.max = y.max === null ? x.max : Math.max(y.max, x.max);
    } else if (y.kind === "categorical" && x.kind === "categorical") {
      for (let i = 0; i < y.known.length; i++) y.known[i]! += x.known[i] ?? 0;
      for (const [k, v] of Object.entries(x.unseen)) addUnseen(y, k, v);
      y.unseen_other += x.unseen_other;
    }
  }
  const o = a.outputs;
  o.threats += b.outputs.threats;
  for (let i = 0; i < o.probability.length; i++) o.probability[i]! += b.outputs.probability[i] ?? 0;
  for (const [k, v] of Object.entries(b.outputs.classes)) o.classes[k] = (o.classes[k] ?? 0) + v;
}

/** Unseen categorical cells / non-missing categorical cells (0 without categorical inputs). */
export function unseenShare(c: WindowCounts): number {
  let unseen = 0;
  let all = 0;
  for (const x of Object.values(c.inputs)) {
    if (x.kind !== "categorical") continue;
    const u = Object.values(x.unseen).reduce((s, v) => s + v, 0) + x.unseen_other;
    unseen += u;
    all += u + x.known.reduce((s, v) => s + v, 0);
  }
  return all ? unseen / all : 0;
}

/**
 * The window as a profile on the reference's bins (each inner bin's upper edge standing for its rows,
 * the outside bins for their rows at the window's min and max): the current side of `detectDrift`.
 */
export function windowProfile(ref: MonitorReference, c: WindowCounts): DataProfile {
  const columns: Record<string, ColumnProfile> = {};
  for (const [name, r] of Object.entries(ref.inputs)) {
    const x = c.inputs[name];
    if (!x) continue;
    if (r.kind === "categorical" && x.kind === "categorical") {
      const categories: Record<string, number> = {};
      r.categories.forEach((k, i) => {
        if (x.known[i]! > 0) categories[k] = x.known[i]!;
      });
      for (const [k, v] of Object.entries(x.unseen)) categories[k] = v;
      if (x.unseen_other > 0) categories[OTHER_UNSEEN] = x.unseen_other;
      const n = Object.values(categories).reduce((s, v) => s + v, 0);
      columns[name] = {
        kind: "categorical",
        n,
        missing: x.missing,
        distinct: Object.keys(categories).length,
        categories,
      };
    } else if (r.kind === "numeric" && x.kind === "numeric") {
      const values: number[] = [];
      const counts: number[] = [];
      const m = r.edges.length;
      for (let i = 0; i < m + 2; i++) {
        const k = x.bins[i]!;
        if (k === 0) continue;
        values.push(i === 0 ? x.min! : i === m + 1 ? x.max! : r.edges[i - 1]!);
        counts.push(k);
      }
      const n = counts.reduce((s, v) => s + v, 0);
      const mean = n ? x.sum / n : Number.NaN;
      columns[name] = {
        kind: "numeric",
        n,
        missing: x.missing,
        distinct: values.length,
        values,
        counts,
        sampled: false,
        sampleSize: n,
        min: x.min ?? Number.NaN,
        max: x.max ?? Number.NaN,
        mean,
        std: n ? Math.sqrt(Math.max(0, x.sumsq / n - mean * mean)) : Number.NaN,
      };
    }
  }
  return { format: "netsec-profile", version: 1, dataset: ref.dataset, rows: c.rows, columns };
}
