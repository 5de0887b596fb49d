/**
 * Validation of the records of a dataset held in the record store (every source, or some). Besides the
 * cells, it checks that every source read was ingested to the end: a source still marked `ingesting`,
 * one with fewer records than its rows, or records of a source with no ingest entry at all (an ingest
 * by an older netsec killed before it recorded the source) are `incomplete_source` errors — the rows
 * present may pass every check, but they are not the data that was meant.
 */
import { allowedSet, coerceCell } from "../datasets/coerce.ts";
import type { CellProblem } from "../datasets/load.ts";
import type { DatasetSchema } from "../datasets/schema.ts";
import type { RecordStore, SourceInfo } from "../store/types.ts";
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

/** Sources in scope whose ingest did not finish, with what to do about each. */
export function incompleteSources(
  sources: readonly SourceInfo[],
  seen: ReadonlyMap<string, number>,
  only: readonly string[] | undefined,
): { label: string; stored: number; missing: number; message: string }[] {
  const out: { label: string; stored: number; missing: number; message: string }[] = [];
  const known = new Set(sources.map((s) => s.source));
  for (const s of sources) {
    if (only && !only.includes(s.source)) continue;
    const stored = seen.get(s.source) ?? 0;
    if (s.status === "complete" && stored >= s.rows) continue;
    const why =
      s.status === "ingesting"
        ? `its ingest started ${s.ingestedAt} did not finish`
        : "records are missing although its ingest finished";
    out.push({
      label: s.location,
      stored,
      missing: Math.max(0, s.rows - stored),
      message: `source ${s.location} (${s.name}): ${why}: ${stored} of ${s.rows} rows stored; run the same \`netsec ingest\` again to complete it (it adds only what is missing)`,
    });
  }
  for (const [src, stored] of seen) {
    if (known.has(src)) continue;
    out.push({
      label: src,
      stored,
      missing: 0,
      message: `source ${src}: ${stored} record(s) but no finished ingest (an ingest interrupted before it was recorded); ingest that file again to complete it`,
    });
  }
  return out;
}
