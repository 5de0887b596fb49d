/**
 * QuickScorer's walk (quick-scorer.ts) as a WebAssembly kernel, emitted with core/wasm.ts: the same
 * nodes visited, the same leaves, the same additions in the same order (f64), so the sums are
 * identical to the JS walk's and to the packed walks'. The JS walk stays as the reference in tests
 * and where WebAssembly is missing.
 *
 * Memory, per PackedTrees and thread: [threshold nodes: 16 bytes each (threshold f64, its tree's word
 * address i32, mask i32)][start: nFeatures node addresses][missing-value lists: nFeatures + 1 pair
 * addresses][category slot tables: CODE_SLOTS + 1 pair addresses a category feature (nCat ·
 * CODE_SLOTS + 1)][pairs: 8 bytes each (word address, mask), the missing values' then the categories'
 * lists][leaf values: 32 f64 a tree][words: one i32 a tree], then scratch for a block (values, each
 * row's category slot addresses, sums) that grows on demand.
 */
import { assemble, WasmFn } from "../../core/wasm.ts";
import type { PackedTrees } from "./packed-trees.ts";
import { CODE_SLOTS, codeSlot, QUICK_MAX_LEAVES, type QuickTables } from "./quick-scorer.ts";

/**
 * quick(start, nf, xr, m, p8, fs8, words, nTrees, leafValue, out, outK8, R, scale, missStart, slots,
 * nCat): for each of m rows (p8 bytes apart from xr): every tree's word set to −1; for feature
 * j < nf (value v at row + fs8·j: fs8 = 8 for row-major rows, 8m for a block of columns): when v is
 * NaN, the (word address, mask) pairs [missStart[j], missStart[j + 1]): word &= mask; then its
 * threshold nodes from start[j] while v > threshold (each feature's list ends with a +Infinity
 * sentinel): word &= mask; then for each of its nCat category features, the pairs of its slot
 * ([table entry, next entry), the entry's address given per row at slots + 4·(row·nCat + c)); then
 * tree by tree, out[row·outK8 + 8·(t mod R)] += scale · leafValue[32t + ctz(word t)] (R = 1: the
 * row's sum kept in a register between trees, the same additions in the same order).
 */
function quickKernel(): WasmFn {
  const f = new WasmFn("quick", [
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "f64",
    "i32",
    "i32",
    "i32",
  ]);
  const [START, NF, XR, M, P8, FS8, WORDS, NT, LV, OUT, OUTK8, R, SCALE, MSTART, SLOTS, NCAT] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  ];
  const q = f.local("i32");
  const x = f.local("i32");
  const j = f.local("i32");
  const fa = f.local("i32");
  const fEnd = f.local("i32");
  const a = f.local("i32");
  const w = f.local("i32");
  const wEnd = f.local("i32");
  const o = f.local("i32");
  const lv = f.local("i32");
  const col = f.local("i32");
  const ma = f.local("i32");
  const e = f.local("i32");
  const eEnd = f.local("i32");
  const sa = f.local("i32");
  const saEnd = f.local("i32");
  const v = f.local("f64");
  const sum = f.local("f64");
  // word &= mask for each (word address, mask) pair in [e, eEnd)
  const pairs = (): void => {
    f.block().loop();
    f.get(e).get(eEnd).i32GeU().brIf(1);
    f.get(e).i32Load().tee(w);
    f.get(w).i32Load().get(e).i32Load(4).i32And().i32Store();
    f.get(e).i32(8).i32Add().set(e);
    f.br(0).end().end();
  };
  f.get(WORDS).get(NT).i32(2).i32Shl().i32Add().set(wEnd);
  f.get(START).get(NF).i32(2).i32Shl().i32Add().set(fEnd);
  f.get(XR).set(x);
  f.get(OUT).set(o);
  f.get(SLOTS).set(sa);
  f.i32(0).set(q);
  f.block().loop();
  f.get(q).get(M).i32GeS().brIf(1);
  // every leaf possible in every tree (the words region is padded to 8 bytes)
  f.get(WORDS).set(w);
  f.block().loop();
  f.get(w).get(wEnd).i32GeU().brIf(1);
  f.get(w).i64(-1n).i64Store();
  f.get(w).i32(8).i32Add().set(w);
  f.br(0).end().end();
  // feature by feature: a missing value's nodes, then the nodes the value fails (up to the sentinel)
  f.get(START).set(fa);
  f.get(MSTART).set(ma);
  f.get(x).set(a);
  f.block().loop();
  f.get(fa).get(fEnd).i32GeU().brIf(1);
  f.get(a).f64Load().set(v);
  f.block();
  f.get(v).get(v).f64Ne().i32Eqz().brIf(0);
  f.get(ma).i32Load().set(e);
  f.get(ma).i32Load(4).set(eEnd);
  pairs();
  f.end();
  f.get(fa).i32Load().set(j);
  f.block().loop();
  f.get(v).get(j).f64Load().f64Gt().i32Eqz().brIf(1);
  f.get(j).i32Load(8).tee(w);
  f.get(w).i32Load().get(j).i32Load(12).i32And().i32Store();
  f.get(j).i32(16).i32Add().set(j);
  f.br(0).end().end();
  f.get(fa).i32(4).i32Add().set(fa);
  f.get(ma).i32(4).i32Add().set(ma);
  f.get(a).get(FS8).i32Add().set(a);
  f.br(0).end().end();
  // category features: the nodes of the row's slot
  f.get(sa).get(NCAT).i32(2).i32Shl().i32Add().set(saEnd);
  f.block().loop();
  f.get(sa).get(saEnd).i32GeU().brIf(1);
  f.get(sa).i32Load().tee(e).i32Load(4).set(eEnd);
  f.get(e).i32Load().set(e);
  pairs();
  f.get(sa).i32(4).i32Add().set(sa);
  f.br(0).end().end();
  // the leaves' values, tree by tree
  f.get(WORDS).set(w);
  f.get(LV).set(lv);
  const leafValue = (): void => {
    f.get(SCALE).get(lv).get(w).i32Load().i32Ctz().i32(3).i32Shl().i32Add().f64Load().f64Mul();
  };
  f.block();
  f.block();
  f.get(R).i32(1).i32Ne().brIf(0);
  // one sum a row: in a register
  f.get(o).f64Load().set(sum);
  f.block().loop();
  f.get(w).get(wEnd).i32GeU().brIf(1);
  f.get(sum);
  leafValue();
  f.f64Add().set(sum);
  f.get(w).i32(4).i32Add().set(w);
  f.get(lv)
    .i32(8 * QUICK_MAX_LEAVES)
    .i32Add()
    .set(lv);
  f.br(0).end().end();
  f.get(o).get(sum).f64Store();
  f.br(1);
  f.end();
  // R sums a row: tree t adds to sum t mod R
  f.i32(0).set(col);
  f.block().loop();
  f.get(w).get(wEnd).i32GeU().brIf(1);
  f.get(o).get(col).i32Add().tee(a);
  f.get(a).f64Load();
  leafValue();
  f.f64Add().f64Store();
  f.get(w).i32(4).i32Add().set(w);
  f.get(lv)
    .i32(8 * QUICK_MAX_LEAVES)
    .i32Add()
    .set(lv);
  // col = (t mod R) · 8
  f.get(col).i32(8).i32Add().set(col);
  f.block();
  f.get(col).get(R).i32(3).i32Shl().i32LtS().brIf(0);
  f.i32(0).set(col);
  f.end();
  f.br(0).end().end();
  f.end();
  f.get(x).get(P8).i32Add().set(x);
  f.get(o).get(OUTK8).i32Add().set(o);
  f.get(q).i32(1).i32Add().set(q);
  f.br(0).end().end();
  return f;
}

/**
 * SIMD instructions WasmFn does not name (core/wasm.ts), appended as bytes: opcode 0xfd, then the
 * instruction's number (all below 128: one byte) and its immediates.
 */
function simd(f: WasmFn, op: number, ...imm: number[]): void {
  f.code.push(0xfd, op, ...imm);
}
const F64X2_GT = 0x4a;
const V128_ANDNOT = 0x4f;
const I8X16_SHUFFLE = 0x0d;
/** v128.load32_splat (then its memarg: alignment 2, the offset). */
const V128_LOAD32_SPLAT = 0x09;
/** i8x16.shuffle lanes taking the low 32 bits of each 64-bit lane of two vectors: four i32 lanes. */
const LOW_HALVES = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];

/**
 * quick4(start, nf, xr, m, fs8, words4, nTrees, leafValue, out, outK8, R, scale, missStart, slots,
 * nCat, wordsAt): `quick` for m rows (m a multiple of 4) of a block of columns (row q of feature j at
 * xr + 8q + fs8·j), four rows at a time with WebAssembly SIMD (v-QuickScorer, Lucchese et al. 2016):
 * each tree's word is four 32-bit lanes, one a row (words4 + 16t), and a threshold node is tested
 * for the four rows at once (two f64x2 comparisons); it is visited while its threshold is below the
 * largest of the four values, and clears its mask's bits in the lanes of the rows that fail it.
 * Missing values and category slots are applied row by row (lane by lane). The nodes' word addresses
 * are `quick`'s (wordsAt + 4t), mapped to words4 + 16t + 4·lane. The leaves' values are added tree by
 * tree for each row, as `quick` adds them: the same sums.
 */
function quick4Kernel(): WasmFn {
  const f = new WasmFn("quick4", [
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "i32",
    "f64",
    "i32",
    "i32",
    "i32",
    "i32",
  ]);
  const [START, NF, XR, M, FS8, WORDS4, NT, LV, OUT, OUTK8, R, SCALE, MSTART, SLOTS, NCAT, WORDS_AT] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  ];
  const q = f.local("i32");
  const j = f.local("i32");
  const fa = f.local("i32");
  const fEnd = f.local("i32");
  const a = f.local("i32");
  const w = f.local("i32");
  const wEnd = f.local("i32");
  const ma = f.local("i32");
  const e = f.local("i32");
  const eEnd = f.local("i32");
  const sa = f.local("i32");
  const lane = f.local("i32");
  const base = f.local("i32");
  const lv = f.local("i32");
  const col = f.local("i32");
  const o = f.local("i32");
  const c = f.local("i32");
  const anyNaN = f.local("i32");
  const vmax = f.local("f64");
  const t = f.local("f64");
  const lo = f.local("v128");
  const hi = f.local("v128");
  const sums = [f.local("f64"), f.local("f64"), f.local("f64"), f.local("f64")];
  const vs = [f.local("f64"), f.local("f64"), f.local("f64"), f.local("f64")];
  // base = words4 − 4·wordsAt (+ 4·lane): a node's word address w maps to (w << 2) + base
  const laneBase = (): void => {
    f.get(WORDS4).get(WORDS_AT).i32(2).i32Shl().i32Sub().get(lane).i32(2).i32Shl().i32Add().set(base);
  };
  // word &= mask for each (word address, mask) pair in [e, eEnd), in lane `base`
  const pairs = (): void => {
    f.block().loop();
    f.get(e).get(eEnd).i32GeU().brIf(1);
    f.get(e).i32Load().i32(2).i32Shl().get(base).i32Add().tee(w);
    f.get(w).i32Load().get(e).i32Load(4).i32And().i32Store();
    f.get(e).i32(8).i32Add().set(e);
    f.br(0).end().end();
  };
  f.get(WORDS4).get(NT).i32(4).i32Shl().i32Add().set(wEnd);
  f.get(START).get(NF).i32(2).i32Shl().i32Add().set(fEnd);
  f.get(SLOTS).set(sa);
  f.get(OUT).set(o);
  f.i32(0).set(q);
  f.block().loop();
  f.get(q).get(M).i32GeS().brIf(1);
  // every leaf possible in every tree, in every lane
  f.get(WORDS4).set(w);
  f.block().loop();
  f.get(w).get(wEnd).i32GeU().brIf(1);
  f.get(w).i64(-1n).i64Store();
  f.get(w).i64(-1n).i64Store(8);
  f.get(w).i32(16).i32Add().set(w);
  f.br(0).end().end();
  // feature by feature
  f.get(START).set(fa);
  f.get(MSTART).set(ma);
  f.get(XR).get(q).i32(3).i32Shl().i32Add().set(a);
  f.block().loop();
  f.get(fa).get(fEnd).i32GeU().brIf(1);
  f.get(a).v128Load().set(lo);
  f.get(a).v128Load(16).set(hi);
  // the four values; vmax the largest of those not missing (−Infinity if none)
  f.i32(0).set(anyNaN);
  vs.forEach((vl, l) => {
    f.get(a)
      .f64Load(8 * l)
      .set(vl);
    f.get(vl).get(vl).f64Ne().get(anyNaN).i32Or().set(anyNaN);
  });
  f.f64(Number.NEGATIVE_INFINITY).set(vmax);
  for (const vl of vs) {
    f.get(vl).get(vmax).get(vl).get(vmax).f64Gt().select().set(vmax);
  }
  // a row's missing value: its feature's missing-value nodes, in its lane
  f.block();
  f.get(anyNaN).i32Eqz().brIf(0);
  vs.forEach((vl, l) => {
    f.block();
    f.get(vl).get(vl).f64Ne().i32Eqz().brIf(0);
    f.i32(l).set(lane);
    laneBase();
    f.get(ma).i32Load().set(e);
    f.get(ma).i32Load(4).set(eEnd);
    pairs();
    f.end();
  });
  f.end();
  // the threshold nodes below the largest value, each clearing its mask in the lanes that fail it
  f.i32(0).set(lane);
  laneBase();
  f.get(fa).i32Load().set(j);
  f.block().loop();
  f.get(vmax).get(j).f64Load().tee(t).f64Gt().i32Eqz().brIf(1);
  f.get(j).i32Load(8).i32(2).i32Shl().get(base).i32Add().tee(w);
  f.get(w).v128Load();
  f.get(lo).get(t).f64x2Splat();
  simd(f, F64X2_GT);
  f.get(hi).get(t).f64x2Splat();
  simd(f, F64X2_GT);
  simd(f, I8X16_SHUFFLE, ...LOW_HALVES);
  f.get(j);
  simd(f, V128_LOAD32_SPLAT, 2, 12);
  // fail & ~mask: the bits to clear; word & ~that
  simd(f, V128_ANDNOT);
  simd(f, V128_ANDNOT);
  f.v128Store();
  f.get(j).i32(16).i32Add().set(j);
  f.br(0).end().end();
  f.get(fa).i32(4).i32Add().set(fa);
  f.get(ma).i32(4).i32Add().set(ma);
  f.get(a).get(FS8).i32Add().set(a);
  f.br(0).end().end();
  // category features, row by row: the nodes of the row's slot
  f.i32(0).set(lane);
  f.block().loop();
  f.get(lane).i32(4).i32GeU().brIf(1);
  laneBase();
  f.i32(0).set(c);
  f.block().loop();
  f.get(c).get(NCAT).i32GeU().brIf(1);
  f.get(sa).i32Load().tee(e).i32Load(4).set(eEnd);
  f.get(e).i32Load().set(e);
  pairs();
  f.get(sa).i32(4).i32Add().set(sa);
  f.get(c).i32(1).i32Add().set(c);
  f.br(0).end().end();
  f.get(lane).i32(1).i32Add().set(lane);
  f.br(0).end().end();
  // the leaves' values, tree by tree, each row's sum as `quick` makes it
  f.get(WORDS4).set(w);
  f.get(LV).set(lv);
  const leafValue = (l: number): void => {
    f.get(SCALE)
      .get(lv)
      .get(w)
      .i32Load(4 * l)
      .i32Ctz()
      .i32(3)
      .i32Shl()
      .i32Add()
      .f64Load()
      .f64Mul();
  };
  f.block();
  f.block();
  f.get(R).i32(1).i32Ne().brIf(0);
  // one sum a row: four registers
  sums.forEach((sl, l) => {
    f.get(o).get(OUTK8).i32(l).i32Mul().i32Add().f64Load().set(sl);
  });
  f.block().loop();
  f.get(w).get(wEnd).i32GeU().brIf(1);
  sums.forEach((sl, l) => {
    f.get(sl);
    leafValue(l);
    f.f64Add().set(sl);
  });
  f.get(w).i32(16).i32Add().set(w);
  f.get(lv)
    .i32(8 * QUICK_MAX_LEAVES)
    .i32Add()
    .set(lv);
  f.br(0).end().end();
  sums.forEach((sl, l) => {
    f.get(o).get(OUTK8).i32(l).i32Mul().i32Add().get(sl).f64Store();
  });
  f.br(1);
  f.end();
  // R sums a row: tree t adds to sum t mod R
  f.i32(0).set(col);
  f.block().loop();
  f.get(w).get(wEnd).i32GeU().brIf(1);
  for (let l = 0; l < 4; l++) {
    f.get(o).get(OUTK8).i32(l).i32Mul().i32Add().get(col).i32Add().tee(a);
    f.get(a).f64Load();
    leafValue(l);
    f.f64Add().f64Store();
  }
  f.get(w).i32(16).i32Add().set(w);
  f.get(lv)
    .i32(8 * QUICK_MAX_LEAVES)
    .i32Add()
    .set(lv);
  f.get(col).i32(8).i32Add().set(col);
  f.block();
  f.get(col).get(R).i32(3).i32Shl().i32LtS().brIf(0);
  f.i32(0).set(col);
  f.end();
  f.br(0).end().end();
  f.end();
  f.get(o).get(OUTK8).i32(2).i32Shl().i32Add().set(o);
  f.get(q).i32(4).i32Add().set(q);
  f.br(0).end().end();
  return f;
}

let compiled: WebAssembly.Module | null | undefined;
let disabled = false;

/** Tests compare the kernel with the JS walk: true makes every QuickScorer walk take the JS path. */
export function disableWasmQuick(off: boolean): void {
  disabled = off;
  kept = new WeakMap();
}

function kernelModule(): WebAssembly.Module | null {
  if (disabled) return null;
  if (compiled !== undefined) return compiled;
  try {
    compiled =
      typeof WebAssembly === "object"
        ? new WebAssembly.Module(assemble([quickKernel(), quick4Kernel()]))
        : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

const PAGE = 65536;

/** One PackedTrees' QuickScorer tables in a WebAssembly memory, and a block's scratch after them. */
export class WasmQuick {
  private readonly mem: WebAssembly.Memory;
  private readonly run: (...a: number[]) => void;
  private readonly nTrees: number;
  private readonly nFeatures: number;
  private readonly catPos: Int32Array;
  private readonly startAt: number;
  private readonly missAt: number;
  private readonly catTableAt: number;
  private readonly leafAt: number;
  private readonly wordsAt: number;
  private readonly words4At: number;
  private readonly scratch: number;
  private readonly run4: (...a: number[]) => void;

  constructor(Q: QuickTables, nTrees: number, mod: WebAssembly.Module) {
    const nf = Q.start.length - 1;
    // each feature's nodes, then its sentinel (threshold +Infinity: no row fails it)
    const nNodes = Q.threshold.length + nf;
    const nPairs = Q.missTree.length + Q.catTree.length;
    const align8 = (bytes: number): number => Math.ceil(bytes / 8) * 8;
    this.nTrees = nTrees;
    this.nFeatures = nf;
    this.catPos = Q.catPos;
    this.startAt = 16 * nNodes;
    this.missAt = this.startAt + align8(4 * nf);
    this.catTableAt = this.missAt + align8(4 * (nf + 1));
    const pairsAt = this.catTableAt + align8(4 * Q.catStart.length);
    this.leafAt = pairsAt + 8 * nPairs;
    this.wordsAt = this.leafAt + 8 * Q.leafValue.length;
    this.words4At = Math.ceil((this.wordsAt + 4 * nTrees) / 16) * 16;
    this.scratch = this.words4At + 16 * nTrees;
    this.mem = new WebAssembly.Memory({ initial: Math.ceil((this.scratch + PAGE) / PAGE) });
    const buf = this.mem.buffer;
    const thr = new Float64Array(buf, 0, 2 * nNodes);
    const ints = new Int32Array(buf, 0, 4 * nNodes);
    const start = new Int32Array(buf, this.startAt, nf);
    for (let fj = 0, at = 0; fj < nf; fj++) {
      start[fj] = 16 * at;
      for (let i = Q.start[fj]!; i < Q.start[fj + 1]!; i++, at++) {
        thr[2 * at] = Q.threshold[i]!;
        ints[4 * at + 2] = this.wordsAt + 4 * Q.tree[i]!;
        ints[4 * at + 3] = Q.mask[i]!;
      }
      thr[2 * at] = Number.POSITIVE_INFINITY;
      at++;
    }
    // the missing-value pairs, then the category pairs; their lists as byte addresses of pairs
    const pairs = new Int32Array(buf, pairsAt, 2 * nPairs);
    const catAt = pairsAt + 8 * Q.missTree.length;
    Q.missTree.forEach((t, i) => {
      pairs[2 * i] = this.wordsAt + 4 * t;
      pairs[2 * i + 1] = Q.missMask[i]!;
    });
    Q.catTree.forEach((t, i) => {
      pairs[2 * (Q.missTree.length + i)] = this.wordsAt + 4 * t;
      pairs[2 * (Q.missTree.length + i) + 1] = Q.catMask[i]!;
    });
    new Int32Array(buf, this.missAt, nf + 1).set(Q.missStart.map((i) => pairsAt + 8 * i));
    new Int32Array(buf, this.catTableAt, Q.catStart.length).set(Q.catStart.map((i) => catAt + 8 * i));
    new Float64Array(buf, this.leafAt, Q.leafValue.length).set(Q.leafValue);
    const ex = new WebAssembly.Instance(mod, { env: { memory: this.mem } }).exports as Record<
      string,
      (...a: number[]) => void
    >;
    this.run = ex.quick!;
    this.run4 = ex.quick4!;
  }

  /** Scratch for m rows of p values, their category slots and outK sums each: byte offsets. */
  private layout(m: number, p: number, outK: number): { xr: number; slots: number; out: number } {
    const xr = this.scratch;
    const slots = xr + 8 * m * p;
    const out = slots + 8 * Math.ceil((m * this.catPos.length) / 2);
    const need = out + 8 * m * outK;
    const have = this.mem.buffer.byteLength;
    if (need > have) this.mem.grow(Math.ceil((need - have) / PAGE));
    return { xr, slots, out };
  }

  /**
   * quickRows for m rows, xb[xo·p ..) row-major (p values a row):
   * out[(r0 + q)·outK + (t mod R)] += scale · value, tree by tree.
   */
  score(
    xb: Float64Array,
    xo: number,
    m: number,
    p: number,
    out: Float64Array,
    r0: number,
    scale: number,
    outK: number,
    R: number,
  ): void {
    const L = this.layout(m, p, outK);
    const x = new Float64Array(this.mem.buffer, L.xr, m * p);
    x.set(xb.subarray(xo * p, (xo + m) * p));
    this.slots(L, m, (c, q) => x[q * p + this.catPos[c]!]!);
    this.runBlock(L, m, 8 * p, 8, out, r0, scale, outK, R);
  }

  /**
   * `score` for rows [r0, r0 + m) of column-major `data` (nRows a column), read where they are: each
   * used feature's m values are copied as one run (no row-major copy; the kernel steps 8m bytes from
   * one feature to the next).
   */
  scoreColumns(
    features: Int32Array,
    data: Float64Array,
    nRows: number,
    r0: number,
    m: number,
    out: Float64Array,
    scale: number,
    outK: number,
    R: number,
  ): void {
    const p = features.length;
    const L = this.layout(m, p, outK);
    const x = new Float64Array(this.mem.buffer, L.xr, m * p);
    for (let j = 0; j < p; j++)
      x.set(data.subarray(features[j]! * nRows + r0, features[j]! * nRows + r0 + m), j * m);
    this.slots(L, m, (c, q) => x[this.catPos[c]! * m + q]!);
    // four rows at a time (SIMD), the last m mod 4 one by one
    const m4 = m - (m % 4);
    const sums = new Float64Array(this.mem.buffer, L.out, m * outK);
    sums.set(out.subarray(r0 * outK, (r0 + m) * outK));
    if (m4 > 0)
      this.run4(
        this.startAt,
        this.nFeatures,
        L.xr,
        m4,
        8 * m,
        this.words4At,
        this.nTrees,
        this.leafAt,
        L.out,
        8 * outK,
        R,
        scale,
        this.missAt,
        L.slots,
        this.catPos.length,
        this.wordsAt,
      );
    if (m4 < m)
      this.run(
        this.startAt,
        this.nFeatures,
        L.xr + 8 * m4,
        m - m4,
        8,
        8 * m,
        this.wordsAt,
        this.nTrees,
        this.leafAt,
        L.out + 8 * m4 * outK,
        8 * outK,
        R,
        scale,
        this.missAt,
        L.slots + 4 * m4 * this.catPos.length,
        this.catPos.length,
      );
    out.set(sums, r0 * outK);
  }

  /** Each row's category slots, as the addresses of their lists' entries in the slot tables. */
  private slots(L: { slots: number }, m: number, value: (c: number, q: number) => number): void {
    const nCat = this.catPos.length;
    if (nCat === 0) return;
    const at = new Int32Array(this.mem.buffer, L.slots, m * nCat);
    for (let c = 0; c < nCat; c++) {
      const table = this.catTableAt + 4 * CODE_SLOTS * c;
      for (let q = 0; q < m; q++) at[q * nCat + c] = table + 4 * codeSlot(value(c, q));
    }
  }

  private runBlock(
    L: { xr: number; slots: number; out: number },
    m: number,
    rowStride8: number,
    featureStride8: number,
    out: Float64Array,
    r0: number,
    scale: number,
    outK: number,
    R: number,
  ): void {
    const sums = new Float64Array(this.mem.buffer, L.out, m * outK);
    sums.set(out.subarray(r0 * outK, (r0 + m) * outK));
    this.run(
      this.startAt,
      this.nFeatures,
      L.xr,
      m,
      rowStride8,
      featureStride8,
      this.wordsAt,
      this.nTrees,
      this.leafAt,
      L.out,
      8 * outK,
      R,
      scale,
      this.missAt,
      L.slots,
      this.catPos.length,
    );
    out.set(sums, r0 * outK);
  }
}

let kept = new WeakMap<PackedTrees, WasmQuick | null>();

/** P's QuickScorer kernel in this thread (built on first use), or null (no tables, or no WebAssembly). */
export function wasmQuick(P: PackedTrees): WasmQuick | null {
  let w = kept.get(P);
  if (w !== undefined) return w;
  const mod = P.quick ? kernelModule() : null;
  try {
    w = mod && P.quick ? new WasmQuick(P.quick, P.nTrees, mod) : null;
  } catch {
    w = null;
  }
  kept.set(P, w);
  return w;
}
