/**
 * The NPY v1.0 writer against numpy itself (the project's venv): numpy.load reads shape, dtype and
 * values back, and numpy.save of the same array writes the very same bytes. A small reader written
 * here from the format's description checks the layout without Python.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix, type Matrix, matrixFromRows, takeRows } from "../../src/core/frame.ts";
import { binnedMatrix } from "../../src/models/tree/binned-matrix.ts";
import { npyHeader, writeNpyBlocks, writeNpyInt64, writeNpyMatrix } from "../../src/pipeline/npy.ts";
import { ROOT, tempDir } from "../helpers/env.ts";

const PYTHON = join(ROOT, ".venv/bin/python");
const haveVenv = existsSync(PYTHON);
if (!haveVenv) console.warn(`skipping numpy checks: ${PYTHON} not found (run scripts/python-env)`);

const tmp = tempDir("netsec-npy-");
afterAll(tmp.cleanup);

function python(script: string, ...args: string[]): unknown {
  const out = execFileSync(PYTHON, ["-c", script, ...args], { encoding: "utf8", timeout: 120_000 });
  return JSON.parse(out.trim().split("\n").at(-1)!);
}

/** An NPY v1.0 reader from the format's description: header dict, then little-endian values. */
function readNpy(path: string): { descr: string; fortran: boolean; shape: number[]; values: number[] } {
  const b = readFileSync(path);
  expect([...b.subarray(0, 8)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const hlen = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + hlen).toString("latin1");
  expect((10 + hlen) % 64).toBe(0);
  expect(header.endsWith("\n")).toBe(true);
  const m = /^\{'descr': '(<[fi]8)', 'fortran_order': (True|False), 'shape': \(([\d, ]*)\), \} *\n$/.exec(
    header,
  );
  expect(m, header).not.toBeNull();
  const shape = m![3]!
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  const n = shape.reduce((a, x) => a * x, 1);
  expect(b.length).toBe(10 + hlen + 8 * n); // nothing after the data
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const o = 10 + hlen + 8 * i;
    values.push(m![1] === "<f8" ? b.readDoubleLE(o) : Number(b.readBigInt64LE(o)));
  }
  return { descr: m![1]!, fortran: m![2] === "True", shape, values };
}

// values numpy would have to read exactly: signs, subnormals, extremes, non-finite
const ROWS = [
  [0, -0, 1.5, -2.25],
  [0.1, 1e-300, 5e-324, Number.MAX_VALUE],
  [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -123456.789],
];

/** A rows × cols matrix with cell (r, c) = (r·cols + c) / 4, in netsec's column-major layout. */
function ramp(rows: number, cols: number): Matrix {
  const m = allocMatrix(rows, cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) m.data[c * rows + r] = (r * cols + c) / 4;
  return m;
}

describe("npyHeader", () => {
  it("is numpy's v1.0 header: dict with a trailing comma, space padding, data at a multiple of 64", () => {
    for (const shape of [[3, 4], [0, 5], [7], [123456, 122]]) {
      const h = npyHeader("<f8", shape);
      expect(h.length % 64).toBe(0);
      const text = Buffer.from(h.subarray(10)).toString("latin1");
      expect(text).toMatch(/^\{'descr': '<f8', 'fortran_order': False, 'shape': \([\d, ]+\), \} +\n$/);
      expect(Buffer.from(h).readUInt16LE(8)).toBe(h.length - 10);
    }
    expect(Buffer.from(npyHeader("<i8", [7])).toString("latin1")).toContain("'shape': (7,), }");
    expect(() => npyHeader("<f8", [2, -1])).toThrow(/invalid NPY shape/);
    expect(() => npyHeader("<f8", [1.5])).toThrow(/invalid NPY shape/);
  });
});

describe("writeNpyMatrix / writeNpyInt64 (format reader written here)", () => {
  it("writes rows in C order, every float64 bit for bit", () => {
    const p = join(tmp.dir, "rows.npy");
    writeNpyMatrix(p, matrixFromRows(ROWS));
    const a = readNpy(p);
    expect(a).toMatchObject({ descr: "<f8", fortran: false, shape: [3, 4] });
    expect(a.values).toEqual(ROWS.flat()); // toEqual tells -0 from 0 and matches NaN
  });

  it("a binned training matrix is written as the float64 values it was binned from, in chunks of rows", () => {
    // more rows than one write chunk (1 MB): a quantile column (kept raw) and a few-valued one (decoded)
    const n = 70_000;
    const X = allocMatrix(n, 2);
    for (let r = 0; r < n; r++) {
      X.data[r] = Math.sin(r) * 1e3;
      X.data[n + r] = (r % 3) - 1.5;
    }
    const p = join(tmp.dir, "binned.npy");
    writeNpyMatrix(p, binnedMatrix(X));
    const q = join(tmp.dir, "float.npy");
    writeNpyMatrix(q, X);
    expect(readFileSync(p).equals(readFileSync(q))).toBe(true);
    expect(readNpy(p).values.slice(0, 4)).toEqual([X.data[0], X.data[n], X.data[1], X.data[n + 1]]);
  });

  it("a matrix given as blocks of rows is the same file as the whole matrix; blocks that do not fit are refused", () => {
    // 50,000 × 3: blocks of 20,000, 20,000 and 10,000 rows, each more than one 1 MB write chunk
    const whole = ramp(50_000, 3);
    const block = (from: number, to: number): Matrix =>
      takeRows(
        whole,
        Array.from({ length: to - from }, (_, i) => from + i),
      );
    const p = join(tmp.dir, "blocks.npy");
    writeNpyBlocks(p, 50_000, 3, [block(0, 20_000), block(20_000, 40_000), block(40_000, 50_000)]);
    const q = join(tmp.dir, "whole.npy");
    writeNpyMatrix(q, whole);
    expect(readFileSync(p).equals(readFileSync(q))).toBe(true);
    expect(readNpy(p).values.slice(3 * 20_000, 3 * 20_000 + 3)).toEqual([15_000, 15_000.25, 15_000.5]);
    expect(() => writeNpyBlocks(p, 50_000, 3, [block(0, 20_000)])).toThrow(/hold 20000 rows, expected 50000/);
    expect(() => writeNpyBlocks(p, 10, 3, [block(0, 20)])).toThrow(/does not fit 10 × 3/);
  });

  it("a 0-row matrix is a header and nothing else", () => {
    const p = join(tmp.dir, "empty.npy");
    writeNpyMatrix(p, allocMatrix(0, 5));
    expect(readNpy(p)).toMatchObject({ shape: [0, 5], values: [] });
    expect(readFileSync(p).length).toBe(128); // the dict alone is about 64 characters: two blocks of 64
  });

  it("int64 labels sign-extend", () => {
    const p = join(tmp.dir, "y.npy");
    const y = Int32Array.from([0, 1, 1, 0, -1, 2147483647, -2147483648]);
    writeNpyInt64(p, y);
    expect(readNpy(p)).toMatchObject({ descr: "<i8", shape: [7], values: [...y] });
  });
});

describe.skipIf(!haveVenv)("writeNpyMatrix / writeNpyInt64 read by numpy", () => {
  const LOAD = `
import json, math, sys, numpy
a = numpy.load(sys.argv[1], allow_pickle=False)
show = lambda x: x if math.isfinite(x) else repr(x)
print(json.dumps({"shape": list(a.shape), "dtype": str(a.dtype), "c": bool(a.flags.c_contiguous),
  "values": [show(x) for x in a.ravel().tolist()], "signbit": numpy.signbit(a).ravel().tolist()}))`;

  it("numpy.load gives the shape, float64 and every value, -0 and non-finite included", () => {
    const p = join(tmp.dir, "np-rows.npy");
    writeNpyMatrix(p, matrixFromRows(ROWS));
    const r = python(LOAD, p) as { shape: number[]; dtype: string; values: unknown[]; signbit: boolean[] };
    expect(r).toMatchObject({ shape: [3, 4], dtype: "float64", c: true });
    const shown = ROWS.flat().map((x) => (Number.isFinite(x) ? x : x > 0 ? "inf" : x < 0 ? "-inf" : "nan"));
    expect(r.values).toEqual(shown); // json.dumps(-0.0) is "-0.0", which JSON.parse reads as -0
    expect(r.signbit).toEqual(ROWS.flat().map((x) => Object.is(x, -0) || x < 0));
  });

  it("numpy.load of a 0-row matrix is an empty (0, n) float64 array", () => {
    const p = join(tmp.dir, "np-empty.npy");
    writeNpyMatrix(p, allocMatrix(0, 3));
    expect(python(LOAD, p)).toMatchObject({ shape: [0, 3], dtype: "float64", values: [] });
  });

  it("numpy.save of the same arrays writes the same bytes, across the writer's row chunks", () => {
    // 100,000 × 3 spans three of the writer's 1 MiB chunks
    const shapes: [number, number][] = [
      [100_000, 3],
      [5, 7],
      [0, 4],
      [1, 1],
    ];
    for (const [r, c] of shapes) writeNpyMatrix(join(tmp.dir, `ramp-${r}x${c}.npy`), ramp(r, c));
    const labels = Int32Array.from({ length: 1001 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    writeNpyInt64(join(tmp.dir, "labels.npy"), labels);
    const same = python(
      `
import json, sys, numpy
d, shapes = sys.argv[1], json.loads(sys.argv[2])
out = {}
for r, c in shapes:
    numpy.save(f"{d}/np-ramp-{r}x{c}.npy", numpy.arange(r * c, dtype=numpy.float64).reshape(r, c) / 4)
    out[f"{r}x{c}"] = open(f"{d}/np-ramp-{r}x{c}.npy", "rb").read() == open(f"{d}/ramp-{r}x{c}.npy", "rb").read()
numpy.save(f"{d}/np-labels.npy", numpy.array([1 if i % 3 == 0 else 0 for i in range(1001)], dtype=numpy.int64))
out["labels"] = open(f"{d}/np-labels.npy", "rb").read() == open(f"{d}/labels.npy", "rb").read()
out["labels_dtype"] = str(numpy.load(f"{d}/labels.npy").dtype)
print(json.dumps(out))`,
      tmp.dir,
      JSON.stringify(shapes),
    );
    expect(same).toEqual({
      "100000x3": true,
      "5x7": true,
      "0x4": true,
      "1x1": true,
      labels: true,
      labels_dtype: "int64",
    });
  });
});
