import { describe, expect, it } from "vitest";
import { Frame, ownBuffers, partitionRows } from "../../src/core/frame.ts";

/** 6 rows: x = 10·row, a numeric column with a missing value, a categorical column with a missing code. */
function sample(): Frame {
  return new Frame([
    { kind: "numeric", name: "x", values: Float64Array.from([0, 10, 20, 30, 40, 50]) },
    { kind: "numeric", name: "m", values: Float64Array.from([1, Number.NaN, 3, 4, 5, 6]) },
    {
      kind: "categorical",
      name: "c",
      codes: Int32Array.from([0, 1, -1, 1, 0, 2]),
      categories: ["a", "b", "z"],
    },
  ]);
}

const rowsOf = (f: Frame) => Array.from({ length: f.nRows }, (_, i) => f.row(i));

describe("Frame.slice", () => {
  it("gives rows from..to-1 as views over the same buffers", () => {
    const f = sample();
    const s = f.slice(2, 5);
    expect(rowsOf(s)).toEqual([
      { x: 20, m: 3, c: null },
      { x: 30, m: 4, c: "b" },
      { x: 40, m: 5, c: "a" },
    ]);
    expect(s.numeric("x").buffer).toBe(f.numeric("x").buffer);
    expect(f.slice(6, 6).nRows).toBe(0);
    expect(() => f.slice(4, 7)).toThrow(RangeError);
    expect(() => f.slice(3, 2)).toThrow(RangeError);
  });
});

describe("partitionRows", () => {
  it("gives the rows take gives, in the parts' order, over the frame's own buffers", () => {
    const train = [5, 0, 3, 2];
    const test = [4, 1];
    const want = [rowsOf(sample().take(train)), rowsOf(sample().take(test))];
    const f = sample();
    const buffers = f.columns.map((c) => (c.kind === "numeric" ? c.values.buffer : c.codes.buffer));
    const [tr, te] = partitionRows(f, [train, test]);
    expect([rowsOf(tr!), rowsOf(te!)]).toEqual(want);
    // hand-checked: train rows 5, 0, 3, 2 then test rows 4, 1 of x = 10·row
    expect(Array.from(tr!.numeric("x"))).toEqual([50, 0, 30, 20]);
    expect(Array.from(te!.numeric("x"))).toEqual([40, 10]);
    // no copy: every column of both parts is a view of the frame's buffer for that column
    for (const [k, c] of f.columns.entries()) {
      for (const part of [tr!, te!]) {
        const pc = part.column(c.name);
        expect(pc.kind === "numeric" ? pc.values.buffer : pc.codes.buffer).toBe(buffers[k]);
      }
    }
    const [cf, ct] = [f.column("c"), te!.column("c")];
    expect(cf.kind === "categorical" && ct.kind === "categorical" && ct.categories === cf.categories).toBe(
      true,
    );
  });

  it("allows parts that leave rows out, and refuses more rows than the frame has or rows outside it", () => {
    const [only] = partitionRows(sample(), [[3, 1]]);
    expect(Array.from(only!.numeric("x"))).toEqual([30, 10]);
    expect(() =>
      partitionRows(sample(), [
        [0, 1, 2, 3],
        [4, 5, 0],
      ]),
    ).toThrow(RangeError);
    expect(() => partitionRows(sample(), [[0, 6]])).toThrow(RangeError);
    expect(() => partitionRows(sample(), [[-1]])).toThrow(RangeError);
  });
});

describe("ownBuffers and Frame.release", () => {
  const bufferOf = (f: Frame, name: string) => {
    const c = f.column(name);
    return c.kind === "numeric" ? c.values.buffer : c.codes.buffer;
  };

  it("puts each part of a partition on buffers of its own, the first keeping the cut source buffer", () => {
    const train = [5, 0, 3, 2];
    const test = [4, 1];
    const want = [rowsOf(sample().take(train)), rowsOf(sample().take(test))];
    const f = sample();
    const source = bufferOf(f, "x") as ArrayBuffer;
    const [tr, te] = ownBuffers(partitionRows(f, [train, test]));
    expect([rowsOf(tr!), rowsOf(te!)]).toEqual(want);
    for (const name of ["x", "m", "c"]) {
      expect(bufferOf(tr!, name)).not.toBe(bufferOf(te!, name));
      // hand-checked sizes: 4 training rows, 2 test rows, 8 bytes a number and 4 a code
      const width = name === "c" ? 4 : 8;
      expect([bufferOf(tr!, name).byteLength, bufferOf(te!, name).byteLength]).toEqual([
        4 * width,
        2 * width,
      ]);
    }
    // the source buffer was cut (detached), not copied and kept
    expect(source.detached).toBe(true);
  });

  it("release frees the columns' buffers at once and refuses reads after", () => {
    const [tr, te] = ownBuffers(
      partitionRows(sample(), [
        [0, 1, 2],
        [3, 4, 5],
      ]),
    );
    const x = bufferOf(tr!, "x") as ArrayBuffer;
    tr!.release();
    expect(x.detached).toBe(true);
    expect(() => tr!.column("x")).toThrow(/after release/);
    expect(() => tr!.columns).toThrow(/after release/);
    // the other part is untouched
    expect(Array.from(te!.numeric("x"))).toEqual([30, 40, 50]);
  });

  it("release leaves a view of a larger buffer to the garbage collector (the buffer's other views stay)", () => {
    const f = sample();
    const s = f.slice(0, 3);
    s.release();
    expect(Array.from(f.numeric("x"))).toEqual([0, 10, 20, 30, 40, 50]);
  });
});
