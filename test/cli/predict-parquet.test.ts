/**
 * `netsec predict` with Parquet: the same rows scored from a CSV and from a Parquet input, written as
 * CSV and as Parquet, give the same labels and probabilities; the Parquet output has typed columns
 * (numbers as DOUBLE, text as read, nothing neutralised) and a corrupt Parquet input is refused
 * naming the file.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { literal, openDuckDb } from "../../src/store/duckdb/connection.ts";
import { writeParquet } from "../../src/store/duckdb/parquet.ts";
import { runCli, trainQuickForest } from "../helpers/cli.ts";
import { PHISHING_CSV, ROOT, tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-predict-parquet-");
const home = join(tmp.dir, "home");
const env = { NETSEC_HOME: home, NETSEC_STORE_URI: undefined };

const N = 50;
const source = readFileSync(PHISHING_CSV, "utf8").trim().split(/\r?\n/);
const header = source[0]!.replace(/"/g, "").split(",");
const data = source.slice(300, 300 + N).map((l) => l.split(","));
const features = header.slice(0, -1);
const note = (i: number): string => (i % 5 === 0 ? "=1+1" : `nöte ${i}`);
const inputCsv = join(tmp.dir, "in.csv");
const inputParquet = join(tmp.dir, "in.parquet");

beforeAll(async () => {
  const t = trainQuickForest(env);
  expect(t.code, t.stderr).toBe(0);
  writeFileSync(
    inputCsv,
    `${[["id", ...features, "note"].join(","), ...data.map((r, i) => [`r${i}`, ...r.slice(0, -1), note(i)].join(","))].join("\n")}\n`,
  );
  await writeParquet(inputParquet, [
    { name: "id", type: "VARCHAR", values: data.map((_, i) => `r${i}`) },
    ...features.map((f, j) => ({ name: f, type: "DOUBLE" as const, values: data.map((r) => Number(r[j])) })),
    { name: "note", type: "VARCHAR", values: data.map((_, i) => note(i)) },
  ]);
}, 300_000);

afterAll(tmp.cleanup);

async function readParquet(path: string) {
  const db = await openDuckDb();
  const r = await db.connection.runAndReadAll(`SELECT * FROM read_parquet(${literal(path)})`);
  const types = (await db.connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${literal(path)})`))
    .getRowsJS()
    .map((x) => [x[0], x[1]]);
  db.close();
  return { rows: r.getRowObjectsJS(), types };
}

function predict(input: string, output: string) {
  const r = runCli(["predict", "--model", "champion", "--input", input, "--output", output, "--json"], env);
  expect(r.code, r.stderr).toBe(0);
  return r;
}

describe("netsec predict with Parquet", () => {
  it("CSV and Parquet, in and out, give the same predictions; the Parquet output is typed", async () => {
    predict(inputCsv, join(tmp.dir, "out.csv"));
    predict(inputCsv, join(tmp.dir, "out.parquet"));
    predict(inputParquet, join(tmp.dir, "out2.csv"));
    predict(inputParquet, join(tmp.dir, "out2.parquet"));
    const csv = parse(readFileSync(join(tmp.dir, "out.csv")), { columns: true }) as Record<string, string>[];
    const csv2 = parse(readFileSync(join(tmp.dir, "out2.csv")), { columns: true }) as Record<
      string,
      string
    >[];
    const pq = await readParquet(join(tmp.dir, "out.parquet"));
    const pq2 = await readParquet(join(tmp.dir, "out2.parquet"));
    expect(csv).toHaveLength(N);
    expect(new Set(csv.map((r) => r.prediction)).size).toBe(2);
    expect(csv2.map((r) => [r.prediction, r.probability])).toEqual(
      csv.map((r) => [r.prediction, r.probability]),
    );
    for (const p of [pq, pq2]) {
      expect(p.types).toEqual([
        ["id", "VARCHAR"],
        ...features.map((f) => [f, "DOUBLE"]),
        ["note", "VARCHAR"],
        ["prediction", "VARCHAR"],
        ["probability", "DOUBLE"],
      ]);
      expect(p.rows.map((r) => [r.prediction, (r.probability as number).toPrecision(8)])).toEqual(
        csv.map((r) => [r.prediction, r.probability]),
      );
      expect(p.rows.map((r) => r.id)).toEqual(data.map((_, i) => `r${i}`));
      expect(p.rows.map((r) => r[features[0]!])).toEqual(data.map((r) => Number(r[0])));
      // Parquet is data: the formula-like note is kept as it was (the CSV neutralises it)
      expect(p.rows[0]!.note).toBe("=1+1");
    }
    expect(csv[0]!.note).not.toBe("=1+1");
    expect(csv[1]!.note).toBe("nöte 1");
  });

  it("netsec ingest and validate take a Parquet file (with the label), and a second ingest adds nothing", async () => {
    const labelled = join(tmp.dir, "labelled.parquet");
    await writeParquet(labelled, [
      ...features.map((f, j) => ({
        name: f,
        type: "DOUBLE" as const,
        values: data.map((r) => Number(r[j])),
      })),
      { name: "Result", type: "VARCHAR", values: data.map((r) => r.at(-1)!) },
    ]);
    const schema = join(ROOT, "datasets/phishing.yaml");
    const first = runCli(["ingest", "--file", labelled, "--schema", schema, "--json"], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json).toMatchObject({ ok: true });
    expect(first.json!.added).toBe(N);
    const again = runCli(["ingest", "--file", labelled, "--schema", schema, "--json"], env);
    expect(again.json!.added).toBe(0);
    const v = runCli(["validate", "--schema", schema, "--file", labelled, "--json"], env);
    expect(v.json).toMatchObject({ passed: true, rows: N });
  });

  it("a corrupt Parquet input is refused naming the file", () => {
    const bad = join(tmp.dir, "corrupt.parquet");
    writeFileSync(bad, Buffer.from("PAR1 this is not parquet PAR1"));
    const r = runCli(["predict", "--model", "champion", "--input", bad, "--json"], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/corrupt\.parquet: not a readable Parquet file/);
  });
});
