/**
 * Validation of the records of a dataset held in the record store (every source, or some). Besides the
 * cells, it checks that every source read was ingested to the end: a source still marked `ingesting`,
 * one with fewer records than its rows, or records of a source with no ingest entry at all (an ingest
 * by an older netsec killed before it recorded the source) are `incomplete_source` errors — the rows
 * present may pass every check, but they are not the data that was meant.
 *
 * A DuckDB store is validated by set queries on its table (`sql-validate.ts`: the same report and
 * problems, seconds for a million rows); other stores (MongoDB) through `scan`, row by row.
 */

import { allowedSet, coerceCell } from "../datasets/coerce.ts";
import type { CellProblem } from "../datasets/load.ts";
import type { DatasetSchema } from "../datasets/schema.ts";
import { DuckDbStore, ID_COL, ROW_COL, SOURCE_COL } from "../store/duckdb/store.ts";
import type { RecordStore } from "../store/types.ts";
import { incompleteSources } from "./incomplete-sources.ts";
import { type RelationValidation, validateDuckTable } from "./sql-validate.ts";
import { type ValidationThresholds, Validator } from "./validate.ts";

export interface StoreValidationOptions {
  sources?: readonly string[];
  /** Records validated so far (the row-by-row path only). */
  onProgress?: (rows: number) => void;
}

export async function validateStore(
  store: RecordStore,
  schema: DatasetSchema,
  thresholds: ValidationThresholds,
  opts: StoreValidationOptions = {},
): Promise<RelationValidation> {
  if (store instanceof DuckDbStore && (await store.count({ dataset: schema.name })) > 0) {
    const sources = await store.listSources(schema.name);
    return store.withTable(schema.name, (conn, table) =>
      validateDuckTable(conn, table, schema, thresholds, {
        location: store.location,
        sources,
        ...(opts.sources ? { only: opts.sources } : {}),
        sourceColumn: SOURCE_COL,
        rowColumn: ROW_COL,
        provenance: [ID_COL],
      }),
    );
  }
  const v = await validateStoreByScan(store, schema, thresholds, opts);
  return { report: v.finish(), problems: v.problems };
}

/** The row-by-row validation of a store's records, through `scan`. */
export async function validateStoreByScan(
  store: RecordStore,
  schema: DatasetSchema,
  thresholds: ValidationThresholds,
  opts: StoreValidationOptions = {},
): Promise<Validator> {
  const v = new Validator(schema, thresholds, true);
  const sources = await store.listSources(schema.name);
  const names = new Map(sources.map((s) => [s.source, s.name]));
  const seen = new Map<string, number>();
  v.header(store.location, schema.columnNames);
  const cols = schema.columns.map((c) => ({ c, allowed: allowedSet(c) }));
  const target = schema.target.name;
  let rows = 0;
  for await (const batch of store.scan(
    { dataset: schema.name, ...(opts.sources ? { sources: opts.sources } : {}) },
    5000,
  )) {
    // split the batch where the source changes, so the report counts rows per source
    let start = 0;
    while (start < batch.length) {
      const src = batch[start]!.source;
      let end = start;
      while (end < batch.length && batch[end]!.source === src) end++;
      const label = names.get(src) ?? src;
      seen.set(src, (seen.get(src) ?? 0) + (end - start));
      const problems: CellProblem[] = [];
      const typed = batch.slice(start, end).map((r) => {
        const out: Record<string, number | string | null> = {};
        for (const { c, allowed } of cols) {
          const raw = r.data[c.name];
          const chk = coerceCell(raw === undefined ? null : raw, c, allowed);
          out[c.name] = chk.value;
          if (chk.problem) {
            const isTarget = c.name === target;
            problems.push({
              file: label,
              row: r.row,
              column: c.name,
              value: raw,
              kind:
                isTarget && chk.problem === "not_allowed"
                  ? "unknown_label"
                  : isTarget && chk.problem === "missing"
                    ? "missing_label"
                    : chk.problem,
              message: chk.message ?? chk.problem,
            });
          }
        }
        return out;
      });
      v.batch(label, { firstRow: batch[start]!.row, rows: typed, problems });
      start = end;
    }
    rows += batch.length;
    opts.onProgress?.(rows);
  }
  for (const p of incompleteSources(sources, seen, opts.sources)) {
    v.addIssue({
      check: "incomplete_source",
      severity: "error",
      message: p.message,
      count: p.missing,
      examples: [{ file: p.label, row: p.stored, value: null }],
    });
  }
  return v;
}
