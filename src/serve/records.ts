/**
 * JSON records (already shape-checked by zod: an array of flat objects of scalars) → a typed Frame of
 * the model's input columns, with the same schema checks as CSV uploads: the input columns are
 * required, the label (target) key is optional and checked when present, every other key is passed
 * through. Record numbers in messages are 1-based (`row`), like CSV data rows.
 */
import { NetsecError } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import { allowedSet, coerceCell, type TypedValue } from "../datasets/coerce.ts";
import { FrameBuilder } from "../datasets/frame-builder.ts";
import type { CellProblem } from "../datasets/load.ts";
import type { DatasetSchema } from "../datasets/schema.ts";
import { cellProblemsError } from "./csv-upload.ts";

export type JsonScalar = string | number | boolean | null;

const LABEL = "request body";

export interface ScoringRecords {
  frame: Frame;
  /** Each record's label (canonical text, null without one), or null when no record has the label key. */
  labels: (string | null)[] | null;
  /** Each record's keys the model does not read (the label included), with their values as sent. */
  passthrough: Record<string, JsonScalar>[];
}

export function recordsToFrame(
  records: readonly Record<string, JsonScalar>[],
  schema: DatasetSchema,
  inputColumns: readonly string[],
): ScoringRecords {
  const cols = inputColumns.map((name) => {
    const spec = schema.column(name)!;
    return { spec, allowed: allowedSet(spec) };
  });
  const problems: CellProblem[] = [];
  let total = 0;
  const note = (p: Omit<CellProblem, "file">): void => {
    total++;
    if (problems.length < 50) problems.push({ file: LABEL, ...p });
  };
  const fb = new FrameBuilder(schema, inputColumns);
  const rec: Record<string, TypedValue> = {};
  const inputs = new Set(inputColumns);
  const target = inputs.has(schema.target.name) ? null : schema.target;
  const targetAllowed = target ? allowedSet(target) : null;
  const hasLabels = target !== null && records.some((r) => Object.hasOwn(r, target.name));
  const labels: (string | null)[] = [];
  const passthrough: Record<string, JsonScalar>[] = [];
  records.forEach((r, i) => {
    const row = i + 1;
    const pass: Record<string, JsonScalar> = {};
    for (const key of Object.keys(r)) if (!inputs.has(key)) pass[key] = r[key]!;
    passthrough.push(pass);
    if (hasLabels) {
      const v = Object.hasOwn(r, target!.name) ? r[target!.name]! : null;
      const chk = typeof v === "boolean" ? null : coerceCell(v, target!, targetAllowed);
      if (chk === null) {
        note({
          row,
          column: target!.name,
          value: v,
          kind: "type",
          message: `is a boolean, expected ${target!.type}`,
        });
        labels.push(null);
      } else if (chk.problem && chk.problem !== "missing") {
        note({
          row,
          column: target!.name,
          value: v,
          kind: chk.problem === "not_allowed" ? "unknown_label" : chk.problem,
          message: chk.message ?? chk.problem,
        });
        labels.push(null);
      } else labels.push(chk.value === null ? null : String(chk.value));
    }
    for (const c of cols) {
      const name = c.spec.name;
      if (!Object.hasOwn(r, name)) {
        note({
          row,
          column: name,
          value: undefined,
          kind: "missing_column",
          message: "is required (use null for a missing value)",
        });
        continue;
      }
      const v = r[name]!;
      // JSON booleans are not numbers: `true` for an integer feature is a type mistake, not 1
      if (typeof v === "boolean" && c.spec.type !== "categorical") {
        note({ row, column: name, value: v, kind: "type", message: `is a boolean, expected ${c.spec.type}` });
        continue;
      }
      const chk = coerceCell(v, c.spec, c.allowed);
      if (chk.problem)
        note({ row, column: name, value: v, kind: chk.problem, message: chk.message ?? chk.problem });
      rec[name] = chk.value;
    }
    if (total === 0) fb.push(rec);
  });
  if (total > 0) {
    const e = cellProblemsError(LABEL, problems, total);
    // "record N" reads better than "row N" for JSON input; details keep `row`
    throw new NetsecError(e.code, e.message.replace(/\brow (\d+)/g, "record $1"), e.details);
  }
  return { frame: fb.build(), labels: hasLabels ? labels : null, passthrough };
}
