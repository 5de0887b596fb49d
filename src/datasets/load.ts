/**
 * Reading data files against a schema: header checks, cell coercion, typed batches, Frames.
 * Used by ingest (which refuses files with type problems) and by validation (which reports them).
 */
import { NetsecError, showValue } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import { allowedSet, coerceCell, isTypeProblem, type ProblemKind, type TypedValue } from "./coerce.ts";
import { FrameBuilder } from "./frame-builder.ts";
import { type FileFormat, type RawTable, readTable, refLabel, type SourceRef } from "./readers.ts";
import type { ColumnSpec, DatasetSchema } from "./schema.ts";
import { scoringHeader } from "./scoring-input.ts";

export interface HeaderCheck {
  missing: string[];
  unknown: string[];
  /** For each schema column present: its index in the file header. */
  index: Map<string, number>;
}

/**
 * Compare a file header with the schema. Metadata/id columns may be absent; features may not, nor the
 * target unless `requireTarget` is false (the target's role is target whatever the YAML says).
 */
export function checkHeaderAgainstSchema(
  header: readonly string[],
  schema: DatasetSchema,
  requireTarget = true,
): HeaderCheck {
  const index = new Map<string, number>();
  for (const [i, h] of header.entries()) index.set(h, i);
  const missing = schema.columns
    .filter((c) => !index.has(c.name))
    .filter((c) => (c.name === schema.target.name ? requireTarget : c.role === "feature"))
    .map((c) => c.name);
  const unknown = header.filter((h) => !schema.column(h));
  const known = new Map<string, number>();
  for (const c of schema.columns) {
    const i = index.get(c.name);
    if (i !== undefined) known.set(c.name, i);
  }
  return { missing, unknown, index: known };
}

export function headerError(label: string, hc: HeaderCheck, schema: DatasetSchema): NetsecError {
  const parts: string[] = [];
  if (hc.missing.length)
    parts.push(`missing column(s) ${hc.missing.map((m) => JSON.stringify(m)).join(", ")}`);
  if (hc.unknown.length)
    parts.push(`unknown column(s) ${hc.unknown.map((m) => JSON.stringify(m)).join(", ")}`);
  // a name the file repeats reaches the schema renamed X_2, X_3… (dedupeHeader): say so
  const repeats = hc.unknown.filter((u) => {
    const m = /^(.*)_\d+$/.exec(u);
    return m !== null && schema.column(m[1]!) !== undefined;
  });
  if (repeats.length)
    parts.push(
      `${repeats.map((m) => JSON.stringify(m)).join(", ")}: a name the header repeats, renamed by the readers; declare it in the schema or drop the column`,
    );
  return new NetsecError(
    "SCHEMA_MISMATCH",
    `${label}: the header does not match schema ${schema.name}: ${parts.join("; ")}`,
    {
      file: label,
      row: 0,
      missing: hc.missing,
      unknown: hc.unknown,
      ...(hc.missing[0] ? { column: hc.missing[0] } : {}),
    },
  );
}

export interface CellProblem {
  file: string;
  row: number;
  column: string;
  value: unknown;
  kind: ProblemKind;
  message: string;
}

export interface TypedBatch {
  firstRow: number;
  rows: Record<string, TypedValue>[];
  problems: CellProblem[];
}

/**
 * Typed batches of a raw table. Every cell is coerced; problems (type and domain) are attached to the
 * batch, never thrown, so callers decide.
 */
export async function* typedBatches(
  table: RawTable,
  schema: DatasetSchema,
  hc: HeaderCheck,
): AsyncGenerator<TypedBatch> {
  const cols: { spec: ColumnSpec; idx: number; allowed: Set<string> | null }[] = [];
  for (const spec of schema.columns) {
    const idx = hc.index.get(spec.name);
    if (idx !== undefined) cols.push({ spec, idx, allowed: allowedSet(spec) });
  }
  for await (const b of table.batches) {
    const rows: Record<string, TypedValue>[] = new Array(b.rows.length);
    const problems: CellProblem[] = [];
    for (let r = 0; r < b.rows.length; r++) {
      const raw = b.rows[r]!;
      const rec: Record<string, TypedValue> = {};
      for (const c of cols) {
        const v = raw[c.idx];
        const chk = coerceCell(v ?? null, c.spec, c.allowed);
        rec[c.spec.name] = chk.value;
        if (chk.problem) {
          problems.push({
            file: table.label,
            row: b.firstRow + r,
            column: c.spec.name,
            value: v,
            kind:
              c.spec.name === schema.target.name && chk.problem === "not_allowed"
                ? "unknown_label"
                : c.spec.name === schema.target.name && chk.problem === "missing"
                  ? "missing_label"
                  : chk.problem,
            message: chk.message ?? chk.problem,
          });
        }
      }
      rows[r] = rec;
    }
    yield { firstRow: b.firstRow, rows, problems };
  }
}

export function describeProblem(p: CellProblem): string {
  return `${p.file}, row ${p.row}, column ${p.column}: ${showValue(p.value)} ${p.message}`;
}

/** An error listing the first type problems (at most `max`) and how many there are in all. */
export function typeProblemsError(
  label: string,
  problems: CellProblem[],
  total: number,
  max = 10,
): NetsecError {
  const first = problems[0]!;
  const shown = problems.slice(0, max).map(describeProblem);
  const more = total > shown.length ? ` (and ${total - shown.length} more)` : "";
  return new NetsecError(
    "SCHEMA_MISMATCH",
    `${label}: ${total} value(s) do not fit their column type: ${shown.join("; ")}${more}`,
    {
      file: first.file,
      row: first.row,
      column: first.column,
      value: first.value,
      problems: problems.slice(0, 100),
    },
  );
}

/**
 * An ingest's first pass: read the whole table and coerce every cell, writing nothing. A value that
 * cannot be stored as its type refuses the file (all counted, the first 100 named); domain problems
 * (values outside allowed sets/ranges) are only counted, as warnings `validate` reports.
 */
export async function checkTableTypes(
  table: RawTable,
  schema: DatasetSchema,
  hc: HeaderCheck,
  label: string,
  opts: { allowEmpty?: boolean } = {},
): Promise<{ rows: number; warnings: number }> {
  const typeProblems: CellProblem[] = [];
  let typeCount = 0;
  let warnings = 0;
  let rows = 0;
  for await (const b of typedBatches(table, schema, hc)) {
    rows += b.rows.length;
    for (const p of b.problems) {
      if (isTypeProblem(p.kind)) {
        typeCount++;
        if (typeProblems.length < 100) typeProblems.push(p);
      } else warnings++;
    }
  }
  if (typeCount > 0) throw typeProblemsError(label, typeProblems, typeCount);
  if (rows === 0 && !opts.allowEmpty)
    throw new NetsecError("PARSE_ERROR", `${label} has no data rows`, { file: label });
  return { rows, warnings };
}

export interface LoadOptions {
  format?: FileFormat;
  batchSize?: number;
  /** Extra (unknown) columns are an error unless allowed. Default false. */
  allowUnknownColumns?: boolean;
  /** Require the target column (training data). Default true. */
  requireTarget?: boolean;
  /** Columns to keep in the frame (default: the schema's columns present in the file). */
  columns?: readonly string[];
  /** Throw on domain problems too (values outside allowed sets/ranges). Default false (type problems always throw). */
  strict?: boolean;
  /**
   * Data to score: read only these (the model's input columns, all required) and the label column
   * when present; every other column passes unread. Every problem in them is refused but a row
   * without a label, whatever `strict` says.
   */
  inputColumns?: readonly string[];
}

export interface LoadedTable {
  label: string;
  frame: Frame;
  rows: number;
  header: string[];
  problems: CellProblem[];
}

/** Read a whole file into a Frame, refusing type problems (every one counted, the first ten shown). */
export async function loadFrame(
  ref: SourceRef,
  schema: DatasetSchema,
  opts: LoadOptions = {},
): Promise<LoadedTable> {
  const table = await readTable(ref, {
    schema,
    ...(opts.format ? { format: opts.format } : {}),
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
  });
  const hc = opts.inputColumns
    ? scoringHeader(table.header, schema, opts.inputColumns)
    : checkHeaderAgainstSchema(table.header, schema, opts.requireTarget ?? true);
  if (hc.missing.length > 0 || (hc.unknown.length > 0 && !opts.allowUnknownColumns)) {
    throw headerError(table.label, hc, schema);
  }
  const keep = opts.columns ?? schema.columnNames.filter((n) => hc.index.has(n));
  const fb = new FrameBuilder(schema, keep);
  const problems: CellProblem[] = [];
  const typeProblems: CellProblem[] = [];
  let typeCount = 0;
  let rows = 0;
  for await (const b of typedBatches(table, schema, hc)) {
    for (const p of b.problems) {
      const refused = opts.inputColumns
        ? p.kind !== "missing_label"
        : isTypeProblem(p.kind) || (opts.strict && p.kind !== "missing");
      if (refused) {
        typeCount++;
        if (typeProblems.length < 100) typeProblems.push(p);
      } else if (problems.length < 10_000) problems.push(p);
    }
    if (typeCount === 0) for (const r of b.rows) fb.push(r);
    rows += b.rows.length;
  }
  if (typeCount > 0) throw typeProblemsError(table.label, typeProblems, typeCount);
  if (rows === 0)
    throw new NetsecError("PARSE_ERROR", `${table.label} has a header but no data rows`, {
      file: table.label,
    });
  return { label: refLabel(ref), frame: fb.build(), rows, header: table.header, problems };
}
