/**
 * The binary fit's step between two trees in WebAssembly (boost-rows.ts's `binaryStep`, the same
 * numbers to the bit): F[i] += values[leaf[i]], then p = 1 / (1 + e^−F), g = w (p − y),
 * h = w p (1 − p) rounded to float32.
 *
 * e^x is fdlibm's e_exp.c, the algorithm of V8's Math.exp (base::ieee754::exp), step for step in
 * float64 (WebAssembly's float arithmetic is IEEE 754's, never fused): the same result for every x,
 * so the gradients, and the trees, are those of the JS loop. Math.exp costs a call into C per row
 * (most of a step's time: about 18 ns of 20 a row); here it is a few inlined multiplies.
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
  const x = f.local("f64");
  const ax = f.local("f64");
  const hi = f.local("f64");
  const lo = f.local("f64");
  const t = f.local("f64");
  const c = f.local("f64");
  const yv = f.local("f64");
  const e = f.local("f64");
  const p = f.local("f64");
  const wi = f.local("f64");
  const k = f.local("i32");
  const o = f.local("i32");
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

  f.block().loop();
  f.get(i).get(iEnd).i32GeS().brIf(1);
  f.get(F).get(i).i32(3).i32Shl().i32Add().f64Load().set(fv);
  f.get(i).get(at).i32Sub().set(o);
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
  // e = exp(x), x = −F (block depth 0: done)
  f.get(fv).f64Neg().tee(x).f64Abs().set(ax);
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
  // p, g = w (p − y), h = w p (1 − p)
  f.f64(1).f64(1).get(e).f64Add().f64Div().set(p);
  f.get(w).get(i).i32(3).i32Shl().i32Add().f64Load().set(wi);
  f.get(g).get(o).i32(2).i32Shl().i32Add();
  f.get(wi).get(p).f64(1).f64(0).get(y).get(i).i32(2).i32Shl().i32Add().i32Load().i32(1).i32Eq().select();
  f.f64Sub().f64Mul().f32DemoteF64().f32Store();
  f.get(h).get(o).i32(2).i32Shl().i32Add();
  f.get(wi).get(p).f64Mul().f64(1).get(p).f64Sub().f64Mul().f32DemoteF64().f32Store();
  f.end();
  f.get(i).i32(1).i32Add().set(i);
  f.br(0).end().end();
  return f;
}
