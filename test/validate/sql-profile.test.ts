/**
 * The data profile of a DuckDB relation equals profileFrame of the same rows loaded as a Frame: on
 * phishing, NSL-KDD KDDTest+ (categories, wide numeric ranges) and a column with more distinct values
 * than a profile keeps (the seeded subsample), with missing values and a source split.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFrame } from "../../src/datasets/load.ts";
import { getDataset } from "../../src/datasets/registry.ts";
import { parseSchema } from "../../src/datasets/schema.ts";
import { type DuckDb, literal, openDuckDb } from "../../src/store/duckdb/connection.ts";
import { profileFrame } from "../../src/validate/profile.ts";
import { profileRelation } from "../../src/validate/sql-profile.ts";
import { KDD_DIR, PHISHING_CSV, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir();
let db: DuckDb;
beforeAll(async () => {
  db = await openDuckDb({ threads: 2 });
});
afterAll(() => {
  db.close();
  tmp.cleanup();
});

const numbered = (from: string) => `(SELECT row_number() OVER () AS row, * FROM ${from})`;

describe("profileRelation", () => {
  it("phishing: equal to profileFrame, from text and from typed columns", async () => {
    const schema = getDataset("phishing", tmp.dir);
    const expected = profileFrame((await loadFrame({ path: PHISHING_CSV }, schema)).frame, schema, 7);
    for (const opt of [", all_varchar = true", ""]) {
      const rel = numbered(`read_csv(${literal(PHISHING_CSV)}${opt})`);
      expect(await profileRelation(db.connection, rel, schema, { rowColumn: "row" }, 7)).toEqual(expected);
    }
  });

  it("NSL-KDD KDDTest+: categories and numeric columns", async () => {
    const schema = getDataset("nsl-kdd", tmp.dir);
    const path = `${KDD_DIR}/KDDTest+.txt`;
    const expected = profileFrame((await loadFrame({ path }, schema)).frame, schema);
    const names = `[${schema.columnNames.map(literal).join(", ")}]`;
    const rel = numbered(`read_csv(${literal(path)}, header = false, names = ${names}, all_varchar = true)`);
    const got = await profileRelation(db.connection, rel, schema, { rowColumn: "row" });
    expect(got).toEqual(expected);
    expect(
      Object.keys(got.columns.service!.kind === "categorical" ? got.columns.service!.categories : {}).length,
    ).toBe(64);
  });

  it("more distinct values than a profile keeps, missing values, two sources in source-id order", async () => {
    const schema = parseSchema(`
name: wide
title: wide
target: label
labels: {threat: [attack]}
columns:
  - {name: x, type: number}
  - {name: proto, type: categorical}
  - {name: label, type: categorical, role: target}
`);
    const lines = ["x,proto,label"];
    for (let i = 0; i < 25_000; i++) {
      const x = i % 97 === 0 ? "" : String(((i * 7919) % 100_003) / 7);
      lines.push(`${x},${["tcp", "udp", "icmp", ""][i % 4]},${i % 3 ? "normal" : "attack"}`);
    }
    const path = writeFile(tmp.dir, "wide.csv", `${lines.join("\n")}\n`);
    const expected = profileFrame((await loadFrame({ path }, schema)).frame, schema, 3);
    expect(expected.columns.x).toMatchObject({ sampled: true, sampleSize: 20_000 });
    // the same rows as two sources: rows 1..10000 of "a", the rest of "b", stored shuffled
    await db.connection.run(
      `CREATE TABLE wide AS SELECT CASE WHEN n <= 10000 THEN 'a' ELSE 'b' END AS source, CASE WHEN n <= 10000 THEN n ELSE n - 10000 END AS row, * EXCLUDE (n) FROM (SELECT row_number() OVER () AS n, * FROM read_csv(${literal(path)}, all_varchar = true)) ORDER BY hash(n)`,
    );
    const got = await profileRelation(
      db.connection,
      "wide",
      schema,
      { rowColumn: "row", sourceColumn: "source" },
      3,
    );
    expect(got).toEqual(expected);
  });
});
