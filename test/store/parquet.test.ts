/**
 * Parquet in and out: typed round trips (numbers, NaN and NULL as missing, categories, unicode), a
 * Frame written and read back through loadFrame, the readers' batches and row numbers, validation of
 * a Parquet file, and a corrupt file refused naming it.
 */
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { formatFromName, readAllRows, readTable } from "../../src/datasets/readers.ts";
import { getDataset } from "../../src/datasets/registry.ts";
import { parseSchema } from "../../src/datasets/schema.ts";
import { literal, openDuckDb } from "../../src/store/duckdb/connection.ts";
import { PARQUET_BATCH_ROWS, writeFrameParquet, writeParquet } from "../../src/store/duckdb/parquet.ts";
import { Validator } from "../../src/validate/validate.ts";
import { PHISHING_CSV, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir("netsec-parquet-");
afterAll(tmp.cleanup);

const schema = parseSchema(`
name: toy
title: toy
target: label
labels: {threat: [attack]}
columns:
  - {name: port, type: integer}
  - {name: proto, type: categorical}
  - {name: rate, type: number}
  - {name: label, type: categorical, role: target}
`);

describe("Parquet files", () => {
  it("round-trips typed columns: numbers, NaN and NULL as missing, unicode text, a repeated name renamed", async () => {
    const path = join(tmp.dir, "typed.parquet");
    await writeParquet(path, [
      { name: " port ", type: "DOUBLE", values: [80, Number.NaN, null, -0.5, 1e300] },
      { name: "proto", type: "VARCHAR", values: ["tcp", null, "ü—日本", "", 'a,"b"\n'] },
      { name: "proto2", type: "VARCHAR", values: ["x", "x", "x", "x", "x"] },
    ]);
    expect(formatFromName(path)).toBe("parquet");
    const table = await readTable({ path }, { batchSize: 2 });
    expect(table.format).toBe("parquet");
    expect(table.header).toEqual(["port", "proto", "proto2"]);
    const firstRows: number[] = [];
    const rows: unknown[][] = [];
    for await (const b of table.batches) {
      firstRows.push(b.firstRow);
      rows.push(...b.rows);
    }
    expect(firstRows).toEqual([1, 3, 5]);
    expect(rows).toEqual([
      [80, "tcp", "x"],
      [null, null, "x"],
      [null, "ü—日本", "x"],
      [-0.5, "", "x"],
      [1e300, 'a,"b"\n', "x"],
    ]);
    // the file's own types, as another Parquet reader sees them
    const db = await openDuckDb();
    const r = await db.connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${literal(path)})`);
    expect(r.getRowsJS().map((x) => [x[0], x[1]])).toEqual([
      [" port ", "DOUBLE"],
      ["proto", "VARCHAR"],
      ["proto2", "VARCHAR"],
    ]);
    db.close();
  });

  it("more rows than one batch: every row in order, types and missing values kept", async () => {
    const path = join(tmp.dir, "batches.parquet");
    const n = 2 * PARQUET_BATCH_ROWS + 5;
    const num = Array.from({ length: n }, (_, i) => (i % 1000 === 7 ? Number.NaN : i * 0.5));
    const text = Array.from({ length: n }, (_, i) => (i % 999 === 3 ? null : `r${i}`));
    await writeParquet(path, [
      { name: "x", type: "DOUBLE", values: num },
      { name: "t", type: "VARCHAR", values: text },
    ]);
    const db = await openDuckDb();
    const r = await db.connection.runAndReadAll(
      `SELECT count(*), sum(x), count(x), count(t), min(t) FROM read_parquet(${literal(path)})`,
    );
    const expected = num.reduce((a, v) => (Number.isNaN(v) ? a : a + v), 0);
    expect(r.getRowsJS()[0]).toEqual([
      BigInt(n),
      expected,
      BigInt(num.filter((v) => !Number.isNaN(v)).length),
      BigInt(text.filter((v) => v !== null).length),
      "r0",
    ]);
    // the order of the rows, where the batches meet and at the ends
    for (const i of [0, PARQUET_BATCH_ROWS - 1, PARQUET_BATCH_ROWS, 2 * PARQUET_BATCH_ROWS, n - 1]) {
      const row = await db.connection.runAndReadAll(
        `SELECT x, t FROM (SELECT row_number() OVER () - 1 AS i, * FROM read_parquet(${literal(path)})) WHERE i = ${i}`,
      );
      expect(row.getRowsJS()[0], `row ${i}`).toEqual([Number.isNaN(num[i]!) ? null : num[i], text[i]]);
    }
    db.close();
    // no part file is left beside it
    expect(readdirSync(tmp.dir).filter((f) => f.startsWith("batches.parquet."))).toEqual([]);
  });

  it("a Frame written as Parquet loads back as the same Frame", async () => {
    const csv = writeFile(
      tmp.dir,
      "toy.csv",
      "port,proto,rate,label\n80,tcp,0.5,normal\n,udp,,attack\n443,,1e-7,normal\n22,ü,NaN,attack\n",
    );
    const { frame } = await loadFrame({ path: csv }, schema);
    const path = join(tmp.dir, "toy.parquet");
    await writeFrameParquet(frame, path);
    const back = (await loadFrame({ path }, schema)).frame;
    expect(back.names).toEqual(frame.names);
    for (const name of frame.names) {
      expect(Array.from({ length: back.nRows }, (_, r) => back.value(r, name))).toEqual(
        Array.from({ length: frame.nRows }, (_, r) => frame.value(r, name)),
      );
    }
    expect(frame.value(1, "port")).toBeNull();
    expect(frame.value(2, "proto")).toBeNull();
  });

  it("a frame over part of its columns' buffers (a split's test rows), across batches, writes its own rows", async () => {
    // 3 rows before the view and more rows than two batches in it; categories by code, -1 missing
    const n = 2 * PARQUET_BATCH_ROWS + 8;
    const whole = new Frame([
      { kind: "numeric", name: "x", values: Float64Array.from({ length: n }, (_, i) => i) },
      {
        kind: "categorical",
        name: "c",
        codes: Int32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? -1 : i % 2)),
        categories: ["even", "odd"],
      },
    ]);
    const path = join(tmp.dir, "view.parquet");
    await writeFrameParquet(whole.slice(3, n), path);
    const db = await openDuckDb();
    const r = await db.connection.runAndReadAll(
      `SELECT count(*), min(x), max(x), count(c), count(*) FILTER (WHERE c = 'odd') FROM read_parquet(${literal(path)})`,
    );
    // rows 3..n-1: x from 3 to n-1; c missing where x % 7 == 0, else odd where x is odd
    const xs = Array.from({ length: n - 3 }, (_, i) => i + 3);
    expect(r.getRowsJS()[0]).toEqual([
      BigInt(n - 3),
      3,
      n - 1,
      BigInt(xs.filter((x) => x % 7 !== 0).length),
      BigInt(xs.filter((x) => x % 7 !== 0 && x % 2 === 1).length),
    ]);
    const first = await db.connection.runAndReadAll(
      `SELECT x, c FROM read_parquet(${literal(path)}) LIMIT 5`,
    );
    expect(first.getRowsJS()).toEqual([
      [3, "odd"],
      [4, "even"],
      [5, "odd"],
      [6, "even"],
      [7, null],
    ]);
    db.close();
  });

  it("extra columns follow the frame's", async () => {
    const { frame } = await loadFrame(
      { path: writeFile(tmp.dir, "x.csv", "port,proto,rate,label\n1,tcp,0.1,normal\n") },
      schema,
    );
    const path = join(tmp.dir, "extra.parquet");
    await writeFrameParquet(frame, path, [{ name: "probability", type: "DOUBLE", values: [0.25] }]);
    const t = await readTable({ path });
    expect(t.header).toEqual(["port", "proto", "rate", "label", "probability"]);
    expect(await readAllRows(t)).toEqual([[1, "tcp", 0.1, "normal", 0.25]]);
  });

  it("phishing as Parquet validates as the CSV does", async () => {
    const phishing = getDataset("phishing", tmp.dir);
    const { frame } = await loadFrame({ path: PHISHING_CSV }, phishing);
    const path = join(tmp.dir, "phishing.parquet");
    await writeFrameParquet(frame, path);
    const fromCsv = new Validator(phishing);
    await fromCsv.table(await readTable({ path: PHISHING_CSV }));
    const fromParquet = new Validator(phishing);
    await fromParquet.table(await readTable({ path }));
    const { sources: a, ...csvReport } = fromCsv.finish();
    const { sources: b, ...parquetReport } = fromParquet.finish();
    expect(parquetReport).toEqual(csvReport);
    expect(b).toEqual([{ label: path, rows: 11055 }]);
    expect(a[0]!.rows).toBe(11055);
  });

  it("a corrupt or truncated .parquet is refused naming the file", async () => {
    const bad = join(tmp.dir, "bad.parquet");
    writeFileSync(bad, "port,proto\n1,tcp\n");
    await expect(readTable({ path: bad })).rejects.toMatchObject({
      code: "FILE_UNREADABLE",
      message: expect.stringMatching(/bad\.parquet: not a readable Parquet file/),
      details: { file: bad },
    });
    await expect(readTable({ path: join(tmp.dir, "absent.parquet") })).rejects.toThrow(/absent\.parquet/);
  });
});
