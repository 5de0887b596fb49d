/**
 * Column-major tables on typed arrays.
 *
 * - `Frame`: a table as read from data, one typed column per schema column. Numeric columns are
 *   Float64Array with NaN for a missing value; categorical columns are Int32Array codes into a
 *   `categories` dictionary, -1 for missing. Rows are aligned across columns.
 * - `Matrix`: the dense numeric input of an estimator, column-major (`data[c * nRows + r]`), so a
 *   tree learner scans one feature contiguously. Backed by a SharedArrayBuffer when it has to cross
 *   to worker threads without copying.
 */

export interface NumericColumn {
  readonly kind: "numeric";
  readonly name: string;
  readonly values: Float64Array;
}

export interface CategoricalColumn {
  readonly kind: "categorical";
  readonly name: string;
  readonly codes: Int32Array;
  readonly categories: readonly string[];
}

export type Column = NumericColumn | CategoricalColumn;

export class Frame {
  readonly nRows: number;
  private readonly cols: readonly Column[];
  private readonly byName: Map<string, Column>;
  private released = false;

  constructor(columns: readonly Column[], nRows?: number) {
    const n = nRows ?? (columns[0] ? columnLength(columns[0]) : 0);
    for (const c of columns) {
      if (columnLength(c) !== n) {
        throw new RangeError(`column ${c.name} has ${columnLength(c)} rows, expected ${n}`);
      }
    }
    this.nRows = n;
    this.cols = columns;
    this.byName = new Map(columns.map((c) => [c.name, c]));
  }

  get columns(): readonly Column[] {
    if (this.released) throw new RangeError("the frame's rows were read after release()");
    return this.cols;
  }

  /**
   * Frees the column buffers now rather than whenever the garbage collector gets to them: a column
   * that holds a whole ArrayBuffer (as the parts {@link ownBuffers} gives) is detached
   * (ArrayBuffer.prototype.transfer(0)), which returns its memory at once; any other is left to the
   * collector. For a frame nothing reads any more: reading its columns afterwards is a RangeError.
   */
  release(): void {
    this.released = true;
    for (const c of this.cols) {
      const a = c.kind === "numeric" ? c.values : c.codes;
      if (a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength)
        a.buffer.transfer(0);
    }
  }

  get names(): string[] {
    return this.columns.map((c) => c.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  column(name: string): Column {
    if (this.released) throw new RangeError("the frame's rows were read after release()");
    const c = this.byName.get(name);
    if (!c) throw new RangeError(`no column ${JSON.stringify(name)}; columns are ${this.names.join(", ")}`);
    return c;
  }

  numeric(name: string): Float64Array {
    const c = this.column(name);
    if (c.kind !== "numeric") throw new TypeError(`column ${name} is categorical, not numeric`);
    return c.values;
  }

  /** The value at (row, column) as a plain JS value: number, category string, or null when missing. */
  value(row: number, name: string): number | string | null {
    const c = this.column(name);
    if (c.kind === "numeric") {
      const v = c.values[row]!;
      return Number.isNaN(v) ? null : v;
    }
    const code = c.codes[row]!;
    return code < 0 ? null : c.categories[code]!;
  }

  /** Rows `rows` (in that order) as a new frame; dictionaries are shared. */
  take(rows: ArrayLike<number>): Frame {
    const n = rows.length;
    const cols = this.columns.map((c): Column => {
      if (c.kind === "numeric") {
        const v = new Float64Array(n);
        for (let i = 0; i < n; i++) v[i] = c.values[rows[i]!]!;
        return { kind: "numeric", name: c.name, values: v };
      }
      const codes = new Int32Array(n);
      for (let i = 0; i < n; i++) codes[i] = c.codes[rows[i]!]!;
      return { kind: "categorical", name: c.name, codes, categories: c.categories };
    });
    return new Frame(cols, n);
  }

  /**
   * Rows from..to-1 as a frame over the same column buffers (typed-array views: no copy, and a write
   * through either frame shows in the other); dictionaries are shared.
   */
  slice(from: number, to: number): Frame {
    if (!(Number.isInteger(from) && Number.isInteger(to) && 0 <= from && from <= to && to <= this.nRows))
      throw new RangeError(`rows ${from}..${to} are not within the frame's ${this.nRows} rows`);
    const cols = this.columns.map(
      (c): Column =>
        c.kind === "numeric"
          ? { kind: "numeric", name: c.name, values: c.values.subarray(from, to) }
          : {
              kind: "categorical",
              name: c.name,
              codes: c.codes.subarray(from, to),
              categories: c.categories,
            },
    );
    return new Frame(cols, to - from);
  }

  /** A frame with only the named columns, in that order. */
  select(names: readonly string[]): Frame {
    return new Frame(
      names.map((n) => this.column(n)),
      this.nRows,
    );
  }

  /** The frame without the named columns. */
  drop(names: readonly string[]): Frame {
    const s = new Set(names);
    return new Frame(
      this.columns.filter((c) => !s.has(c.name)),
      this.nRows,
    );
  }

  /** Row `i` as a plain object (column name → value or null). */
  row(i: number): Record<string, number | string | null> {
    const out: Record<string, number | string | null> = {};
    for (const c of this.columns) out[c.name] = this.value(i, c.name);
    return out;
  }
}

/**
 * `parts` — consecutive slices of one frame's buffers in row order, as {@link partitionRows} gives —
 * each on buffers of its own, so that one can be released without the others: every part but the
 * first is copied out, then the first keeps the buffer, cut to its rows (ArrayBuffer.prototype.transfer:
 * the rest of the buffer is freed at once). The extra memory is one column of the later parts at a
 * time. The buffers' other views (the source frame, the parts given) are empty afterwards. A column
 * not at the start of a whole, unshared buffer is copied instead.
 */
export function ownBuffers(parts: readonly Frame[]): Frame[] {
  const first = parts[0];
  if (!first) return [];
  const cols: Column[][] = parts.map(() => []);
  first.columns.forEach((c0, j) => {
    for (const [k, p] of parts.entries()) {
      if (k === 0) continue;
      const c = p.columns[j]!;
      cols[k]!.push(
        c.kind === "numeric"
          ? { kind: "numeric", name: c.name, values: c.values.slice() }
          : { kind: "categorical", name: c.name, codes: c.codes.slice(), categories: c.categories },
      );
    }
    const a = c0.kind === "numeric" ? c0.values : c0.codes;
    const whole = a.buffer instanceof ArrayBuffer && a.byteOffset === 0;
    const cut = whole ? (a.buffer as ArrayBuffer).transfer(a.byteLength) : null;
    cols[0]!.push(
      c0.kind === "numeric"
        ? { kind: "numeric", name: c0.name, values: cut ? new Float64Array(cut) : c0.values.slice() }
        : {
            kind: "categorical",
            name: c0.name,
            codes: cut ? new Int32Array(cut) : c0.codes.slice(),
            categories: c0.categories,
          },
    );
  });
  return cols.map((c, k) => new Frame(c, parts[k]!.nRows));
}

export function columnLength(c: Column): number {
  return c.kind === "numeric" ? c.values.length : c.codes.length;
}

/** Dense numeric estimator input, column-major: `data[c * nRows + r]`. */
export interface Matrix {
  readonly nRows: number;
  readonly nCols: number;
  readonly data: Float64Array;
  /** Feature names, length nCols, when known. */
  readonly names?: readonly string[];
}

/**
 * Batches of at least this many rows are built for prediction in shared memory (bundle scores), where
 * logistic regression and a single tree split their rows with the helper thread without a copy
 * (forests gather the rows they need anyway).
 */
export const SHARED_BATCH_MIN_ROWS = 512;

/** Allocate a matrix, on a SharedArrayBuffer when `shared` (for zero-copy hand-off to workers). */
export function allocMatrix(nRows: number, nCols: number, names?: readonly string[], shared = false): Matrix {
  const bytes = nRows * nCols * 8;
  const data = shared ? new Float64Array(new SharedArrayBuffer(bytes)) : new Float64Array(nRows * nCols);
  return names ? { nRows, nCols, data, names } : { nRows, nCols, data };
}

/** Build a column-major matrix from row-major nested arrays (tests, small inputs). */
export function matrixFromRows(rows: readonly (readonly number[])[], names?: readonly string[]): Matrix {
  const nRows = rows.length;
  const nCols = rows[0]?.length ?? 0;
  const m = allocMatrix(nRows, nCols, names);
  for (let r = 0; r < nRows; r++) {
    const row = rows[r]!;
    if (row.length !== nCols) throw new RangeError(`row ${r} has ${row.length} values, expected ${nCols}`);
    for (let c = 0; c < nCols; c++) m.data[c * nRows + r] = row[c]!;
  }
  return m;
}

/** Rows `rows` of a matrix, as a new matrix (optionally shared). */
export function takeRows(m: Matrix, rows: ArrayLike<number>, shared = false): Matrix {
  const n = rows.length;
  const out = allocMatrix(n, m.nCols, m.names, shared);
  for (let c = 0; c < m.nCols; c++) {
    const src = c * m.nRows;
    const dst = c * n;
    for (let i = 0; i < n; i++) out.data[dst + i] = m.data[src + rows[i]!]!;
  }
  return out;
}

/** Value at (row, col). */
export function at(m: Matrix, row: number, col: number): number {
  return m.data[col * m.nRows + row]!;
}

/**
 * `frame`'s rows regrouped in place into consecutive parts (part k: rows `parts[k]`, in that order),
 * returned as frames over the frame's own column buffers: the same frames `frame.take(parts[k])`
 * gives, without a copy of the rows (a train/test split of a 10 M-row frame would otherwise double
 * it). Each column is rewritten through one scratch column, so the extra memory is one column.
 * `frame` is consumed: its columns hold the parts' rows afterwards, in part order. A row may appear in
 * several parts or in none, as with `take`; the parts together hold at most `frame.nRows` rows.
 */
export function partitionRows(frame: Frame, parts: readonly ArrayLike<number>[]): Frame[] {
  const total = parts.reduce((n, p) => n + p.length, 0);
  if (total > frame.nRows)
    throw new RangeError(`the parts hold ${total} rows, more than the frame's ${frame.nRows}`);
  for (const p of parts)
    for (let i = 0; i < p.length; i++) {
      const r = p[i]!;
      if (!(Number.isInteger(r) && r >= 0 && r < frame.nRows))
        throw new RangeError(`row ${r} is not within the frame's ${frame.nRows} rows`);
    }
  let numScratch: Float64Array | undefined;
  let codeScratch: Int32Array | undefined;
  const gather = <T extends Float64Array | Int32Array>(src: T, scratch: T): void => {
    let o = 0;
    for (const p of parts) for (let i = 0; i < p.length; i++) scratch[o++] = src[p[i]!]!;
    src.set(scratch);
  };
  for (const c of frame.columns) {
    if (c.kind === "numeric") gather(c.values, (numScratch ??= new Float64Array(total)));
    else gather(c.codes, (codeScratch ??= new Int32Array(total)));
  }
  const out: Frame[] = [];
  let from = 0;
  for (const p of parts) {
    out.push(frame.slice(from, from + p.length));
    from += p.length;
  }
  return out;
}
