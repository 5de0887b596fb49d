/**
 * Zeek logs (`conn.log` and the others) in both of Zeek's ASCII writer forms, told apart by the first
 * non-blank character of the file:
 *  - `#` — the TSV form: `#separator \x09` (the separator, hex-escaped), `#set_separator`,
 *    `#empty_field`, `#unset_field`, `#path`, `#open`, `#fields` (the column names) and `#types` header
 *    lines, then one record a line, and `#close` at the end. The unset field (`-`) is missing; the empty
 *    field (`(empty)`, an empty set or string) is the empty string; `\xHH` escapes are decoded; a `bool`
 *    column's `T`/`F` become true/false. Several logs concatenated (rotation) are read as one when their
 *    `#fields` agree.
 *  - `{` — JSON lines (`LogAscii::use_json=T`): one object a line, field names with dots as written
 *    (`id.orig_h`); Zeek leaves unset fields out, so the header is the schema's columns (when one is
 *    given) followed by the first record's other keys, and an absent key is missing. A set or vector
 *    (a JSON array) becomes its elements joined by `,`, as the TSV form writes them.
 */
import { createInterface } from "node:readline";
import { NetsecError, showValue } from "../core/errors.ts";
import {
  dedupeHeader,
  openStream,
  type RawBatch,
  type RawTable,
  type RawValue,
  refLabel,
  type SourceRef,
} from "./readers.ts";
import type { DatasetSchema } from "./schema.ts";

/** Zeek's defaults, used until (and unless) the header says otherwise. */
const DEFAULTS = { separator: "\t", setSeparator: ",", emptyField: "(empty)", unsetField: "-" };

/** `\x09` → tab: Zeek hex-escapes the separator (and non-printable bytes) in header lines and values. */
function unescapeZeek(s: string): string {
  return s.includes("\\x")
    ? s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    : s;
}

export async function readZeek(
  ref: SourceRef,
  schema: DatasetSchema | undefined,
  batchSize: number,
): Promise<RawTable> {
  const label = refLabel(ref);
  const stream = await openStream(ref);
  const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  const lines = rl[Symbol.asyncIterator]();
  let line = 0;
  const next = async (): Promise<string | null> => {
    for (;;) {
      const r = await lines.next();
      if (r.done) return null;
      line++;
      if (r.value.trim() !== "") return r.value;
    }
  };
  const close = (): void => {
    rl.close();
    stream.destroy();
  };
  const first = await next();
  if (first === null) {
    close();
    throw new NetsecError("PARSE_ERROR", `${label} is empty`, { file: label });
  }
  const start = first.trimStart()[0];
  try {
    if (start === "#") return await zeekTsv(label, first, next, () => line, close, batchSize);
    if (start === "{") return zeekJson(label, first, next, () => line, close, schema, batchSize);
  } catch (e) {
    close();
    throw e;
  }
  close();
  throw new NetsecError(
    "PARSE_ERROR",
    `${label}, line ${line}: not a Zeek log (neither a "#separator" header nor a JSON object): ${showValue(first)}`,
    { file: label, row: 0, value: first.slice(0, 80) },
  );
}

async function zeekTsv(
  label: string,
  first: string,
  next: () => Promise<string | null>,
  lineNo: () => number,
  close: () => void,
  batchSize: number,
): Promise<RawTable> {
  const meta = { ...DEFAULTS };
  let fields: string[] | null = null;
  let types: string[] | null = null;
  // header lines up to the first record; `#separator` is space-separated, the rest by the separator
  let pending: string | null = first;
  while (pending?.startsWith("#")) {
    const text = pending;
    if (text.startsWith("#separator")) meta.separator = unescapeZeek(text.slice("#separator".length).trim());
    else {
      const [key, ...rest] = text.slice(1).split(meta.separator);
      const values = rest.map(unescapeZeek);
      if (key === "set_separator") meta.setSeparator = values[0] ?? meta.setSeparator;
      else if (key === "empty_field") meta.emptyField = values[0] ?? meta.emptyField;
      else if (key === "unset_field") meta.unsetField = values[0] ?? meta.unsetField;
      else if (key === "fields") fields = values;
      else if (key === "types") types = values;
    }
    pending = await next();
  }
  if (!fields) {
    throw new NetsecError("PARSE_ERROR", `${label}: a Zeek TSV log needs a "#fields" header line`, {
      file: label,
    });
  }
  if (types && types.length !== fields.length) {
    throw new NetsecError(
      "PARSE_ERROR",
      `${label}: "#types" names ${types.length} types for ${fields.length} "#fields"`,
      { file: label, expected: fields.length, found: types.length },
    );
  }
  const { header, renamed } = dedupeHeader(fields);
  const width = header.length;
  const isBool = header.map((_, i) => types?.[i] === "bool");
  const fieldNames = fields;
  const cell = (v: string, i: number): RawValue => {
    if (v === meta.unsetField) return null;
    if (v === meta.emptyField) return "";
    if (isBool[i]) return v === "T" ? true : v === "F" ? false : v;
    return unescapeZeek(v);
  };
  async function* batches(): AsyncGenerator<RawBatch> {
    let row = 0;
    let rows: RawValue[][] = [];
    let firstRow = 1;
    try {
      for (let text = pending; text !== null; text = await next()) {
        if (text.startsWith("#")) {
          // `#close`, or the header of a concatenated log: only a different `#fields` is a problem
          const again = text.startsWith("#fields")
            ? text.split(meta.separator).slice(1).map(unescapeZeek)
            : null;
          if (again && again.join("\n") !== fieldNames.join("\n")) {
            throw new NetsecError(
              "PARSE_ERROR",
              `${label}, line ${lineNo()}: a second "#fields" header differs from the first (concatenated logs must share their fields)`,
              { file: label, row: row + 1, value: text.slice(0, 200) },
            );
          }
          continue;
        }
        row++;
        const rec = text.split(meta.separator);
        if (rec.length !== width) {
          throw new NetsecError(
            "PARSE_ERROR",
            `${label}, row ${row} (line ${lineNo()}): expected ${width} fields, found ${rec.length} (truncated or malformed row ${showValue(text)})`,
            { file: label, row, expected: width, found: rec.length },
          );
        }
        rows.push(rec.map(cell));
        if (rows.length >= batchSize) {
          yield { firstRow, rows };
          rows = [];
          firstRow = row + 1;
        }
      }
      if (rows.length > 0) yield { firstRow, rows };
    } finally {
      close();
    }
  }
  return { label, format: "zeek", header, ...(renamed.length ? { renamed } : {}), batches: batches() };
}

function zeekJson(
  label: string,
  first: string,
  next: () => Promise<string | null>,
  lineNo: () => number,
  close: () => void,
  schema: DatasetSchema | undefined,
  batchSize: number,
): RawTable {
  const parse = (text: string, row: number): Record<string, unknown> => {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new NetsecError(
        "PARSE_ERROR",
        `${label}, row ${row} (line ${lineNo()}): invalid JSON: ${(e as Error).message}`,
        { file: label, row, value: text.slice(0, 80) },
      );
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      throw new NetsecError(
        "PARSE_ERROR",
        `${label}, row ${row} (line ${lineNo()}): expected a JSON object`,
        {
          file: label,
          row,
          value: text.slice(0, 80),
        },
      );
    }
    return v as Record<string, unknown>;
  };
  const firstObj = parse(first.trim(), 1);
  const header = [...(schema?.columnNames ?? [])];
  for (const k of Object.keys(firstObj)) if (!header.includes(k)) header.push(k);
  const index = new Map(header.map((h, i) => [h, i]));
  const toRow = (o: Record<string, unknown>, row: number): RawValue[] => {
    const out: RawValue[] = new Array(header.length).fill(null);
    for (const [k, v] of Object.entries(o)) {
      const i = index.get(k);
      if (i === undefined) {
        throw new NetsecError(
          "PARSE_ERROR",
          `${label}, row ${row}, column ${k}: a field that is neither in the schema nor in the first record (give --schema naming every field the log may carry)`,
          { file: label, row, column: k, value: showValue(JSON.stringify(v)) },
        );
      }
      if (Array.isArray(v) && v.every((x) => x === null || typeof x !== "object")) out[i] = v.join(",");
      else if (v !== null && typeof v === "object") {
        throw new NetsecError(
          "PARSE_ERROR",
          `${label}, row ${row}, column ${k}: nested value ${showValue(JSON.stringify(v))}`,
          { file: label, row, column: k },
        );
      } else out[i] = v as RawValue;
    }
    return out;
  };
  async function* batches(): AsyncGenerator<RawBatch> {
    let row = 1;
    let rows: RawValue[][] = [toRow(firstObj, 1)];
    let firstRow = 1;
    try {
      for (let text = await next(); text !== null; text = await next()) {
        row++;
        rows.push(toRow(parse(text.trim(), row), row));
        if (rows.length >= batchSize) {
          yield { firstRow, rows };
          rows = [];
          firstRow = row + 1;
        }
      }
      if (rows.length > 0) yield { firstRow, rows };
    } finally {
      close();
    }
  }
  return { label, format: "zeek", header, batches: batches() };
}
