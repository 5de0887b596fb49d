/**
 * JSON records (already shape-checked by zod: an array of flat objects of scalars) → a typed Frame of
 * the model's input columns, with the same schema checks as CSV uploads. Record numbers in messages
 * are 1-based (`row`), like CSV data rows.
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

export function recordsToFrame(
  records: readonly Record<string, JsonScalar>[],
  schema: DatasetSchema,
  inputColumns: readonly string[],
): Frame {
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
  records.forEach((r, i) => {
    const row = i + 1;
    for (const key of Object.keys(r)) {
      if (!schema.column(key))
        note({
          row,
          column: key,
          value: r[key],
          kind: "unknown_column",
          message: `is not a column of schema ${schema.name}`,
        });
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
  return fb.build();
}
