/**
 * Validation and the drift profile as set operations, at 1 M rows (issue 14): the scale file of
 * bench/scale.ts (8 × KDDTrain+, 1,007,784 rows) loaded by DuckDB's CSV reader into a table shaped
 * like the record store's (a typed column per schema column — DOUBLE numbers, VARCHAR categories —
 * plus source and row), then `validateDuckTable` and `profileRelation` over it, timed, with this
 * process's peak RSS. `--text` validates the file's text columns instead (`read_csv(all_varchar)`,
 * every number parsed by the SQL coercion).
 *
 * Usage: npx node bench/sql-validate.ts <scale file> [--text] [--threads=2]
 * (make the file with `NETSEC_BENCH_DIR=<dir> npx node bench/scale.ts --only=none --keep`).
 */
import { resolve } from "node:path";
import { getDataset } from "../src/datasets/registry.ts";
import { ident, literal, openDuckDb } from "../src/store/duckdb/connection.ts";
import { profileRelation } from "../src/validate/sql-profile.ts";
import { validateDuckTable } from "../src/validate/sql-validate.ts";
import { DEFAULT_THRESHOLDS, summarizeValidation } from "../src/validate/validate.ts";

const file = process.argv[2];
if (!file) throw new Error("usage: npx node bench/sql-validate.ts <scale file> [--text] [--threads=N]");
const text = process.argv.includes("--text");
const threads = Number(process.argv.find((a) => a.startsWith("--threads="))?.slice(10) ?? 2);
const schema = getDataset("nsl-kdd", resolve("."));
const db = await openDuckDb({ threads });
const conn = db.connection;

const t0 = performance.now();
const types = schema.columns
  .map((c) => `${literal(c.name)}: ${text || c.type === "categorical" ? "'VARCHAR'" : "'DOUBLE'"}`)
  .join(", ");
await conn.run(
  `CREATE TABLE records AS SELECT 'scale' AS source, row_number() OVER () AS row, * FROM read_csv(${literal(resolve(file))}, header = false, columns = {${types}})`,
);
const rows = Number((await conn.runAndReadAll("SELECT count(*) FROM records")).getRowsJS()[0]![0]);
const load = (performance.now() - t0) / 1000;

const t1 = performance.now();
const { report, problems } = await validateDuckTable(conn, "records", schema, DEFAULT_THRESHOLDS, {
  location: "bench",
  sources: [
    {
      source: "scale",
      dataset: schema.name,
      location: file,
      name: file,
      rows,
      ingestedAt: new Date().toISOString(),
      status: "complete",
    },
  ],
});
const validate = (performance.now() - t1) / 1000;

const t2 = performance.now();
const profile = await profileRelation(conn, ident("records"), schema, {
  rowColumn: "row",
  sourceColumn: "source",
});
const profiling = (performance.now() - t2) / 1000;
db.close();

for (const l of summarizeValidation(report)) console.log(l);
console.log(`problems listed: ${problems.length}; profile columns: ${Object.keys(profile.columns).length}`);
console.log(
  `${rows.toLocaleString("en")} rows (${text ? "text" : "typed"} columns, ${threads} DuckDB threads): load ${load.toFixed(1)} s, validate ${validate.toFixed(1)} s, profile ${profiling.toFixed(1)} s, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`,
);
