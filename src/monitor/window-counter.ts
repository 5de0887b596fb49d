/**
 * Counts of scored traffic on a reference's bins in one flat Float64Array laid out once per reference
 * (`layoutOf`): a window's counts while it fills, and a batch's counts as a scoring thread hands them
 * over (`FlatCounts`). Counting a batch allocates nothing and does work proportional to its cells
 * alone — no fresh set of counts per batch, no pass over every bin of every input to add it
 * (`POST /predict/records` with 100 records spent more on those than on the cells: BENCHMARKS.md,
 * "Monitoring's cost on scoring"). A scoring thread's counts cross to the event loop as that one
 * array (a copy of bytes, where the counts as objects — an object and an array per input — cost
 * 40 µs a 1,000-row upload to clone and made as many objects to collect) and are added into the
 * window in one pass over it. `counts()` gives the counts as `WindowCounts` (counts.ts) when the
 * window is saved, closed or shown.
 */
import type { Frame } from "../core/frame.ts";
import {
  addUnseen,
  type BinLookup,
  countNumeric,
  indexOf,
  lookupOf,
  type ScoredBatch,
  type Scratch,
  scratchFor,
  slotOf,
  type WindowCounts,
} from "./counts.ts";
import { type MonitorReference, PROBABILITY_BINS, probabilityBin } from "./reference.ts";

interface NumericSlot {
  kind: "numeric";
  name: string;
  /** Index of this input among the reference's inputs (its min and max: `minAt + k`, `maxAt + k`). */
  input: number;
  /** Its missing cells; then the sum and the sum of squares of the others; then its bins. */
  missing: number;
  sum: number;
  sumsq: number;
  /** First of its edges + 2 bins ([below, inner bins…, above], as `NumericCounts.bins`). */
  bins: number;
  slots: number;
  look: BinLookup;
}

interface CategoricalSlot {
  kind: "categorical";
  name: string;
  input: number;
  missing: number;
  /** Cells of categories never seen in training past the MAX_UNSEEN_NAMES counted by name. */
  other: number;
  /** First of its training categories' counts. */
  bins: number;
  slots: number;
  index: Map<string, number>;
}

/**
 * Where each count of a reference's inputs and outputs lies in the flat array:
 * [rows, threats, probability bins…, per input (missing, sum, sumsq, bins… | missing, unseen other,
 * known…)…, per input min…, per input max…]. Everything before `minAt` is added; the mins and maxes
 * (±Infinity while no value was counted) are compared.
 */
interface CountsLayout {
  inputs: readonly (NumericSlot | CategoricalSlot)[];
  minAt: number;
  maxAt: number;
  length: number;
  /** The most edges of a numeric input. */
  widest: number;
}

const ROWS = 0;
const THREATS = 1;
const PROBABILITY = 2;

const layouts = new WeakMap<MonitorReference, CountsLayout>();

function layoutOf(ref: MonitorReference): CountsLayout {
  let l = layouts.get(ref);
  if (l) return l;
  const inputs: (NumericSlot | CategoricalSlot)[] = [];
  let at = PROBABILITY + PROBABILITY_BINS;
  let widest = 0;
  for (const [name, r] of Object.entries(ref.inputs)) {
    const input = inputs.length;
    if (r.kind === "numeric") {
      const slots = r.edges.length + 2;
      inputs.push({
        kind: "numeric",
        name,
        input,
        missing: at,
        sum: at + 1,
        sumsq: at + 2,
        bins: at + 3,
        slots,
        look: lookupOf(r.edges),
      });
      at += 3 + slots;
      widest = Math.max(widest, r.edges.length);
    } else {
      const slots = r.categories.length;
      inputs.push({
        kind: "categorical",
        name,
        input,
        missing: at,
        other: at + 1,
        bins: at + 2,
        slots,
        index: indexOf(r.categories),
      });
      at += 2 + slots;
    }
  }
  l = { inputs, minAt: at, maxAt: at + inputs.length, length: at + 2 * inputs.length, widest };
  layouts.set(ref, l);
  return l;
}

/**
 * A batch's counts as a scoring thread hands them to the event loop (structured clone: the array is a
 * copy of its bytes): `values` in the reference's layout, and what has names.
 */
export interface FlatCounts {
  values: Float64Array;
  /** [input index, category, cells] of categories never seen in training, counted by name. */
  unseen: [number, string, number][];
  /** [predicted class, rows]. */
  classes: [string, number][];
}

/** countNumeric's room (grown to the largest batch), shared: counting is synchronous, one at a time. */
let scratch: Scratch | null = null;

function scratchOf(widest: number, rows: number): Scratch {
  if (scratch === null || scratch.off.length < rows || scratch.bins.length < widest + 2)
    scratch = scratchFor(
      Math.max(widest, scratch ? scratch.bins.length - 2 : 0),
      Math.max(rows, scratch ? scratch.off.length : 64),
    );
  return scratch;
}

export class WindowCounter {
  readonly ref: MonitorReference;
  private readonly layout: CountsLayout;
  /** Every count, in `layout`. */
  private readonly values: Float64Array;
  /** Per input: categories never seen in training, by name (at most MAX_UNSEEN_NAMES). */
  private readonly unseen: Record<string, number>[];
  /** Whether any category never seen in training was counted (`clear` then empties `unseen`). */
  private anyUnseen = false;
  private readonly classes = new Map<string, number>();
  /** A batch's predicted classes and their rows while it is counted (reused from batch to batch). */
  private readonly batchNames: string[] = [];
  private readonly batchPerName: number[] = [];

  constructor(ref: MonitorReference) {
    this.ref = ref;
    const l = layoutOf(ref);
    this.layout = l;
    this.values = new Float64Array(l.length);
    this.unseen = l.inputs.map(() => ({}));
    this.clear();
  }

  /** Every count back to none. */
  clear(): void {
    const l = this.layout;
    this.values.fill(0, 0, l.minAt);
    this.values.fill(Number.POSITIVE_INFINITY, l.minAt, l.maxAt);
    this.values.fill(Number.NEGATIVE_INFINITY, l.maxAt, l.length);
    if (this.anyUnseen) for (let k = 0; k < this.unseen.length; k++) this.unseen[k] = {};
    this.anyUnseen = false;
    this.classes.clear();
  }

  /** Rows counted. */
  get rows(): number {
    return this.values[ROWS]!;
  }

  /** A counter holding `c` (counts on `ref`'s bins, e.g. an open window read back from the state file). */
  static of(ref: MonitorReference, c: WindowCounts): WindowCounter {
    const w = new WindowCounter(ref);
    w.add(c);
    return w;
  }

  /** Count a scored batch, cell by cell. */
  count(b: ScoredBatch): void {
    this.countInputs(b.frame);
    this.countOutputs(b, b.frame.nRows);
  }

  /** Count a batch's rows and input cells (`countOutputs` then counts the model's outputs for it). */
  countInputs(frame: Frame): void {
    const n = frame.nRows;
    this.values[ROWS]! += n;
    for (const slot of this.layout.inputs) {
      if (!frame.has(slot.name)) continue;
      const col = frame.column(slot.name);
      if (slot.kind === "numeric" && col.kind === "numeric") this.countNumeric(slot, col.values, n);
      else if (slot.kind === "categorical" && col.kind === "categorical")
        this.countCategorical(slot, col.codes, col.categories, n);
    }
  }

  /** Count the model's outputs for the `n` rows of a batch whose inputs `countInputs` counted. */
  countOutputs(b: Omit<ScoredBatch, "frame">, n: number): void {
    const v = this.values;
    let threats = 0;
    // the predicted classes: a few names, the same string objects row after row, alternating (a
    // Map's update at each change cost more than the rest of the row): counted in a short list
    const names = this.batchNames;
    const perName = this.batchPerName;
    names.length = 0;
    perName.length = 0;
    let at = -1;
    const { isThreat, probability, labelNames } = b;
    for (let i = 0; i < n; i++) {
      if (isThreat[i] === 1) threats++;
      const p = probability[i]!;
      if (!Number.isNaN(p)) v[PROBABILITY + probabilityBin(p)]!++;
      const c = labelNames[i]!;
      if (at < 0 || names[at] !== c) {
        at = names.indexOf(c);
        if (at < 0) {
          at = names.length;
          names.push(c);
          perName.push(0);
        }
      }
      perName[at]!++;
    }
    for (let k = 0; k < names.length; k++)
      this.classes.set(names[k]!, (this.classes.get(names[k]!) ?? 0) + perName[k]!);
    v[THREATS]! += threats;
  }

  private countNumeric(slot: NumericSlot, x: Float64Array, n: number): void {
    const v = this.values;
    const look = slot.look;
    const k = slot.input;
    const minAt = this.layout.minAt + k;
    const maxAt = this.layout.maxAt + k;
    if (look.table !== null && look.table.length <= n) {
      // few values on a grid (flags, small counts): counted per value without a branch on the
      // value (counts.ts countNumeric), then added; the plain loop below mispredicts a branch on
      // most cells of a column that alternates between values
      const room = scratchOf(this.layout.widest, n);
      const s = countNumeric(x, n, look, room);
      const bins = room.bins;
      for (let i = 0; i < slot.slots; i++) v[slot.bins + i]! += bins[i]!;
      v[slot.missing]! += s.missing;
      v[slot.sum]! += s.sum;
      v[slot.sumsq]! += s.sumsq;
      if (s.min < v[minAt]!) v[minAt] = s.min;
      if (s.max > v[maxAt]!) v[maxAt] = s.max;
      return;
    }
    const offset = slot.bins;
    let missing = 0;
    let sum = 0;
    let sumsq = 0;
    let min = v[minAt]!;
    let max = v[maxAt]!;
    // the previous cell's value and slot: a column often repeats a value from row to row (flags, 0)
    let prev = Number.NaN;
    let at = 0;
    for (let i = 0; i < n; i++) {
      const c = x[i]!;
      if (Number.isNaN(c)) {
        missing++;
        continue;
      }
      sum += c;
      sumsq += c * c;
      if (c < min) min = c;
      if (c > max) max = c;
      if (c !== prev) {
        prev = c;
        at = offset + slotOf(look, c);
      }
      v[at]!++;
    }
    v[slot.missing]! += missing;
    v[slot.sum]! += sum;
    v[slot.sumsq]! += sumsq;
    v[minAt] = min;
    v[maxAt] = max;
  }

  private countCategorical(
    slot: CategoricalSlot,
    codes: Int32Array,
    categories: readonly string[],
    n: number,
  ): void {
    // the column's codes → the reference's slots (−1: never seen in training), once per batch
    const toSlot = new Int32Array(categories.length);
    for (let c = 0; c < categories.length; c++) toSlot[c] = slot.index.get(categories[c]!) ?? -1;
    const unseen = new Float64Array(categories.length);
    const v = this.values;
    const offset = slot.bins;
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const c = codes[i]!;
      if (c < 0) {
        missing++;
        continue;
      }
      const j = toSlot[c]!;
      if (j >= 0) v[offset + j]!++;
      else unseen[c]!++;
    }
    v[slot.missing]! += missing;
    for (let c = 0; c < categories.length; c++)
      if (unseen[c]! > 0) this.addUnseen(slot, categories[c]!, unseen[c]!);
  }

  private addUnseen(slot: CategoricalSlot, name: string, n: number): void {
    this.anyUnseen = true;
    const named = this.unseen[slot.input]!;
    const acc = { unseen: named, unseen_other: 0 };
    addUnseen(acc, name, n);
    this.values[slot.other]! += acc.unseen_other;
  }

  /** The counts so far as a scoring thread hands them over (`addFlat` adds them to another counter). */
  flat(): FlatCounts {
    const unseen: FlatCounts["unseen"] = [];
    this.unseen.forEach((named, k) => {
      for (const [name, n] of Object.entries(named)) unseen.push([k, name, n]);
    });
    return { values: this.values.slice(), unseen, classes: [...this.classes] };
  }

  /** Add a batch's counts made on the same reference's bins by `flat` (on a scoring thread). */
  addFlat(c: FlatCounts): void {
    const v = this.values;
    const x = c.values;
    const l = this.layout;
    if (x.length !== l.length)
      throw new RangeError(`counts of ${x.length} numbers for a layout of ${l.length}: another reference`);
    for (let i = 0; i < l.minAt; i++) v[i]! += x[i]!;
    for (let i = l.minAt; i < l.maxAt; i++) if (x[i]! < v[i]!) v[i] = x[i]!;
    for (let i = l.maxAt; i < l.length; i++) if (x[i]! > v[i]!) v[i] = x[i]!;
    for (const [k, name, n] of c.unseen) {
      const slot = l.inputs[k];
      if (slot?.kind === "categorical") this.addUnseen(slot, name, n);
    }
    for (const [name, n] of c.classes) this.classes.set(name, (this.classes.get(name) ?? 0) + n);
  }

  /** Add counts made elsewhere on the same reference's bins (an inbox file, the stream, the state file). */
  add(c: WindowCounts): void {
    const v = this.values;
    const l = this.layout;
    v[ROWS]! += c.rows;
    for (const slot of l.inputs) {
      const x = c.inputs[slot.name];
      if (!x) continue;
      v[slot.missing]! += x.missing;
      if (slot.kind === "numeric" && x.kind === "numeric") {
        for (let i = 0; i < slot.slots; i++) v[slot.bins + i]! += x.bins[i] ?? 0;
        v[slot.sum]! += x.sum;
        v[slot.sumsq]! += x.sumsq;
        const minAt = l.minAt + slot.input;
        const maxAt = l.maxAt + slot.input;
        if (x.min !== null && x.min < v[minAt]!) v[minAt] = x.min;
        if (x.max !== null && x.max > v[maxAt]!) v[maxAt] = x.max;
      } else if (slot.kind === "categorical" && x.kind === "categorical") {
        for (let i = 0; i < slot.slots; i++) v[slot.bins + i]! += x.known[i] ?? 0;
        for (const [name, n] of Object.entries(x.unseen)) this.addUnseen(slot, name, n);
        v[slot.other]! += x.unseen_other;
      }
    }
    v[THREATS]! += c.outputs.threats;
    for (let i = 0; i < PROBABILITY_BINS; i++) v[PROBABILITY + i]! += c.outputs.probability[i] ?? 0;
    for (const [name, n] of Object.entries(c.outputs.classes))
      this.classes.set(name, (this.classes.get(name) ?? 0) + n);
  }

  /** The counts so far, as the state file keeps them. */
  counts(): WindowCounts {
    const v = this.values;
    const l = this.layout;
    const inputs: WindowCounts["inputs"] = {};
    for (const slot of l.inputs) {
      const at = Array.from(v.subarray(slot.bins, slot.bins + slot.slots));
      if (slot.kind === "numeric") {
        const min = v[l.minAt + slot.input]!;
        const max = v[l.maxAt + slot.input]!;
        // no value counted: min stays +Infinity above max's −Infinity
        const any = min <= max;
        inputs[slot.name] = {
          kind: "numeric",
          missing: v[slot.missing]!,
          bins: at,
          sum: v[slot.sum]!,
          sumsq: v[slot.sumsq]!,
          min: any ? min : null,
          max: any ? max : null,
        };
      } else
        inputs[slot.name] = {
          kind: "categorical",
          missing: v[slot.missing]!,
          known: at,
          unseen: { ...this.unseen[slot.input]! },
          unseen_other: v[slot.other]!,
        };
    }
    return {
      rows: v[ROWS]!,
      inputs,
      outputs: {
        threats: v[THREATS]!,
        probability: Array.from(v.subarray(PROBABILITY, PROBABILITY + PROBABILITY_BINS)),
        classes: Object.fromEntries(this.classes),
      },
    };
  }
}

/** Each reference's batch counter on this thread (emptied for every batch: no counter made per batch). */
const batchCounters = new WeakMap<MonitorReference, WindowCounter>();

/** The counts of one scored batch on the reference's bins, as WindowCounts (the stream's and `netsec predict`'s form). */
export function countBatch(ref: MonitorReference, b: ScoredBatch): WindowCounts {
  const w = batchCounter(ref);
  w.count(b);
  return w.counts();
}

/**
 * A scored batch's counts as a scoring thread hands them over (the server's `addFlat` adds them): what
 * an upload's `batchCounter` holds after `countInputs` and `countOutputs` (score-csv.ts), in one call.
 */
export function countBatchFlat(ref: MonitorReference, b: ScoredBatch): FlatCounts {
  const w = batchCounter(ref);
  w.count(b);
  return w.flat();
}

/**
 * The reference's batch counter on this thread, emptied: count a batch into it (`countInputs`, then
 * `countOutputs`) and hand over its `flat()` counts before anything else on this thread counts a
 * batch (no await in between).
 */
export function batchCounter(ref: MonitorReference): WindowCounter {
  let w = batchCounters.get(ref);
  if (w === undefined) {
    w = new WindowCounter(ref);
    batchCounters.set(ref, w);
  } else w.clear();
  return w;
}
