/** Validation of the records of a dataset held in the record store (every source, or some). */
import { allowedSet, coerceCell } from "../datasets/coerce.ts";
import type { CellProblem } from "../datasets/load.ts";
import type { DatasetSchema } from "../datasets/schema.ts";
import type { RecordStore } from "../store/types.ts";
import { type ValidationThresholds, Validator } from "./validate.ts";

export async function validateStore(
  store: RecordStore,
  schema: DatasetSchema,
  thresholds: ValidationThresholds,
  opts: { sources?: readonly string[]; onProgress?: (rows: number) => void } = {},
): Promise<Validator> {
  const v = new Validator(schema, thresholds, true);
  const sources = await store.listSources(schema.name);
  const names = new Map(sources.map((s) => [s.source, s.name]));
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
  return v;
}
