/**
 * The packed tree walks (flat-tree.ts) as WebAssembly kernels, emitted with core/wasm.ts: eight rows
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
import type { PackedTrees } from "./flat-tree.ts";

/** Rows walking a tree at once. */
const LANES = 8;

/** compact(fr, thr, root, xr, m, p, leaf): PackedTrees.compact, rows without missing values. */
function compactKernel(): WasmFn {
  const f = new WasmFn("compact", ["i32", "i32", "i32", "i32", "i32", "i32", "i32"]);
  const [FR, THR, ROOT, XR, M, P, LEAF] = [0, 1, 2, 3, 4, 5, 6];
  const i = f.local("i32");
  const ps = f.local("i32");
  const lanes = (t: ValType) => Array.from({ length: LANES }, () => f.local(t));
  const x = lanes("i32");
  const n = lanes("i32");
  const nx = lanes("i32");
  const b = lanes("i32");
  // one step of lane l: nx = x[fr[2n]] > thr[n] ? fr[2n + 1] : n + 1
  const step = (l: number, xl: number, nl: number, bl: number, ml: number): void => {
    f.get(FR).get(nl).i32(3).i32Shl().i32Add().tee(bl).i32Load(4);
    f.get(nl).i32(1).i32Add();
    f.get(xl).get(bl).i32Load(0).i32(3).i32Shl().i32Add().f64Load();
    f.get(THR).get(nl).i32(3).i32Shl().i32Add().f64Load();
    f.f64Gt().select().set(ml);
    void l;
  };
  f.get(P).i32(3).i32Shl().set(ps);
  f.i32(0).set(i);
  // groups of LANES rows
  f.block().loop();
  f.get(i).i32(LANES).i32Add().get(M).i32GtS().brIf(1);
  f.get(XR).get(i).get(ps).i32Mul().i32Add().set(x[0]!);
  for (let l = 1; l < LANES; l++)
    f.get(x[l - 1]!)
      .get(ps)
      .i32Add()
      .set(x[l]!);
  for (let l = 0; l < LANES; l++) f.get(ROOT).set(n[l]!);
  f.block().loop();
  for (let l = 0; l < LANES; l++) step(l, x[l]!, n[l]!, b[l]!, nx[l]!);
  // every lane at its leaf (a leaf steps to itself): done
  f.get(nx[0]!).get(n[0]!).i32Xor();
  for (let l = 1; l < LANES; l++) f.get(nx[l]!).get(n[l]!).i32Xor().i32Or();
  f.i32Eqz().brIf(1);
  for (let l = 0; l < LANES; l++) f.get(nx[l]!).set(n[l]!);
  f.br(0).end().end();
  for (let l = 0; l < LANES; l++)
    f.get(LEAF).get(i).i32(l).i32Add().i32(2).i32Shl().i32Add().get(n[l]!).i32Store();
  f.get(i).i32(LANES).i32Add().set(i);
  f.br(0).end().end();
  // the rest, one at a time
  f.block().loop();
  f.get(i).get(M).i32GeS().brIf(1);
  f.get(XR).get(i).get(ps).i32Mul().i32Add().set(x[0]!);
  f.get(ROOT).set(n[0]!);
  f.block().loop();
  step(0, x[0]!, n[0]!, b[0]!, nx[0]!);
  f.get(nx[0]!).get(n[0]!).i32Eq().brIf(1);
  f.get(nx[0]!).set(n[0]!);
  f.br(0).end().end();
  f.get(LEAF).get(i).i32(2).i32Shl().i32Add().get(n[0]!).i32Store();
  f.get(i).i32(1).i32Add().set(i);
  f.br(0).end().end();
  return f;
}

/**
 * general(links, thr, root, xr, m, p, leaf): the node table with missing values: links[4n] the
 * feature, links[4n + 1 + (x > t) + 2·isNaN(x)] the child (a leaf links to itself).
 */
function generalKernel(): WasmFn {
  const f = new WasmFn("general", ["i32", "i32", "i32", "i32", "i32", "i32", "i32"]);
  const [LINKS, THR, ROOT, XR, M, P, LEAF] = [0, 1, 2, 3, 4, 5, 6];
  const i = f.local("i32");
  const ps = f.local("i32");
  const lanes = (t: ValType) => Array.from({ length: LANES }, () => f.local(t));
  const x = lanes("i32");
  const n = lanes("i32");
  const nx = lanes("i32");
  const a = lanes("i32");
  const v = lanes("f64");
  const step = (xl: number, nl: number, al: number, vl: number, ml: number): void => {
    f.get(LINKS).get(nl).i32(4).i32Shl().i32Add().set(al);
    f.get(xl).get(al).i32Load(0).i32(3).i32Shl().i32Add().f64Load().set(vl);
    // links + 16n + 4 + 4·(v > t) + 8·(v ≠ v)
    f.get(al);
    f.get(vl).get(THR).get(nl).i32(3).i32Shl().i32Add().f64Load().f64Gt().i32(2).i32Shl().i32Add();
    f.get(vl).get(vl).f64Ne().i32(3).i32Shl().i32Add();
    f.i32Load(4).set(ml);
  };
  f.get(P).i32(3).i32Shl().set(ps);
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).i32(LANES).i32Add().get(M).i32GtS().brIf(1);
  f.get(XR).get(i).get(ps).i32Mul().i32Add().set(x[0]!);
  for (let l = 1; l < LANES; l++)
    f.get(x[l - 1]!)
      .get(ps)
      .i32Add()
      .set(x[l]!);
  for (let l = 0; l < LANES; l++) f.get(ROOT).set(n[l]!);
  f.block().loop();
  for (let l = 0; l < LANES; l++) step(x[l]!, n[l]!, a[l]!, v[l]!, nx[l]!);
  f.get(nx[0]!).get(n[0]!).i32Xor();
  for (let l = 1; l < LANES; l++) f.get(nx[l]!).get(n[l]!).i32Xor().i32Or();
  f.i32Eqz().brIf(1);
  for (let l = 0; l < LANES; l++) f.get(nx[l]!).set(n[l]!);
  f.br(0).end().end();
  for (let l = 0; l < LANES; l++)
    f.get(LEAF).get(i).i32(l).i32Add().i32(2).i32Shl().i32Add().get(n[l]!).i32Store();
  f.get(i).i32(LANES).i32Add().set(i);
  f.br(0).end().end();
  f.block().loop();
  f.get(i).get(M).i32GeS().brIf(1);
  f.get(XR).get(i).get(ps).i32Mul().i32Add().set(x[0]!);
  f.get(ROOT).set(n[0]!);
  f.block().loop();
  step(x[0]!, n[0]!, a[0]!, v[0]!, nx[0]!);
  f.get(nx[0]!).get(n[0]!).i32Eq().brIf(1);
  f.get(nx[0]!).set(n[0]!);
  f.br(0).end().end();
  f.get(LEAF).get(i).i32(2).i32Shl().i32Add().get(n[0]!).i32Store();
  f.get(i).i32(1).i32Add().set(i);
  f.br(0).end().end();
  return f;
}

/**
 * perfect(feat, thr, miss, D, lo, xr, m, p, leaf, plain): one complete tree (PackedTrees.perfect),
 * `feat`/`thr`/`miss` already at the tree's first split slot: D steps n = 2n + 1 + (x > t), a missing
 * x going right when miss[n] (plain = 0 only); leaf[q] = lo + n.
 */
function perfectKernel(): WasmFn {
  const f = new WasmFn("perfect", ["i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32", "i32"]);
  const [FEAT, THR, MISS, D, LO, XR, M, P, LEAF, PLAIN] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const i = f.local("i32");
  const ps = f.local("i32");
  const s = f.local("i32");
  const lanes = (t: ValType) => Array.from({ length: LANES }, () => f.local(t));
  const x = lanes("i32");
  const n = lanes("i32");
  const v = lanes("f64");
  const t = lanes("f64");
  const value = (xl: number, nl: number): void => {
    f.get(xl).get(FEAT).get(nl).i32(2).i32Shl().i32Add().i32Load().i32(3).i32Shl().i32Add().f64Load();
  };
  const threshold = (nl: number): void => {
    f.get(THR).get(nl).i32(3).i32Shl().i32Add().f64Load();
  };
  const plainStep = (xl: number, nl: number): void => {
    f.get(nl).i32(1).i32Shl().i32(1).i32Add();
    value(xl, nl);
    threshold(nl);
    f.f64Gt().i32Add().set(nl);
  };
  const nanStep = (xl: number, nl: number, vl: number, tl: number): void => {
    value(xl, nl);
    f.set(vl);
    threshold(nl);
    f.set(tl);
    f.get(nl).i32(1).i32Shl().i32(1).i32Add();
    // v > t ? 1 : v <= t ? 0 : miss[n]
    f.i32(1).i32(0).get(MISS).get(nl).i32Add().i32Load8U().get(vl).get(tl).f64Le().select();
    f.get(vl).get(tl).f64Gt().select();
    f.i32Add().set(nl);
  };
  // D steps for `count` lanes: the plain or the missing-value form
  const walk = (count: number): void => {
    f.i32(0).set(s);
    f.get(PLAIN).i32Eqz().brIf(0); // (inside a block: skip to the missing-value form)
    f.block().loop();
    f.get(s).get(D).i32GeS().brIf(1);
    for (let l = 0; l < count; l++) plainStep(x[l]!, n[l]!);
    f.get(s).i32(1).i32Add().set(s);
    f.br(0).end().end();
  };
  const walkNan = (count: number): void => {
    f.i32(0).set(s);
    f.block().loop();
    f.get(s).get(D).i32GeS().brIf(1);
    for (let l = 0; l < count; l++) nanStep(x[l]!, n[l]!, v[l]!, t[l]!);
    f.get(s).i32(1).i32Add().set(s);
    f.br(0).end().end();
  };
  const lanesOf = (count: number): void => {
    f.get(XR).get(i).get(ps).i32Mul().i32Add().set(x[0]!);
    for (let l = 1; l < count; l++)
      f.get(x[l - 1]!)
        .get(ps)
        .i32Add()
        .set(x[l]!);
    for (let l = 0; l < count; l++) f.i32(0).set(n[l]!);
    // plain: the plain walk, then skip the other; else the missing-value walk
    f.block();
    f.block();
    walk(count);
    f.br(1);
    f.end();
    walkNan(count);
    f.end();
    for (let l = 0; l < count; l++)
      f.get(LEAF).get(i).i32(l).i32Add().i32(2).i32Shl().i32Add().get(LO).get(n[l]!).i32Add().i32Store();
  };
  f.get(P).i32(3).i32Shl().set(ps);
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).i32(LANES).i32Add().get(M).i32GtS().brIf(1);
  lanesOf(LANES);
  f.get(i).i32(LANES).i32Add().set(i);
  f.br(0).end().end();
  f.block().loop();
  f.get(i).get(M).i32GeS().brIf(1);
  lanesOf(1);
  f.get(i).i32(1).i32Add().set(i);
  f.br(0).end().end();
  return f;
}

/** accumulate(leaf, m, val, k, out, outK, off, scale): out[q·outK + off + c] += scale · val[leaf[q]·k + c]. */
function accumulateKernel(): WasmFn {
  const f = new WasmFn("accumulate", ["i32", "i32", "i32", "i32", "i32", "i32", "i32", "f64"]);
  const [LEAF, M, VAL, K, OUT, OUTK, OFF, SCALE] = [0, 1, 2, 3, 4, 5, 6, 7];
  const q = f.local("i32");
  const c = f.local("i32");
  const o = f.local("i32");
  const b = f.local("i32");
  f.i32(0).set(q);
  f.block().loop();
  f.get(q).get(M).i32GeS().brIf(1);
  f.get(OUT).get(q).get(OUTK).i32Mul().get(OFF).i32Add().i32(3).i32Shl().i32Add().set(o);
  f.get(VAL)
    .get(LEAF)
    .get(q)
    .i32(2)
    .i32Shl()
    .i32Add()
    .i32Load()
    .get(K)
    .i32Mul()
    .i32(3)
    .i32Shl()
    .i32Add()
    .set(b);
  f.i32(0).set(c);
  f.block().loop();
  f.get(c).get(K).i32GeS().brIf(1);
  f.get(o).get(o).f64Load().get(SCALE).get(b).f64Load().f64Mul().f64Add().f64Store();
  f.get(o).i32(8).i32Add().set(o);
  f.get(b).i32(8).i32Add().set(b);
  f.get(c).i32(1).i32Add().set(c);
  f.br(0).end().end();
  f.get(q).i32(1).i32Add().set(q);
  f.br(0).end().end();
  return f;
}

interface Kernels {
  compact(fr: number, thr: number, root: number, xr: number, m: number, p: number, leaf: number): void;
  general(links: number, thr: number, root: number, xr: number, m: number, p: number, leaf: number): void;
  perfect(
    feat: number,
    thr: number,
    miss: number,
    D: number,
    lo: number,
    xr: number,
    m: number,
    p: number,
    leaf: number,
    plain: number,
  ): void;
  accumulate(
    leaf: number,
    m: number,
    val: number,
    k: number,
    out: number,
    outK: number,
    off: number,
    scale: number,
  ): void;
}

let compiled: WebAssembly.Module | null | undefined;

/** The kernels' module, compiled once per thread (null where WebAssembly is missing or disabled). */
function kernelModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled =
      typeof WebAssembly === "object" && !wasmDisabled
        ? new WebAssembly.Module(
            assemble([compactKernel(), generalKernel(), perfectKernel(), accumulateKernel()]),
          )
        : null;
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

/** One PackedTrees in a WebAssembly memory: its tables, then scratch for a block. */
export class WasmTrees {
  private readonly mem: WebAssembly.Memory;
  private readonly k: Kernels;
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
  };
  /** Where scratch starts. */
  private readonly scratch: number;

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
    this.at = {
      fr: C ? take(C.fr.byteLength) : 0,
      thr: C ? take(C.thr.byteLength) : 0,
      links: take(P.links.byteLength),
      threshold: take(P.threshold.byteLength),
      value: take(P.value.byteLength),
      pFeat: Q ? take(Q.feat.byteLength) : 0,
      pThr: Q ? take(Q.thr.byteLength) : 0,
      pMiss: Q ? take(Q.missRight.byteLength) : 0,
      pValue: Q ? take(Q.value.byteLength) : 0,
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
    if (Q) {
      new Int32Array(buf, this.at.pFeat, Q.feat.length).set(Q.feat);
      new Float64Array(buf, this.at.pThr, Q.thr.length).set(Q.thr);
      new Uint8Array(buf, this.at.pMiss, Q.missRight.length).set(Q.missRight);
      new Float64Array(buf, this.at.pValue, Q.value.length).set(Q.value);
    }
    this.k = new WebAssembly.Instance(mod, { env: { memory: this.mem } }).exports as unknown as Kernels;
  }

  /** Scratch for a block of m rows of p values and outK sums each: byte offsets of rows, leaves, sums. */
  private layout(m: number, p: number, outK: number): { xr: number; leaf: number; out: number } {
    const xr = this.scratch;
    const leaf = xr + 8 * m * p;
    const out = leaf + Math.ceil((4 * m) / 8) * 8;
    const need = out + 8 * m * outK;
    const have = this.mem.buffer.byteLength;
    if (need > have) this.mem.grow(Math.ceil((need - have) / PAGE));
    return { xr, leaf, out };
  }

  /** Walk tree t over the m rows at byte offset xr into leaf (indices into the walk's value table). */
  private walkTree(t: number, xr: number, m: number, p: number, leaf: number, plain: boolean): void {
    const P = this.P;
    const Q = P.perfect;
    if (Q) {
      const nSplit = (1 << Q.D) - 1;
      this.k.perfect(
        this.at.pFeat + 4 * t * nSplit,
        this.at.pThr + 8 * t * nSplit,
        this.at.pMiss + t * nSplit,
        Q.D,
        t * (nSplit + 1) - nSplit,
        xr,
        m,
        p,
        leaf,
        plain ? 1 : 0,
      );
    } else if (plain && P.compact) this.k.compact(this.at.fr, this.at.thr, P.roots[t]!, xr, m, p, leaf);
    else this.k.general(this.at.links, this.at.threshold, P.roots[t]!, xr, m, p, leaf);
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
    new Float64Array(buf, L.xr, m * p).set(xb.subarray(xo * p, (xo + m) * p));
    const sums = new Float64Array(buf, L.out, m * outK);
    sums.set(out.subarray(r0 * outK, (r0 + m) * outK));
    const P = this.P;
    const val = P.perfect ? this.at.pValue : this.at.value;
    for (let t = 0; t < P.nTrees; t++) {
      this.walkTree(t, L.xr, m, p, L.leaf, plain);
      this.k.accumulate(L.leaf, m, val, P.k, L.out, outK, R === 1 ? 0 : t % R, scale);
    }
    out.set(sums, r0 * outK);
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
      if (plain && P.compact) this.k.compact(this.at.fr, this.at.thr, P.roots[t]!, L.xr, m, p, L.leaf);
      else this.k.general(this.at.links, this.at.threshold, P.roots[t]!, L.xr, m, p, L.leaf);
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
