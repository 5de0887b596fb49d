/**
 * Validation as set operations in DuckDB: the same `ValidationReport` (and the same first problems,
 * naming file, row, column and value) that the row-by-row `Validator` gives for the same rows, from a
 * handful of queries over a relation instead of a JavaScript object per row.
 *
 * - missing and invalid counts per column and problems per (check, column): one aggregate query;
 * - rows per source and labels (with the row each label is first seen at, for the report's order):
 *   two GROUP BY queries;
 * - duplicates: rows minus the distinct feature vectors (exact, NULLs equal, -0 = 0, as
 *   `Validator`'s row key has it);
 * - problems: the first `PROBLEMS_CAP` problem rows in (source, row) order; an issue whose first 20
 *   examples lie beyond them gets its own query.
 * `judgeValidation` turns the counts into the report, as it does for `Validator`.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { canonical } from "../datasets/coerce.ts";
import { type CellProblem, checkHeaderAgainstSchema } from "../datasets/load.ts";
import type { DatasetSchema } from "../datasets/schema.ts";
import { ident } from "../store/duckdb/connection.ts";
import type { SourceInfo } from "../store/types.ts";
import { incompleteSources } from "./incomplete-sources.ts";
import {
  jsRaw,
  KIND_CODES,
  type Provenance,
  problemKind,
  problemMessage,
  type TypedColumn,
  type TypedRelation,
  typedRelation,
} from "./typed-relation.ts";
import {
  type Issue,
  judgeValidation,
  PROBLEMS_CAP,
  type ValidationReport,
  type ValidationThresholds,
} from "./validate.ts";

export interface RelationValidateOptions extends Provenance {
  /** What the report calls the relation in header issues (a file path, the store's location). */
  label: string;
  /** Source id → the label problems and the per-source split name (default: the id; one source: `label`). */
  sourceLabels?: ReadonlyMap<string, string>;
  /** Columns besides the row and source columns that are provenance, not data (not "unknown"). */
  provenance?: readonly string[];
  /** Require the target column (training data). Default true. */
  requireTarget?: boolean;
  /** Issues found outside the cells, reported after the header's (e.g. unfinished sources). */
  extraIssues?: (rowsPerSource: ReadonlyMap<string, number>) => Issue[];
}

export interface RelationValidation {
  report: ValidationReport;
  /** Every cell problem in (source, row, column) order, capped at `PROBLEMS_CAP`. */
  problems: CellProblem[];
}

/** A rows-ahead key for "first seen": source ordinal, then row (rows < 2^40 per source). */
const ORDER_KEY = "(__src::BIGINT * 1099511627776 + __row)";

/** Validate the rows of `relation` (SQL after FROM; a table name quoted with `ident`) against `schema`. */
export async function validateRelation(
  conn: DuckDBConnection,
  relation: string,
  schema: DatasetSchema,
  thresholds: ValidationThresholds,
  opts: RelationValidateOptions,
): Promise<RelationValidation> {
  const requireTarget = opts.requireTarget ?? true;
  const typed = await typedRelation(conn, relation, schema, opts);
  try {
    const provenance = new Set([
      opts.rowColumn,
      ...(opts.sourceColumn ? [opts.sourceColumn] : []),
      ...(opts.provenance ?? []),
    ]);
    const header = typed.header.filter((h) => !provenance.has(h));
    const hc = checkHeaderAgainstSchema(header, schema, requireTarget);
    const headerIssues: Issue[] = [];
    for (const m of hc.missing)
      headerIssues.push({
        check: "missing_column",
        severity: "error",
        column: m,
        message: `${opts.label}: required column ${JSON.stringify(m)} is missing`,
        count: 1,
        examples: [{ file: opts.label, row: 0, value: null }],
      });
    for (const u of hc.unknown)
      headerIssues.push({
        check: "unknown_column",
        severity: thresholds.allow_unknown_columns ? "warning" : "error",
        column: u,
        message: `${opts.label}: column ${JSON.stringify(u)} is not in schema ${schema.name}`,
        count: 1,
        examples: [{ file: opts.label, row: 0, value: u }],
      });
    const presentColumns = new Set(hc.index.keys());
    const labelOf = (src: number): string => {
      const id = typed.sourceIds[src];
      return id === undefined ? opts.label : (opts.sourceLabels?.get(id) ?? id);
    };

    const perSource = await rowsPerSource(conn, typed);
    const rows = [...perSource.values()].reduce((a, b) => a + b, 0);
    const rowsById = new Map([...perSource].map(([src, n]) => [typed.sourceIds[src] ?? opts.label, n]));
    headerIssues.push(...(opts.extraIssues?.(rowsById) ?? []));
    const counts = {
      schema,
      thresholds,
      requireTarget,
      rows,
      presentColumns,
      headerIssues,
      problemsTotal: 0,
      sources: [] as { label: string; rows: number }[],
      cellIssues: [] as Issue[],
      missing: new Map<string, number>(),
      invalid: new Map<string, number>(),
      duplicates: 0,
      labels: new Map<string, number>(),
    };
    // a table with required columns missing is not checked cell by cell (as Validator.table)
    if (hc.missing.length > 0) return { report: judgeValidation(counts), problems: [] };

    counts.sources = [...perSource].map(([src, n]) => ({ label: labelOf(src), rows: n }));
    const tally = await tallies(conn, typed);
    for (const [i, c] of typed.columns.entries()) {
      counts.missing.set(c.spec.name, tally.missing[i]!);
      let invalid = 0;
      for (const [code, n] of tally.kinds[i]!) if (code !== KIND_CODES.missing) invalid += n;
      counts.invalid.set(c.spec.name, invalid);
    }
    counts.problemsTotal = tally.kinds.reduce((a, m) => a + [...m.values()].reduce((x, y) => x + y, 0), 0);
    counts.labels = await labelCounts(conn, typed, schema);
    counts.duplicates = rows === 0 ? 0 : rows - (await distinctFeatureVectors(conn, typed, schema));
    const { problems, issues } = await firstProblems(conn, typed, schema, tally.kinds, labelOf);
    counts.cellIssues = issues;
    return { report: judgeValidation(counts), problems };
  } finally {
    await typed.dispose();
  }
}

/**
 * The store's table as a relation with every schema column: a column no record ever had a value for
 * was never created (the table grows with the data `insertBatch` brings), so it reads as all missing.
 */
async function withSchemaColumns(
  conn: DuckDBConnection,
  table: string,
  schema: DatasetSchema,
): Promise<string> {
  const r = await conn.runAndReadAll(`SELECT * FROM ${table} LIMIT 0`);
  const present = new Set(r.columnNames());
  const absent = schema.columns.filter((c) => !present.has(c.name));
  if (!absent.length) return table;
  const nulls = absent.map(
    (c) => `NULL::${c.type === "categorical" ? "VARCHAR" : "DOUBLE"} AS ${ident(c.name)}`,
  );
  return `(SELECT *, ${nulls.join(", ")} FROM ${table})`;
}

/**
 * The entry point for a dataset held in a DuckDB table of the record store (a typed column per schema
 * column, the source id in `source` and the data row in `row` unless named otherwise; `table` quoted
 * with `ident`, as `DuckDbStore.withTable` gives it): the same report as the row-by-row scan of that
 * store, unfinished sources included.
 */
export async function validateDuckTable(
  conn: DuckDBConnection,
  table: string,
  schema: DatasetSchema,
  thresholds: ValidationThresholds,
  opts: {
    /** The store's location (named in header issues). */
    location: string;
    /** The dataset's sources as the store lists them (labels, expected rows, ingest status). */
    sources: readonly SourceInfo[];
    /** Only these source ids (default: all). */
    only?: readonly string[];
    sourceColumn?: string;
    rowColumn?: string;
    /** Further provenance columns of the table (e.g. a record id). */
    provenance?: readonly string[];
  },
): Promise<RelationValidation> {
  return validateRelation(conn, await withSchemaColumns(conn, table, schema), schema, thresholds, {
    label: opts.location,
    rowColumn: opts.rowColumn ?? "row",
    sourceColumn: opts.sourceColumn ?? "source",
    ...(opts.only ? { sources: opts.only } : {}),
    ...(opts.provenance ? { provenance: opts.provenance } : {}),
    sourceLabels: new Map(opts.sources.map((s) => [s.source, s.name])),
    extraIssues: (seen) =>
      incompleteSources(opts.sources, seen, opts.only).map((p) => ({
        check: "incomplete_source",
        severity: "error",
        message: p.message,
        count: p.missing,
        examples: [{ file: p.label, row: p.stored, value: null }],
      })),
  });
}

async function rowsPerSource(conn: DuckDBConnection, t: TypedRelation): Promise<Map<number, number>> {
  const r = await conn.runAndReadAll(`SELECT __src, count(*) FROM (${t.sql}) GROUP BY 1 ORDER BY 1`);
  return new Map(r.getRowsJS().map(([src, n]) => [Number(src), Number(n)]));
}

interface Tally {
  /** Per column (typed order): typed values that are missing. */
  missing: number[];
  /** Per column: problem code → count. */
  kinds: Map<number, number>[];
}

async function tallies(conn: DuckDBConnection, t: TypedRelation): Promise<Tally> {
  if (t.columns.length === 0) return { missing: [], kinds: [] };
  // values missing and problems per column; then, for the columns with problems, problems by kind
  const first = (
    await conn.runAndReadAll(
      `SELECT count(*), ${t.columns.map((_, i) => `count(v${i}), count(k${i})`).join(", ")} FROM (${t.sql})`,
    )
  )
    .getRowsJS()[0]!
    .map(Number);
  const n = first[0]!;
  const kinds = t.columns.map(() => new Map<number, number>());
  const withProblems = t.columns.flatMap((_, i) => (first[2 + 2 * i]! > 0 ? [i] : []));
  if (withProblems.length > 0) {
    const codes = Object.values(KIND_CODES);
    const aggs = withProblems.flatMap((i) => codes.map((k) => `count(*) FILTER (WHERE k${i} = ${k})`));
    const row = (await conn.runAndReadAll(`SELECT ${aggs.join(", ")} FROM (${t.sql})`))
      .getRowsJS()[0]!
      .map(Number);
    for (const [j, i] of withProblems.entries())
      for (const [m, k] of codes.entries())
        if (row[j * codes.length + m]! > 0) kinds[i]!.set(k, row[j * codes.length + m]!);
  }
  return { missing: t.columns.map((_, i) => n - first[1 + 2 * i]!), kinds };
}

/** Canonical label → rows, in the order the labels are first seen (as Validator's map). */
async function labelCounts(
  conn: DuckDBConnection,
  t: TypedRelation,
  schema: DatasetSchema,
): Promise<Map<string, number>> {
  const i = t.columns.findIndex((c) => c.spec.name === schema.target.name);
  const out = new Map<string, number>();
  if (i < 0) return out;
  const r = await conn.runAndReadAll(
    `SELECT v${i}, count(*), min(${ORDER_KEY}) AS first FROM (${t.sql}) WHERE v${i} IS NOT NULL GROUP BY 1 ORDER BY first`,
  );
  for (const [v, n] of r.getRowsJS()) {
    const k = canonical(v as string | number);
    out.set(k, (out.get(k) ?? 0) + Number(n));
  }
  return out;
}

async function distinctFeatureVectors(
  conn: DuckDBConnection,
  t: TypedRelation,
  schema: DatasetSchema,
): Promise<number> {
  const feats = new Set(schema.featureNames);
  // + 0.0 makes -0 and 0 one value, as String(-0) = String(0) in Validator's row key
  const cols = t.columns.flatMap((c, i) =>
    feats.has(c.spec.name) ? [c.numeric ? `v${i} + 0.0` : `v${i}`] : [],
  );
  if (cols.length === 0) return 1;
  const r = await conn.runAndReadAll(
    `SELECT count(*) FROM (SELECT DISTINCT ${cols.join(", ")} FROM (${t.sql}))`,
  );
  return Number(r.getRowsJS()[0]![0]);
}

/**
 * The first `PROBLEMS_CAP` problems in (source, row, column) order, and one issue per (check, column)
 * with its count, first 20 examples and first message, ordered by where its first problem is.
 */
async function firstProblems(
  conn: DuckDBConnection,
  t: TypedRelation,
  schema: DatasetSchema,
  kinds: readonly Map<number, number>[],
  labelOf: (src: number) => string,
): Promise<{ problems: CellProblem[]; issues: Issue[] }> {
  const problems: CellProblem[] = [];
  const byKey = new Map<string, { issue: Issue; first: [number, number, number]; count: number }>();
  const cols = t.columns.map((c, i) => ({ c, i })).filter(({ i }) => kinds[i]!.size > 0);
  if (cols.length === 0) return { problems, issues: [] };
  const note = (src: number, row: number, c: TypedColumn, code: number, raw: unknown, keep: boolean) => {
    const kind = problemKind(code, c, schema);
    const value = jsRaw(raw);
    const p: CellProblem = {
      file: labelOf(src),
      row,
      column: c.spec.name,
      value,
      kind,
      message: problemMessage(value, c, kind),
    };
    if (keep) problems.push(p);
    const key = `${kind}\u0000${c.spec.name}`;
    let e = byKey.get(key);
    if (!e) {
      e = {
        issue: {
          check: kind,
          severity: "error",
          column: c.spec.name,
          message: `column ${c.spec.name}: ${p.message}`,
          count: 0,
          examples: [],
        },
        first: [src, row, c.index],
        count: kinds[t.columns.indexOf(c)]!.get(code) ?? 0,
      };
      byKey.set(key, e);
    }
    if (e.issue.examples.length < 20) e.issue.examples.push({ file: p.file, row, value });
  };
  const any = cols.map(({ i }) => `k${i} IS NOT NULL`).join(" OR ");
  const r = await conn.runAndReadAll(
    `SELECT __src, __row, ${cols.map(({ i }) => `r${i}, k${i}`).join(", ")} FROM (${t.sql}) WHERE ${any} ORDER BY __src, __row LIMIT ${PROBLEMS_CAP}`,
  );
  for (const rec of r.getRows()) {
    const src = Number(rec[0]);
    const row = Number(rec[1]);
    for (const [j, { c }] of cols.entries()) {
      const code = rec[3 + 2 * j];
      if (code === null || code === undefined) continue;
      note(src, row, c, Number(code), rec[2 + 2 * j], problems.length < PROBLEMS_CAP);
    }
  }
  // issues whose first 20 examples are not all among the rows read: their own query
  for (const { c, i } of cols) {
    for (const [code, n] of kinds[i]!) {
      const key = `${problemKind(code, c, schema)}\u0000${c.spec.name}`;
      const have = byKey.get(key)?.issue.examples.length ?? 0;
      if (have >= Math.min(20, n)) continue;
      byKey.delete(key);
      const ex = await conn.runAndReadAll(
        `SELECT __src, __row, r${i} FROM (${t.sql}) WHERE k${i} = ${code} ORDER BY __src, __row LIMIT 20`,
      );
      for (const [src, row, raw] of ex.getRows()) note(Number(src), Number(row), c, code, raw, false);
    }
  }
  const issues = [...byKey.entries()]
    .map(([, e]) => {
      e.issue.count = e.count;
      return e;
    })
    .sort((a, b) => a.first[0] - b.first[0] || a.first[1] - b.first[1] || a.first[2] - b.first[2])
    .map((e) => e.issue);
  return { problems, issues };
}
