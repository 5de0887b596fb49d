/**
 * Schema validation: every problem is collected (file, row, column, value), never thrown one at a time.
 * Checks: missing or unknown columns, wrong types, values outside allowed sets or ranges, missing-value
 * rate per column, duplicate rate (identical feature vectors), label set (unknown labels, threat and
 * benign both present). Configured thresholds decide pass/fail.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { safeCsv } from "../core/spreadsheet-safe.ts";
import { canonical, type ProblemKind, type TypedValue } from "../datasets/coerce.ts";
import {
  type CellProblem,
  checkHeaderAgainstSchema,
  type HeaderCheck,
  type TypedBatch,
  typedBatches,
} from "../datasets/load.ts";
import type { RawTable } from "../datasets/readers.ts";
import type { DatasetSchema } from "../datasets/schema.ts";
import { type ValidationThresholds, ValidationThresholdsSchema } from "../datasets/thresholds.ts";

// the thresholds' schema lives with the data schemas (schema inference reads its defaults too)
export { type ValidationThresholds, ValidationThresholdsSchema };

export const DEFAULT_THRESHOLDS: ValidationThresholds = ValidationThresholdsSchema.parse({});

export type Severity = "error" | "warning";

export interface Issue {
  check:
    | ProblemKind
    | "missing_rate"
    | "invalid_rate"
    | "duplicate_rate"
    | "too_few_rows"
    | "label_set"
    | "incomplete_source";
  severity: Severity;
  column?: string;
  message: string;
  /** How many cells/rows this issue covers. */
  count: number;
  /** The first occurrences (at most 20): file, row, value. */
  examples: { file: string; row: number; value: unknown }[];
}

export interface ColumnStats {
  missing: number;
  missing_rate: number;
  invalid: number;
  invalid_rate: number;
}

export interface ValidationReport {
  dataset: string;
  passed: boolean;
  rows: number;
  sources: { label: string; rows: number }[];
  /** Number of issues with severity error. */
  errors: number;
  warnings: number;
  issues: Issue[];
  columns: Record<string, ColumnStats>;
  duplicates: number;
  duplicate_rate: number;
  labels: Record<string, number>;
  thresholds: ValidationThresholds;
  /** Every individual cell problem found (capped at `problems_cap`, counted in full in `issues`). */
  problems_total: number;
}

export const PROBLEMS_CAP = 100_000;

/** Accumulates tables/batches, then judges them against thresholds. */
export class Validator {
  private readonly schema: DatasetSchema;
  private readonly thresholds: ValidationThresholds;
  private readonly requireTarget: boolean;
  private rows = 0;
  private readonly sources: { label: string; rows: number }[] = [];
  private readonly headerIssues: Issue[] = [];
  private readonly cellIssues = new Map<string, Issue>();
  private readonly missing = new Map<string, number>();
  private readonly invalid = new Map<string, number>();
  private readonly seen = new Set<string>();
  private dup = 0;
  private readonly labels = new Map<string, number>();
  readonly problems: CellProblem[] = [];
  private problemsTotal = 0;
  private presentColumns = new Set<string>();

  constructor(
    schema: DatasetSchema,
    thresholds: ValidationThresholds = DEFAULT_THRESHOLDS,
    requireTarget = true,
  ) {
    this.schema = schema;
    this.thresholds = thresholds;
    this.requireTarget = requireTarget;
  }

  /** Check a header; returns false when columns are missing (the table's cells are then not checked). */
  header(label: string, header: readonly string[]): HeaderCheck {
    const hc = checkHeaderAgainstSchema(header, this.schema, this.requireTarget);
    for (const m of hc.missing) {
      this.headerIssues.push({
        check: "missing_column",
        severity: "error",
        column: m,
        message: `${label}: required column ${JSON.stringify(m)} is missing`,
        count: 1,
        examples: [{ file: label, row: 0, value: null }],
      });
    }
    for (const u of hc.unknown) {
      this.headerIssues.push({
        check: "unknown_column",
        severity: this.thresholds.allow_unknown_columns ? "warning" : "error",
        column: u,
        message: `${label}: column ${JSON.stringify(u)} is not in schema ${this.schema.name}`,
        count: 1,
        examples: [{ file: label, row: 0, value: u }],
      });
    }
    for (const c of hc.index.keys()) this.presentColumns.add(c);
    return hc;
  }

  /** An issue found outside the cells (e.g. a source whose ingest did not finish). */
  addIssue(issue: Issue): void {
    this.headerIssues.push(issue);
  }

  batch(label: string, b: TypedBatch): void {
    this.rows += b.rows.length;
    let src = this.sources.find((s) => s.label === label);
    if (!src) {
      src = { label, rows: 0 };
      this.sources.push(src);
    }
    src.rows += b.rows.length;
    for (const p of b.problems) {
      this.problemsTotal++;
      if (this.problems.length < PROBLEMS_CAP) this.problems.push(p);
      const key = `${p.kind}\u0000${p.column}`;
      let issue = this.cellIssues.get(key);
      if (!issue) {
        issue = {
          check: p.kind,
          severity: "error",
          column: p.column,
          message: `column ${p.column}: ${p.message}`,
          count: 0,
          examples: [],
        };
        this.cellIssues.set(key, issue);
      }
      issue.count++;
      if (issue.examples.length < 20) issue.examples.push({ file: p.file, row: p.row, value: p.value });
      if (p.kind === "missing" || p.kind === "missing_label") continue;
      this.invalid.set(p.column, (this.invalid.get(p.column) ?? 0) + 1);
    }
    const feats = this.schema.featureNames;
    const target = this.schema.target.name;
    for (const r of b.rows) {
      for (const c of this.schema.columns) {
        if (r[c.name] === null && this.presentColumns.has(c.name))
          this.missing.set(c.name, (this.missing.get(c.name) ?? 0) + 1);
      }
      const lv = r[target];
      if (lv !== null && lv !== undefined) {
        const k = canonical(lv);
        this.labels.set(k, (this.labels.get(k) ?? 0) + 1);
      }
      const key = rowKey(r, feats);
      if (this.seen.has(key)) this.dup++;
      else this.seen.add(key);
    }
  }

  /** Validate a whole raw table (file). */
  async table(table: RawTable): Promise<void> {
    const hc = this.header(table.label, table.header);
    if (hc.missing.length > 0) {
      // still count rows so the report says how big the file was
      for await (const b of table.batches) {
        this.rows += b.rows.length;
      }
      return;
    }
    for await (const b of typedBatches(table, this.schema, hc)) this.batch(table.label, b);
  }

  finish(): ValidationReport {
    return judgeValidation({
      schema: this.schema,
      thresholds: this.thresholds,
      requireTarget: this.requireTarget,
      rows: this.rows,
      sources: this.sources,
      headerIssues: this.headerIssues,
      cellIssues: [...this.cellIssues.values()],
      presentColumns: this.presentColumns,
      missing: this.missing,
      invalid: this.invalid,
      duplicates: this.dup,
      labels: this.labels,
      problemsTotal: this.problemsTotal,
    });
  }
}

/**
 * What a validation counted, however it counted it (row by row in `Validator`, or as set operations
 * in `sql-validate.ts`): `judgeValidation` turns it into the report, so both give the same report.
 */
export interface ValidationCounts {
  schema: DatasetSchema;
  thresholds: ValidationThresholds;
  requireTarget: boolean;
  rows: number;
  /** Rows per source, in the order the sources were first seen. */
  sources: { label: string; rows: number }[];
  headerIssues: readonly Issue[];
  /**
   * One issue per (check, column) in the order of its first problem, `count` problems in all, the
   * first 20 as examples, and `message` = `column <name>: <first problem's message>`.
   */
  cellIssues: readonly Issue[];
  presentColumns: ReadonlySet<string>;
  /** Per column: typed values that are missing (type problems included). */
  missing: ReadonlyMap<string, number>;
  /** Per column: problems other than missing values. */
  invalid: ReadonlyMap<string, number>;
  /** Rows whose feature vector repeats an earlier row's. */
  duplicates: number;
  /** Canonical label → rows, in the order the labels were first seen. */
  labels: ReadonlyMap<string, number>;
  problemsTotal: number;
}

/** Judge counted data against the thresholds. */
export function judgeValidation(c: ValidationCounts): ValidationReport {
  const t = c.thresholds;
  const issues: Issue[] = [...c.headerIssues];
  const columns: Record<string, ColumnStats> = {};
  const n = Math.max(1, c.rows);
  for (const col of c.schema.columns) {
    if (!c.presentColumns.has(col.name)) continue;
    const missing = c.missing.get(col.name) ?? 0;
    const invalid = c.invalid.get(col.name) ?? 0;
    columns[col.name] = { missing, missing_rate: missing / n, invalid, invalid_rate: invalid / n };
  }
  for (const issue of c.cellIssues) {
    const col = issue.column!;
    const stats = columns[col];
    if (issue.check === "missing" || issue.check === "missing_label") {
      // a non-nullable column with missing values is always an error
      issue.message = `column ${col}: ${issue.count} missing value(s) in a column that does not allow them`;
    } else if (issue.check === "unknown_label") {
      issue.message = `target ${col}: ${issue.count} label(s) not declared in the schema`;
    } else {
      const rate = stats ? stats.invalid_rate : 0;
      issue.severity = rate > t.max_invalid_rate ? "error" : "warning";
      issue.message = `column ${col}: ${issue.count} value(s) ${issue.message.replace(/^column [^:]+: /, "")} (${pct(rate)} of rows; max ${pct(t.max_invalid_rate)})`;
    }
    issues.push(issue);
  }
  for (const [col, s] of Object.entries(columns)) {
    if (s.missing > 0 && s.missing_rate > t.max_missing_rate) {
      issues.push({
        check: "missing_rate",
        severity: "error",
        column: col,
        message: `column ${col}: ${pct(s.missing_rate)} missing (max ${pct(t.max_missing_rate)})`,
        count: s.missing,
        examples: [],
      });
    }
  }
  const dupRate = c.duplicates / n;
  if (c.duplicates > 0) {
    issues.push({
      check: "duplicate_rate",
      severity: dupRate > t.max_duplicate_rate ? "error" : "warning",
      message: `${c.duplicates} row(s) (${pct(dupRate)}) repeat an earlier feature vector (max ${pct(t.max_duplicate_rate)}); splits keep duplicates on one side`,
      count: c.duplicates,
      examples: [],
    });
  }
  if (c.rows < t.min_rows) {
    issues.push({
      check: "too_few_rows",
      severity: "error",
      message: `${c.rows} row(s); at least ${t.min_rows} needed`,
      count: c.rows,
      examples: [],
    });
  }
  if (c.requireTarget && t.require_both_classes && c.presentColumns.has(c.schema.target.name)) {
    const labels = [...c.labels.keys()];
    const threats = labels.filter((l) => c.schema.isThreat(l));
    const benign = labels.filter((l) => !c.schema.isThreat(l));
    if (threats.length === 0 || benign.length === 0) {
      issues.push({
        check: "label_set",
        severity: "error",
        column: c.schema.target.name,
        message: `labels present: ${labels.join(", ") || "(none)"}; training needs both a threat and a benign label`,
        count: labels.length,
        examples: [],
      });
    }
  }
  const errors = issues.filter((i) => i.severity === "error").length;
  return {
    dataset: c.schema.name,
    passed: errors === 0,
    rows: c.rows,
    sources: c.sources,
    errors,
    warnings: issues.length - errors,
    issues,
    columns,
    duplicates: c.duplicates,
    duplicate_rate: dupRate,
    labels: Object.fromEntries([...c.labels.entries()].sort((a, b) => b[1] - a[1])),
    thresholds: t,
    problems_total: c.problemsTotal,
  };
}

function rowKey(r: Record<string, TypedValue>, feats: readonly string[]): string {
  const h = createHash("sha1");
  for (const f of feats) {
    const v = r[f];
    h.update(v === null || v === undefined ? "\u0000" : String(v));
    h.update("\u0001");
  }
  return h.digest("base64");
}

function pct(x: number): string {
  return `${(100 * x).toFixed(x > 0 && x < 0.001 ? 3 : 1)}%`;
}

/** Write `validation.json`, `problems.csv` (every problem found, capped) and a short text summary. */
export function writeValidationReport(
  report: ValidationReport,
  problems: readonly CellProblem[],
  dir: string,
): string[] {
  mkdirSync(dir, { recursive: true });
  const jsonPath = join(dir, "validation.json");
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const csvPath = join(dir, "problems.csv");
  writeFileSync(
    csvPath,
    // file names, columns and values come from the data: formula-like cells are neutralised
    safeCsv(
      problems.map((p) => [
        p.file,
        p.row,
        p.column,
        p.value === null || p.value === undefined ? "" : String(p.value),
        p.kind,
        p.message,
      ]),
      ["file", "row", "column", "value", "check", "message"],
    ),
  );
  return [jsonPath, csvPath];
}

/** Human summary lines for the terminal. */
export function summarizeValidation(r: ValidationReport): string[] {
  const lines = [
    `validation of ${r.dataset}: ${r.passed ? "PASSED" : "FAILED"} — ${r.rows} rows, ${r.errors} error(s), ${r.warnings} warning(s), duplicate rate ${pct(r.duplicate_rate)}`,
  ];
  for (const i of r.issues) {
    const ex = i.examples[0];
    const where = ex && ex.row > 0 ? ` e.g. ${ex.file} row ${ex.row} value ${JSON.stringify(ex.value)}` : "";
    lines.push(`  [${i.severity}] ${i.message}${where}`);
  }
  return lines;
}
