/**
 * The binary fit's step between two trees in WebAssembly (boost-rows.ts's `binaryStep`, the same
 * numbers to the bit): F[i] += values[leaf[i]], then p = 1 / (1 + e^−F), g = w (p − y),
 * h = w p (1 − p) rounded to float32.
 *
 * e^x is fdlibm's e_exp.c, the algorithm of V8's Math.exp (base::ieee754::exp), step for step in
 * float64 (WebAssembly's float arithmetic is IEEE 754's, never fused): the same result for every x,
 * so the gradients, and the trees, are those of the JS loop. Math.exp costs a call into C per row
 * (most of a step's time: about 18 ns of 20 a row); here it is inlined, two rows at a time in f64x2
 * lanes (a 2.5× faster step than the JS loop's, CPU time, 200,000 rows), and STEP_PAIRS such pairs
 * side by side (1.8× faster again).
 */
import { WasmFn } from "../../core/wasm.ts";

/** A double from its high word (low word 0): fdlibm compares |x|'s high word with these. */
function fromHighWord(hi: number): number {
  const b = new Float64Array(1);
  const w = new Uint32Array(b.buffer);
  w[1] = hi >>> 0;
  w[0] = 0;
  return b[0]!;
}

// fdlibm e_exp.c's constants
const O_THRESHOLD = 7.09782712893383973096e2;
const U_THRESHOLD = -7.4513321910194110842e2;
const LN2_HI = 6.9314718036912381649e-1;
const LN2_LO = 1.90821492927058770002e-10;
// fdlibm's invln2, 1.44269504088896338700
const INV_LN2 = Math.LOG2E;
const P1 = 1.66666666666666019037e-1;
const P2 = -2.77777777770155933842e-3;
const P3 = 6.61375632143793436117e-5;
const P4 = -1.6533902205465251539e-6;
const P5 = 4.13813679705723846039e-8;
/** |x|'s high word > 0x3fd62e42: |x| > 0.5 ln 2. */
const HALF_LN2 = fromHighWord(0x3fd62e43);
/** high word < 0x3ff0a2b2: |x| < 1.5 ln 2. */
const ONE_HALF_LN2 = fromHighWord(0x3ff0a2b2);
/** high word < 0x3e300000: |x| < 2^−28. */
const TINY = fromHighWord(0x3e300000);
/** high word >= 0x40862e42: overflow or underflow possible. */
const BIG = fromHighWord(0x40862e42);

/** The locals of the e^x code (one value: x → e; two lanes: X → E). */
interface ExpLocals {
  x: number;
  ax: number;
  hi: number;
  lo: number;
  t: number;
  c: number;
  yv: number;
  e: number;
  k: number;
  X: number;
  AX: number;
  BIG_K: number;
  KI: number;
  KD: number;
  HI: number;
  LO: number;
  T: number;
  C: number;
  E: number;
}

function expLocals(f: WasmFn): ExpLocals {
  const f64 = () => f.local("f64");
  const v128 = () => f.local("v128");
  return {
    x: f64(),
    ax: f64(),
    hi: f64(),
    lo: f64(),
    t: f64(),
    c: f64(),
    yv: f64(),
    e: f64(),
    k: f.local("i32"),
    X: v128(),
    AX: v128(),
    BIG_K: v128(),
    KI: v128(),
    KD: v128(),
    HI: v128(),
    LO: v128(),
    T: v128(),
    C: v128(),
    E: v128(),
  };
}

/** e = e^x (x a local, overwritten), fdlibm's e_exp.c branch by branch. */
function expOne(f: WasmFn, L: ExpLocals): void {
  const { x, ax, hi, lo, t, c, yv, e, k } = L;
  /** 2^(k + bias) as a double from its exponent bits (k + bias in the normal range). */
  const twoTo = (bias: number) =>
    f
      .get(k)
      .i32(bias + 1023)
      .i32Add()
      .i64ExtendI32S()
      .i64(52n)
      .i64Shl()
      .f64ReinterpretI64();
  f.get(x).f64Abs().set(ax);
  f.block();
  f.get(ax).f64(BIG).f64Lt().i32Eqz().if();
  // NaN, overflow, underflow (within the thresholds: the general path below)
  f.get(x).get(x).f64Ne().if().get(x).set(e).br(2).end();
  f.get(x).f64(O_THRESHOLD).f64Gt().if().f64(Number.POSITIVE_INFINITY).set(e).br(2).end();
  f.get(x).f64(U_THRESHOLD).f64Lt().if().f64(0).set(e).br(2).end();
  f.end();
  f.i32(0).set(k);
  f.get(ax).f64(HALF_LN2).f64Ge().if();
  f.get(ax).f64(ONE_HALF_LN2).f64Lt().if();
  f.get(x).f64(1).f64Eq().if().f64(Math.E).set(e).br(3).end();
  // hi = x − ln2HI[sign], lo = ln2LO[sign], k = ±1
  f.get(x).f64(-LN2_HI).f64(LN2_HI).get(x).f64(0).f64Lt().select().f64Sub().set(hi);
  f.f64(-LN2_LO).f64(LN2_LO).get(x).f64(0).f64Lt().select().set(lo);
  f.i32(-1).i32(1).get(x).f64(0).f64Lt().select().set(k);
  f.else();
  // k = (int)(x / ln 2 ± 0.5); hi = x − k ln2HI (exact), lo = k ln2LO
  f.f64(INV_LN2).get(x).f64Mul().f64(-0.5).f64(0.5).get(x).f64(0).f64Lt().select().f64Add();
  f.i32TruncF64S().set(k);
  f.get(k).f64ConvertI32S().set(t);
  f.get(x).get(t).f64(LN2_HI).f64Mul().f64Sub().set(hi);
  f.get(t).f64(LN2_LO).f64Mul().set(lo);
  f.end();
  f.get(hi).get(lo).f64Sub().set(x);
  f.else();
  f.get(ax).f64(TINY).f64Lt().if().f64(1).get(x).f64Add().set(e).br(2).end();
  f.end();
  // c = x − t (P1 + t (P2 + t (P3 + t (P4 + t P5)))), t = x²
  f.get(x).get(x).f64Mul().set(t);
  f.get(x).get(t);
  f.f64(P1).get(t);
  f.f64(P2).get(t);
  f.f64(P3).get(t);
  f.f64(P4).get(t).f64(P5).f64Mul().f64Add();
  f.f64Mul().f64Add();
  f.f64Mul().f64Add();
  f.f64Mul().f64Add();
  f.f64Mul().f64Sub().set(c);
  // k = 0: 1 − ((x c) / (c − 2) − x)
  f.get(k).i32Eqz().if();
  f.f64(1).get(x).get(c).f64Mul().get(c).f64(2).f64Sub().f64Div().get(x).f64Sub().f64Sub().set(e).br(1);
  f.end();
  // y = 1 − ((lo − (x c) / (2 − c)) − hi), scaled by 2^k
  f.f64(1).get(lo).get(x).get(c).f64Mul().f64(2).get(c).f64Sub().f64Div().f64Sub().get(hi).f64Sub();
  f.f64Sub().set(yv);
  f.get(k).i32(-1021).i32GeS().if();
  f.get(k)
    .i32(1024)
    .i32Eq()
    .if()
    .get(yv)
    .f64(2)
    .f64Mul()
    .f64(2 ** 1023)
    .f64Mul()
    .set(e)
    .br(2)
    .end();
  f.get(yv);
  twoTo(0);
  f.f64Mul().set(e).br(1);
  f.end();
  f.get(yv);
  twoTo(1000);
  f.f64Mul()
    .f64(2 ** -1000)
    .f64Mul()
    .set(e);
  f.end();
}

/** Pushes 1 when a lane of X (AX = |X|) is outside expPair's range: NaN, 1, |X| < 2^-28 or >= 700. */
function outsidePair(f: WasmFn, L: ExpLocals): void {
  const { X, AX } = L;
  f.get(AX).f64(700).f64x2Splat().f64x2Ge();
  f.get(AX).f64(TINY).f64x2Splat().f64x2Lt().v128Or();
  f.get(X).f64(1).f64x2Splat().f64x2Eq().v128Or();
  f.get(X).get(X).f64x2Ne().v128Or();
  f.v128AnyTrue();
}

/**
 * E = e^X lane by lane, both lanes within expPair's range (outsidePair pushed 0): the operations of
 * expOne's branch for 2^-28 <= |x| < 700, where k = 0 is k·ln 2 = 0 (hi = x, lo = 0, 2^k = 1) and
 * k = 0's (x c) / (c − 2) is −(x c) / (2 − c) exactly.
 *
 * With several sets of locals (`sets`), each statement is emitted for every set before the next:
 * independent chains side by side, so the CPU overlaps their latencies (e^x is a chain of about 30
 * dependent operations, two divisions among them); each set's operations are the one set's.
 */
function expPair(f: WasmFn, sets: readonly ExpLocals[]): void {
  const splat = (v: number) => f.f64(v).f64x2Splat();
  const statements: ((L: ExpLocals) => void)[] = [
    // k = (int)(x / ln 2 ± 0.5) where |x| > 0.5 ln 2, else 0
    ({ AX, BIG_K }) => f.get(AX).f64(HALF_LN2).f64x2Splat().f64x2Ge().set(BIG_K),
    ({ X, KI }) => {
      f.get(X).f64(INV_LN2).f64x2Splat().f64x2Mul();
      splat(-0.5);
      splat(0.5);
      f.get(X).f64(0).f64x2Splat().f64x2Lt().v128Bitselect().f64x2Add();
      f.i32x4TruncSatF64x2SZero().set(KI);
    },
    ({ KI, BIG_K, KD }) => f.get(KI).f64x2ConvertLowI32x4S().get(BIG_K).v128And().set(KD),
    // hi = x − k ln2HI, lo = k ln2LO, x = hi − lo
    ({ X, KD, HI }) => f.get(X).get(KD).f64(LN2_HI).f64x2Splat().f64x2Mul().f64x2Sub().set(HI),
    ({ KD, LO }) => f.get(KD).f64(LN2_LO).f64x2Splat().f64x2Mul().set(LO),
    ({ HI, LO, X }) => f.get(HI).get(LO).f64x2Sub().set(X),
    ({ X, T }) => f.get(X).get(X).f64x2Mul().set(T),
    ({ X, T, C }) => {
      f.get(X).get(T);
      splat(P1).get(T);
      splat(P2).get(T);
      splat(P3).get(T);
      splat(P4).get(T);
      splat(P5).f64x2Mul().f64x2Add();
      f.f64x2Mul().f64x2Add();
      f.f64x2Mul().f64x2Add();
      f.f64x2Mul().f64x2Add();
      f.f64x2Mul().f64x2Sub().set(C);
    },
    // y = 1 − ((lo − (x c) / (2 − c)) − hi), e = y 2^k
    ({ LO, X, C, HI, KI, BIG_K, E }) => {
      splat(1).get(LO).get(X).get(C).f64x2Mul();
      splat(2).get(C).f64x2Sub().f64x2Div().f64x2Sub().get(HI).f64x2Sub().f64x2Sub();
      f.get(KI).i64x2ExtendLowI32x4S().get(BIG_K).v128And().i64(1023n).i64x2Splat().i64x2Add();
      f.i32(52).i64x2Shl().f64x2Mul().set(E);
    },
  ];
  for (const statement of statements) for (const L of sets) statement(L);
}

/**
 * exp(x, out, n): e^x of the n doubles at byte address x into out, two at a time as the step
 * kernel (tests compare it with Math.exp bit for bit: the step's float32 gradients would hide a
 * last-bit difference).
 */
export function expKernel(): WasmFn {
  const f = new WasmFn("exp", ["i32", "i32", "i32"]);
  const [xs, out, n] = [0, 1, 2];
  const L = expLocals(f);
  const j = f.local("i32");
  const one = (lane: number) => {
    f.get(xs)
      .get(j)
      .i32(3)
      .i32Shl()
      .i32Add()
      .f64Load(8 * lane)
      .set(L.x);
    expOne(f, L);
    f.get(out)
      .get(j)
      .i32(3)
      .i32Shl()
      .i32Add()
      .get(L.e)
      .f64Store(8 * lane);
  };
  f.block().loop();
  f.get(j).i32(1).i32Add().get(n).i32GeS().brIf(1);
  f.get(xs).get(j).i32(3).i32Shl().i32Add().v128Load().tee(L.X).f64x2Abs().set(L.AX);
  outsidePair(f, L);
  f.if();
  one(0);
  one(1);
  f.else();
  expPair(f, [L]);
  f.get(out).get(j).i32(3).i32Shl().i32Add().get(L.E).v128Store();
  f.end();
  f.get(j).i32(2).i32Add().set(j);
  f.br(0).end().end();
  f.get(j).get(n).i32LtS().if();
  one(0);
  f.end();
  return f;
}

/**
 * Pairs of rows a turn of the step's main loop: each pair's e^x and gradients are a chain of about
 * 40 dependent operations (two divisions among them), and the CPU overlaps the chains of pairs
 * emitted side by side. A step over NSL-KDD's 126k rows, one thread, median of 200 (AMD EPYC, load
 * 6): 1 pair 0.79 ms, 2 pairs 0.64, 4 pairs 0.59, 6 pairs 0.49, 8 pairs 0.45, 12 pairs 0.44,
 * 16 pairs 0.47.
 */
const STEP_PAIRS = 8;

/**
 * step(i, iEnd, F, leaf, values, y, w, grad, Fo, g, h, at): rows [i, iEnd) (byte addresses of f64
 * F, i32 leaf, f64 values, i32 y, f64 w, f32 g and h, f64 Fo): when values ≠ 0, F += values[leaf]
 * stored at Fo[i − at]; when grad ≠ 0, g[i − at] and h[i − at] from F.
 */
export function stepKernel(): WasmFn {
  const f = new WasmFn("step", [
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
  ]);
  const [i, iEnd, F, leaf, values, y, w, grad, Fo, g, h, at] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const fv = f.local("f64");
  const p = f.local("f64");
  const wi = f.local("f64");
  const o = f.local("i32");
  const L = expLocals(f);
  const { x, e } = L;
  const v128 = () => f.local("v128");
  /** A pair of rows' locals: its raw scores, e^x's, p, w, g and h. */
  interface Pair {
    Fv: number;
    L: ExpLocals;
    PV: number;
    WV: number;
    GV: number;
    HV: number;
  }
  const pairLocals = (L: ExpLocals): Pair => ({
    Fv: v128(),
    L,
    PV: v128(),
    WV: v128(),
    GV: v128(),
    HV: v128(),
  });
  // the long turn's pairs (the first also the two-row turn's)
  const pairs = [pairLocals(L)];
  while (pairs.length < STEP_PAIRS) pairs.push(pairLocals(expLocals(f)));
  /** g[o] and h[o] of row i from its raw score fv (fdlibm's e^x, branch by branch). */
  const gradOne = () => {
    f.get(fv).f64Neg().set(x);
    expOne(f, L);
    // p, g = w (p − y), h = w p (1 − p)
    f.f64(1).f64(1).get(e).f64Add().f64Div().set(p);
    f.get(w).get(i).i32(3).i32Shl().i32Add().f64Load().set(wi);
    f.get(g).get(o).i32(2).i32Shl().i32Add();
    f.get(wi).get(p).f64(1).f64(0).get(y).get(i).i32(2).i32Shl().i32Add().i32Load().i32(1).i32Eq().select();
    f.f64Sub().f64Mul().f32DemoteF64().f32Store();
    f.get(h).get(o).i32(2).i32Shl().i32Add();
    f.get(wi).get(p).f64Mul().f64(1).get(p).f64Sub().f64Mul().f32DemoteF64().f32Store();
  };
  /** Row i: F moved by its leaf's value (stored at Fo[o]), then its gradients. */
  const rowOne = () => {
    f.get(F).get(i).i32(3).i32Shl().i32Add().f64Load().set(fv);
    f.get(values).if();
    f.get(fv)
      .get(values)
      .get(leaf)
      .get(i)
      .i32(2)
      .i32Shl()
      .i32Add()
      .i32Load()
      .i32(3)
      .i32Shl()
      .i32Add()
      .f64Load()
      .f64Add()
      .set(fv);
    f.get(Fo).get(o).i32(3).i32Shl().i32Add().get(fv).f64Store();
    f.end();
    f.get(grad).if();
    gradOne();
    f.end();
  };
  const splat = (v: number) => f.f64(v).f64x2Splat();
  /** values[leaf[i + lane]] (offset: the lane's byte offset in leaf from row i's). */
  const leafValue = (offset: number) =>
    f
      .get(values)
      .get(leaf)
      .get(i)
      .i32(2)
      .i32Shl()
      .i32Add()
      .i32Load(offset)
      .i32(3)
      .i32Shl()
      .i32Add()
      .f64Load();
  /** 1 or 0: the row at byte offset `offset` of y from row i's is the positive class. */
  const target = (offset: number) =>
    f.f64(1).f64(0).get(y).get(i).i32(2).i32Shl().i32Add().i32Load(offset).i32(1).i32Eq().select();
  /** The f32 of lane `lane` of v stored at base + 4 (o + lane) + offset. */
  const store32 = (base: number, v: number, lane: 0 | 1, offset: number) =>
    f
      .get(base)
      .get(o)
      .i32(2)
      .i32Shl()
      .i32Add()
      .get(v)
      .f64x2ExtractLane(lane)
      .f32DemoteF64()
      .f32Store(offset + 4 * lane);
  /** Rows i + d, i + d + 1 (d = 0 or 2): their raw scores into P.Fv, moved by their leaves' values. */
  const pairScores = (P: Pair, d: number) => {
    f.get(F)
      .get(i)
      .i32(3)
      .i32Shl()
      .i32Add()
      .v128Load(8 * d)
      .set(P.Fv);
    f.get(values).if();
    f.get(P.Fv);
    leafValue(4 * d).f64x2Splat();
    leafValue(4 * d + 4).f64x2ReplaceLane(1);
    f.f64x2Add().set(P.Fv);
    f.get(Fo)
      .get(o)
      .i32(3)
      .i32Shl()
      .i32Add()
      .get(P.Fv)
      .v128Store(8 * d);
    f.end();
  };
  /** X = −F and AX = |X| of a pair. */
  const pairX = (P: Pair) => f.get(P.Fv).f64x2Neg().tee(P.L.X).f64x2Abs().set(P.L.AX);
  /**
   * The gradients of pairs whose e^x lanes are all within expPair's range (rows i + 2j, i + 2j + 1
   * for pairs[j]), each statement for every pair before the next (as expPair).
   */
  const pairGradients = (ps: readonly Pair[]) => {
    expPair(
      f,
      ps.map((P) => P.L),
    );
    // p, g = w (p − y), h = w p (1 − p)
    const statements: ((P: Pair, d: number) => void)[] = [
      (P) => {
        splat(1);
        splat(1).get(P.L.E).f64x2Add().f64x2Div().set(P.PV);
      },
      (P, d) =>
        f
          .get(w)
          .get(i)
          .i32(3)
          .i32Shl()
          .i32Add()
          .v128Load(8 * d)
          .set(P.WV),
      (P, d) => {
        f.get(P.WV).get(P.PV);
        target(4 * d).f64x2Splat();
        target(4 * d + 4).f64x2ReplaceLane(1);
        f.f64x2Sub().f64x2Mul().set(P.GV);
      },
      (P) => {
        f.get(P.WV).get(P.PV).f64x2Mul();
        splat(1).get(P.PV).f64x2Sub().f64x2Mul().set(P.HV);
      },
      (P, d) => {
        store32(g, P.GV, 0, 4 * d);
        store32(g, P.GV, 1, 4 * d);
        store32(h, P.HV, 0, 4 * d);
        store32(h, P.HV, 1, 4 * d);
      },
    ];
    for (const statement of statements) for (const [j, P] of ps.entries()) statement(P, 2 * j);
  };
  /**
   * The gradients of rows i, i + 1 from P.Fv (pairX done): the pair code when both lanes are within
   * its range, else the one-row code for both.
   */
  const pairGradient = (P: Pair) => {
    outsidePair(f, P.L);
    f.if();
    f.get(P.Fv).f64x2ExtractLane(0).set(fv);
    gradOne();
    f.get(P.Fv).f64x2ExtractLane(1).set(fv);
    f.get(i).i32(1).i32Add().set(i);
    f.get(o).i32(1).i32Add().set(o);
    gradOne();
    f.get(i).i32(1).i32Sub().set(i);
    f.get(o).i32(1).i32Sub().set(o);
    f.else();
    pairGradients([P]);
    f.end();
  };
  const P0 = pairs[0]!;
  const rows = 2 * STEP_PAIRS;

  // 2 · STEP_PAIRS rows a turn, as pairs side by side (f64x2 lanes): the same operations lane by
  // lane as one row's branch for 2^-28 <= |x| < 700 (k = 0 there is k·ln 2 = 0: hi = x, lo = 0,
  // 2^k = 1; the (x c) / (c − 2) of k = 0 is −(x c) / (2 − c) exactly); when a lane is outside
  // (NaN, e^1, the tiny, huge and subnormal cases) each pair takes the two-row turn's code, which
  // sends a pair with a lane outside to the one-row code
  f.block().loop();
  f.get(i)
    .i32(rows - 1)
    .i32Add()
    .get(iEnd)
    .i32GeS()
    .brIf(1);
  f.get(i).get(at).i32Sub().set(o);
  for (const [j, P] of pairs.entries()) pairScores(P, 2 * j);
  f.get(grad).if();
  for (const P of pairs) pairX(P);
  for (const [j, P] of pairs.entries()) {
    outsidePair(f, P.L);
    if (j > 0) f.i32Or();
  }
  f.if();
  pairGradient(P0);
  for (const P of pairs.slice(1)) {
    f.get(i).i32(2).i32Add().set(i);
    f.get(o).i32(2).i32Add().set(o);
    f.get(P.Fv).f64x2Neg().tee(P0.L.X).f64x2Abs().set(P0.L.AX);
    f.get(P.Fv).set(P0.Fv);
    pairGradient(P0);
  }
  f.get(i)
    .i32(rows - 2)
    .i32Sub()
    .set(i);
  f.else();
  pairGradients(pairs);
  f.end();
  f.end();
  f.get(i).i32(rows).i32Add().set(i);
  f.br(0).end().end();
  // then two rows at a time
  f.block().loop();
  f.get(i).i32(1).i32Add().get(iEnd).i32GeS().brIf(1);
  f.get(i).get(at).i32Sub().set(o);
  pairScores(P0, 0);
  f.get(grad).if();
  pairX(P0);
  pairGradient(P0);
  f.end();
  f.get(i).i32(2).i32Add().set(i);
  f.br(0).end().end();
  // the last row of an odd count
  f.get(i).get(iEnd).i32LtS().if();
  f.get(i).get(at).i32Sub().set(o);
  rowOne();
  f.end();
  return f;
}
