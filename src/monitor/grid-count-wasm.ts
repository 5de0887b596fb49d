/**
 * A WebAssembly kernel that counts a numeric column's cells equal to each of a few values, and its
 * missing (NaN) cells: monitoring's commonest input is a column of a few grid points (flags −1/0/1 or
 * 0/1, small counts: every input of phishing), which `countNumeric` (counts.ts) counts per value.
 * Two cells at a time with SIMD (f64x2 comparisons, their all-ones lanes subtracted from i64x2
 * counters), four per loop step with two sets of counters, no branch on a value: a 1,000-row phishing
 * upload's 30 columns in 16 µs against the per-value JS loop's 68, the columns' copy into the kernel's
 * memory included (BENCHMARKS.md, issue 19, lane U5).
 *
 * The comparison is exact (`===` on doubles, as counts.ts's grid test), so a column whose every cell
 * is one of the values or missing gets the counts the JS loop gives; any other column is told so (the
 * cells matched fall short of the rows) and counted by the JS loop. Emitted at load time with
 * src/core/wasm.ts; one memory per thread, grown to the largest column.
 */
import { assemble, WasmFn } from "../core/wasm.ts";

/** The most values one call counts. */
export const GRID_COUNT_MAX_VALUES = 8;

/** Byte offset of the counts (k + 1 counters of 16 bytes: two i64 lanes each, NaN's last). */
const OUT_AT = 0;
/** Byte offset of the column (16-aligned, after the counts). */
const COLUMN_AT = 16 * (GRID_COUNT_MAX_VALUES + 1);
const PAGE = 65536;

/**
 * `grid<k>(pairs, v0 … v(k−1))`: the 2·pairs doubles at COLUMN_AT counted per value (counter i: cells
 * equal to v_i) and missing (counter k: cells unequal to themselves), each counter's two lanes
 * stored at OUT_AT + 16·i.
 */
function gridKernel(k: number): WasmFn {
  const f = new WasmFn(`grid${k}`, ["i32", ...Array.from({ length: k }, (): "f64" => "f64")]);
  const p = f.local("i32");
  const end = f.local("i32");
  const x = f.local("v128");
  const y = f.local("v128");
  const value = Array.from({ length: k }, () => f.local("v128"));
  // two sets of counters (cells 0–1 and 2–3 of a step): no counter waits for the one before it
  const a = Array.from({ length: k + 1 }, () => f.local("v128"));
  const b = Array.from({ length: k + 1 }, () => f.local("v128"));
  for (let i = 0; i < k; i++)
    f.get(1 + i)
      .f64x2Splat()
      .set(value[i]!);
  f.i32(COLUMN_AT).set(p);
  f.get(p).get(0).i32(16).i32Mul().i32Add().set(end);
  // counter − (all ones where the lane matches): + 1 per match
  const countInto = (c: number[], cell: number): void => {
    for (let i = 0; i < k; i++) f.get(c[i]!).get(cell).get(value[i]!).f64x2Eq().i64x2Sub().set(c[i]!);
    f.get(c[k]!).get(cell).get(cell).f64x2Ne().i64x2Sub().set(c[k]!);
  };
  f.block().loop();
  f.get(p).i32(32).i32Add().get(end).i32GtU().brIf(1);
  f.get(p).v128Load(0).set(x);
  f.get(p).v128Load(16).set(y);
  countInto(a, x);
  countInto(b, y);
  f.get(p).i32(32).i32Add().set(p);
  f.br(0).end().end();
  // an odd pair left
  f.get(p).get(end).i32LtU().if();
  f.get(p).v128Load(0).set(x);
  countInto(a, x);
  f.end();
  for (let i = 0; i <= k; i++)
    f.i32(OUT_AT)
      .get(a[i]!)
      .get(b[i]!)
      .i64x2Add()
      .v128Store(16 * i);
  return f;
}

interface Kernel {
  memory: WebAssembly.Memory;
  column: Float64Array;
  out: Int32Array;
  /** grid[k]: the kernel of k values. */
  grid: ((pairs: number, ...values: number[]) => void)[];
}

let kernel: Kernel | null | undefined;
let disabled = false;

/** Tests compare the kernel with the JS loop: true makes `countGridValues` decline every column. */
export function disableGridCountWasm(off: boolean): void {
  disabled = off;
}

function kernelFor(rows: number): Kernel | null {
  if (disabled) return null;
  if (kernel === undefined) {
    try {
      const fns = Array.from({ length: GRID_COUNT_MAX_VALUES }, (_, i) => gridKernel(i + 1));
      const memory = new WebAssembly.Memory({ initial: 1 });
      const ex = new WebAssembly.Instance(new WebAssembly.Module(assemble(fns)), { env: { memory } })
        .exports as Record<string, (pairs: number, ...values: number[]) => void>;
      kernel = {
        memory,
        column: new Float64Array(0),
        out: new Int32Array(0),
        grid: [() => {}, ...fns.map((f) => ex[f.name]!)],
      };
    } catch {
      kernel = null; // no WebAssembly SIMD here: the JS loop counts
    }
  }
  if (kernel === null) return null;
  // the column and one cell of padding (an odd row count's last pair)
  const bytes = COLUMN_AT + 8 * (rows + 1);
  const have = kernel.memory.buffer.byteLength;
  if (bytes > have) kernel.memory.grow(Math.ceil((bytes - have) / PAGE));
  if (kernel.column.buffer !== kernel.memory.buffer || kernel.column.length < rows + 1) {
    const buf = kernel.memory.buffer;
    kernel.column = new Float64Array(buf, COLUMN_AT, (buf.byteLength - COLUMN_AT) / 8);
    kernel.out = new Int32Array(buf, OUT_AT, COLUMN_AT / 4);
  }
  return kernel;
}

/**
 * Count the cells `x[0..n)` equal to each of `values` (at most GRID_COUNT_MAX_VALUES, distinct) into
 * `counts[0..values.length)`, and the missing (NaN) ones: returns the missing cells, or −1 when some
 * cell is neither one of the values nor missing (then `counts` means nothing: count the column
 * otherwise) or there is no kernel.
 */
export function countGridValues(
  x: Float64Array,
  n: number,
  values: Float64Array,
  counts: Int32Array,
): number {
  const k = values.length;
  if (k === 0 || k > GRID_COUNT_MAX_VALUES) return -1;
  const kern = kernelFor(n);
  if (kern === null) return -1;
  const col = kern.column;
  col.set(x.length === n ? x : x.subarray(0, n));
  col[n] = Number.NaN; // the padding cell of an odd count: missing, taken off below
  const pairs = (n + 1) >> 1;
  switch (k) {
    case 1:
      kern.grid[1]!(pairs, values[0]!);
      break;
    case 2:
      kern.grid[2]!(pairs, values[0]!, values[1]!);
      break;
    case 3:
      kern.grid[3]!(pairs, values[0]!, values[1]!, values[2]!);
      break;
    default:
      kern.grid[k]!(pairs, ...values);
  }
  // each counter: two i64 lanes (counts below 2^31: their low words)
  const out = kern.out;
  let matched = 0;
  for (let i = 0; i < k; i++) {
    const c = out[4 * i]! + out[4 * i + 2]!;
    counts[i] = c;
    matched += c;
  }
  const missing = out[4 * k]! + out[4 * k + 2]! - (n & 1);
  return matched + missing === n ? missing : -1;
}
