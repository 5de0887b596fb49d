/**
 * The per-row work of a binary fit between two trees, on two threads: each row's raw score moves by
 * the value of the leaf its partition reached (F[i] += value[leaf[i]]), then the next iteration's
 * gradient and hessian come from it (loss.ts's binary formulas, the same expressions). Rows are
 * independent, so the helper thread takes the upper half of the rows (task `hgb.boostRows`) while this
 * thread does the lower: the same numbers as on one thread, to the bit.
 *
 * The helper reads the fit's arrays (shared memory) and writes its half only into its own outputs,
 * copied in when it is done; a helper that is late (descheduled by other work) is left to finish
 * alone and this thread does its half in place (what the late helper writes is never read: it gets no
 * task until it is done), as the histogram's hand-off (wasm-kernels.ts); and as there, after 16 split
 * steps a fit goes on splitting only while they have saved time in all (`splitPays`).
 *
 * When the fit has WebAssembly kernels, the arrays live on its kernel memory and both threads run the
 * step kernel (step-kernel.ts: the same numbers as `binaryStep`, without a call into C for each e^x),
 * on one thread too; without them, this path is taken only where it is split (on one thread the JS
 * step is slower than loss.ts's two loops).
 */
import { helperReady, runWithHelper } from "../../core/helper.ts";
import { task } from "../../core/tasks.ts";
import { type BoostRowsMemory, FIT_HELPER_SPIN_MS, splitPays, stepKernelOn } from "./wasm-kernels.ts";

/**
 * Rows from which a fit takes this path and splits its steps with the helper. Phishing's 8,843 rows
 * (0.25 ms a step) lost time split at 4,096 on a machine with other work (its one-thread loops also
 * beat this path's by 8%); NSL-KDD's 126k rows take about 3 ms a step.
 */
export const BOOST_ROWS_PARALLEL_MIN = 16384;

/** The least a step waits for the helper's half after its own (as a histogram build: 1 ms). */
const BOOST_ROWS_WAIT_MS = 1;

/** A fit's row arrays, kept by the helper for the fit (cloned to it once; shared memory stays shared). */
export interface BoostRowsState {
  /** Raw scores (n; shared memory). */
  F: Float64Array;
  /** Each row's leaf in the tree just grown (n; shared memory). */
  leaf: Int32Array;
  y: Int32Array;
  w: Float64Array;
  /** The helper's outputs for rows [half, n): raw scores, gradients, hessians (shared memory). */
  outF: Float64Array;
  outG: Float32Array;
  outH: Float32Array;
  /**
   * The kernel memory every array here is a view on (the step kernel's; g and h must be views on it
   * too), with room for a tree's leaf values; null: the JS step.
   */
  memory: WebAssembly.Memory | null;
  values: Float64Array | null;
}

interface BoostRowsArgs {
  from: number;
  to: number;
  /** The leaf values of the tree just grown (null: no tree yet, gradients only). */
  values: Float64Array | null;
  /** Whether to compute gradients (not after the last tree). */
  grad: boolean;
}

/**
 * Rows [from, to): F[i] += values[leaf[i]] (when values), then g and h of row i. Results go to
 * Fo[i − at], g[i − at], h[i − at] (at = 0 with Fo = F: in place; the helper: its own outputs).
 * p = 1 / (1 + e^−F); g = w (p − y); h = w p (1 − p), rounded to float32 (loss.ts's `gradients`).
 */
export function binaryStep(
  F: Float64Array,
  leaf: Int32Array,
  values: Float64Array | null,
  y: Int32Array,
  w: Float64Array,
  grad: boolean,
  from: number,
  to: number,
  Fo: Float64Array,
  g: Float32Array,
  h: Float32Array,
  at: number,
): void {
  for (let i = from; i < to; i++) {
    let f = F[i]!;
    if (values) Fo[i - at] = f += values[leaf[i]!]!;
    if (!grad) continue;
    const p = 1 / (1 + Math.exp(-f));
    g[i - at] = w[i]! * (p - (y[i] === 1 ? 1 : 0));
    h[i - at] = w[i]! * p * (1 - p);
  }
}

/**
 * `binaryStep` on the state's arrays: the step kernel when they are on its memory (the leaf values
 * already copied to s.values), else the JS loop.
 */
function step(
  s: BoostRowsState,
  values: Float64Array | null,
  grad: boolean,
  from: number,
  to: number,
  Fo: Float64Array,
  g: Float32Array,
  h: Float32Array,
  at: number,
): void {
  if (!s.memory) {
    binaryStep(s.F, s.leaf, values, s.y, s.w, grad, from, to, Fo, g, h, at);
    return;
  }
  const buf = s.memory.buffer;
  if (Fo.buffer !== buf || g.buffer !== buf || h.buffer !== buf)
    throw new RangeError("step outputs outside the kernel memory");
  stepKernelOn(s.memory)(
    from,
    to,
    s.F.byteOffset,
    s.leaf.byteOffset,
    values ? s.values!.byteOffset : 0,
    s.y.byteOffset,
    s.w.byteOffset,
    grad ? 1 : 0,
    Fo.byteOffset,
    g.byteOffset,
    h.byteOffset,
    at,
  );
}

/** The helper's half of a step: rows [from, to) into its outputs. */
export function boostRowsTask(a: BoostRowsArgs, s: BoostRowsState): null {
  step(s, a.values, a.grad, a.from, a.to, s.outF, s.outG, s.outH, a.from);
  return null;
}

/**
 * The arrays of a binary fit on n rows: on the fit's kernel memory when given (`mem`, y and w copied
 * in), else F and leaf on shared memory; F and leaf zeroed.
 */
export function boostRowsState(
  y: Int32Array,
  w: Float64Array,
  mem: BoostRowsMemory | null = null,
): BoostRowsState {
  if (mem) {
    mem.y.set(y);
    mem.w.set(w);
    mem.F.fill(0);
    mem.leaf.fill(0);
    const { memory, F, leaf, outF, outG, outH, values } = mem;
    return { F, leaf, y: mem.y, w: mem.w, outF, outG, outH, memory, values };
  }
  const n = y.length;
  const half = n - (n >>> 1);
  const shared = (bytes: number) => new SharedArrayBuffer(Math.max(1, bytes));
  return {
    F: new Float64Array(shared(8 * n)),
    leaf: new Int32Array(shared(4 * n)),
    y,
    w,
    outF: new Float64Array(shared(8 * half)),
    outG: new Float32Array(shared(4 * half)),
    outH: new Float32Array(shared(4 * half)),
    memory: null,
    values: null,
  };
}

/**
 * One step over every row (s.leaf must hold every row's leaf when `values` is given): gradients into
 * g and h (n each). Split with the helper thread from BOOST_ROWS_PARALLEL_MIN rows when it is free.
 */
export function boostRows(
  s: BoostRowsState,
  values: Float64Array | null,
  grad: boolean,
  g: Float32Array,
  h: Float32Array,
  useHelper: boolean,
): void {
  const { F, y } = s;
  const n = y.length;
  if (values && s.values) {
    if (values.length > s.values.length) throw new RangeError(`a tree of ${values.length} nodes`);
    s.values.set(values);
  }
  let trial = trials.get(s);
  if (!trial) trials.set(s, (trial = { count: 0, savedMs: 0 }));
  if (!useHelper || n < BOOST_ROWS_PARALLEL_MIN || !splitPays(trial.savedMs, trial.count) || !helperReady()) {
    step(s, values, grad, 0, n, F, g, h, 0);
    return;
  }
  const mid = n >>> 1;
  const t0 = performance.now();
  let own = 0;
  const ok = runWithHelper(
    task("hgb.boostRows", { from: mid, to: n, values, grad }),
    () => {
      step(s, values, grad, 0, mid, F, g, h, 0);
      own = performance.now() - t0;
    },
    s,
    BOOST_ROWS_WAIT_MS,
    FIT_HELPER_SPIN_MS,
  );
  if (!ok) step(s, values, grad, mid, n, F, g, h, 0);
  // as the histograms (splitPays): twice this thread's half is about the step alone
  trial.count++;
  trial.savedMs += 2 * own - (performance.now() - t0);
  if (!ok) return;
  const m = n - mid;
  if (values) F.set(s.outF.subarray(0, m), mid);
  if (grad) {
    g.set(s.outG.subarray(0, m), mid);
    h.set(s.outH.subarray(0, m), mid);
  }
  boostHandOffs++;
}

/** Per fit: its split steps so far and the time they saved (splitPays). */
const trials = new WeakMap<BoostRowsState, { count: number; savedMs: number }>();

let boostHandOffs = 0;

/** Steps whose upper half the helper did, in this thread's fits so far (tests). */
export function boostRowsHandOffs(): number {
  return boostHandOffs;
}

declare module "../../core/tasks.ts" {
  interface TaskFns {
    "hgb.boostRows": typeof boostRowsTask;
  }
}
