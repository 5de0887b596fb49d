/**
 * A small WebAssembly assembler: a module with functions over one imported memory (`env.memory`),
 * written instruction by instruction from TypeScript (the encoding of the WebAssembly 1.0 binary
 * format, https://webassembly.github.io/spec/core/binary/). Hot kernels (the tree walks) are emitted
 * with it at load time: no second language, no committed binary, no build step.
 */

export type ValType = "i32" | "i64" | "f64" | "v128";

const TYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f64: 0x7c, v128: 0x7b };

function uleb(n: number, out: number[]): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`uleb: ${n}`);
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
}

function sleb(n: number, out: number[]): void {
  if (!Number.isInteger(n)) throw new RangeError(`sleb: ${n}`);
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function slebBig(n: bigint, out: number[]): void {
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(s: string, out: number[]): void {
  const b = new TextEncoder().encode(s);
  uleb(b.length, out);
  for (const x of b) out.push(x);
}

/** A function body under construction: params are locals 0 .. n-1, `local()` adds more. */
export class WasmFn {
  readonly name: string;
  readonly params: ValType[];
  readonly results: ValType[];
  private readonly extra: ValType[] = [];
  readonly code: number[] = [];

  constructor(name: string, params: ValType[], results: ValType[] = []) {
    this.name = name;
    this.params = params;
    this.results = results;
  }

  /** A new local of type t; returns its index. */
  local(t: ValType): number {
    this.extra.push(t);
    return this.params.length + this.extra.length - 1;
  }

  private op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  // control (blocks and loops have no result: block type 0x40)
  block(): this {
    return this.op(0x02, 0x40);
  }
  loop(): this {
    return this.op(0x03, 0x40);
  }
  end(): this {
    return this.op(0x0b);
  }
  /** if … end (or if … else … end) on an i32 condition, no result. */
  if(): this {
    return this.op(0x04, 0x40);
  }
  else(): this {
    return this.op(0x05);
  }
  /** Branch to the enclosing label `depth` levels out (0 = innermost block or loop). */
  br(depth: number): this {
    this.op(0x0c);
    uleb(depth, this.code);
    return this;
  }
  brIf(depth: number): this {
    this.op(0x0d);
    uleb(depth, this.code);
    return this;
  }
  // variables
  get(i: number): this {
    this.op(0x20);
    uleb(i, this.code);
    return this;
  }
  set(i: number): this {
    this.op(0x21);
    uleb(i, this.code);
    return this;
  }
  tee(i: number): this {
    this.op(0x22);
    uleb(i, this.code);
    return this;
  }
  // memory: natural alignment hint, constant byte offset
  i32Load(offset = 0): this {
    this.op(0x28, 2);
    uleb(offset, this.code);
    return this;
  }
  i32Load8U(offset = 0): this {
    this.op(0x2d, 0);
    uleb(offset, this.code);
    return this;
  }
  i32Load16U(offset = 0): this {
    this.op(0x2f, 1);
    uleb(offset, this.code);
    return this;
  }
  i64Load(offset = 0): this {
    this.op(0x29, 3);
    uleb(offset, this.code);
    return this;
  }
  i64Store(offset = 0): this {
    this.op(0x37, 3);
    uleb(offset, this.code);
    return this;
  }
  /** A float32 load (natural alignment); f64PromoteF32 widens it exactly. */
  f32Load(offset = 0): this {
    this.op(0x2a, 2);
    uleb(offset, this.code);
    return this;
  }
  f64Load(offset = 0): this {
    this.op(0x2b, 3);
    uleb(offset, this.code);
    return this;
  }
  /** A float32 store of an f32 (f32DemoteF64 rounds an f64 to nearest, as a Float32Array store). */
  f32Store(offset = 0): this {
    this.op(0x38, 2);
    uleb(offset, this.code);
    return this;
  }
  i32Store(offset = 0): this {
    this.op(0x36, 2);
    uleb(offset, this.code);
    return this;
  }
  f64Store(offset = 0): this {
    this.op(0x39, 3);
    uleb(offset, this.code);
    return this;
  }
  // constants
  i32(v: number): this {
    this.op(0x41);
    sleb(v | 0, this.code);
    return this;
  }
  /** A 64-bit integer constant (two's complement: 1n << 63n is the sign bit). */
  i64(v: bigint): this {
    this.op(0x42);
    slebBig(BigInt.asIntN(64, v), this.code);
    return this;
  }
  f64(v: number): this {
    this.op(0x44);
    const b = new Uint8Array(new Float64Array([v]).buffer);
    for (const x of b) this.code.push(x);
    return this;
  }
  // numeric
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32Eq(): this {
    return this.op(0x46);
  }
  i32Ne(): this {
    return this.op(0x47);
  }
  i32LtS(): this {
    return this.op(0x48);
  }
  i32GtS(): this {
    return this.op(0x4a);
  }
  i32GeS(): this {
    return this.op(0x4e);
  }
  f64Eq(): this {
    return this.op(0x61);
  }
  f64Lt(): this {
    return this.op(0x63);
  }
  f64Ge(): this {
    return this.op(0x66);
  }
  f64Ne(): this {
    return this.op(0x62);
  }
  f64Gt(): this {
    return this.op(0x64);
  }
  f64Le(): this {
    return this.op(0x65);
  }
  /** Count of trailing zero bits (32 for 0). */
  i32Ctz(): this {
    return this.op(0x68);
  }
  i32Add(): this {
    return this.op(0x6a);
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32Mul(): this {
    return this.op(0x6c);
  }
  i32And(): this {
    return this.op(0x71);
  }
  i32Or(): this {
    return this.op(0x72);
  }
  i32Xor(): this {
    return this.op(0x73);
  }
  i32ShrU(): this {
    return this.op(0x76);
  }
  i64Or(): this {
    return this.op(0x84);
  }
  i64Shl(): this {
    return this.op(0x86);
  }
  i64ShrU(): this {
    return this.op(0x88);
  }
  i32WrapI64(): this {
    return this.op(0xa7);
  }
  i64ExtendI32U(): this {
    return this.op(0xad);
  }
  i32Shl(): this {
    return this.op(0x74);
  }
  f64Add(): this {
    return this.op(0xa0);
  }
  f64Mul(): this {
    return this.op(0xa2);
  }
  f64Sub(): this {
    return this.op(0xa1);
  }
  f64Div(): this {
    return this.op(0xa3);
  }
  f64Abs(): this {
    return this.op(0x99);
  }
  f64Neg(): this {
    return this.op(0x9a);
  }
  /** f64 → i32, truncated toward zero (as C's (int) cast; traps outside the i32 range). */
  i32TruncF64S(): this {
    return this.op(0xaa);
  }
  f64ConvertI32S(): this {
    return this.op(0xb7);
  }
  f32DemoteF64(): this {
    return this.op(0xb6);
  }
  i64ExtendI32S(): this {
    return this.op(0xac);
  }
  f64ReinterpretI64(): this {
    return this.op(0xbf);
  }
  // 128-bit SIMD (two f64 lanes); loads and stores hint 8-byte alignment
  v128Load(offset = 0): this {
    this.op(0xfd, 0x00, 3);
    uleb(offset, this.code);
    return this;
  }
  v128Store(offset = 0): this {
    this.op(0xfd, 0x0b, 3);
    uleb(offset, this.code);
    return this;
  }
  f64x2Splat(): this {
    return this.op(0xfd, 0x14);
  }
  f64x2ReplaceLane(lane: 0 | 1): this {
    return this.op(0xfd, 0x22, lane);
  }
  f64x2Add(): this {
    return this.op(0xfd, 0xf0, 0x01);
  }
  f64x2Sub(): this {
    return this.op(0xfd, 0xf1, 0x01);
  }
  f64x2Mul(): this {
    return this.op(0xfd, 0xf2, 0x01);
  }
  f64x2Div(): this {
    return this.op(0xfd, 0xf3, 0x01);
  }
  f64x2Abs(): this {
    return this.op(0xfd, 0xec, 0x01);
  }
  f64x2Neg(): this {
    return this.op(0xfd, 0xed, 0x01);
  }
  f64x2ExtractLane(lane: 0 | 1): this {
    return this.op(0xfd, 0x21, lane);
  }
  /** Lane-wise comparisons: all ones where true, zeros where false (NaN compares false but in ne). */
  f64x2Eq(): this {
    return this.op(0xfd, 0x47);
  }
  f64x2Ne(): this {
    return this.op(0xfd, 0x48);
  }
  f64x2Lt(): this {
    return this.op(0xfd, 0x49);
  }
  f64x2Ge(): this {
    return this.op(0xfd, 0x4c);
  }
  v128And(): this {
    return this.op(0xfd, 0x4e);
  }
  v128Or(): this {
    return this.op(0xfd, 0x50);
  }
  /** [a, b, mask] → a's bits where mask's are 1, b's elsewhere. */
  v128Bitselect(): this {
    return this.op(0xfd, 0x52);
  }
  /** 1 when any bit is set. */
  v128AnyTrue(): this {
    return this.op(0xfd, 0x53);
  }
  /** The two f64 lanes truncated toward zero to the low two i32 lanes (saturating; upper two 0). */
  i32x4TruncSatF64x2SZero(): this {
    return this.op(0xfd, 0xfc, 0x01);
  }
  /** The low two i32 lanes to two f64 lanes (exact). */
  f64x2ConvertLowI32x4S(): this {
    return this.op(0xfd, 0xfe, 0x01);
  }
  /** The low two i32 lanes sign-extended to two i64 lanes. */
  i64x2ExtendLowI32x4S(): this {
    return this.op(0xfd, 0xc7, 0x01);
  }
  i64x2Splat(): this {
    return this.op(0xfd, 0x12);
  }
  i64x2Add(): this {
    return this.op(0xfd, 0xce, 0x01);
  }
  i64x2Sub(): this {
    return this.op(0xfd, 0xd1, 0x01);
  }
  /** [v, n] → each i64 lane shifted left by n. */
  i64x2Shl(): this {
    return this.op(0xfd, 0xcb, 0x01);
  }
  f64PromoteF32(): this {
    return this.op(0xbb);
  }
  i32GeU(): this {
    return this.op(0x4f);
  }
  i32LeU(): this {
    return this.op(0x4d);
  }
  i32LtU(): this {
    return this.op(0x49);
  }
  i32GtU(): this {
    return this.op(0x4b);
  }
  /** [a, b, cond] → cond ≠ 0 ? a : b */
  select(): this {
    return this.op(0x1b);
  }

  /** The code section entry: locals (run-length encoded) and the body. */
  encode(): number[] {
    const body: number[] = [];
    const runs: [number, ValType][] = [];
    for (const t of this.extra) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    uleb(runs.length, body);
    for (const [n, t] of runs) {
      uleb(n, body);
      body.push(TYPE[t]);
    }
    for (const b of this.code) body.push(b);
    body.push(0x0b);
    const out: number[] = [];
    uleb(body.length, out);
    return out.concat(body);
  }
}

function section(id: number, content: number[], out: number[]): void {
  out.push(id);
  uleb(content.length, out);
  for (const b of content) out.push(b);
}

/** WebAssembly's 32-bit address space in pages: a shared memory's declared maximum. */
const MAX_PAGES = 65536;

/**
 * The module's bytes: functions exported by name, memory imported as env.memory (min 1 page; with
 * `shared`, a shared memory of at most 4 GiB, which threads instantiate the module on together).
 */
export function assemble(fns: readonly WasmFn[], shared = false): Uint8Array {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types: number[] = [];
  uleb(fns.length, types);
  for (const f of fns) {
    types.push(0x60);
    uleb(f.params.length, types);
    for (const p of f.params) types.push(TYPE[p]);
    uleb(f.results.length, types);
    for (const r of f.results) types.push(TYPE[r]);
  }
  section(1, types, out);
  const imports: number[] = [];
  uleb(1, imports);
  name("env", imports);
  name("memory", imports);
  imports.push(0x02, shared ? 0x03 : 0x00);
  uleb(1, imports);
  if (shared) uleb(MAX_PAGES, imports);
  section(2, imports, out);
  const funcs: number[] = [];
  uleb(fns.length, funcs);
  fns.forEach((_, i) => {
    uleb(i, funcs);
  });
  section(3, funcs, out);
  const exports: number[] = [];
  uleb(fns.length, exports);
  fns.forEach((f, i) => {
    name(f.name, exports);
    exports.push(0x00);
    uleb(i, exports);
  });
  section(7, exports, out);
  const code: number[] = [];
  uleb(fns.length, code);
  for (const f of fns) for (const b of f.encode()) code.push(b);
  section(10, code, out);
  return Uint8Array.from(out);
}
