/**
 * The packed tree walks (walks.ts) as WebAssembly kernels, emitted with core/wasm.ts: eight rows
 * walk a tree together (the JS walks take four: more lanes keep more loads in flight but run out of
 * registers in JS), without bounds checks, and the leaf values are added in the same kernel module.
 * Every kernel computes exactly what its JS counterpart does (the same leaves; the same additions in
 * the same order, f64 throughout), so predictions are identical to the last bit either way; the JS
 * walks stay for platforms without WebAssembly and as the reference in tests.
 *
 * Memory: per PackedTrees and thread, one WebAssembly.Memory holding the trees' tables and a scratch
 * region (a block's rows, leaves and sums) that grows on demand.
 */
import { assemble, type ValType, WasmFn } from "../../core/wasm.ts";
import type { PackedTrees } from "./packed-trees.ts";

/** Rows walking a tree at once. */
const LANES = 8;

/**
 * Where a kernel puts each row's result: its leaf (leaf[q] = leaf index), or the leaf's values added
 * to the row's sums, out[q·outK + off + c] += scale · val[leaf·K + c] for c < K (K fixed at 1 or 2,
 * or 0: K is a parameter) — what walkRows does after its walk, operation for operation.
 */
type Sink = { kind: "leaf" } | { kind: "sum"; K: number };

function sinkParams(sink: Sink): ValType[] {
  return sink.kind === "leaf"
    ? ["i32"]
    : ["i32", "i32", "i32", "i32", "f64", ...(sink.K === 0 ? (["i32"] as ValType[]) : [])];
}

function sinkName(base: string, sink: Sink): string {
  return sink.kind === "leaf" ? `${base}_leaf` : `${base}_sum${sink.K === 0 ? "k" : sink.K}`;
}

/**
 * The emitter of a sink: `emit(i, l, leaf)` writes row i + l's result, `leaf` pushing its leaf index.
 * First is the index of the sink's first parameter.
 */
function sinkEmitter(f: WasmFn, sink: Sink, first: number): (i: number, l: number, leaf: () => void) => void {
  if (sink.kind === "leaf") {
    const LEAF = first;
    return (i, l, leaf) => {
      f.get(LEAF).get(i).i32(l).i32Add().i32(2).i32Shl().i32Add();
      leaf();
      f.i32Store();
    };
  }
  const [VAL, OUT, OUTK, OFF, SCALE, KP] = [first, first + 1, first + 2, first + 3, first + 4, first + 5];
  const o = f.local("i32");
  const b = f.local("i32");
  const c = f.local("i32");
  return (i, l, leaf) => {
    f.get(OUT).get(i).i32(l).i32Add().get(OUTK).i32Mul().get(OFF).i32Add().i32(3).i32Shl().i32Add().set(o);
    f.get(VAL);
    leaf();
    if (sink.K === 0) f.get(KP);
    else f.i32(sink.K);
    f.i32Mul().i32(3).i32Shl().i32Add().set(b);
    if (sink.K > 0) {
      for (let k = 0; k < sink.K; k++)
        f.get(o)
          .get(o)
          .f64Load(8 * k)
          .get(SCALE)
          .get(b)
          .f64Load(8 * k)
          .f64Mul()
          .f64Add()
          .f64Store(8 * k);
      return;
    }
    f.i32(0).set(c);
    f.block().loop();
    f.get(c).get(KP).i32GeS().brIf(1);
    f.get(o).get(o).f64Load().get(SCALE).get(b).f64Load().f64Mul().f64Add().f64Store();
    f.get(o).i32(8).i32Add().set(o);
    f.get(b).i32(8).i32Add().set(b);
    f.get(c).i32(1).i32Add().set(c);
    f.br(0).end().end();
  };
}

/**
 * A walk to the leaves, LANES rows at a time, then the rest one by one: params (table, thr, root, xr,
 * m, p, ...extra). `lanes(f, x, n, nx, i)` gives `step(l)`, which moves lane l from n[l] to nx[l] (a
 * leaf steps to itself), and optionally `init(l)`, run when lane l starts on row i + l; `sink` writes
 * each row's result after its walk (none: the steps do all the work).
 */
function walkKernel(
  name: string,
  extra: ValType[],
  sink: Sink | null,
  lanesOf: (
    f: WasmFn,
    x: number[],
    n: number[],
    nx: number[],
    i: number,
  ) => { step: (l: number) => void; init?: (l: number) => void; leaf?: (l: number) => void },
): WasmFn {
  const f = new WasmFn(name, ["i32", "i32", "i32", "i32", "i32", "i32", ...extra]);
  const [ROOT, XR, M, P] = [2, 3, 4, 5];
  const i = f.local("i32");
  const ps = f.local("i32");
  const lanes = () => Array.from({ length: LANES }, () => f.local("i32"));
  const x = lanes();
  const n = lanes();
  const nx = lanes();
  const { step, init, leaf } = lanesOf(f, x, n, nx, i);
  const put = sink ? sinkEmitter(f, sink, 6) : null;
  const group = (count: number): void => {
    f.get(XR).get(i).get(ps).i32Mul().i32Add().set(x[0]!);
    for (let l = 1; l < count; l++)
      f.get(x[l - 1]!)
        .get(ps)
        .i32Add()
        .set(x[l]!);
    for (let l = 0; l < count; l++) {
      f.get(ROOT).set(n[l]!);
      init?.(l);
    }
    f.block().loop();
    if (count > 1) {
      // two steps a test for the end (a lane at its leaf steps to itself, harmlessly)
      for (let l = 0; l < count; l++) step(l);
      for (let l = 0; l < count; l++) f.get(nx[l]!).set(n[l]!);
    }
    for (let l = 0; l < count; l++) step(l);
    // every lane at its leaf: done
    f.get(nx[0]!).get(n[0]!).i32Xor();
    for (let l = 1; l < count; l++) f.get(nx[l]!).get(n[l]!).i32Xor().i32Or();
    f.i32Eqz().brIf(1);
    for (let l = 0; l < count; l++) f.get(nx[l]!).set(n[l]!);
    f.br(0).end().end();
    if (put) for (let l = 0; l < count; l++) put(i, l, leaf ? () => leaf(l) : () => f.get(n[l]!));
  };
  f.get(P).i32(3).i32Shl().set(ps);
  f.i32(0).set(i);
  for (const count of [LANES, 1]) {
    f.block().loop();
    f.get(i).i32(count).i32Add().get(M).i32GtS().brIf(1);
    group(count);
    f.get(i).i32(count).i32Add().set(i);
    f.br(0).end().end();
  }
  return f;
}

/** One compact step of lane l (b: a scratch local per lane): nx = x[fr[2n]] > thr[n] ? fr[2n + 1] : n + 1. */
function compactStep(f: WasmFn, x: number[], n: number[], nx: number[], b: number[], l: number): void {
  const [FR, THR] = [0, 1];
  f.get(FR).get(n[l]!).i32(3).i32Shl().i32Add().tee(b[l]!).i32Load(4);
  f.get(n[l]!).i32(1).i32Add();
  f.get(x[l]!).get(b[l]!).i32Load(0).i32(3).i32Shl().i32Add().f64Load();
  f.get(THR).get(n[l]!).i32(3).i32Shl().i32Add().f64Load();
  f.f64Gt().select().set(nx[l]!);
}

/** PackedTrees.compact (rows without missing values). */
function compactKernel(sink: Sink): WasmFn {
  return walkKernel(sinkName("compact", sink), sinkParams(sink), sink, (f, x, n, nx) => {
    const b = Array.from({ length: LANES }, () => f.local("i32"));
    return { step: (l) => compactStep(f, x, n, nx, b, l) };
  });
}

/**
 * The compact walk with each row reduced to a 64-bit code (bitCode): bit k of a row's code is its
 * answer to the forest's k-th (feature, threshold) test, bit 63 always 1; the node at byte offset b
 * (the table starts at 0) is one int, right's offset << 6 | k (a leaf: b << 6 | 63). A step is one
 * load and a shift of the code, with no load of the row's value on the dependent path:
 * nx = (code >> k) & 1 ? right : b + 4. Params as compactKernel with root = its byte offset, xr = the
 * codes and p = 1 (8 bytes a row); the table param is unused.
 */
/**
 * One bit-coded step of lane l (bitsKernel): w = the node's int, nx = (code >> k) & 1 ? right : n + 4.
 * n is the node's byte offset (the node table is at 0): no index arithmetic in a step.
 */
function bitsStep(f: WasmFn, c: number[], w: number[], n: number[], nx: number[], l: number): void {
  f.get(n[l]!).i32Load().set(w[l]!);
  f.get(w[l]!).i32(6).i32ShrU();
  f.get(n[l]!).i32(4).i32Add();
  // (code >> k) & 1, the shift count taken mod 64 (k is w's low six bits)
  f.get(c[l]!).get(w[l]!).i64ExtendI32U().i64ShrU().i32WrapI64().i32(1).i32And();
  f.select().set(nx[l]!);
}

/**
 * The explanations' add after a step, with out[·] (its byte address) on the stack: out[·] += moved ?
 * steps[nx] : 0, the node's steps entry at STEPS + (nx << shift) (3 for a node index, 1 for a byte
 * offset of 4-byte nodes). A lane at its leaf adds 0 to a sum that is never −0: no change.
 */
function addStepContribution(
  f: WasmFn,
  a: number,
  STEPS: number,
  n: number[],
  nx: number[],
  l: number,
  shift: number,
): void {
  f.tee(a);
  f.get(a).f64Load();
  f.get(STEPS).get(nx[l]!).i32(shift).i32Shl().i32Add().f64Load();
  f.f64(0).get(nx[l]!).get(n[l]!).i32Ne().select();
  f.f64Add().f64Store();
}

function bitsKernel(sink: Sink): WasmFn {
  return walkKernel(sinkName("bits", sink), sinkParams(sink), sink, (f, x, n, nx) => {
    const c = Array.from({ length: LANES }, () => f.local("i64"));
    const w = Array.from({ length: LANES }, () => f.local("i32"));
    return {
      init: (l) => {
        f.get(x[l]!).i64Load().set(c[l]!);
      },
      step: (l) => bitsStep(f, c, w, n, nx, l),
      leaf: (l) => {
        f.get(n[l]!).i32(2).i32ShrU();
      },
    };
  });
}

/**
 * codes(xr, m, p, pf, pt, np, out): for each of m rows of p values at xr, out[q] = 1 << 63 |
 * Σ_k (x[q·p + pf[k]/8] > pt[k]) << k, k < np (pf: byte offsets in a row, pt: thresholds).
 */
function codesFn(): WasmFn {
  const f = new WasmFn("codes", ["i32", "i32", "i32", "i32", "i32", "i32", "i32"]);
  const [XR, M, P, PF, PT, NP, OUT] = [0, 1, 2, 3, 4, 5, 6];
  const q = f.local("i32");
  const k = f.local("i32");
  const x = f.local("i32");
  const c = f.local("i64");
  f.i32(0).set(q);
  f.block().loop();
  f.get(q).get(M).i32GeS().brIf(1);
  f.get(XR).get(q).get(P).i32Mul().i32(3).i32Shl().i32Add().set(x);
  f.i64(1n << 63n).set(c);
  f.i32(0).set(k);
  f.block().loop();
  f.get(k).get(NP).i32GeS().brIf(1);
  f.get(c);
  f.get(x).get(PF).get(k).i32(2).i32Shl().i32Add().i32Load().i32Add().f64Load();
  f.get(PT).get(k).i32(3).i32Shl().i32Add().f64Load();
  f.f64Gt().i64ExtendI32U().get(k).i64ExtendI32U().i64Shl().i64Or().set(c);
  f.get(k).i32(1).i32Add().set(k);
  f.br(0).end().end();
  f.get(OUT).get(q).i32(3).i32Shl().i32Add().get(c).i64Store();
  f.get(q).i32(1).i32Add().set(q);
  f.br(0).end().end();
  return f;
}

/**
 * The node table with missing values: links[4n] the feature, the child links[4n + 1 + (x > t) +
 * 2·isNaN(x)].
 */
function generalKernel(sink: Sink): WasmFn {
  return walkKernel(sinkName("general", sink), sinkParams(sink), sink, (f, x, n, nx) => {
    const [LINKS, THR] = [0, 1];
    const a = Array.from({ length: LANES }, () => f.local("i32"));
    const v = Array.from({ length: LANES }, () => f.local("f64"));
    const step = (l: number): void => {
      f.get(LINKS).get(n[l]!).i32(4).i32Shl().i32Add().set(a[l]!);
      f.get(x[l]!).get(a[l]!).i32Load(0).i32(3).i32Shl().i32Add().f64Load().set(v[l]!);
      // links + 16n + 4 + 4·(v > t) + 8·(v ≠ v)
      f.get(a[l]!);
      f.get(v[l]!).get(THR).get(n[l]!).i32(3).i32Shl().i32Add().f64Load().f64Gt().i32(2).i32Shl().i32Add();
      f.get(v[l]!).get(v[l]!).f64Ne().i32(3).i32Shl().i32Add();
      f.i32Load(4).set(nx[l]!);
    };
    return { step };
  });
}

/**
 * One complete tree (PackedTrees.perfect): params (feat, thr, miss, D, lo, xr, m, p, plain, ...sink),
 * feat/thr/miss already at the tree's first split slot; D steps n = 2n + 1 + (x > t), a missing x going
 * right when miss[n] (only when plain = 0); the leaf is lo + n.
 */
function perfectKernel(sink: Sink): WasmFn {
  const f = new WasmFn(sinkName("perfect", sink), [
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    ...sinkParams(sink),
  ]);
  const [FEAT, THR, MISS, D, LO, XR, M, P, PLAIN] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const i = f.local("i32");
  const ps = f.local("i32");
  const s = f.local("i32");
  const x = Array.from({ length: LANES }, () => f.local("i32"));
  const n = Array.from({ length: LANES }, () => f.local("i32"));
  const v = Array.from({ length: LANES }, () => f.local("f64"));
  const t = Array.from({ length: LANES }, () => f.local("f64"));
  const put = sinkEmitter(f, sink, 9);
  const value = (l: number): void => {
    f.get(x[l]!).get(FEAT).get(n[l]!).i32(2).i32Shl().i32Add().i32Load().i32(3).i32Shl().i32Add().f64Load();
  };
  const threshold = (l: number): void => {
    f.get(THR).get(n[l]!).i32(3).i32Shl().i32Add().f64Load();
  };
  const plainStep = (l: number): void => {
    f.get(n[l]!).i32(1).i32Shl().i32(1).i32Add();
    value(l);
    threshold(l);
    f.f64Gt().i32Add().set(n[l]!);
  };
  const nanStep = (l: number): void => {
    value(l);
    f.set(v[l]!);
    threshold(l);
    f.set(t[l]!);
    f.get(n[l]!).i32(1).i32Shl().i32(1).i32Add();
    // v > t ? 1 : v <= t ? 0 : miss[n]
    f.i32(1).i32(0).get(MISS).get(n[l]!).i32Add().i32Load8U().get(v[l]!).get(t[l]!).f64Le().select();
    f.get(v[l]!).get(t[l]!).f64Gt().select();
    f.i32Add().set(n[l]!);
  };
  const steps = (count: number, one: (l: number) => void): void => {
    f.i32(0).set(s);
    f.block().loop();
    f.get(s).get(D).i32GeS().brIf(1);
    for (let l = 0; l < count; l++) one(l);
    f.get(s).i32(1).i32Add().set(s);
    f.br(0).end().end();
  };
  const group = (count: number): void => {
    f.get(XR).get(i).get(ps).i32Mul().i32Add().set(x[0]!);
    for (let l = 1; l < count; l++)
      f.get(x[l - 1]!)
        .get(ps)
        .i32Add()
        .set(x[l]!);
    for (let l = 0; l < count; l++) f.i32(0).set(n[l]!);
    // plain: the plain walk, then past the other; else the missing-value walk
    f.block();
    f.block();
    f.get(PLAIN).i32Eqz().brIf(0);
    steps(count, plainStep);
    f.br(1);
    f.end();
    steps(count, nanStep);
    f.end();
    for (let l = 0; l < count; l++) put(i, l, () => f.get(LO).get(n[l]!).i32Add());
  };
  f.get(P).i32(3).i32Shl().set(ps);
  f.i32(0).set(i);
  for (const count of [LANES, 1]) {
    f.block().loop();
    f.get(i).i32(count).i32Add().get(M).i32GtS().brIf(1);
    group(count);
    f.get(i).i32(count).i32Add().set(i);
    f.br(0).end().end();
  }
  return f;
}

/**
 * contrib(fr, thr, root, xr, m, p, steps, feat, out, nOut): packedContributionsAll's walk — along each
 * row's path through the compact table, out[q·nOut + feat[f]] += steps[child] for every move (a lane
 * at its leaf adds 0 to a sum that is never −0: no change).
 */
function contribKernel(): WasmFn {
  const [, , , , , , STEPS, FEAT, OUT, NOUT] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  return walkKernel("contrib", ["i32", "i32", "i32", "i32"], null, (f, x, n, nx, i) => {
    const b = Array.from({ length: LANES }, () => f.local("i32"));
    const o = Array.from({ length: LANES }, () => f.local("i32"));
    const a = f.local("i32");
    return {
      // lane l's sums: out + (i + l)·nOut doubles
      init: (l) => f.get(OUT).get(i).i32(l).i32Add().get(NOUT).i32Mul().i32(3).i32Shl().i32Add().set(o[l]!),
      step: (l) => {
        compactStep(f, x, n, nx, b, l);
        // out[o + feat[f]] += moved ? steps[nx] : 0
        f.get(o[l]!)
          .get(FEAT)
          .get(b[l]!)
          .i32Load(0)
          .i32(2)
          .i32Shl()
          .i32Add()
          .i32Load()
          .i32(3)
          .i32Shl()
          .i32Add();
        addStepContribution(f, a, STEPS, n, nx, l, 3);
      },
    };
  });
}

/**
 * contribKernel over the bit-coded nodes (bitsKernel): params (unused, unused, root byte offset,
 * codes, m, 1, steps, testOut, out, nOut), testOut[k] the output feature of test k (64 entries).
 */
function contribBitsKernel(): WasmFn {
  const [, , , , , , STEPS, TESTOUT, OUT, NOUT] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  return walkKernel("contrib_bits", ["i32", "i32", "i32", "i32"], null, (f, x, n, nx, i) => {
    const c = Array.from({ length: LANES }, () => f.local("i64"));
    const w = Array.from({ length: LANES }, () => f.local("i32"));
    const o = Array.from({ length: LANES }, () => f.local("i32"));
    const a = f.local("i32");
    return {
      init: (l) => {
        f.get(OUT).get(i).i32(l).i32Add().get(NOUT).i32Mul().i32(3).i32Shl().i32Add().set(o[l]!);
        f.get(x[l]!).i64Load().set(c[l]!);
      },
      step: (l) => {
        bitsStep(f, c, w, n, nx, l);
        // out[o + testOut[k]] += moved ? steps[node index of nx] : 0
        f.get(o[l]!)
          .get(TESTOUT)
          .get(w[l]!)
          .i32(63)
          .i32And()
          .i32(2)
          .i32Shl()
          .i32Add()
          .i32Load()
          .i32(3)
          .i32Shl()
          .i32Add();
        addStepContribution(f, a, STEPS, n, nx, l, 1);
      },
    };
  });
}

const SUMS: Sink[] = [
  { kind: "sum", K: 1 },
  { kind: "sum", K: 2 },
  { kind: "sum", K: 0 },
];

function kernels(): WasmFn[] {
  return [
    compactKernel({ kind: "leaf" }),
    generalKernel({ kind: "leaf" }),
    ...SUMS.flatMap((k) => [compactKernel(k), generalKernel(k), perfectKernel(k), bitsKernel(k)]),
    contribKernel(),
    contribBitsKernel(),
    codesFn(),
  ];
}

type Fn = (...args: number[]) => void;

let compiled: WebAssembly.Module | null | undefined;

/** The kernels' module, compiled once per thread (null where WebAssembly is missing or disabled). */
function kernelModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled =
      typeof WebAssembly === "object" && !wasmDisabled ? new WebAssembly.Module(assemble(kernels())) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

let wasmDisabled = false;

/** Tests compare the kernels with the JS walks: off (true) makes every walk take the JS path. */
export function disableWasmWalks(off: boolean): void {
  wasmDisabled = off;
  compiled = undefined;
  forests = new WeakMap();
}

const PAGE = 65536;

/** Blocks this large, of forests this large, are walked in leaf order (WasmTrees.walkBlock). */
const ORDER_MIN_ROWS = 64;
const ORDER_MIN_TREES = 8;

/** At most this many distinct tests for the bit-coded walk (bit 63 of a code is the leaves' "always"). */
export const MAX_BIT_TESTS = 63;

/**
 * The compact table as bit-coded nodes, when the forest's splits test at most 63 distinct (feature,
 * threshold) pairs (binary and few-valued features: flags, one-hot columns, -1/0/1 indicators): per
 * node 4·right << 6 | k, k the test's index (a leaf: 4·itself << 6 | 63), and the tests (the feature's
 * byte offset in a row, the threshold). A row's answers to every test are then one 64-bit code, and
 * x > t is the same comparison either way: the same leaves. Null for larger forests or more tests.
 */
export function bitCode(
  C: NonNullable<PackedTrees["compact"]>,
): { nodes: Int32Array; feat: Int32Array; thr: Float64Array } | null {
  const total = C.thr.length;
  // byte offsets << 6 stay below 2^31
  if (4 * total >= 1 << 25) return null;
  const byFeature = new Map<number, Map<number, number>>();
  const feat: number[] = [];
  const thr: number[] = [];
  const nodes = new Int32Array(total);
  for (let g = 0; g < total; g++) {
    const right = C.fr[2 * g + 1]!;
    if (right === g) {
      nodes[g] = ((4 * g) << 6) | MAX_BIT_TESTS;
      continue;
    }
    const f = C.fr[2 * g]!;
    const t = C.thr[g]!;
    let tests = byFeature.get(f);
    if (!tests) {
      tests = new Map();
      byFeature.set(f, tests);
    }
    let k = tests.get(t);
    if (k === undefined) {
      if (feat.length === MAX_BIT_TESTS) return null;
      k = feat.length;
      tests.set(t, k);
      feat.push(8 * f);
      thr.push(t);
    }
    nodes[g] = ((4 * right) << 6) | k;
  }
  return { nodes, feat: Int32Array.from(feat), thr: Float64Array.from(thr) };
}

/** One PackedTrees in a WebAssembly memory: its tables, then scratch for a block. */
export class WasmTrees {
  private readonly mem: WebAssembly.Memory;
  private readonly k: Record<string, Fn>;
  private readonly P: PackedTrees;
  /** Byte offsets of the tables. */
  private readonly at: {
    fr: number;
    thr: number;
    links: number;
    threshold: number;
    value: number;
    pFeat: number;
    pThr: number;
    pMiss: number;
    pValue: number;
    features: number;
    /** bitCode's tables (0 when the forest has none), and its number of tests. */
    bNodes: number;
    bFeat: number;
    bThr: number;
    bTests: number;
    /** Per test (64 entries), the output feature its node's contributions go to. */
    bOut: number;
  };
  /** Where scratch starts (tables added later, the path steps of explanations, go before it). */
  private scratch: number;
  /** Where each contributionSteps array was copied. */
  private readonly stepsAt = new WeakMap<Float64Array, number>();

  constructor(P: PackedTrees, mod: WebAssembly.Module) {
    this.P = P;
    let end = 0;
    const take = (bytes: number): number => {
      const o = end;
      end += Math.ceil(bytes / 8) * 8;
      return o;
    };
    const C = P.compact;
    const Q = P.perfect;
    const B = C && !Q ? bitCode(C) : null;
    this.at = {
      // first: the bit-coded walk addresses nodes by byte offset from 0
      bNodes: B ? take(B.nodes.byteLength) : 0,
      fr: C ? take(C.fr.byteLength) : 0,
      thr: C ? take(C.thr.byteLength) : 0,
      links: take(P.links.byteLength),
      threshold: take(P.threshold.byteLength),
      value: take(P.value.byteLength),
      pFeat: Q ? take(Q.feat.byteLength) : 0,
      pThr: Q ? take(Q.thr.byteLength) : 0,
      pMiss: Q ? take(Q.missRight.byteLength) : 0,
      pValue: Q ? take(Q.value.byteLength) : 0,
      features: take(P.features.byteLength),
      bFeat: B ? take(B.feat.byteLength) : 0,
      bThr: B ? take(B.thr.byteLength) : 0,
      bTests: B ? B.feat.length : -1,
      bOut: B ? take(4 * 64) : 0,
    };
    this.scratch = end;
    this.mem = new WebAssembly.Memory({ initial: Math.ceil((end + PAGE) / PAGE) });
    const buf = this.mem.buffer;
    if (C) {
      new Int32Array(buf, this.at.fr, C.fr.length).set(C.fr);
      new Float64Array(buf, this.at.thr, C.thr.length).set(C.thr);
    }
    new Int32Array(buf, this.at.links, P.links.length).set(P.links);
    new Float64Array(buf, this.at.threshold, P.threshold.length).set(P.threshold);
    new Float64Array(buf, this.at.value, P.value.length).set(P.value);
    new Int32Array(buf, this.at.features, P.features.length).set(P.features);
    if (B) {
      new Int32Array(buf, this.at.bNodes, B.nodes.length).set(B.nodes);
      new Int32Array(buf, this.at.bFeat, B.feat.length).set(B.feat);
      new Float64Array(buf, this.at.bThr, B.thr.length).set(B.thr);
      const out = new Int32Array(buf, this.at.bOut, 64);
      for (let k = 0; k < B.feat.length; k++) out[k] = P.features[B.feat[k]! / 8]!;
    }
    if (Q) {
      new Int32Array(buf, this.at.pFeat, Q.feat.length).set(Q.feat);
      new Float64Array(buf, this.at.pThr, Q.thr.length).set(Q.thr);
      new Uint8Array(buf, this.at.pMiss, Q.missRight.length).set(Q.missRight);
      new Float64Array(buf, this.at.pValue, Q.value.length).set(Q.value);
    }
    this.k = new WebAssembly.Instance(mod, { env: { memory: this.mem } }).exports as Record<string, Fn>;
  }

  /**
   * Scratch for a block of m rows of p values and outK sums each: byte offsets of rows, leaves, the
   * rows' bit codes and sums.
   */
  private layout(
    m: number,
    p: number,
    outK: number,
  ): { xr: number; leaf: number; codes: number; out: number } {
    const xr = this.scratch;
    const leaf = xr + 8 * m * p;
    const codes = leaf + Math.ceil((4 * m) / 8) * 8;
    const out = codes + 8 * m;
    const need = out + 8 * m * outK;
    const have = this.mem.buffer.byteLength;
    if (need > have) this.mem.grow(Math.ceil((need - have) / PAGE));
    return { xr, leaf, codes, out };
  }

  /**
   * walkRows for one block: rows xb[xo·p ..) (m rows, row-major, p values), every tree in order,
   * out[(r0 + q)·outK + (t mod R) + c] += scale · value — the JS walk's additions, in its order.
   */
  walkBlock(
    xb: Float64Array,
    xo: number,
    m: number,
    p: number,
    plain: boolean,
    out: Float64Array,
    r0: number,
    scale: number,
    outK: number,
    R: number,
  ): void {
    const L = this.layout(m, p, outK);
    const buf = this.mem.buffer;
    const P = this.P;
    const Q = P.perfect;
    const compact = !Q && plain && P.compact !== null;
    const rows = new Float64Array(buf, L.xr, m * p);
    const sums = new Float64Array(buf, L.out, m * outK);
    // deep trees: rows in the order of their leaf in the first tree (that splits), so that the eight rows walking
    // together take paths of similar length (in row order, 40% of a deep forest's lane steps were lanes
    // already at their leaf, waiting for the deepest of the eight; in this order, about 30%). Each
    // row's sum is still its own trees' values added in tree order: the same bits.
    const order =
      compact && m >= ORDER_MIN_ROWS && P.nTrees >= ORDER_MIN_TREES ? this.leafOrder(xb, xo, m, p) : null;
    if (order) {
      for (let q = 0; q < m; q++) {
        const r = order[q]!;
        rows.set(xb.subarray((xo + r) * p, (xo + r + 1) * p), q * p);
        for (let c = 0; c < outK; c++) sums[q * outK + c] = out[(r0 + r) * outK + c]!;
      }
    } else {
      rows.set(xb.subarray(xo * p, (xo + m) * p));
      sums.set(out.subarray(r0 * outK, (r0 + m) * outK));
    }
    const K = P.k;
    const suffix = K === 1 || K === 2 ? `sum${K}` : "sumk";
    if (Q) {
      const f = this.k[`perfect_${suffix}`]!;
      const nSplit = (1 << Q.D) - 1;
      for (let t = 0; t < P.nTrees; t++) {
        const off = R === 1 ? 0 : t % R;
        const lo = t * (nSplit + 1) - nSplit;
        const tables = [
          this.at.pFeat + 4 * t * nSplit,
          this.at.pThr + 8 * t * nSplit,
          this.at.pMiss + t * nSplit,
        ];
        f(...tables, Q.D, lo, L.xr, m, p, plain ? 1 : 0, this.at.pValue, L.out, outK, off, scale, K);
      }
    } else {
      if (compact && this.at.bTests >= 0) {
        // every row's answers to the forest's few tests as one code, then the bit-coded walk
        this.k.codes!(L.xr, m, p, this.at.bFeat, this.at.bThr, this.at.bTests, L.codes);
        const f = this.k[`bits_${suffix}`]!;
        for (let t = 0; t < P.nTrees; t++) {
          const off = R === 1 ? 0 : t % R;
          f(0, 0, 4 * P.roots[t]!, L.codes, m, 1, this.at.value, L.out, outK, off, scale, K);
        }
      } else {
        const f = this.k[`${compact ? "compact" : "general"}_${suffix}`]!;
        const table = compact ? this.at.fr : this.at.links;
        const thr = compact ? this.at.thr : this.at.threshold;
        for (let t = 0; t < P.nTrees; t++) {
          const off = R === 1 ? 0 : t % R;
          f(table, thr, P.roots[t]!, L.xr, m, p, this.at.value, L.out, outK, off, scale, K);
        }
      }
    }
    if (order) {
      for (let q = 0; q < m; q++) {
        const r = order[q]!;
        for (let c = 0; c < outK; c++) out[(r0 + r) * outK + c] = sums[q * outK + c]!;
      }
    } else out.set(sums, r0 * outK);
  }

  /**
   * Rows xo .. xo + m of xb (row-major, plain) ordered by their leaf in the first tree (a counting
   * sort; ties keep row order), as indices 0 .. m − 1 from xo.
   */
  private leafOrder(xb: Float64Array, xo: number, m: number, p: number): Int32Array {
    const L = this.layout(m, p, 0);
    new Float64Array(this.mem.buffer, L.xr, m * p).set(xb.subarray(xo * p, (xo + m) * p));
    const P = this.P;
    // the first tree that splits at all
    let t = 0;
    while (t < P.nTrees - 1 && P.depth[t] === 0) t++;
    const root = P.roots[t]!;
    const span = (t + 1 < P.nTrees ? P.roots[t + 1]! : P.threshold.length) - root;
    this.k.compact_leaf!(this.at.fr, this.at.thr, root, L.xr, m, p, L.leaf);
    const leaf = new Int32Array(this.mem.buffer, L.leaf, m);
    const count = new Int32Array(span + 1);
    for (let q = 0; q < m; q++) count[leaf[q]! - root + 1]!++;
    for (let i = 1; i <= span; i++) count[i]! += count[i - 1]!;
    const order = new Int32Array(m);
    for (let q = 0; q < m; q++) order[count[leaf[q]! - root]!++] = q;
    return order;
  }

  /**
   * packedContributionsAll's sums for m plain rows xb (row-major, p values): a view of m x nOut sums
   * (valid until the next call). `steps` is contributionSteps(P, ...), copied here once.
   */
  contributionsBlock(
    steps: Float64Array,
    xb: Float64Array,
    m: number,
    p: number,
    nOut: number,
  ): Float64Array {
    let at = this.stepsAt.get(steps);
    if (at === undefined) {
      at = this.scratch;
      this.scratch += Math.ceil(steps.byteLength / 8) * 8;
      this.layout(0, 0, 0);
      new Float64Array(this.mem.buffer, at, steps.length).set(steps);
      this.stepsAt.set(steps, at);
    }
    const L = this.layout(m, p, nOut);
    const buf = this.mem.buffer;
    new Float64Array(buf, L.xr, m * p).set(xb.subarray(0, m * p));
    const out = new Float64Array(buf, L.out, m * nOut).fill(0);
    const P = this.P;
    if (this.at.bTests >= 0) {
      this.k.codes!(L.xr, m, p, this.at.bFeat, this.at.bThr, this.at.bTests, L.codes);
      const f = this.k.contrib_bits!;
      for (let t = 0; t < P.nTrees; t++)
        f(0, 0, 4 * P.roots[t]!, L.codes, m, 1, at, this.at.bOut, L.out, nOut);
      return out;
    }
    const f = this.k.contrib!;
    for (let t = 0; t < P.nTrees; t++)
      f(this.at.fr, this.at.thr, P.roots[t]!, L.xr, m, p, at, this.at.features, L.out, nOut);
    return out;
  }

  /** The leaves (P's node table, as leavesPacked) of m rows of xb in every tree: leaves[t·stride + q]. */
  leavesBlock(
    xb: Float64Array,
    m: number,
    p: number,
    plain: boolean,
    leaves: Int32Array,
    stride: number,
    q0: number,
  ): void {
    const L = this.layout(m, p, 0);
    const buf = this.mem.buffer;
    new Float64Array(buf, L.xr, m * p).set(xb.subarray(0, m * p));
    const view = new Int32Array(buf, L.leaf, m);
    const P = this.P;
    for (let t = 0; t < P.nTrees; t++) {
      if (plain && P.compact) this.k.compact_leaf!(this.at.fr, this.at.thr, P.roots[t]!, L.xr, m, p, L.leaf);
      else this.k.general_leaf!(this.at.links, this.at.threshold, P.roots[t]!, L.xr, m, p, L.leaf);
      leaves.set(view, t * stride + q0);
    }
  }
}

let forests = new WeakMap<PackedTrees, WasmTrees | null>();

/** The WebAssembly form of P in this thread (built on first use), or null (then use the JS walks). */
export function wasmTrees(P: PackedTrees): WasmTrees | null {
  let w = forests.get(P);
  if (w !== undefined) return w;
  const mod = kernelModule();
  try {
    w = mod ? new WasmTrees(P, mod) : null;
  } catch {
    w = null;
  }
  forests.set(P, w);
  return w;
}
