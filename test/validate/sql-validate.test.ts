/**
 * Validation in DuckDB against the row-by-row Validator: for the same rows, the same report and the
 * same problems (file, row, column, value, message), on hand-made hostile files, the real phishing
 * and NSL-KDD files, and a record store's records split over several sources.
 */

import type { DuckDBConnection } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RawTable, readTable } from "../../src/datasets/readers.ts";
import { getDataset } from "../../src/datasets/registry.ts";
import { type DatasetSchema, parseSchema } from "../../src/datasets/schema.ts";
import { type DuckDb, ident, literal, openDuckDb } from "../../src/store/duckdb/connection.ts";
import { DuckDbStore, ID_COL, ROW_COL, SOURCE_COL } from "../../src/store/duckdb/store.ts";
import { validateDuckTable, validateRelation } from "../../src/validate/sql-validate.ts";
import { validateStore, validateStoreByScan } from "../../src/validate/store-validate.ts";
import { DEFAULT_THRESHOLDS, type ValidationThresholds, Validator } from "../../src/validate/validate.ts";
import { KDD_DIR, PHISHING_CSV, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir();
let db: DuckDb;
let conn: DuckDBConnection;
beforeAll(async () => {
  db = await openDuckDb({ threads: 2 });
  conn = db.connection;
});
afterAll(() => {
  db.close();
  tmp.cleanup();
});

let serial = 0;

/**
 * A DuckDB table holding exactly the raw rows netsec's reader gives (so both validations see the same
 * cells): `row` plus a column per header name, DOUBLE where every value is a number, else VARCHAR.
 */
async function tableOf(table: RawTable): Promise<string> {
  const rows: { row: number; cells: unknown[] }[] = [];
  for await (const b of table.batches)
    for (const [i, cells] of b.rows.entries()) rows.push({ row: b.firstRow + i, cells });
  const numeric = table.header.map((_, j) =>
    rows.every((r) => r.cells[j] === null || typeof r.cells[j] === "number"),
  );
  const name = `raw_${++serial}`;
  await conn.run(
    `CREATE TABLE ${name} (row BIGINT${table.header.map((h, j) => `, ${ident(h)} ${numeric[j] ? "DOUBLE" : "VARCHAR"}`).join("")})`,
  );
  const app = await conn.createAppender(name);
  for (const r of rows) {
    app.appendBigInt(BigInt(r.row));
    r.cells.forEach((v, j) => {
      if (v === null || v === undefined) app.appendNull();
      else if (numeric[j]) app.appendDouble(v as number);
      else app.appendVarchar(String(v));
    });
    app.endRow();
  }
  app.closeSync();
  return name;
}

async function both(
  path: string,
  schema: DatasetSchema,
  opts: { thresholds?: ValidationThresholds; requireTarget?: boolean } = {},
) {
  const thresholds = opts.thresholds ?? DEFAULT_THRESHOLDS;
  const v = new Validator(schema, thresholds, opts.requireTarget ?? true);
  await v.table(await readTable({ path }, { schema }));
  const table = await tableOf(await readTable({ path }, { schema }));
  const sql = await validateRelation(conn, table, schema, thresholds, {
    label: path,
    rowColumn: "row",
    ...(opts.requireTarget === false ? { requireTarget: false } : {}),
  });
  return { rows: { report: v.finish(), problems: v.problems }, sql };
}

const toy = parseSchema(`
name: toy
title: toy
target: label
labels: {threat: [attack]}
columns:
  - {name: port, type: integer, min: 0, max: 65535}
  - {name: proto, type: categorical, values: [tcp, udp]}
  - {name: rate, type: number, min: 0, max: 1}
  - {name: flag, type: integer, values: [0, 1], nullable: false}
  - {name: bytes, type: number, infinity: missing}
  - {name: seen, type: timestamp}
  - {name: epoch, type: timestamp, format: epoch_s, min: 0}
  - {name: note, type: categorical, role: metadata}
  - {name: label, type: categorical, role: target, values: [normal, attack]}
`);

const HEADER = "port,proto,rate,flag,bytes,seen,epoch,note,label";

describe("validation in DuckDB gives the row-by-row Validator's report", () => {
  it("on a hostile file: every kind of problem, odd spellings of numbers and missing values", async () => {
    const lines = [
      HEADER,
      "80,tcp,0.5,1,10,2024-01-01T00:00:00Z,1700000000,a,normal",
      "http,tcp,0.5,1,10,2024-01-01,1700000000,b,normal", // type
      "70000,icmp,1.5,1,Infinity,yesterday,-5,c,attack", // ranges, allowed, infinity → missing, bad timestamp
      "22,udp,0.1,,-inf,,x,,normal", // missing non-nullable, missing timestamp, bad epoch
      "22.5,udp,0.1,0,NaN,2024-02-30,1e3,d,weird", // not integer, unknown label
      "+5, tcp ,.5,1.0,1e400,2024-03-01 10:00,5.,\u00a0e\u00a0,attack", // JS trim of NBSP, 1e400 is not a number
      "007,UDP,5.,0,NA,?,null,none,",
      "\t3\v,udp,0.5e0,0,2,2024-01-01,\f1\r,\u3000m\ufeff,normal", // tabs, form feeds, ideographic space, BOM
      "-0,udp,-0,0,1,2024-01-01,0,f,normal",
      "0,udp,0,0,1,2024-01-01,0,f,normal", // the same feature vector as the row above (-0 = 0)
      '1,tcp,0.1,2,1,2024-01-01,0,"=1+1",attack',
      ...Array.from(
        { length: 12 },
        (_, i) => `${i},tcp,0.2,0,${i},2024-01-0${1 + (i % 9)},${i},n,${i % 2 ? "attack" : "normal"}`,
      ),
      ...Array.from({ length: 3 }, () => "1,tcp,0.2,0,1,2024-01-01,1,n,attack"),
    ];
    const path = writeFile(tmp.dir, "hostile.csv", `${lines.join("\n")}\n`);
    const { rows, sql } = await both(path, toy);
    expect(rows.problems.length).toBe(14);
    expect(rows.report.duplicates).toBeGreaterThan(2);
    expect(sql.report).toEqual(rows.report);
    expect(sql.problems).toEqual(rows.problems);
  });

  it("with lenient thresholds, unknown columns, and data to score (no label column)", async () => {
    const text =
      "port,proto,rate,flag,bytes,seen,epoch,extra\n1,tcp,0.1,1,1,2024-01-01,1,x\n2,icmp,2,1,1,2024-01-01,1,y\n";
    const path = writeFile(tmp.dir, "score.csv", text);
    const thresholds = {
      ...DEFAULT_THRESHOLDS,
      allow_unknown_columns: true,
      max_invalid_rate: 0.6,
      min_rows: 1,
    };
    const { rows, sql } = await both(path, toy, { thresholds, requireTarget: false });
    expect(rows.report.issues.map((i) => i.check)).toContain("unknown_column");
    expect(sql.report).toEqual(rows.report);
    expect(sql.problems).toEqual(rows.problems);
  });

  it("a header without rows: too few rows, no duplicates", async () => {
    const path = writeFile(tmp.dir, "empty.csv", `${HEADER}\n`);
    const { rows, sql } = await both(path, toy);
    expect(rows.report).toMatchObject({ rows: 0, duplicates: 0, passed: false });
    expect(sql.report).toEqual(rows.report);
    // a schema without feature columns: every row's (empty) feature vector is the same, none here
    const bare = parseSchema(
      "name: bare\ntitle: bare\ntarget: label\nlabels: {threat: [attack]}\ncolumns:\n  - {name: note, type: categorical, role: metadata}\n  - {name: label, type: categorical, role: target}\n",
    );
    const empty = await both(writeFile(tmp.dir, "bare.csv", "note,label\n"), bare);
    expect(empty.rows.report.duplicates).toBe(0);
    expect(empty.sql.report).toEqual(empty.rows.report);
  });

  it("a file missing a required column: header issues and the row count only", async () => {
    const path = writeFile(tmp.dir, "short.csv", "port,proto,label\n1,tcp,normal\n2,udp,attack\n");
    const { rows, sql } = await both(path, toy);
    expect(rows.report.issues.filter((i) => i.check === "missing_column")).toHaveLength(5);
    expect(sql.report).toEqual(rows.report);
  });

  it("past the problem cap: the first 100,000 problems, and examples of an issue first seen after them", async () => {
    const lines = [HEADER];
    for (let i = 1; i <= 100_010; i++)
      lines.push(`${i % 60000},tcp,0.5,,1,,1,,${i % 2 ? "attack" : "normal"}`);
    lines.push("1,tcp,7,,1,,1,,normal");
    const path = writeFile(tmp.dir, "many.csv", `${lines.join("\n")}\n`);
    const { rows, sql } = await both(path, toy);
    expect(rows.report.problems_total).toBe(100_012);
    expect(rows.problems).toHaveLength(100_000);
    expect(rows.report.issues.find((i) => i.check === "above_max")?.examples).toEqual([
      { file: path, row: 100_011, value: "7" },
    ]);
    expect(sql.report).toEqual(rows.report);
    expect(sql.problems).toEqual(rows.problems);
  }, 60_000);
});

describe("real data, read by DuckDB's own CSV reader", () => {
  const numbered = (from: string) => `(SELECT row_number() OVER () AS row, * FROM ${from})`;

  it("phishing: the same report from text columns and from typed columns (47.7% duplicates)", async () => {
    const schema = getDataset("phishing", tmp.dir);
    const v = new Validator(schema);
    await v.table(await readTable({ path: PHISHING_CSV }));
    const expected = v.finish();
    for (const from of [
      `read_csv(${literal(PHISHING_CSV)}, all_varchar = true)`,
      `read_csv(${literal(PHISHING_CSV)})`,
    ]) {
      const sql = await validateRelation(conn, numbered(from), schema, DEFAULT_THRESHOLDS, {
        label: PHISHING_CSV,
        rowColumn: "row",
      });
      expect(sql.report).toEqual(expected);
      expect(sql.problems).toEqual([]);
    }
    expect(expected.duplicates).toBe(5270);
  });

  it("NSL-KDD KDDTest+ (headerless, schema column order)", async () => {
    const schema = getDataset("nsl-kdd", tmp.dir);
    const path = `${KDD_DIR}/KDDTest+.txt`;
    const v = new Validator(schema);
    await v.table(await readTable({ path }, { schema }));
    const expected = v.finish();
    const names = `[${schema.columnNames.map(literal).join(", ")}]`;
    const sql = await validateRelation(
      conn,
      numbered(`read_csv(${literal(path)}, header = false, names = ${names}, all_varchar = true)`),
      schema,
      DEFAULT_THRESHOLDS,
      { label: path, rowColumn: "row" },
    );
    expect(sql.report).toEqual(expected);
    expect(expected.rows).toBe(22544);
  });
});

describe("a record store's table", () => {
  it("validateStore on a DuckDB store (set queries) matches the row-by-row scan: rows per source, labels by source, problems named by file name, unfinished sources", async () => {
    const store = new DuckDbStore(`${tmp.dir}/store.duckdb`);
    await store.open();
    const data = (i: number) => ({
      port: i === 3 ? 70000 : i,
      proto: i === 4 ? "icmp" : "tcp",
      rate: 0.5,
      flag: i === 5 ? null : 1,
      bytes: i,
      seen: 1_700_000_000_000 + i,
      epoch: i,
      note: null,
      label: i % 3 ? "normal" : "attack",
    });
    const sources = [
      { source: "bbbb", name: "b.csv", rows: 8, status: "complete" as const },
      { source: "aaaa", name: "a.csv", rows: 10, status: "ingesting" as const },
    ];
    for (const s of sources) {
      await store.putSource({
        ...s,
        dataset: "toy",
        location: `/data/${s.name}`,
        ingestedAt: "2026-01-01T00:00:00Z",
      });
      const n = s.status === "ingesting" ? 6 : s.rows;
      await store.insertBatch(
        Array.from({ length: n }, (_, k) => ({
          id: `${s.source}:${k + 1}`,
          dataset: "toy",
          source: s.source,
          row: k + 1,
          data: data(k + 1),
        })),
      );
    }
    const expected = (await validateStoreByScan(store, toy, DEFAULT_THRESHOLDS)).finish();
    const onlyB = (await validateStoreByScan(store, toy, DEFAULT_THRESHOLDS, { sources: ["bbbb"] })).finish();
    const sql = await validateStore(store, toy, DEFAULT_THRESHOLDS);
    // one source only: the unfinished other one is not this validation's business
    const sqlB = await validateStore(store, toy, DEFAULT_THRESHOLDS, { sources: ["bbbb"] });
    // the set queries themselves, on the store's table
    const listed = await store.listSources("toy");
    const direct = await store.withTable("toy", (c, table) =>
      validateDuckTable(c, table, toy, DEFAULT_THRESHOLDS, {
        location: store.location,
        sources: listed,
        sourceColumn: SOURCE_COL,
        rowColumn: ROW_COL,
        provenance: [ID_COL],
      }),
    );
    await store.close();
    expect(direct.report).toEqual(expected);
    expect(expected.sources).toEqual([
      { label: "a.csv", rows: 6 },
      { label: "b.csv", rows: 8 },
    ]);
    expect(expected.issues.map((i) => i.check)).toContain("incomplete_source");
    expect(sql.report).toEqual(expected);
    expect(onlyB.rows).toBe(8);
    expect(sqlB.report).toEqual(onlyB);
  });
});
