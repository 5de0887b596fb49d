/**
 * Which columns scoring reads (netsec predict, POST /predict, POST /predict/records): the model's
 * input columns, all required; the schema's label (target) column, optional, checked against the
 * schema when present (its values may then measure the model on that data); every other column (ids,
 * metadata, columns the schema does not know) is not read, only passed through to the output.
 */
import type { HeaderCheck } from "./load.ts";
import type { DatasetSchema } from "./schema.ts";

export interface ScoringHeader extends HeaderCheck {
  /** The label column when the header has it, else null. */
  label: string | null;
  /** Header columns the model does not read (the label column included), in header order. */
  passthrough: string[];
}

/**
 * The header check of data to score: `missing` lists the model's input columns the header lacks;
 * `index` holds the input columns and the label column; nothing is `unknown` (extra columns pass).
 */
export function scoringHeader(
  header: readonly string[],
  schema: DatasetSchema,
  inputColumns: readonly string[],
): ScoringHeader {
  const at = new Map<string, number>();
  for (const [i, h] of header.entries()) if (!at.has(h)) at.set(h, i);
  const index = new Map<string, number>();
  const missing: string[] = [];
  for (const c of inputColumns) {
    const i = at.get(c);
    if (i === undefined) missing.push(c);
    else index.set(c, i);
  }
  const target = schema.target.name;
  const inputs = new Set(inputColumns);
  const labelAt = inputs.has(target) ? undefined : at.get(target);
  if (labelAt !== undefined) index.set(target, labelAt);
  return {
    missing,
    unknown: [],
    index,
    label: labelAt === undefined ? null : target,
    passthrough: header.filter((h) => !inputs.has(h)),
  };
}
