/**
 * The fit's two hot loops in WebAssembly (emitted with core/wasm.ts at load time): the histogram of
 * histogram.ts (the same sums in the same order) and the grower's stable partition of a node's rows,
 * both faster than their JS loops, which stay the reference and the fallback where WebAssembly is
 * missing.
 *
 * One WebAssembly.Memory per fit holds everything the kernels read, so no call copies its inputs:
 *
 *   [ptr: nRows + 1 i32][bins: nRows · nFeatures u8][G, H: 2 f64][histogram: histSize f64]
 *   [index: nnz u16 or i32][rows: nRows u32][right rows: nRows u32][g: nRows · R f32][h: nRows · R f32]
 *
 * and what the helper thread writes for its shares (its G and H, histogram, left count, and left
 * and right rows of half a partition), each read only once it is done; `mid` (each row's first entry
 * in the helper's histogram slots) and the node histogram slots.
 *
 * ptr is stored as absolute byte addresses (a row's first entry) and index as slot numbers (u16, an
 * entry's (G, H, count) slot 24 bytes each: `hist16`) or, past 65,536 slots, as byte offsets in a
 * histogram (i32), so the inner loop is loads, a multiply, adds and stores only. The fit
 * writes each iteration's gradients into `g`/`h` and each tree's rows into `rows` (views on the
 * memory); the grower partitions `rows` in place. Node histograms live in the memory too (`slots`,
 * the grower's pool): the kernel builds them in place; a histogram outside the memory (the pool ran
 * out) is built in the scratch histogram and copied out.
 */
import {
  helperAllowed,
  helperReady,
  onThisThread,
  runWithHelper,
  runWithHelperWords,
} from "../../core/helper.ts";
import { task } from "../../core/tasks.ts";
import { assemble, WasmFn } from "../../core/wasm.ts";
import type { SparseRows } from "./histogram.ts";
import { stepKernel } from "./step-kernel.ts";

const PAGE = 65536;
/** WebAssembly's 32-bit address space: 4 GiB of pages. */
const MAX_PAGES = 65536;

/**
 * hist(rowsBegin, rowsEnd, gBase, hBase, sums, out, entLo, entHi): for each row address q in
 * [rowsBegin, rowsEnd) (r = u32[q]): gi = f32[gBase + 4r], hi = f32[hBase + 4r] widened to f64;
 * G += gi; H += hi; then for each entry address k in [i32[entLo + 4r], i32[entHi + 4r]): slot
 * b = out + i32[k]; f64[b] += gi, f64[b + 8] += hi, f64[b + 16] += 1. G and H are stored at sums,
 * sums + 8. A row's entries are [ptr[r], ptr[r + 1]) with (entLo, entHi) = (0, 4) (ptr is at byte 0);
 * the halves split at `mid` (the fit's two threads) with (0, mid) and (mid, 4).
 *
 * `hist16` reads each entry as a u16 slot number s instead (b = out + 24 · s; entries 2 bytes
 * apart): a fit whose histogram has at most 65,536 slots keeps its entries that way, half the bytes
 * a build reads (NSL-KDD: 1.44 M entries, 2.9 instead of 5.8 MB). Nodes of scattered rows gain most
 * (NSL-KDD, one thread, every tenth row: 0.33 → 0.24 ms a build); a root, read in order, about
 * nothing (1.5–1.8 ms either way: there the row loop's exit, mispredicted after a varying number of
 * entries, costs as much as the entries).
 *
 * `histG` (counts false) is the same without the counts (f64[b + 16] untouched): a root's counts are
 * the same every tree (every row), so a fit copies them in from its first root (about a fifth of the
 * kernel's time: one load, add and store of an entry's three).
 */
function histKernel(counts: boolean, narrow: boolean): WasmFn {
  const name = `${counts ? "hist" : "histG"}${narrow ? "16" : ""}`;
  const entryBytes = narrow ? 2 : 4;
  const f = new WasmFn(name, ["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"]);
  const [q, qEnd, gBase, hBase, sums, out, entLo, entHi] = [0, 1, 2, 3, 4, 5, 6, 7];
  const r4 = f.local("i32");
  const k = f.local("i32");
  const e = f.local("i32");
  const b = f.local("i32");
  const gi = f.local("f64");
  const hi = f.local("f64");
  const G = f.local("f64");
  const H = f.local("f64");
  // (gi, hi) as one two-lane vector: a slot's G and H are added with one load, add and store
  const gh = f.local("v128");
  f.block().loop();
  f.get(q).get(qEnd).i32GeU().brIf(1);
  // r4 = 4 · row
  f.get(q).i32Load().i32(2).i32Shl().set(r4);
  f.get(gBase).get(r4).i32Add().f32Load().f64PromoteF32().tee(gi).get(G).f64Add().set(G);
  f.get(hBase).get(r4).i32Add().f32Load().f64PromoteF32().tee(hi).get(H).f64Add().set(H);
  f.get(gi).f64x2Splat().get(hi).f64x2ReplaceLane(1).set(gh);
  // the row's entries: ptr is the region's first word, read through the row's byte offset
  f.get(entLo).get(r4).i32Add().i32Load().set(k);
  f.get(entHi).get(r4).i32Add().i32Load().set(e);
  f.block().loop();
  f.get(k).get(e).i32GeU().brIf(1);
  if (narrow) f.get(out).get(k).i32Load16U().i32(24).i32Mul().i32Add().set(b);
  else f.get(out).get(k).i32Load().i32Add().set(b);
  f.get(b).get(b).v128Load(0).get(gh).f64x2Add().v128Store(0);
  if (counts) f.get(b).get(b).f64Load(16).f64(1).f64Add().f64Store(16);
  f.get(k).i32(entryBytes).i32Add().set(k);
  f.br(0).end().end();
  f.get(q).i32(4).i32Add().set(q);
  f.br(0).end().end();
  f.get(sums).get(G).f64Store(0);
  f.get(sums).get(H).f64Store(8);
  return f;
}

/**
 * part(q, qEnd, col, bin, missingLeft, left, right) → left count: the stable partition of the row
 * words in [q, qEnd) by the binned column at byte address col (row r's bin u8[col + r]): rows with
 * bin <= bin, or the missing bin (255) when missingLeft is 1, to the words from `left` (left = q: in
 * place, compacted from q); the others to the words from `right`. Without branches (a node's rows go
 * either way unpredictably): each row is written to both sides and only its side's cursor moves.
 */
function partitionKernel(): WasmFn {
  const f = new WasmFn("part", ["i32", "i32", "i32", "i32", "i32", "i32", "i32"], ["i32"]);
  const [q, qEnd, col, bin, ml, left0, right] = [0, 1, 2, 3, 4, 5, 6];
  const w = f.local("i32");
  const r = f.local("i32");
  const b = f.local("i32");
  const left = f.local("i32");
  f.get(left0).set(w);
  f.block().loop();
  f.get(q).get(qEnd).i32GeU().brIf(1);
  f.get(q).i32Load().set(r);
  f.get(col).get(r).i32Add().i32Load8U().set(b);
  // left = (b <= bin) | ((b == 255) & missingLeft)
  f.get(b).get(bin).i32LeU().get(b).i32(255).i32Eq().get(ml).i32And().i32Or().set(left);
  f.get(w).get(r).i32Store();
  f.get(right).get(r).i32Store();
  f.get(w).get(left).i32(2).i32Shl().i32Add().set(w);
  f.get(right).i32(4).get(left).i32(2).i32Shl().i32Sub().i32Add().set(right);
  f.get(q).i32(4).i32Add().set(q);
  f.br(0).end().end();
  f.get(w).get(left0).i32Sub().i32(2).i32ShrU();
  return f;
}

/**
 * common(out, offs, commons, p, G, H, m): each feature's most common slot of the histogram at `out`
 * (its slots' sums left at 0 by the kernel) as the node's totals minus the feature's other slots:
 * for feature f, its slots' (G, H) and counts summed in slot order from byte out + i32[offs + 4f] to
 * out + i32[offs + 4f + 4], then the slot at out + i32[commons + 4f] set to (G, H) − the sums and
 * m − the counts (histogram.ts's JS loop, the same operations in the same order).
 */
function commonKernel(): WasmFn {
  const f = new WasmFn("common", ["i32", "i32", "i32", "i32", "f64", "f64", "f64"]);
  const [out, offs, commons, p, G, H, m] = [0, 1, 2, 3, 4, 5, 6];
  const j = f.local("i32");
  const q = f.local("i32");
  const qEnd = f.local("i32");
  const c = f.local("i32");
  const ns = f.local("f64");
  const gh = f.local("v128");
  const totals = f.local("v128");
  f.get(G).f64x2Splat().get(H).f64x2ReplaceLane(1).set(totals);
  f.block().loop();
  f.get(j).get(p).i32GeU().brIf(1);
  f.get(offs).get(j).i32(2).i32Shl().i32Add().set(c);
  f.get(out).get(c).i32Load().i32Add().set(q);
  f.get(out).get(c).i32Load(4).i32Add().set(qEnd);
  f.f64(0).f64x2Splat().set(gh);
  f.f64(0).set(ns);
  f.block().loop();
  f.get(q).get(qEnd).i32GeU().brIf(1);
  f.get(gh).get(q).v128Load(0).f64x2Add().set(gh);
  f.get(ns).get(q).f64Load(16).f64Add().set(ns);
  f.get(q).i32(24).i32Add().set(q);
  f.br(0).end().end();
  f.get(out).get(commons).get(j).i32(2).i32Shl().i32Add().i32Load().i32Add().set(c);
  f.get(c).get(totals).get(gh).f64x2Sub().v128Store(0);
  f.get(c).get(m).get(ns).f64Sub().f64Store(16);
  f.get(j).i32(1).i32Add().set(j);
  f.br(0).end().end();
  return f;
}

/**
 * sub(parent, child, bytes): the f64s at parent −= those at child, over `bytes` bytes (two a turn,
 * lane by lane: histogram.ts's subtractHistogram).
 */
function subtractKernel(): WasmFn {
  const f = new WasmFn("sub", ["i32", "i32", "i32"]);
  const [parent, child, bytes] = [0, 1, 2];
  const i = f.local("i32");
  f.block().loop();
  f.get(i).i32(16).i32Add().get(bytes).i32GtS().brIf(1);
  f.get(parent).get(i).i32Add();
  f.get(parent).get(i).i32Add().v128Load(0);
  f.get(child).get(i).i32Add().v128Load(0);
  f.f64x2Sub().v128Store(0);
  f.get(i).i32(16).i32Add().set(i);
  f.br(0).end().end();
  f.get(i).get(bytes).i32LtS().if();
  f.get(parent).get(i).i32Add();
  f.get(parent).get(i).i32Add().f64Load();
  f.get(child).get(i).i32Add().f64Load();
  f.f64Sub().f64Store();
  f.end();
  return f;
}

let compiled: WebAssembly.Module | null | undefined;
let disabled = false;
let helperOff = false;

/** Tests compare the kernels with the JS loops: true makes every fit take the JS path. */
export function disableWasmFitKernels(off: boolean): void {
  disabled = off;
}

/**
 * Tests and benchmarks compare fits with and without the helper thread: true keeps the whole fit on
 * one thread (histograms and partitions here; binning, sparse rows and the steps between trees follow
 * fitHelperOff).
 */
export function disableHistogramHelper(off: boolean): void {
  helperOff = off;
}

/** Whether disableHistogramHelper turned the helper off (the fit's other two-thread steps follow it). */
export function fitHelperOff(): boolean {
  return helperOff;
}

let handOffs = 0;

/** Histograms whose second share the helper thread built, in this thread's fits so far (tests, benchmarks). */
export function histogramHandOffs(): number {
  return handOffs;
}

/** The kernels, on a shared memory (the helper thread instantiates them on the fit's memory too). */
export function kernelModule(): WebAssembly.Module | null {
  if (disabled) return null;
  if (compiled !== undefined) return compiled;
  try {
    compiled =
      typeof WebAssembly === "object"
        ? new WebAssembly.Module(
            assemble(
              [
                histKernel(true, false),
                histKernel(false, false),
                histKernel(true, true),
                histKernel(false, true),
                partitionKernel(),
                stepKernel(),
                commonKernel(),
                subtractKernel(),
              ],
              true,
            ),
          )
        : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

/** A fit's kernel memory: the views the fit fills and the kernels that read them. */
export interface WasmFitKernels {
  /** Each tree's rows (the grower partitions them in place). */
  rows: Uint32Array;
  /** Gradients and hessians, R blocks of nRows (block k for raw score k). */
  g: Float32Array;
  h: Float32Array;
  /**
   * The histogram of rows[start..end) into `out` without the common-bin slots (histogram.ts fills
   * those); g and h must be (subarrays of) this memory's views. Returns the node's G and H. A node of
   * many rows is built on two threads (the helper thread's share: the slots from `split.slot` on).
   */
  build(
    g: Float32Array,
    h: Float32Array,
    start: number,
    end: number,
    out: Float64Array,
  ): { G: number; H: number };
  /**
   * histogram.ts's common-bin slots of a histogram in this memory (`off`: the fit's histOffsets; G, H
   * and m: the node's sums and rows), the same numbers as its JS loop; false (nothing done) for a
   * histogram elsewhere.
   */
  commonBins(out: Float64Array, off: Int32Array, G: number, H: number, m: number): boolean;
  /**
   * Whether buildBeside can take a node of `m` rows into `out` now: a fit of at least
   * HIST_PARALLEL_MIN_ROWS rows, a node of at least PIPELINE_MIN_ROWS, `out` in this memory, the
   * helper idle.
   */
  besideReady(m: number, out: Float64Array): boolean;
  /**
   * The histogram of rows[start..end) built whole by the helper thread into `out` (in this memory,
   * without the common-bin slots, as `build`: the same kernel, the same sums) while `mine()` runs here
   * with every kernel on this thread. Returns the node's G and H; "caller" when the helper had not
   * started the build when `mine()` returned (it never will: `out` is the caller's to build into);
   * "late" when it started and did not finish in time: `out` may then still be written by it, so the
   * caller must neither read nor reuse it.
   */
  buildBeside(
    g: Float32Array,
    h: Float32Array,
    start: number,
    end: number,
    out: Float64Array,
    mine: () => void,
  ): { G: number; H: number } | "caller" | "late";
  /** histogram.ts's subtractHistogram on two histograms in this memory; false (nothing done) otherwise. */
  subtract(parent: Float64Array, child: Float64Array, length: number): boolean;
  /**
   * Stable partition of rows[start..end) by feature's bin (<= bin left; missing left when
   * missingLeft is 1): left rows first. Returns the first right row's position.
   */
  partition(start: number, end: number, feature: number, bin: number, missingLeft: number): number;
  /** Histograms in the memory for the grower's pool (fewer than asked when they would be large). */
  slots: Float64Array[];
  /** A binary fit's row arrays for the step between trees (boost-rows.ts), when asked for. */
  boost: BoostRowsMemory | null;
}

/**
 * boost-rows.ts's arrays on a fit's kernel memory (the step kernel, step-kernel.ts, reads and writes
 * them there): raw scores F, each row's leaf, y and w (n each), the tree's leaf values (`values`: room
 * for a tree's nodes), and the helper's outputs for the upper half of the rows.
 */
export interface BoostRowsMemory {
  memory: WebAssembly.Memory;
  F: Float64Array;
  leaf: Int32Array;
  y: Int32Array;
  w: Float64Array;
  values: Float64Array;
  outF: Float64Array;
  outG: Float32Array;
  outH: Float32Array;
}

/** The node histograms kept in a fit's memory at most (beyond them the pool allocates). */
const SLOTS_MAX_BYTES = 64 << 20;

/**
 * A node of at least this many rows is partitioned on two threads, and a fit of at least this many
 * rows builds histograms on two threads (from HIST_PARALLEL_NODE_MIN_ROWS; NSL-KDD's 126k rows: the
 * upper levels of each tree). Below it the hand-off (a few µs), the copy of the helper's slots and
 * the helper's spin for a next task (0.2 ms of CPU) cost about what the split saves: at 4,096 rows
 * phishing's fit (8,843 rows) took 0.140 s of CPU split against 0.097 s on one thread.
 */
export const HIST_PARALLEL_MIN_ROWS = 16384;

/**
 * In a fit of at least HIST_PARALLEL_MIN_ROWS rows, the histogram of a node of at least this many
 * rows is built on two threads. There the helper is busy with the large nodes, the partitions and
 * the steps between trees, and spins between them (HELPER_SPIN_MS), so a node's hand-off finds it
 * awake and costs about a microsecond and the copy of its slots (NSL-KDD's nodes of 4,096–16,383
 * rows: a fifth of the one-thread fit's histogram time). A smaller fit (phishing's 8,843 rows) keeps
 * every histogram on one thread: there a hand-off mostly wakes a sleeping helper.
 */
export const HIST_PARALLEL_NODE_MIN_ROWS = 4096;

/**
 * The least a build waits for the helper's share after its own (it waits as long as its own took when
 * that is longer): a descheduled helper costs a fit at most this, then the build adds that share here.
 */
const HIST_HELPER_WAIT_MS = 1;

/**
 * How long the helper thread spins for a fit's next task before it sleeps (runWithHelper's
 * `helperSpinMs`; 0.2 ms for other callers). A fit hands off about 1,800 times (NSL-KDD) with gaps of
 * up to a few milliseconds (a tree's small nodes, all on this thread); a helper asleep by then takes
 * 30–40 µs to start a task on this machine (a virtual CPU woken from idle). Spinning this long
 * keeps it awake through a tree: NSL-KDD's fit, both threads run whenever runnable (real-time), load
 * 15–18, median of 8 fits 1.24 → 1.08 s, the helper starting its tasks 3× sooner, the process's CPU
 * no higher (the waits it saves were spinning too).
 */
export const FIT_HELPER_SPIN_MS = 3;

/**
 * The grower's pipeline (grower.ts): a node's smaller child of at least this many rows has its
 * histogram built whole by the helper thread while this thread partitions the next candidate node.
 */
export const PIPELINE_MIN_ROWS = 1024;

/**
 * buildBeside's wait for the helper beyond HIST_HELPER_WAIT_MS, per row of the node (ms): a build
 * takes about 10–15 ns a row on this machine, so a helper that takes twice that is late.
 */
const BESIDE_WAIT_MS_PER_ROW = 30e-6;

/**
 * The share of a node's sparse entries (its highest slots) this thread adds to a histogram the helper
 * builds beside it (buildBeside), after its own work there: on NSL-KDD that work (a candidate's
 * partition) takes about 0.4 of the helper's whole build, and a pass over part of the slots about
 * 0.22 of a whole build plus its share of the entries, so a quarter of the entries ends both sides
 * at about the same time.
 */
const BESIDE_CALLER_SHARE = 0.25;

/**
 * The first histogram index (a slot's) at which the entries of slots below it reach `share` of all,
 * from every 16th row's entries (a balance point: it need not be exact).
 */
function sampledSplit(sparse: SparseRows, nRows: number, histSize: number, share: number): number {
  const count = new Int32Array(histSize + 1);
  let n = 0;
  for (let r = 0; r < nRows; r += 16) {
    const e = sparse.ptr[r + 1]!;
    for (let k = sparse.ptr[r]!; k < e; k++) count[sparse.index[k]!]!++;
    n += e - sparse.ptr[r]!;
  }
  let below = 0;
  for (let s = 0; s <= histSize; s += 3) {
    if (below >= share * n) return s;
    below += count[s]!;
  }
  return histSize;
}

let pipelineOn = true;

/** Benchmarks compare fits with and without the grower's pipeline (the same trees either way). */
export function disableGrowerPipeline(off: boolean): void {
  pipelineOn = !off;
}

/** Split builds a fit makes before it judges whether splitting pays (splitPays). */
export const SPLIT_TRIAL = 16;

/**
 * Whether a fit keeps splitting large nodes' histograms with the helper thread, given its split
 * builds so far (`count`) and the time they saved in all (`savedMs`: per build, twice this thread's
 * share, about what the build takes alone, minus what it took with the hand-off, the wait and the
 * copy). On a machine busy with other work the helper is often descheduled when a build hands it its
 * share: the waits then cost more than the split saves, and the fit goes on on one thread.
 */
export function splitPays(savedMs: number, count: number): boolean {
  return count < SPLIT_TRIAL || savedMs >= 0;
}

/**
 * The histogram index from which the helper thread builds (a slot boundary): about half of all
 * entries below it, half from it, so both threads add about as many.
 */
function splitSlot(index: Int32Array, histSize: number): number {
  // by histogram index (a slot's first: multiples of 3), without a division per entry
  const count = new Int32Array(histSize + 1);
  for (let k = 0; k < index.length; k++) count[index[k]!]!++;
  let below = 0;
  for (let s = 0; s <= histSize; s += 3) {
    if (2 * (below + count[s]!) > index.length) return s;
    below += count[s]!;
  }
  return histSize;
}

const align8 = (x: number) => Math.ceil(x / 8) * 8;

/**
 * Where a fit's kernel memory holds the binned matrix: after ptr (nRows + 1 words), before every
 * region whose size the bins decide (the histogram's, the entries').
 */
const binsAddress = (nRows: number) => align8((nRows + 1) * 4);

/**
 * A fit's kernel memory made before its bins (`fitMemory`): the binned matrix is written straight
 * into `bins` (shared memory), and wasmFitKernels grows the memory to the rest of its regions
 * instead of copying the bins into a new one (NSL-KDD: 15 MB of fresh pages and their copy).
 */
export interface FitMemory {
  memory: WebAssembly.Memory;
  bins: Uint8Array;
}

/**
 * The kernel memory of a fit of nRows × nCols binned values (wasmFitKernels' other arguments as it
 * will be called), large enough at most for what it can need (every value an entry, 256 bins a
 * feature: address space only, pages are had as it grows); null without WebAssembly or where the
 * most would pass 4 GiB (the fit then bins into memory of its own and wasmFitKernels copies).
 */
export function fitMemory(
  nRows: number,
  nCols: number,
  R: number,
  slots: number,
  treeNodes: number,
): FitMemory | null {
  if (!kernelModule()) return null;
  const binsAt = binsAddress(nRows);
  const binsEnd = binsAt + nRows * nCols;
  const histMost = nCols * 257 * 3 * 8;
  const half = nRows - (nRows >>> 1);
  const regions = [
    64,
    3 * histMost,
    4 * nRows,
    8 * (nCols + 1),
    4 * nRows * nCols,
    8 * nRows,
    4 * (nRows + 4),
    8 * nRows * R,
    Math.min(slots * histMost, SLOTS_MAX_BYTES + histMost),
    24 * nRows + 8 * treeNodes + 16 * half,
  ];
  // (8 bytes of alignment a region, over 30 regions)
  const most = regions.reduce((a, b) => a + b, binsEnd) + 8 * 30;
  const pages = Math.ceil(most / PAGE) + 1;
  if (pages > MAX_PAGES) return null;
  try {
    const shared = { initial: Math.ceil(binsEnd / PAGE) + 1, maximum: pages, shared: true };
    const memory = new WebAssembly.Memory(shared);
    return { memory, bins: new Uint8Array(memory.buffer, binsAt, nRows * nCols) };
  } catch {
    return null;
  }
}

/**
 * The memory and kernels for one fit (bins: the column-major binned matrix, nRows per column), or
 * null where WebAssembly is missing or disabled. `made`: the memory the bins were binned into
 * (fitMemory), grown here; without it (or when it is too small) the bins are copied into memory of
 * the kernels' own.
 */
export function wasmFitKernels(
  sparse: SparseRows,
  bins: Uint8Array,
  nRows: number,
  R: number,
  histSize: number,
  slots: number,
  /** For a binary fit's step kernel (boost), the most nodes a tree has; 0: no step kernel. */
  treeNodes = 0,
  made: FitMemory | null = null,
): WasmFitKernels | null {
  const mod = kernelModule();
  if (!mod) return null;
  const nnz = sparse.index.length;
  // ptr first (at byte 0: the kernel reads row r's entries' bounds at 4r and 4r + 4), then the bins
  const binsAt = binsAddress(nRows);
  const sums = align8(binsAt + bins.length);
  // the helper's G and H, and those of a half built here when the helper was late (never read)
  const helperSums = sums + 16;
  const sinkSums = helperSums + 16;
  // the helper's left count of a partition (an i32, 8 bytes kept)
  const helperCount = sinkSums + 16;
  const hist = helperCount + 8;
  const helperHistAt = align8(hist + histSize * 8);
  // the root's counts (G and H slots 0), from the fit's first root on
  const rootCountsAt = align8(helperHistAt + histSize * 8);
  const midAt = align8(rootCountsAt + histSize * 8);
  // each feature's first slot and the slot after its last (byte offsets), and its common slot's
  const p = sparse.common.length;
  const offsAt = align8(midAt + nRows * 4);
  const commonsAt = align8(offsAt + (p + 1) * 4);
  // entries as u16 slot numbers where the histogram has at most 65,536 slots (`hist16`), else as
  // i32 byte offsets
  const narrow = histSize / 3 <= 65536;
  const entryBytes = narrow ? 2 : 4;
  const indexAt = align8(commonsAt + p * 4);
  const rowsAt = align8(indexAt + nnz * entryBytes);
  const rightAt = align8(rowsAt + nRows * 4);
  // the helper's left and right rows of its half of a partition
  const helperLeftAt = align8(rightAt + nRows * 4);
  const helperRightAt = align8(helperLeftAt + nRows * 2 + 4);
  const gAt = align8(helperRightAt + nRows * 2 + 4);
  const hAt = align8(gAt + nRows * R * 4);
  const slotsAt = align8(hAt + nRows * R * 4);
  const nSlots = Math.min(slots, Math.floor(SLOTS_MAX_BYTES / (histSize * 8)));
  // the step kernel's rows: F, leaf, y, w, the leaf values, the helper's F, g and h (upper half)
  const half = nRows - (nRows >>> 1);
  const boostAt = slotsAt + nSlots * histSize * 8;
  const bF = boostAt;
  const bLeaf = align8(bF + 8 * nRows);
  const bY = align8(bLeaf + 4 * nRows);
  const bW = align8(bY + 4 * nRows);
  const bValues = align8(bW + 8 * nRows);
  const bOutF = align8(bValues + 8 * treeNodes);
  const bOutG = align8(bOutF + 8 * half);
  const bOutH = align8(bOutG + 4 * half);
  // each row's first entry in the slots this thread adds beside the helper's build (besideSplit on;
  // last: a fit that does not use it leaves its pages untouched, and the rest where it was)
  const besideMidAt = align8(treeNodes > 0 ? align8(bOutH + 4 * half) : boostAt);
  const end = besideMidAt + nRows * 4;
  // 32-bit addresses: a fit whose data would not fit in 4 GiB (or whose memory cannot be had) takes
  // the JS loops
  const pages = Math.ceil(end / PAGE) + 1;
  if (pages > MAX_PAGES) return null;
  let mem: WebAssembly.Memory;
  // the bins where they are: in `made`, grown to the other regions when its most allows
  const binned =
    made !== null &&
    bins.buffer === made.bins.buffer &&
    bins.byteOffset === binsAt &&
    bins.length === made.bins.length;
  try {
    const have = binned ? made.memory.buffer.byteLength / PAGE : 0;
    if (binned && made.memory.grow(Math.max(0, pages - have)) >= 0) mem = made.memory;
    else {
      // shared: the helper thread builds half of a large node's histogram in it
      const shared = { initial: pages, maximum: pages, shared: true };
      mem = new WebAssembly.Memory(shared);
    }
  } catch {
    // (`made` could not grow that far: memory of its own)
    try {
      const shared = { initial: pages, maximum: pages, shared: true };
      mem = new WebAssembly.Memory(shared);
    } catch {
      return null;
    }
  }
  const buf = mem.buffer;
  const ptr = new Int32Array(buf, 0, nRows + 1);
  for (let r = 0; r <= nRows; r++) ptr[r] = indexAt + entryBytes * sparse.ptr[r]!;
  const index = narrow ? new Uint16Array(buf, indexAt, nnz) : new Int32Array(buf, indexAt, nnz);
  const split = sparse.half ?? splitSlot(sparse.index, histSize);
  // (a fit that cannot hand off builds nothing beside: no second split point to find and use)
  const shareBeside =
    split > 0 && split < histSize && nRows >= HIST_PARALLEL_MIN_ROWS && !helperOff && helperAllowed();
  const besideSplit = shareBeside ? sampledSplit(sparse, nRows, histSize, 1 - BESIDE_CALLER_SHARE) : histSize;
  const mid = new Int32Array(buf, midAt, nRows);
  const besideMid = new Int32Array(buf, besideMidAt, nRows);
  // the entries as the kernel reads them (a histogram index, a multiple of 3: its slot number, or
  // its byte offset), and each row's first entry in the helper's slots (entries ascend within a row:
  // the entries below `split` counted), in one pass
  // (x / 3 of a multiple of 3 below 2^31 as x times 3's inverse mod 2^32: an integer multiply, not
  // a division of doubles; a loop for each format: no test of it an entry. Each row's entries below
  // `besideSplit` are counted too: histSize, every entry, in a fit that builds nothing beside)
  const { ptr: rowPtr, index: entries } = sparse;
  if (narrow)
    for (let r = 0; r < nRows; r++) {
      const e = rowPtr[r + 1]!;
      let m = rowPtr[r]!;
      let mb = m;
      for (let k = m; k < e; k++) {
        const x = entries[k]!;
        index[k] = Math.imul(x, 0xaaaaaaab);
        m += +(x < split);
        mb += +(x < besideSplit);
      }
      mid[r] = indexAt + entryBytes * m;
      besideMid[r] = indexAt + entryBytes * mb;
    }
  else
    for (let r = 0; r < nRows; r++) {
      const e = rowPtr[r + 1]!;
      let m = rowPtr[r]!;
      let mb = m;
      for (let k = m; k < e; k++) {
        const x = entries[k]!;
        index[k] = 8 * x;
        m += +(x < split);
        mb += +(x < besideSplit);
      }
      mid[r] = indexAt + entryBytes * m;
      besideMid[r] = indexAt + entryBytes * mb;
    }
  if (mem !== made?.memory) new Uint8Array(buf, binsAt, bins.length).set(bins);
  const histView = new Float64Array(buf, hist, histSize);
  const helperHist = new Float64Array(buf, helperHistAt, histSize);
  const sumsView = new Float64Array(buf, sums, 2);
  const helperSumsView = new Float64Array(buf, helperSums, 2);
  const k = new WebAssembly.Instance(mod, { env: { memory: mem } }).exports as Record<
    string,
    (...a: number[]) => number
  >;
  const histFn = narrow ? k.hist16! : k.hist!;
  const histGFn = narrow ? k.histG16! : k.histG!;
  const partFn = k.part!;
  const rootCounts = new Float64Array(buf, rootCountsAt, histSize);
  const commonFn = k.common!;
  const subFn = k.sub!;
  const offs = new Int32Array(buf, offsAt, p + 1);
  new Int32Array(buf, commonsAt, p).set(sparse.common.map((c) => 8 * c));
  // the histogram offsets in `offs` (commonBins' first call)
  let offsOf: Int32Array | null = null;
  // whether rootCounts holds the root's counts (after the fit's first root)
  let haveRootCounts = false;
  const rows = new Uint32Array(buf, rowsAt, nRows);
  const right = new Uint32Array(buf, rightAt, nRows);
  const helperLeft = new Uint32Array(buf, helperLeftAt, (nRows >>> 1) + 1);
  const helperRight = new Uint32Array(buf, helperRightAt, (nRows >>> 1) + 1);
  const countView = new Int32Array(buf, helperCount, 1);
  // what the helper keeps for this fit: the memory (it instantiates the kernels on it once)
  const state: HistHelperState = { memory: mem };
  const twoThreads = split > 0 && split < histSize;
  // this fit's split builds so far, and the time they saved (splitPays)
  let splits = 0;
  let savedMs = 0;
  return {
    rows,
    slots: Array.from(
      { length: nSlots },
      (_, i) => new Float64Array(buf, slotsAt + i * histSize * 8, histSize),
    ),
    g: new Float32Array(buf, gAt, nRows * R),
    h: new Float32Array(buf, hAt, nRows * R),
    boost:
      treeNodes > 0
        ? {
            memory: mem,
            F: new Float64Array(buf, bF, nRows),
            leaf: new Int32Array(buf, bLeaf, nRows),
            y: new Int32Array(buf, bY, nRows),
            w: new Float64Array(buf, bW, nRows),
            values: new Float64Array(buf, bValues, treeNodes),
            outF: new Float64Array(buf, bOutF, half),
            outG: new Float32Array(buf, bOutG, half),
            outH: new Float32Array(buf, bOutH, half),
          }
        : null,
    build(g, h, start, end, out) {
      if (g.buffer !== buf || h.buffer !== buf)
        throw new RangeError("gradients outside the histogram memory");
      const inPlace = out.buffer === buf;
      const target = inPlace ? out : histView;
      const q0 = rowsAt + 4 * start;
      const q1 = rowsAt + 4 * end;
      const gb = g.byteOffset;
      const hb = h.byteOffset;
      const at = target.byteOffset;
      // a root (every row) takes its counts from the first root's: the kernel adds G and H only
      const root = start === 0 && end === nRows;
      const counted = root && haveRootCounts;
      const fn = counted ? histGFn : histFn;
      if (
        twoThreads &&
        !helperOff &&
        nRows >= HIST_PARALLEL_MIN_ROWS &&
        end - start >= HIST_PARALLEL_NODE_MIN_ROWS &&
        splitPays(savedMs, splits) &&
        helperReady()
      ) {
        // (the helper's slots are copied over: zeroed here only when it is late)
        if (counted) target.set(rootCounts.subarray(0, split));
        else target.fill(0, 0, split);
        // the slots from `split` on built by the helper into its own histogram (copied here when it
        // is done); each slot still adds its rows in node order: the same sums as on one thread
        const args: HistHalfArgs = {
          rows: [q0, q1],
          gh: [gb, hb],
          sums: helperSums,
          out: helperHistAt,
          entries: [midAt, 4],
          from: split,
          size: histSize,
          counts: counted ? rootCountsAt : 0,
          narrow,
        };
        const t0 = performance.now();
        let own = 0;
        const ok = runWithHelper(
          task("hgb.histHalf", args),
          () => {
            fn(q0, q1, gb, hb, sums, at, 0, midAt);
            own = performance.now() - t0;
          },
          state,
          HIST_HELPER_WAIT_MS,
          FIT_HELPER_SPIN_MS,
        );
        if (ok) {
          target.set(helperHist.subarray(split, histSize), split);
          handOffs++;
        } else {
          if (counted) target.set(rootCounts.subarray(split), split);
          else target.fill(0, split);
          fn(q0, q1, gb, hb, sinkSums, at, midAt, 4);
        }
        splits++;
        savedMs += 2 * own - (performance.now() - t0);
      } else {
        if (counted) target.set(rootCounts);
        else target.fill(0);
        fn(q0, q1, gb, hb, sums, at, 0, 4);
      }
      if (root && !haveRootCounts) {
        // (before histogram.ts fills the common bins' slots: theirs are 0 here, as in every build)
        for (let q = 0; q < histSize; q += 3) rootCounts[q + 2] = target[q + 2]!;
        haveRootCounts = true;
      }
      if (!inPlace) out.set(histView);
      return { G: sumsView[0]!, H: sumsView[1]! };
    },
    besideReady(m, out) {
      return (
        pipelineOn &&
        !helperOff &&
        nRows >= HIST_PARALLEL_MIN_ROWS &&
        m >= PIPELINE_MIN_ROWS &&
        out.buffer === buf &&
        helperReady()
      );
    },
    buildBeside(g, h, start, end, out, mine) {
      if (g.buffer !== buf || h.buffer !== buf || out.buffer !== buf)
        throw new RangeError("a histogram outside the kernel memory");
      const q0 = rowsAt + 4 * start;
      const q1 = rowsAt + 4 * end;
      const gb = g.byteOffset;
      const hb = h.byteOffset;
      const at = out.byteOffset;
      // the helper the slots below besideSplit, this thread the rest after mine() (each slot still
      // adds its rows in node order: the same sums); the addresses as int32 words (the memory is at
      // most 4 GiB: histWholeTask reads them unsigned)
      // (besideSplit at the end: the helper builds every slot, through each row's last entry)
      const helperTo = shareBeside ? besideMidAt : 4;
      const words: HistWholeWords = [q0, q1, gb, hb, helperSums, at, besideSplit, narrow ? 1 : 0, helperTo];
      const by = runWithHelperWords(
        "hgb.histWhole",
        words,
        () => {
          onThisThread(mine);
          if (!shareBeside) return;
          out.fill(0, besideSplit, histSize);
          histFn(q0, q1, gb, hb, sinkSums, at, besideMidAt, 4);
        },
        state,
        Math.max(HIST_HELPER_WAIT_MS, (end - start) * BESIDE_WAIT_MS_PER_ROW),
        FIT_HELPER_SPIN_MS,
      );
      if (by === "caller") {
        // the helper's slots here too (`out` is this thread's: the helper never started)
        out.fill(0, 0, besideSplit);
        histFn(q0, q1, gb, hb, helperSums, at, 0, helperTo);
      } else if (by === "late") return by;
      else besideHandOffs++;
      return { G: helperSumsView[0]!, H: helperSumsView[1]! };
    },
    commonBins(out, off, G, H, m) {
      if (out.buffer !== buf || off.length !== p + 1) return false;
      if (offsOf !== off) {
        for (let f = 0; f <= p; f++) offs[f] = 8 * off[f]!;
        offsOf = off;
      }
      commonFn(out.byteOffset, offsAt, commonsAt, p, G, H, m);
      return true;
    },
    subtract(parent, child, length) {
      if (parent.buffer !== buf || child.buffer !== buf) return false;
      subFn(parent.byteOffset, child.byteOffset, 8 * length);
      return true;
    },
    partition(start, end, feature, bin, missingLeft) {
      const col = binsAt + feature * nRows;
      const q0 = rowsAt + 4 * start;
      const q1 = rowsAt + 4 * end;
      if (
        !(
          twoThreads &&
          !helperOff &&
          end - start >= HIST_PARALLEL_MIN_ROWS &&
          splitPays(savedMs, splits) &&
          helperReady()
        )
      ) {
        const nl = partFn(q0, q1, col, bin, missingLeft, q0, rightAt);
        rows.set(right.subarray(0, end - start - nl), start + nl);
        return start + nl;
      }
      // the upper half's rows by the helper into its own left and right rows; the lower half's here
      // (left in place, right to `right`); then left (lower, upper), right (lower, upper): the same
      // order as one pass over the node
      const m = start + ((end - start) >>> 1);
      const qm = rowsAt + 4 * m;
      let nlA = 0;
      const args: PartHalfArgs = {
        rows: [qm, q1],
        col,
        bin,
        missingLeft,
        out: [helperLeftAt, helperRightAt],
        count: helperCount,
      };
      const ok = runWithHelper(
        task("hgb.partHalf", args),
        () => {
          nlA = partFn(q0, qm, col, bin, missingLeft, q0, rightAt);
        },
        state,
        HIST_HELPER_WAIT_MS,
        FIT_HELPER_SPIN_MS,
      );
      const nrA = m - start - nlA;
      if (ok) {
        const nlB = countView[0]!;
        const nrB = end - m - nlB;
        rows.set(helperLeft.subarray(0, nlB), start + nlA);
        rows.set(right.subarray(0, nrA), start + nlA + nlB);
        rows.set(helperRight.subarray(0, nrB), start + nlA + nlB + nrA);
        partHandOffs++;
        return start + nlA + nlB;
      }
      // a late helper's rows are never read: the upper half here, its right rows after the lower's
      const nlB = partFn(qm, q1, col, bin, missingLeft, qm, rightAt + 4 * nrA);
      rows.copyWithin(start + nlA, m, m + nlB);
      rows.set(right.subarray(0, end - start - nlA - nlB), start + nlA + nlB);
      return start + nlA + nlB;
    },
  };
}

let partHandOffs = 0;
let besideHandOffs = 0;

/** Histograms the helper thread built whole beside this thread's work (buildBeside), so far (tests). */
export function pipelinedBuilds(): number {
  return besideHandOffs;
}

/** Partitions whose upper half the helper thread did, in this thread's fits so far (tests). */
export function partitionHandOffs(): number {
  return partHandOffs;
}

/** The helper thread's state for a fit: its kernel memory. */
export interface HistHelperState {
  memory: WebAssembly.Memory;
}

/** The helper's share of a histogram (byte addresses in the fit's memory). */
interface HistHalfArgs {
  /** The node's rows [begin, end) (addresses of row words). */
  rows: [number, number];
  /** Where g and h start. */
  gh: [number, number];
  sums: number;
  /** The helper's histogram. */
  out: number;
  /** The kernel's (lo, hi): each row's entries from mid[r] to ptr[r + 1]. */
  entries: [number, number];
  /** The first slot index it builds, and the histogram's length. */
  from: number;
  size: number;
  /** The root's counts' address (its slots copied in, the kernel adding G and H only), or 0. */
  counts: number;
  /** Entries as u16 slot numbers (`hist16`), not i32 byte offsets. */
  narrow: boolean;
}

/** The helper's half of a partition (byte addresses in the fit's memory). */
interface PartHalfArgs {
  /** The half's rows [begin, end) (addresses of row words). */
  rows: [number, number];
  /** The split: the binned column's address, the bin, whether missing values go left. */
  col: number;
  bin: number;
  missingLeft: number;
  /** Where its left and right rows go (its own words). */
  out: [number, number];
  /** Where its left count goes (an i32). */
  count: number;
}

type Kernel = (...a: number[]) => number;

/** Per kernel memory, the step kernel instantiated on it in this thread. */
const steps = new WeakMap<WebAssembly.Memory, Kernel>();

/** The step kernel (step-kernel.ts) on `memory`, a fit's kernel memory (either thread). */
export function stepKernelOn(memory: WebAssembly.Memory): Kernel {
  let k = steps.get(memory);
  if (!k) {
    const mod = kernelModule();
    if (!mod) throw new Error("no WebAssembly kernels");
    k = (new WebAssembly.Instance(mod, { env: { memory } }).exports as Record<string, Kernel>).step!;
    steps.set(memory, k);
  }
  return k;
}

/** Per fit memory, the kernels instantiated on it in this (the helper) thread. */
interface HelperKernels {
  hist: Kernel;
  histG: Kernel;
  hist16: Kernel;
  histG16: Kernel;
  part: Kernel;
}

const onHelper = new WeakMap<HistHelperState, HelperKernels>();

function helperKernels(state: HistHelperState): HelperKernels {
  let k = onHelper.get(state);
  if (!k) {
    const mod = kernelModule();
    if (!mod) throw new Error("no WebAssembly in the helper thread");
    const e = new WebAssembly.Instance(mod, { env: { memory: state.memory } }).exports as Record<
      string,
      Kernel
    >;
    k = { hist: e.hist!, histG: e.histG!, hist16: e.hist16!, histG16: e.histG16!, part: e.part! };
    onHelper.set(state, k);
  }
  return k;
}

/**
 * The helper's share of `build`: its slots zeroed (or set to the root's counts), then its entries of
 * the node's rows added.
 */
export function histHalfTask(a: HistHalfArgs, state: HistHelperState): null {
  const k = helperKernels(state);
  const fn = a.narrow ? (a.counts ? k.histG16 : k.hist16) : a.counts ? k.histG : k.hist;
  const buf = state.memory.buffer;
  const out = new Float64Array(buf, a.out, a.size);
  if (a.counts) out.set(new Float64Array(buf, a.counts, a.size).subarray(a.from), a.from);
  else out.fill(0, a.from);
  fn(a.rows[0], a.rows[1], a.gh[0], a.gh[1], a.sums, a.out, a.entries[0], a.entries[1]);
  return null;
}

/**
 * buildBeside's task as int32 words (runWithHelperWords): the node's rows [begin, end) (addresses of
 * row words), where g and h start, where its G and H go, the histogram's address, the histogram index
 * its slots end at, 1 for entries as u16 slot numbers (`hist16`), and where each row's first entry
 * past its slots is (an array of entry addresses).
 */
type HistWholeWords = [number, number, number, number, number, number, number, number, number];

/**
 * The helper's slots of a histogram built beside this thread (buildBeside): its slots zeroed, then
 * its entries of the node's rows added.
 */
export function histWholeTask(w: Int32Array, state: HistHelperState): null {
  const k = helperKernels(state);
  const fn = w[7] ? k.hist16 : k.hist;
  const at = w[5]! >>> 0;
  new Float64Array(state.memory.buffer, at, w[6]!).fill(0);
  fn(w[0]!, w[1]!, w[2]!, w[3]!, w[4]!, at, 0, w[8]!);
  return null;
}

/** The helper's share of `partition`: its half's rows to its own left and right rows. */
export function partHalfTask(a: PartHalfArgs, state: HistHelperState): null {
  const { part } = helperKernels(state);
  const nl = part(a.rows[0], a.rows[1], a.col, a.bin, a.missingLeft, a.out[0], a.out[1]);
  new Int32Array(state.memory.buffer, a.count, 1)[0] = nl;
  return null;
}

declare module "../../core/tasks.ts" {
  interface TaskFns {
    "hgb.histHalf": typeof histHalfTask;
    "hgb.partHalf": typeof partHalfTask;
    "hgb.histWhole": typeof histWholeTask;
  }
}
