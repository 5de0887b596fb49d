/**
 * A Kafka record's text → one flat object of scalars, the shape `POST /predict/records` takes, or the
 * reason it cannot be one (the record then goes to the dead-letter topic).
 *
 * Two formats: `json` (one JSON object per record: `{"having_IP_Address": -1, …}`) and `csv` (one CSV
 * line per record, its columns named by a header declared once: `--csv-header`, default the schema's
 * column order). CSV cells stay text, as in a CSV file; the schema's coercion reads them later.
 */
import { parse as parseCsvLine } from "csv-parse/sync";
import { showValue } from "../core/errors.ts";
import type { ColumnSpec } from "../datasets/schema.ts";
import type { JsonScalar } from "../serve/records.ts";

export type RecordFormat = "json" | "csv";

export type Decoded = { ok: true; record: Record<string, JsonScalar> } | { ok: false; reason: string };

/** How much of a bad value a reason quotes. */
const QUOTE_CHARS = 120;

export function decodeJson(text: string): Decoded {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      reason: `not JSON: ${(e as Error).message} in ${showValue(text.slice(0, QUOTE_CHARS))}`,
    };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    return {
      ok: false,
      reason: `expected a JSON object of feature values, got ${Array.isArray(parsed) ? "an array" : parsed === null ? "null" : typeof parsed}`,
    };
  // the shape check zod would make (a record of scalars), by hand: zod's took ~30 µs a record, three
  // times the whole per-record budget of a consumer at 100,000 records/s
  const obj = parsed as Record<string, unknown>;
  for (const key in obj) {
    const v = obj[key];
    const t = typeof v;
    if (v !== null && t !== "string" && t !== "number" && t !== "boolean")
      return {
        ok: false,
        reason: `key ${JSON.stringify(key)}: expected a string, number, boolean or null, got ${Array.isArray(v) ? "an array" : t}`,
      };
  }
  return { ok: true, record: obj as Record<string, JsonScalar> };
}

export function decodeCsv(text: string, header: readonly string[]): Decoded {
  let rows: string[][];
  try {
    rows = parseCsvLine(text, { relax_column_count: true }) as string[][];
  } catch (e) {
    return { ok: false, reason: `not a CSV line: ${(e as Error).message}` };
  }
  if (rows.length !== 1) return { ok: false, reason: `expected one CSV line, found ${rows.length}` };
  const cells = rows[0]!;
  if (cells.length !== header.length)
    return {
      ok: false,
      reason: `expected ${header.length} CSV fields (the declared header), found ${cells.length}`,
    };
  const record: Record<string, JsonScalar> = {};
  for (const [i, name] of header.entries()) record[name] = cells[i]!;
  return { ok: true, record };
}

export function decoder(format: RecordFormat, csvHeader: readonly string[]): (text: string) => Decoded {
  return format === "json" ? decodeJson : (text) => decodeCsv(text, csvHeader);
}

/** A sample value of `c` for row `r`: its allowed values in turn, else points of its range. */
function sampleValue(c: ColumnSpec | undefined, r: number): JsonScalar {
  if (c === undefined) return r % 3;
  if (c.values !== undefined && c.values.length > 0) return c.values[r % c.values.length]!;
  switch (c.type) {
    case "categorical":
      return `v${r % 5}`;
    case "timestamp": {
      const ms = Date.UTC(2026, 0, 1) + (r % 1000) * 1000;
      return c.format === "epoch_s" ? ms / 1000 : c.format === "epoch_ms" ? ms : new Date(ms).toISOString();
    }
    default: {
      const lo = c.min ?? 0;
      const hi = c.max ?? lo + 10;
      const v = lo + ((hi - lo) * (r % 7)) / 6;
      return c.type === "integer" ? Math.round(v) : v;
    }
  }
}

/** A CSV cell for `v` (quoted when it must be). */
function csvCell(v: JsonScalar): string {
  const t = v === null ? "" : String(v);
  return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/**
 * `n` records in `format` with a value for each of `inputs` (described by `columns`, the model's
 * schema), varied row to row: what the stream scores, and throws away, before it joins its group, so
 * its first batches run compiled code (cold, the first 500 records took ≈ 50–120 ms to score, ten
 * times their warm cost, and the batches after them ≈ twice theirs).
 */
export function sampleRecords(
  format: RecordFormat,
  csvHeader: readonly string[],
  columns: readonly ColumnSpec[],
  inputs: readonly string[],
  n: number,
): string[] {
  const spec = new Map(columns.map((c) => [c.name, c]));
  const wanted = new Set(inputs);
  const out: string[] = new Array(n);
  for (let r = 0; r < n; r++) {
    if (format === "json") {
      const o: Record<string, JsonScalar> = {};
      for (const name of inputs) o[name] = sampleValue(spec.get(name), r);
      out[r] = JSON.stringify(o);
    } else {
      out[r] = csvHeader
        .map((name) => (wanted.has(name) ? csvCell(sampleValue(spec.get(name), r)) : ""))
        .join(",");
    }
  }
  return out;
}
