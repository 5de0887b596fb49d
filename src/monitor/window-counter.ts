/**
 * The open window's counts while it fills: every count of `WindowCounts` (counts.ts) in flat typed
 * arrays laid out once per reference, so that counting a scored batch into the window allocates
 * nothing and does work proportional to the batch's cells alone — no fresh set of counts per batch,
 * no pass over every bin of every input to add it (`POST /predict/records` with 100 records spent
 * more on those than on the cells: BENCHMARKS.md, "Monitoring's cost on scoring"). `counts()` gives
 * the window as `WindowCounts` when it is saved, closed or shown.
 */
import {
  addUnseen,
  type BinLookup,
  countNumeric,
  indexOf,
  lookupOf,
  type NumericCounts,
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
  /** Index of this input in the per-input arrays. */
  input: number;
  /** First of its edges + 2 slots in `bins` ([below, inner bins…, above], as `NumericCounts.bins`). */
  offset: number;
  slots: number;
  look: BinLookup;
}

interface CategoricalSlot {
  kind: "categorical";
  name: string;
  input: number;
  /** First of its training categories' slots in `bins`. */
  offset: number;
  slots: number;
  index: Map<string, number>;
  /** Categories never seen in training, by name (at most MAX_UNSEEN_NAMES), and the rest together. */
  unseen: { unseen: Record<string, number>; unseen_other: number };
}

export class WindowCounter {
  readonly ref: MonitorReference;
  rows = 0;
  private readonly inputs: (NumericSlot | CategoricalSlot)[] = [];
  /** Every numeric input's bins and every categorical input's training categories, end to end. */
  private readonly bins: Float64Array;
  /** Per input: missing cells; numeric ones also the sum, sum of squares, min and max of the others. */
  private readonly missing: Float64Array;
  private readonly sum: Float64Array;
  private readonly sumsq: Float64Array;
  /** +Infinity / −Infinity while no value was counted (then `counts()` gives null). */
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  private threats = 0;
  private readonly probability = new Float64Array(PROBABILITY_BINS);
  private readonly classes = new Map<string, number>();
  /** countNumeric's room (grown to the largest batch) and a batch's counts of one input. */
  private scratch: Scratch | null = null;
  private readonly widest: number;
  private readonly column: NumericCounts;

  constructor(ref: MonitorReference) {
    this.ref = ref;
    let offset = 0;
    for (const [name, r] of Object.entries(ref.inputs)) {
      const input = this.inputs.length;
      if (r.kind === "numeric") {
        const slots = r.edges.length + 2;
        this.inputs.push({ kind: "numeric", name, input, offset, slots, look: lookupOf(r.edges) });
        offset += slots;
      } else {
        const slots = r.categories.length;
        this.inputs.push({
          kind: "categorical",
          name,
          input,
          offset,
          slots,
          index: indexOf(r.categories),
          unseen: { unseen: {}, unseen_other: 0 },
        });
        offset += slots;
      }
    }
    const k = this.inputs.length;
    this.widest = Math.max(0, ...this.inputs.map((i) => (i.kind === "numeric" ? i.slots - 2 : 0)));
    this.column = {
      kind: "numeric",
      missing: 0,
      bins: new Array<number>(this.widest + 2).fill(0),
      sum: 0,
      sumsq: 0,
      min: null,
      max: null,
    };
    this.bins = new Float64Array(offset);
    this.missing = new Float64Array(k);
    this.sum = new Float64Array(k);
    this.sumsq = new Float64Array(k);
    this.min = new Float64Array(k).fill(Number.POSITIVE_INFINITY);
    this.max = new Float64Array(k).fill(Number.NEGATIVE_INFINITY);
  }

  /** A counter holding `c` (counts on `ref`'s bins, e.g. an open window read back from the state file). */
  static of(ref: MonitorReference, c: WindowCounts): WindowCounter {
    const w = new WindowCounter(ref);
    w.add(c);
    return w;
  }

  /** Count a scored batch, cell by cell. */
  count(b: ScoredBatch): void {
    const n = b.frame.nRows;
    this.rows += n;
    for (const slot of this.inputs) {
      if (!b.frame.has(slot.name)) continue;
      const col = b.frame.column(slot.name);
      if (slot.kind === "numeric" && col.kind === "numeric") this.countNumeric(slot, col.values, n);
      else if (slot.kind === "categorical" && col.kind === "categorical")
        this.countCategorical(slot, col.codes, col.categories, n);
    }
    const probability = this.probability;
    let threats = 0;
    // the predicted classes: a few names, the same string objects row after row
    let name: string | undefined;
    let run = 0;
    for (let i = 0; i < n; i++) {
      if (b.isThreat[i] === 1) threats++;
      const p = b.probability[i]!;
      if (!Number.isNaN(p)) probability[probabilityBin(p)]!++;
      const c = b.labelNames[i]!;
      if (c !== name) {
        if (name !== undefined) this.classes.set(name, (this.classes.get(name) ?? 0) + run);
        name = c;
        run = 0;
      }
      run++;
    }
    if (name !== undefined) this.classes.set(name, (this.classes.get(name) ?? 0) + run);
    this.threats += threats;
  }

  private countNumeric(slot: NumericSlot, v: Float64Array, n: number): void {
    const bins = this.bins;
    const look = slot.look;
    const offset = slot.offset;
    const k = slot.input;
    if (look.table !== null && look.table.length <= n) {
      // few values on a grid (flags, small counts): counted per value without a branch on the
      // value (counts.ts countNumeric), then added; the plain loop below mispredicts a branch on
      // most cells of a column that alternates between values
      if (this.scratch === null || this.scratch.off.length < n) this.scratch = scratchFor(this.widest, n);
      const c = this.column;
      countNumeric(v, n, look, c, this.scratch);
      for (let i = 0; i < slot.slots; i++) bins[offset + i]! += c.bins[i]!;
      this.missing[k]! += c.missing;
      this.sum[k]! += c.sum;
      this.sumsq[k]! += c.sumsq;
      if (c.min !== null && c.min < this.min[k]!) this.min[k] = c.min;
      if (c.max !== null && c.max > this.max[k]!) this.max[k] = c.max;
      return;
    }
    let missing = 0;
    let sum = 0;
    let sumsq = 0;
    let min = this.min[k]!;
    let max = this.max[k]!;
    // the previous cell's value and slot: a column often repeats a value from row to row (flags, 0)
    let prev = Number.NaN;
    let at = 0;
    for (let i = 0; i < n; i++) {
      const x = v[i]!;
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
        at = offset + slotOf(look, x);
      }
      bins[at]!++;
    }
    this.missing[k]! += missing;
    this.sum[k]! += sum;
    this.sumsq[k]! += sumsq;
    this.min[k] = min;
    this.max[k] = max;
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
    const bins = this.bins;
    const offset = slot.offset;
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const c = codes[i]!;
      if (c < 0) {
        missing++;
        continue;
      }
      const j = toSlot[c]!;
      if (j >= 0) bins[offset + j]!++;
      else unseen[c]!++;
    }
    this.missing[slot.input]! += missing;
    for (let c = 0; c < categories.length; c++)
      if (unseen[c]! > 0) addUnseen(slot.unseen, categories[c]!, unseen[c]!);
  }

  /** Add counts made elsewhere on the same reference's bins (a scoring thread's `countBatch`, an inbox file). */
  add(c: WindowCounts): void {
    this.rows += c.rows;
    const bins = this.bins;
    for (const slot of this.inputs) {
      const x = c.inputs[slot.name];
      if (!x) continue;
      const k = slot.input;
      this.missing[k]! += x.missing;
      if (slot.kind === "numeric" && x.kind === "numeric") {
        for (let i = 0; i < slot.slots; i++) bins[slot.offset + i]! += x.bins[i] ?? 0;
        this.sum[k]! += x.sum;
        this.sumsq[k]! += x.sumsq;
        if (x.min !== null && x.min < this.min[k]!) this.min[k] = x.min;
        if (x.max !== null && x.max > this.max[k]!) this.max[k] = x.max;
      } else if (slot.kind === "categorical" && x.kind === "categorical") {
        for (let i = 0; i < slot.slots; i++) bins[slot.offset + i]! += x.known[i] ?? 0;
        for (const [name, v] of Object.entries(x.unseen)) addUnseen(slot.unseen, name, v);
        slot.unseen.unseen_other += x.unseen_other;
      }
    }
    this.threats += c.outputs.threats;
    for (let i = 0; i < PROBABILITY_BINS; i++) this.probability[i]! += c.outputs.probability[i] ?? 0;
    for (const [name, v] of Object.entries(c.outputs.classes))
      this.classes.set(name, (this.classes.get(name) ?? 0) + v);
  }

  /** The counts so far, as the state file keeps them. */
  counts(): WindowCounts {
    const inputs: WindowCounts["inputs"] = {};
    for (const slot of this.inputs) {
      const k = slot.input;
      const at = Array.from(this.bins.subarray(slot.offset, slot.offset + slot.slots));
      if (slot.kind === "numeric") {
        // no value counted: min stays +Infinity above max's −Infinity
        const any = this.min[k]! <= this.max[k]!;
        inputs[slot.name] = {
          kind: "numeric",
          missing: this.missing[k]!,
          bins: at,
          sum: this.sum[k]!,
          sumsq: this.sumsq[k]!,
          min: any ? this.min[k]! : null,
          max: any ? this.max[k]! : null,
        };
      } else
        inputs[slot.name] = {
          kind: "categorical",
          missing: this.missing[k]!,
          known: at,
          unseen: { ...slot.unseen.unseen },
          unseen_other: slot.unseen.unseen_other,
        };
    }
    return {
      rows: this.rows,
      inputs,
      outputs: {
        threats: this.threats,
        probability: Array.from(this.probability),
        classes: Object.fromEntries(this.classes),
      },
    };
  }
}
