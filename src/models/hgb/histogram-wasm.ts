/**
 * The histogram kernel of histogram.ts in WebAssembly (emitted with core/wasm.ts at load time): the
 * same sums in the same order, several times faster than the JS loop on sparse rows (the JS loop
 * stays the reference and the fallback where WebAssembly is missing).
 *
 * One WebAssembly.Memory per fit holds everything the kernel reads, so no call copies its inputs:
 *
 *   [ptr: nRows + 1 i32][G, H: 2 f64][histogram: histSize f64][index: nnz i32][rows: nRows u32]
 *   [g: nRows · R f32][h: nRows · R f32]
 *
 * ptr and index are stored as absolute byte addresses (a row's first entry; an entry's (G, H, count)
 * slot in the histogram area), so the inner loop is loads, adds and stores only. The fit writes each
 * iteration's gradients into `g`/`h` and each tree's rows into `rows` (views on the memory); the
 * grower partitions `rows` in place. A node's histogram is built in the memory's histogram area and
 * copied out to the node's own buffer.
 */
import { assemble, WasmFn } from "../../core/wasm.ts";
import type { SparseRows } from "./histogram.ts";

const PAGE = 65536;

/**
 * hist(rowsBegin, rowsEnd, gBase, hBase, sums): for each row address q in [rowsBegin, rowsEnd)
 * (r = u32[q]): gi = f32[gBase + 4r], hi = f32[hBase + 4r] widened to f64; G += gi; H += hi; then for
 * each entry address k in [ptr[r], ptr[r + 1]): slot b = i32[k]; f64[b] += gi, f64[b + 8] += hi,
 * f64[b + 16] += 1. G and H are stored at sums, sums + 8.
 */
function histKernel(): WasmFn {
  const f = new WasmFn("hist", ["i32", "i32", "i32", "i32", "i32"]);
  const [q, qEnd, gBase, hBase, sums] = [0, 1, 2, 3, 4];
  const r4 = f.local("i32");
  const k = f.local("i32");
  const e = f.local("i32");
  const b = f.local("i32");
  const gi = f.local("f64");
  const hi = f.local("f64");
  const G = f.local("f64");
  const H = f.local("f64");
  f.block().loop();
  f.get(q).get(qEnd).i32GeU().brIf(1);
  // r4 = 4 · row
  f.get(q).i32Load().i32(2).i32Shl().set(r4);
  f.get(gBase).get(r4).i32Add().f32Load().f64PromoteF32().tee(gi).get(G).f64Add().set(G);
  f.get(hBase).get(r4).i32Add().f32Load().f64PromoteF32().tee(hi).get(H).f64Add().set(H);
  // the row's entries: ptr is the region's first word, read through the row's byte offset
  f.get(r4).i32Load(0).set(k);
  f.get(r4).i32Load(4).set(e);
  f.block().loop();
  f.get(k).get(e).i32GeU().brIf(1);
  f.get(k).i32Load().set(b);
  f.get(b).get(b).f64Load(0).get(gi).f64Add().f64Store(0);
  f.get(b).get(b).f64Load(8).get(hi).f64Add().f64Store(8);
  f.get(b).get(b).f64Load(16).f64(1).f64Add().f64Store(16);
  f.get(k).i32(4).i32Add().set(k);
  f.br(0).end().end();
  f.get(q).i32(4).i32Add().set(q);
  f.br(0).end().end();
  f.get(sums).get(G).f64Store(0);
  f.get(sums).get(H).f64Store(8);
  return f;
}

let compiled: WebAssembly.Module | null | undefined;
let disabled = false;

/** Tests compare the kernel with the JS loop: true makes every fit take the JS path. */
export function disableWasmHistograms(off: boolean): void {
  disabled = off;
}

function kernelModule(): WebAssembly.Module | null {
  if (disabled) return null;
  if (compiled !== undefined) return compiled;
  try {
    compiled = typeof WebAssembly === "object" ? new WebAssembly.Module(assemble([histKernel()])) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

/** A fit's histogram memory: the views the fit fills and the kernel that reads them. */
export interface WasmHistograms {
  /** Each tree's rows (the grower partitions them in place). */
  rows: Uint32Array;
  /** Gradients and hessians, R blocks of nRows (block k for raw score k). */
  g: Float32Array;
  h: Float32Array;
  /**
   * The histogram of rows[start..end) into `out` without the common-bin slots (histogram.ts fills
   * those); g and h must be (subarrays of) this memory's views. Returns the node's G and H.
   */
  build(
    g: Float32Array,
    h: Float32Array,
    start: number,
    end: number,
    out: Float64Array,
  ): { G: number; H: number };
}

/** The memory and kernel for one fit, or null where WebAssembly is missing or disabled. */
export function wasmHistograms(
  sparse: SparseRows,
  nRows: number,
  R: number,
  histSize: number,
): WasmHistograms | null {
  const mod = kernelModule();
  if (!mod) return null;
  const nnz = sparse.index.length;
  const align8 = (x: number) => Math.ceil(x / 8) * 8;
  // ptr first (at byte 0: the kernel reads row r's entries' bounds at 4r and 4r + 4)
  const sums = align8((nRows + 1) * 4);
  const hist = sums + 16;
  const indexAt = align8(hist + histSize * 8);
  const rowsAt = align8(indexAt + nnz * 4);
  const gAt = align8(rowsAt + nRows * 4);
  const hAt = align8(gAt + nRows * R * 4);
  const end = align8(hAt + nRows * R * 4);
  const mem = new WebAssembly.Memory({ initial: Math.ceil(end / PAGE) + 1 });
  const buf = mem.buffer;
  const ptr = new Int32Array(buf, 0, nRows + 1);
  for (let r = 0; r <= nRows; r++) ptr[r] = indexAt + 4 * sparse.ptr[r]!;
  const index = new Int32Array(buf, indexAt, nnz);
  for (let k = 0; k < nnz; k++) index[k] = hist + 8 * sparse.index[k]!;
  const histView = new Float64Array(buf, hist, histSize);
  const sumsView = new Float64Array(buf, sums, 2);
  const kernel = new WebAssembly.Instance(mod, { env: { memory: mem } }).exports.hist as (
    ...a: number[]
  ) => void;
  const rows = new Uint32Array(buf, rowsAt, nRows);
  return {
    rows,
    g: new Float32Array(buf, gAt, nRows * R),
    h: new Float32Array(buf, hAt, nRows * R),
    build(g, h, start, end, out) {
      if (g.buffer !== buf || h.buffer !== buf)
        throw new RangeError("gradients outside the histogram memory");
      histView.fill(0);
      kernel(rowsAt + 4 * start, rowsAt + 4 * end, g.byteOffset, h.byteOffset, sums);
      out.set(histView);
      return { G: sumsView[0]!, H: sumsView[1]! };
    },
  };
}
