/**
 * Readers for the file formats netsec ingests: CSV/TSV with a header, JSON Lines, ARFF, Zeek logs
 * (zeek-reader.ts), Parquet
 * (through DuckDB, store/duckdb/parquet.ts), and headerless CSV whose column order comes from the
 * schema (the NSL-KDD `.txt` layout). A zip member is read as a
 * stream straight from the archive, never unpacked to disk.
 *
 * Every reader yields batches of rows as arrays of raw values aligned with `header`, with the 1-based
 * data row number of the first row in the batch, so later checks can name file, row and column.
 * Structural problems (unreadable file, ragged rows, bad ARFF header, invalid JSON) throw a NetsecError
 * naming the file, row and value.
 */
import { createReadStream, statSync } from "node:fs";
import { basename, extname } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { parse as csvParse } from "csv-parse";
import yauzl from "yauzl";
import { NetsecError, showValue } from "../core/errors.ts";
import type { DatasetSchema } from "./schema.ts";
import { readZeek } from "./zeek-reader.ts";

export type RawValue = string | number | boolean | null;

/**
 * The tabular formats netsec reads (`txt`: headerless CSV in schema column order; `zeek`: a Zeek log,
 * TSV or JSON lines).
 */
export const FILE_FORMATS = ["csv", "tsv", "jsonl", "arff", "txt", "parquet", "zeek"] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

/** A `--format` value from the command line: a known format, or a CONFIG_INVALID naming the choices. */
export function parseFileFormat(value: string | undefined): FileFormat | undefined {
  if (value === undefined) return undefined;
  const known = FILE_FORMATS.find((f) => f === value.toLowerCase());
  if (known) return known;
  throw new NetsecError(
    "CONFIG_INVALID",
    `--format must be one of ${FILE_FORMATS.join(", ")} (txt: headerless, schema column order); got ${JSON.stringify(value)}`,
    { value, allowed: [...FILE_FORMATS] },
  );
}

/** A file on disk, or a member of a zip archive on disk. */
export interface SourceRef {
  path: string;
  member?: string;
}

export interface RawBatch {
  /** 1-based data row number of rows[0]. */
  firstRow: number;
  rows: RawValue[][];
}

export interface RawTable {
  /** Display name for messages: path, or `archive.zip!member`. */
  label: string;
  format: FileFormat;
  /** Column names as the schema sees them: trimmed, a repeated name renamed (see dedupeHeader). */
  header: string[];
  /** Header names the reader renamed because the file repeats them (none when absent). */
  renamed?: HeaderRename[];
  batches: AsyncIterable<RawBatch>;
}

/** A repeated header name and what it became: `column` is 1-based. */
export interface HeaderRename {
  column: number;
  name: string;
  as: string;
}

/**
 * Make header names unique the way every reader (and `netsec schema infer`) does: the k-th
 * occurrence (k ≥ 2) of a name X becomes `X_k` (CIC-IDS2017's second `Fwd Header Length` is
 * `Fwd Header Length_2`); when `X_k` is itself a name in the header, k counts on until it is free.
 */
export function dedupeHeader(names: readonly string[]): { header: string[]; renamed: HeaderRename[] } {
  const taken = new Set(names);
  const seen = new Map<string, number>();
  const renamed: HeaderRename[] = [];
  const header = names.map((name, i) => {
    const k = (seen.get(name) ?? 0) + 1;
    seen.set(name, k);
    if (k === 1) return name;
    let n = k;
    while (taken.has(`${name}_${n}`)) n++;
    const as = `${name}_${n}`;
    taken.add(as);
    renamed.push({ column: i + 1, name, as });
    return as;
  });
  return { header, renamed };
}

export function refLabel(ref: SourceRef): string {
  return ref.member ? `${ref.path}!${ref.member}` : ref.path;
}

/** Guess the format from a file name. `.txt` means headerless CSV in schema column order. */
export function formatFromName(name: string): FileFormat {
  const ext = extname(name).toLowerCase();
  switch (ext) {
    case ".csv":
      return "csv";
    case ".tsv":
    case ".tab":
      return "tsv";
    case ".jsonl":
    case ".ndjson":
      return "jsonl";
    case ".arff":
      return "arff";
    case ".txt":
      return "txt";
    case ".parquet":
    case ".pq":
      return "parquet";
    case ".log":
      return "zeek";
    default:
      throw new NetsecError(
        "FILE_UNREADABLE",
        `${name}: cannot tell the format from the extension ${JSON.stringify(ext)}; use csv, tsv, jsonl, arff, parquet, log (a Zeek log) or txt (headerless, schema column order)`,
        { file: name },
      );
  }
}

/** Open a byte stream for a file or a zip member. */
export async function openStream(ref: SourceRef): Promise<Readable> {
  if (!ref.member) {
    try {
      const st = statSync(ref.path);
      if (!st.isFile()) throw new Error("not a regular file");
    } catch (e) {
      throw new NetsecError(
        "FILE_UNREADABLE",
        `cannot read ${ref.path}: ${(e as Error).message}`,
        { file: ref.path },
        {
          cause: e,
        },
      );
    }
    return createReadStream(ref.path);
  }
  const member = ref.member;
  return new Promise<Readable>((resolvePromise, reject) => {
    const fail = (e: unknown): void =>
      reject(
        new NetsecError(
          "FILE_UNREADABLE",
          `cannot read ${member} from ${ref.path}: ${(e as Error).message}`,
          { file: refLabel(ref) },
          { cause: e },
        ),
      );
    yauzl.open(ref.path, { lazyEntries: true, autoClose: true }, (err, zip) => {
      if (err || !zip) return fail(err ?? new Error("cannot open zip"));
      let found = false;
      zip.on("entry", (entry: yauzl.Entry) => {
        if (entry.fileName === member || basename(entry.fileName) === member) {
          found = true;
          zip.openReadStream(entry, (e2, stream) => {
            if (e2 || !stream) return fail(e2 ?? new Error("cannot open member"));
            resolvePromise(stream);
          });
        } else zip.readEntry();
      });
      zip.on("end", () => {
        if (!found) fail(new Error(`no member named ${JSON.stringify(member)} in the archive`));
      });
      zip.on("error", fail);
      zip.readEntry();
    });
  });
}

export interface ReadOptions {
  format?: FileFormat;
  /** Needed for headerless `txt` files (column order) and used to type JSONL keys. */
  schema?: DatasetSchema;
  batchSize?: number;
}

/** Open a raw table. The header is read eagerly; rows stream in batches. */
export async function readTable(ref: SourceRef, opts: ReadOptions = {}): Promise<RawTable> {
  const label = refLabel(ref);
  const format = opts.format ?? formatFromName(ref.member ?? ref.path);
  const batchSize = opts.batchSize ?? 5000;
  switch (format) {
    case "csv":
    case "tsv":
      return readDelimited(ref, label, format, format === "tsv" ? "\t" : ",", true, undefined, batchSize);
    case "txt": {
      if (!opts.schema) {
        throw new NetsecError(
          "SCHEMA_INVALID",
          `${label}: a headerless file needs a schema for its column order`,
          {
            file: label,
          },
        );
      }
      return readDelimited(ref, label, format, ",", false, opts.schema.columnNames, batchSize);
    }
    case "jsonl":
      return readJsonl(ref, label, batchSize);
    case "arff":
      return readArff(ref, label, batchSize);
    case "zeek":
      return readZeek(ref, opts.schema, batchSize);
    case "parquet": {
      if (ref.member) {
        throw new NetsecError(
          "FILE_UNREADABLE",
          `${label}: a Parquet file is read from disk, not from inside a zip archive; unpack it first`,
          { file: label },
        );
      }
      // loaded on first use: the DuckDB engine is not needed to read the text formats
      const { readParquetRows } = await import("../store/duckdb/parquet.ts");
      const file = await readParquetRows(ref.path, label, batchSize);
      const { header, renamed } = dedupeHeader(file.names.map((h) => h.trim()));
      return { label, format, header, ...(renamed.length ? { renamed } : {}), batches: file.batches };
    }
  }
}

async function readDelimited(
  ref: SourceRef,
  label: string,
  format: FileFormat,
  delimiter: string,
  hasHeader: boolean,
  fixedHeader: string[] | undefined,
  batchSize: number,
): Promise<RawTable> {
  const stream = await openStream(ref);
  const parser = stream.pipe(
    csvParse({
      delimiter,
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      relax_quotes: false,
    }),
  );
  stream.on("error", (e) => parser.destroy(e));
  const it = parser[Symbol.asyncIterator]() as AsyncIterator<string[]>;
  let header: string[];
  let renamed: HeaderRename[] = [];
  let pending: string[] | null = null;
  const first = await nextRecord(it, label, 0);
  if (first === null) {
    throw new NetsecError("PARSE_ERROR", `${label} is empty`, { file: label });
  }
  if (hasHeader) {
    checkHeader(
      first.map((h) => h.trim()),
      label,
      delimiter,
    );
    ({ header, renamed } = dedupeHeader(first.map((h) => h.trim())));
  } else {
    header = fixedHeader!;
    pending = first;
  }
  const width = header.length;
  async function* batches(): AsyncGenerator<RawBatch> {
    let row = 0;
    let rows: RawValue[][] = [];
    let firstRow = 1;
    const take = (rec: string[]): void => {
      row++;
      if (rec.length !== width) {
        const hint =
          rec.length === 1 && width > 1 && delimiter === "," && /[;\t|]/.test(rec[0] ?? "")
            ? " (wrong delimiter? the row contains ';', tab or '|')"
            : "";
        throw new NetsecError(
          "PARSE_ERROR",
          `${label}, row ${row}: expected ${width} fields, found ${rec.length}${hint} (truncated or malformed row ${showValue(rec.join(delimiter))})`,
          { file: label, row, expected: width, found: rec.length },
        );
      }
      rows.push(rec.map(emptyToNull));
      if (rows.length >= batchSize) {
        const out = { firstRow, rows };
        rows = [];
        firstRow = row + 1;
        batch = out;
      }
    };
    let batch: RawBatch | null = null;
    try {
      if (pending) {
        take(pending);
        if (batch) {
          yield batch;
          batch = null;
        }
      }
      for (;;) {
        const rec = await nextRecord(it, label, row);
        if (rec === null) break;
        take(rec);
        if (batch) {
          yield batch;
          batch = null;
        }
      }
      if (rows.length > 0) yield { firstRow, rows };
    } finally {
      parser.destroy();
      stream.destroy();
    }
  }
  return { label, format, header, renamed, batches: batches() };
}

async function nextRecord(
  it: AsyncIterator<string[]>,
  label: string,
  rowsSoFar: number,
): Promise<string[] | null> {
  try {
    const r = await it.next();
    return r.done ? null : r.value;
  } catch (e) {
    if (e instanceof NetsecError) throw e;
    const err = e as Error & { code?: string; lines?: number };
    const where = err.lines !== undefined ? `line ${err.lines}` : `after row ${rowsSoFar}`;
    const quoteDelim = /Invalid Closing Quote: got "([;|\t])"/.exec(err.message);
    if (quoteDelim) {
      throw new NetsecError(
        "PARSE_ERROR",
        `${label}, ${where}: the file seems delimited by ${JSON.stringify(quoteDelim[1])}, not "," (${err.message})`,
        { file: label, row: rowsSoFar + 1 },
        { cause: e },
      );
    }
    throw new NetsecError(
      "PARSE_ERROR",
      `${label}, ${where}: ${err.message}`,
      { file: label, row: rowsSoFar + 1 },
      {
        cause: e,
      },
    );
  }
}

function emptyToNull(v: string): RawValue {
  return v === "" ? null : v;
}

function checkHeader(header: string[], label: string, delimiter: string): void {
  for (let i = 0; i < header.length; i++) {
    if (header[i] === "") {
      throw new NetsecError("PARSE_ERROR", `${label}: header column ${i + 1} is empty`, {
        file: label,
        column: `#${i + 1}`,
      });
    }
  }
  if (header.length === 1 && delimiter === ",") {
    const d = [";", "\t", "|"].find((c) => header[0]!.includes(c));
    if (d) {
      throw new NetsecError(
        "PARSE_ERROR",
        `${label}: the header is one column ${showValue(header[0])}; the file seems delimited by ${JSON.stringify(d)}, not ","`,
        { file: label, row: 0, value: header[0] },
      );
    }
  }
}

async function readJsonl(ref: SourceRef, label: string, batchSize: number): Promise<RawTable> {
  const stream = await openStream(ref);
  const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  const lines = rl[Symbol.asyncIterator]();
  let line = 0;
  const parseLine = (text: string, row: number): Record<string, unknown> => {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new NetsecError(
        "PARSE_ERROR",
        `${label}, row ${row} (line ${line}): invalid JSON: ${(e as Error).message}`,
        {
          file: label,
          row,
          value: text.slice(0, 80),
        },
      );
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      throw new NetsecError("PARSE_ERROR", `${label}, row ${row} (line ${line}): expected a JSON object`, {
        file: label,
        row,
        value: text.slice(0, 80),
      });
    }
    return v as Record<string, unknown>;
  };
  const nextObj = async (row: number): Promise<Record<string, unknown> | null> => {
    for (;;) {
      const r = await lines.next();
      if (r.done) return null;
      line++;
      const t = r.value.trim();
      if (t === "") continue;
      return parseLine(t, row);
    }
  };
  const first = await nextObj(1);
  if (!first) throw new NetsecError("PARSE_ERROR", `${label} is empty`, { file: label });
  const header = Object.keys(first);
  const index = new Map(header.map((h, i) => [h, i]));
  const toRow = (o: Record<string, unknown>, row: number): RawValue[] => {
    const out: RawValue[] = new Array(header.length).fill(null);
    for (const [k, v] of Object.entries(o)) {
      const i = index.get(k);
      if (i === undefined) {
        throw new NetsecError(
          "PARSE_ERROR",
          `${label}, row ${row}: key ${JSON.stringify(k)} is not in the first record's keys (${header.join(", ")})`,
          { file: label, row, column: k },
        );
      }
      if (v !== null && typeof v === "object") {
        throw new NetsecError(
          "PARSE_ERROR",
          `${label}, row ${row}, column ${k}: nested value ${showValue(JSON.stringify(v))}`,
          {
            file: label,
            row,
            column: k,
          },
        );
      }
      out[i] = v as RawValue;
    }
    return out;
  };
  async function* batches(): AsyncGenerator<RawBatch> {
    let row = 1;
    let rows: RawValue[][] = [toRow(first!, 1)];
    let firstRow = 1;
    try {
      for (;;) {
        const o = await nextObj(row + 1);
        if (!o) break;
        row++;
        rows.push(toRow(o, row));
        if (rows.length >= batchSize) {
          yield { firstRow, rows };
          rows = [];
          firstRow = row + 1;
        }
      }
      if (rows.length > 0) yield { firstRow, rows };
    } finally {
      rl.close();
      stream.destroy();
    }
  }
  return { label, format: "jsonl", header, batches: batches() };
}

/** ARFF (Weka): `@attribute name type` lines then `@data` and CSV rows; `?` is missing; `%` comments. */
async function readArff(ref: SourceRef, label: string, batchSize: number): Promise<RawTable> {
  const stream = await openStream(ref);
  const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  const lines = rl[Symbol.asyncIterator]();
  const header: string[] = [];
  let line = 0;
  let inData = false;
  while (!inData) {
    const r = await lines.next();
    if (r.done) break;
    line++;
    const t = r.value.trim();
    if (t === "" || t.startsWith("%")) continue;
    const lower = t.toLowerCase();
    if (lower.startsWith("@relation")) continue;
    if (lower.startsWith("@attribute")) {
      const m = /^@attribute\s+('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S+)\s+(.+)$/i.exec(t);
      if (!m) {
        throw new NetsecError("PARSE_ERROR", `${label}, line ${line}: malformed @attribute ${showValue(t)}`, {
          file: label,
          value: t,
        });
      }
      header.push(m[1]!.replace(/^['"]|['"]$/g, ""));
      continue;
    }
    if (lower.startsWith("@data")) {
      inData = true;
      break;
    }
    throw new NetsecError(
      "PARSE_ERROR",
      `${label}, line ${line}: unexpected line before @data: ${showValue(t)}`,
      {
        file: label,
        value: t,
      },
    );
  }
  if (!inData || header.length === 0) {
    rl.close();
    stream.destroy();
    throw new NetsecError("PARSE_ERROR", `${label}: not an ARFF file (no @attribute/@data section)`, {
      file: label,
    });
  }
  const { header: names, renamed } = dedupeHeader(header);
  const width = names.length;
  async function* batches(): AsyncGenerator<RawBatch> {
    let row = 0;
    let rows: RawValue[][] = [];
    let firstRow = 1;
    try {
      for (;;) {
        const r = await lines.next();
        if (r.done) break;
        line++;
        const t = r.value.trim();
        if (t === "" || t.startsWith("%")) continue;
        row++;
        if (t.startsWith("{")) {
          throw new NetsecError("PARSE_ERROR", `${label}, row ${row}: sparse ARFF rows are not supported`, {
            file: label,
            row,
          });
        }
        const fields = splitArffRow(t);
        if (fields.length !== width) {
          throw new NetsecError(
            "PARSE_ERROR",
            `${label}, row ${row}: expected ${width} fields, found ${fields.length} (truncated or malformed row ${showValue(t)})`,
            { file: label, row, expected: width, found: fields.length },
          );
        }
        rows.push(fields.map((f) => (f === "?" || f === "" ? null : f)));
        if (rows.length >= batchSize) {
          yield { firstRow, rows };
          rows = [];
          firstRow = row + 1;
        }
      }
      if (rows.length > 0) yield { firstRow, rows };
    } finally {
      rl.close();
      stream.destroy();
    }
  }
  return { label, format: "arff", header: names, renamed, batches: batches() };
}

function splitArffRow(t: string): string[] {
  if (!t.includes("'") && !t.includes('"')) return t.split(",").map((s) => s.trim());
  const out: string[] = [];
  let cur = "";
  let quote: string | null = null;
  for (let i = 0; i < t.length; i++) {
    const ch = t[i]!;
    if (quote) {
      if (ch === "\\" && i + 1 < t.length) cur += t[++i];
      else if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === ",") {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/** Read a whole table into memory (tests, small files). */
export async function readAllRows(table: RawTable): Promise<RawValue[][]> {
  const out: RawValue[][] = [];
  for await (const b of table.batches) for (const r of b.rows) out.push(r);
  return out;
}
