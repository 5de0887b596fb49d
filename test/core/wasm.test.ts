/** The WebAssembly assembler: modules validate and compute what the instructions say. */
import { describe, expect, it } from "vitest";
import { assemble, WasmFn } from "../../src/core/wasm.ts";

describe("assemble", () => {
  it("encodes constants (signed LEB128), locals, loops, branches, select and memory", () => {
    // sum(n): s = 0; for i in 0..n: s += i; writes s at 0; s += c; returns s > 100 ? s : −s
    const f = new WasmFn("run", ["i32", "i32"], ["i32"]);
    const s = f.local("i32");
    const i = f.local("i32");
    f.i32(0).set(s).i32(0).set(i);
    f.block().loop();
    f.get(i).get(0).i32GeS().brIf(1);
    f.get(s).get(i).i32Add().set(s);
    f.get(i).i32(1).i32Add().set(i);
    f.br(0).end().end();
    f.i32(0).get(s).i32Store();
    f.i32(0).i32Load().get(1).i32Add().set(s);
    // select: s > 100 ? s : -s
    f.get(s).i32(0).get(s).i32Sub().get(s).i32(100).i32GtS().select();
    const g = new WasmFn("big", [], ["i32"]);
    g.i32(-(2 ** 31))
      .i32(2 ** 31 - 1)
      .i32Xor()
      .i32(-64)
      .i32Add()
      .i32(63)
      .i32Add();
    const bytes = assemble([f, g]);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as {
      run: (n: number, c: number) => number;
      big: () => number;
    };
    expect(ex.run(10, 7)).toBe(-52); // 45 + 7 = 52, not above 100
    expect(ex.run(20, 7)).toBe(197); // 190 + 7
    expect(new Int32Array(memory.buffer, 0, 1)[0]).toBe(190);
    expect(ex.big()).toBe(-1 - 1); // (−2^31 xor 2^31−1) = −1; −1 − 64 + 63
  });

  it("encodes 64-bit integers: constants, loads, stores, shifts, extension and wrapping", () => {
    // bits(a, k): store (1 << 63) | (a << k) at 8; return the low 32 bits of (load(8) >> k) and of the sign bit
    const f = new WasmFn("bits", ["i32", "i32", "i32"], ["i32"]);
    const c = f.local("i64");
    f.i64(1n << 63n)
      .get(0)
      .i64ExtendI32U()
      .get(1)
      .i64ExtendI32U()
      .i64Shl()
      .i64Or()
      .set(c);
    f.i32(8).get(c).i64Store();
    // (load(8) >> (k + 64·j)) wrapped: shift counts are taken mod 64
    f.i32(8).i64Load().get(1).get(2).i32(6).i32Shl().i32Add().i64ExtendI32U().i64ShrU().i32WrapI64();
    const g = new WasmFn("hi", [], ["i32"]);
    g.i32(8).i64Load().i64(63n).i64ShrU().i32WrapI64().i32(-8).i32(28).i32ShrU().i32Add();
    const bytes = assemble([f, g]);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as {
      bits: (a: number, k: number, j: number) => number;
      hi: () => number;
    };
    expect(ex.bits(0xabcd, 20, 0)).toBe(0xabcd);
    expect(ex.bits(0xabcd, 20, 3)).toBe(0xabcd); // 20 + 192 ≡ 20 (mod 64)
    expect(new BigUint64Array(memory.buffer, 8, 1)[0]).toBe((1n << 63n) | (0xabcdn << 20n));
    expect(ex.hi()).toBe(1 + 15); // the sign bit; −8 >>> 28 = 15
  });
});
