/**
 * A batch of well-formed record texts → the model's input Frame in one pass, without building a JS
 * object per record: the common case of `netsec stream`, where the record-by-record path (JSON.parse
 * or csv-parse, then `recordsToFrame`'s per-cell checks) cost ~15 µs a record, most of a consumer's
 * budget at 100,000 records/s.
 *
 * The fast path accepts a strict subset of what the general path accepts and gives the identical Frame
 * (same FrameBuilder calls, in the same order, with the same values): any record outside that subset
 * makes it return null, and the caller handles the whole batch by the general path, which also finds
 * and words the reasons of bad records. The subset:
 *  - JSON: one object, whitespace as JSON allows; keys without escapes; values that are strings
 *    without escapes or control characters, JSON numbers, or null (no booleans, arrays or objects);
 *    no key twice; every input column present.
 *  - CSV: a line without quotes, CR or LF, with as many comma-separated cells as the declared header.
 * Each cell goes through `coerceCell` (the same schema checks); a cell with any problem (a type,
 * domain or missing-value problem, or a bad label when the record carries the target) sends the batch
 * to the general path. `coerceCell` is a pure function of the cell's text and its column, so its
 * results are memoised per column (up to MEMO_MAX distinct texts each: flow features repeat).
 */
import type { Frame } from "../core/frame.ts";
import { allowedSet, type CellCheck, coerceCell } from "../datasets/coerce.ts";
import { FrameBuilder } from "../datasets/frame-builder.ts";
import type { ColumnSpec, DatasetSchema } from "../datasets/schema.ts";
import type { RecordFormat } from "./records.ts";

/**
 * A batch's record texts → the Frame of `inputs` (the model's input columns), or null: use the
 * general path for this batch.
 */
export type FastFrame = (
  values: readonly string[],
  schema: DatasetSchema,
  inputs: readonly string[],
) => Frame | null;

/** Distinct cell texts memoised per column (a bound for columns of free text or real numbers). */
const MEMO_MAX = 4096;

/** Short string cells per column whose checks are found by a scan rather than a Map lookup. */
const SHORT_SCANNED = 8;

/** A column the fast path reads: its spec and memoised checks. */
class Cell {
  readonly spec: ColumnSpec;
  private readonly allowed: Set<string> | null;
  /** Checks of string cells (JSON strings, CSV cells) and of JSON number literals, by their text. */
  private readonly strings = new Map<string, CellCheck>();
  private readonly numbers = new Map<string, CellCheck>();
  /**
   * Checks of string cells of up to 3 one-byte units, by `stringAt`'s code (a small integer): a few
   * in `codes`/`checks`, scanned in order (flow features take a handful of such texts), more in `short`.
   */
  private readonly codes: number[] = [];
  private readonly checks: CellCheck[] = [];
  private readonly short = new Map<number, CellCheck>();
  private nullCheck: CellCheck | null = null;

  constructor(spec: ColumnSpec) {
    this.spec = spec;
    this.allowed = allowedSet(spec);
  }

  string(text: string): CellCheck {
    let c = this.strings.get(text);
    if (c === undefined) {
      c = coerceCell(text, this.spec, this.allowed);
      if (this.strings.size < MEMO_MAX) this.strings.set(text, c);
    }
    return c;
  }

  /**
   * The string cell `t[from, to)`. Texts of up to 3 one-byte units (the -1/0/1 codes of flow features)
   * are memoised by a small integer built from their units, sparing a slice and a string hash per cell.
   */
  stringAt(t: string, from: number, to: number): CellCheck {
    const n = to - from;
    if (n > 3) return this.string(t.slice(from, to));
    // n in 2 bits, then each unit in 8 bits: below 2^26, a small integer
    let code = n;
    for (let k = from, shift = 2; k < to; k++, shift += 8) {
      const ch = t.charCodeAt(k);
      if (ch > 255) return this.string(t.slice(from, to));
      code |= ch << shift;
    }
    const codes = this.codes;
    for (let k = 0; k < codes.length; k++) if (codes[k] === code) return this.checks[k]!;
    let c = this.short.get(code);
    if (c === undefined) {
      c = this.string(t.slice(from, to));
      if (codes.length < SHORT_SCANNED) {
        codes.push(code);
        this.checks.push(c);
      } else this.short.set(code, c);
    }
    return c;
  }

  /** `literal` is a valid JSON number: Number() reads it as JSON.parse does. */
  number(literal: string): CellCheck {
    let c = this.numbers.get(literal);
    if (c === undefined) {
      c = coerceCell(Number(literal), this.spec, this.allowed);
      if (this.numbers.size < MEMO_MAX) this.numbers.set(literal, c);
    }
    return c;
  }

  null(): CellCheck {
    this.nullCheck ??= coerceCell(null, this.spec, this.allowed);
    return this.nullCheck;
  }
}

/** What a record's key is: an input column (its index), the target (checked, not kept), or other. */
const TARGET = -1;
const OTHER = -2;

interface Compiled {
  schema: DatasetSchema;
  inputs: readonly string[];
  cells: Cell[];
  /** The target when records may carry it apart from the inputs (recordsToFrame's label check). */
  target: Cell | null;
  /** Key text → an input column's index, or TARGET; a key not here is OTHER. */
  slots: Map<string, number>;
  /** The UTF-16 units of each input column's name (matchAt reads them without a string access). */
  units: Uint16Array[];
}

function compile(schema: DatasetSchema, inputs: readonly string[]): Compiled | null {
  const cells: Cell[] = [];
  for (const name of inputs) {
    const spec = schema.column(name);
    // a name JSON would write with an escape is matched by the general path only
    if (!spec || plainStringEnd(`${name}"`, 0) !== name.length) return null;
    cells.push(new Cell(spec));
  }
  const target = inputs.includes(schema.target.name) ? null : new Cell(schema.target);
  const slots = new Map<string, number>(inputs.map((n, i) => [n, i]));
  if (target) slots.set(schema.target.name, TARGET);
  // by index, not by iterating the string (which goes by code points: one for a surrogate pair)
  const units = inputs.map((n) => Uint16Array.from({ length: n.length }, (_, k) => n.charCodeAt(k)));
  return { schema, inputs, cells, target, slots, units };
}

/** Compiled decoders by schema (a champion's, kept while it lives) and its model's inputs. */
class Compiler {
  private readonly cache = new WeakMap<DatasetSchema, { inputs: readonly string[]; c: Compiled | null }>();

  get(schema: DatasetSchema, inputs: readonly string[]): Compiled | null {
    let e = this.cache.get(schema);
    if (e === undefined || e.inputs !== inputs) {
      e = { inputs, c: compile(schema, inputs) };
      this.cache.set(schema, e);
    }
    return e.c;
  }
}

/**
 * Whether a record's target cell passes recordsToFrame's label check: a known label, or a missing one
 * (null, or an absent key, which the general path reads as null).
 */
function labelOk(c: CellCheck): boolean {
  return c.problem === undefined || c.problem === "missing";
}

/** Write a record's checked input cell into the builder; false when the cell has a problem. */
function put(fb: FrameBuilder, j: number, row: number, c: CellCheck): boolean {
  if (c.problem !== undefined) return false;
  fb.set(j, row, c.value);
  return true;
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN = 123;
const CLOSE = 125;

/**
 * Whether the name of `units` occurs in `t` at `i` (a loop: String#startsWith with a position was 4×
 * slower here; reading the name's units from a typed array rather than a string cut the scan ~15 %).
 */
function matchAt(t: string, i: number, units: Uint16Array): boolean {
  const n = units.length;
  for (let k = 0; k < n; k++) if (t.charCodeAt(i + k) !== units[k]) return false;
  return true;
}

function skipWs(t: string, i: number): number {
  for (;;) {
    const ch = t.charCodeAt(i);
    if (ch === 32 || ch === 9 || ch === 10 || ch === 13) i++;
    else return i;
  }
}

/** End (index of the closing quote) of a string starting after its opening quote at `i`; -1: not plain. */
function plainStringEnd(t: string, i: number): number {
  for (;;) {
    const ch = t.charCodeAt(i);
    if (ch === QUOTE) return i;
    if (ch === BACKSLASH || ch < 32 || Number.isNaN(ch)) return -1;
    i++;
  }
}

/** End (exclusive) of a JSON number starting at `i`, per JSON's grammar; -1: not a number. */
function numberEnd(t: string, i: number): number {
  const digit = (k: number): boolean => {
    const ch = t.charCodeAt(k);
    return ch >= 48 && ch <= 57;
  };
  if (t.charCodeAt(i) === 45) i++; // -
  if (t.charCodeAt(i) === 48) i++;
  else if (digit(i)) while (digit(i)) i++;
  else return -1;
  if (t.charCodeAt(i) === 46) {
    i++;
    if (!digit(i)) return -1;
    while (digit(i)) i++;
  }
  const e = t.charCodeAt(i);
  if (e === 101 || e === 69) {
    i++;
    const s = t.charCodeAt(i);
    if (s === 43 || s === 45) i++;
    if (!digit(i)) return -1;
    while (digit(i)) i++;
  }
  return i;
}

/**
 * One JSON record into row `row` of `fb`; false when it is outside the fast path's subset. `seen`: per
 * input column, the row that last set it (a key twice); `guess`: the previous record's key slots, in
 * its order.
 */
function jsonRecord(
  c: Compiled,
  t: string,
  fb: FrameBuilder,
  row: number,
  seen: Int32Array,
  guess: number[],
): boolean {
  let i = skipWs(t, 0);
  if (t.charCodeAt(i) !== OPEN) return false;
  i = skipWs(t, i + 1);
  // `ch` is always t[i]: each unit is read once, and skipWs is called only at whitespace (≤ 32)
  let ch = t.charCodeAt(i);
  let found = 0;
  let targetSeen = false;
  let k = 0;
  if (ch !== CLOSE) {
    for (; ; k++) {
      if (ch !== QUOTE) return false;
      // the k-th key is most often the previous record's k-th key: match it without a slice
      let slot = OTHER;
      let keyEnd = -1;
      const g = guess[k];
      if (g !== undefined && g >= 0) {
        const name = c.units[g]!;
        if (matchAt(t, i + 1, name) && t.charCodeAt(i + 1 + name.length) === QUOTE) {
          slot = g;
          keyEnd = i + 1 + name.length;
        }
      }
      if (keyEnd < 0) {
        keyEnd = plainStringEnd(t, i + 1);
        if (keyEnd < 0) return false;
        slot = c.slots.get(t.slice(i + 1, keyEnd)) ?? OTHER;
      }
      guess[k] = slot;
      i = keyEnd + 1;
      ch = t.charCodeAt(i);
      if (ch <= 32) ch = t.charCodeAt((i = skipWs(t, i)));
      if (ch !== COLON) return false;
      ch = t.charCodeAt(++i);
      if (ch <= 32) ch = t.charCodeAt((i = skipWs(t, i)));
      // the value
      const cell = slot >= 0 ? c.cells[slot]! : slot === TARGET ? c.target! : null;
      let check: CellCheck | null = null;
      if (ch === QUOTE) {
        const end = plainStringEnd(t, i + 1);
        if (end < 0) return false;
        if (cell) check = cell.stringAt(t, i + 1, end);
        i = end + 1;
      } else if (ch === 110) {
        if (!t.startsWith("null", i)) return false;
        if (cell) check = cell.null();
        i += 4;
      } else {
        const end = numberEnd(t, i);
        if (end < 0) return false;
        if (cell) check = cell.number(t.slice(i, end));
        i = end;
      }
      if (slot >= 0) {
        if (seen[slot] === row) return false; // a key twice: JSON.parse keeps the last; let it
        seen[slot] = row;
        found++;
        if (!put(fb, slot, row, check!)) return false;
      } else if (slot === TARGET) {
        if (targetSeen || !labelOk(check!)) return false;
        targetSeen = true;
      }
      ch = t.charCodeAt(i);
      if (ch <= 32) ch = t.charCodeAt((i = skipWs(t, i)));
      if (ch === CLOSE) break;
      if (ch !== COMMA) return false;
      ch = t.charCodeAt(++i);
      if (ch <= 32) ch = t.charCodeAt((i = skipWs(t, i)));
    }
  }
  if (skipWs(t, i + 1) !== t.length) return false;
  guess.length = k + 1;
  return found === c.inputs.length;
}

function jsonFrame(c: Compiled, values: readonly string[], state: JsonState): Frame | null {
  const fb = new FrameBuilder(c.schema, c.inputs, values.length);
  const seen = new Int32Array(c.inputs.length).fill(-1);
  for (let r = 0; r < values.length; r++) {
    const row = fb.addRow();
    if (!jsonRecord(c, values[r]!, fb, row, seen, state.guess)) return null;
  }
  return fb.build();
}

interface JsonState {
  /** Slots of the previous record's keys, in its order. */
  guess: number[];
}

/** The fast path for JSON records. */
export function fastJsonFrame(): FastFrame {
  const compiler = new Compiler();
  const state: JsonState = { guess: [] };
  return (values, schema, inputs) => {
    const c = compiler.get(schema, inputs);
    return c && values.length > 0 ? jsonFrame(c, values, state) : null;
  };
}

/** The fast path for CSV lines whose columns are `header`. */
export function fastCsvFrame(header: readonly string[]): FastFrame {
  const compiler = new Compiler();
  return (values, schema, inputs) => {
    const c = compiler.get(schema, inputs);
    if (!c || values.length === 0) return null;
    // header position → slot; a header without every input column leaves the reasons to the general path
    const at = header.map((name) => c.slots.get(name) ?? OTHER);
    const found = new Set(at.filter((s) => s >= 0));
    if (found.size !== c.inputs.length || at.filter((s) => s >= 0).length !== found.size) return null;
    const fb = new FrameBuilder(c.schema, c.inputs, values.length);
    for (let r = 0; r < values.length; r++) {
      const line = values[r]!;
      if (line === "" || /["\r\n]/.test(line)) return null;
      const cells = line.split(",");
      if (cells.length !== at.length) return null;
      const row = fb.addRow();
      for (let h = 0; h < at.length; h++) {
        const slot = at[h]!;
        if (slot >= 0) {
          if (!put(fb, slot, row, c.cells[slot]!.string(cells[h]!))) return null;
        } else if (slot === TARGET && !labelOk(c.target!.string(cells[h]!))) return null;
      }
    }
    return fb.build();
  };
}

/** The fast path of a record format. */
export function fastFrame(format: RecordFormat, csvHeader: readonly string[]): FastFrame {
  return format === "json" ? fastJsonFrame() : fastCsvFrame(csvHeader);
}
