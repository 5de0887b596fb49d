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
});
