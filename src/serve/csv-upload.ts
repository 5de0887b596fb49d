/**
 * Reading an uploaded CSV as a stream, against the model's schema, with hard limits:
 *
 *   bytes ─▶ count (maxBytes) ─▶ strict UTF-8 decode ─▶ csv-parse (maxRowChars) ─▶ header check ─▶
 *   rows (maxRows) ─▶ coerceCell per input column ─▶ FrameBuilder
 *
 * Nothing is buffered beyond the current chunk and the growing columnar Frame (8 bytes per numeric
 * cell), plus the raw strings of the few columns that are not model inputs (ids, metadata, the target
 * when present) so that the CSV output can repeat them. Every problem names the row (1-based data
 * row), the column and the value; cell problems are all counted and the first 50 listed.
 */
import type { Readable } from "node:stream";
import { parse as csvParse } from "csv-parse";
import { NetsecError, showValue } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import { allowedSet, coerceCell, type TypedValue } from "../datasets/coerce.ts";
import { FrameBuilder } from "../datasets/frame-builder.ts";
import { type CellProblem, checkHeaderAgainstSchema, headerError } from "../datasets/load.ts";
import type { ColumnSpec, DatasetSchema } from "../datasets/schema.ts";

export interface UploadLimits {
  /** Bytes of the CSV file. */
  maxBytes: number;
  /** Data rows. */
  maxRows: number;
  /** Characters of one CSV record (the header included). */
  maxRowChars: number;
}

export interface ParsedUpload {
  header: string[];
  /** Model input columns, typed. */
  frame: Frame;
  /** Raw values of the file's other columns (by name), for the output. */
  extras: Map<string, (string | null)[]>;
  rows: number;
  bytes: number;
}

const MAX_LISTED = 50;

function mib(n: number): string {
  return n >= 1024 * 1024
    ? `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`
    : `${n} bytes`;
}

/**
 * Yield decoded text from a byte stream, counting bytes and refusing invalid UTF-8 or NUL bytes (a
 * binary file is not a CSV). Positions in messages are 1-based lines of the file.
 */
async function* decodeStrict(
  source: AsyncIterable<Buffer | string>,
  label: string,
  limits: UploadLimits,
  counter: { bytes: number },
): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = 1;
  for await (const chunk of guardSource(source, label)) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    counter.bytes += buf.length;
    if (counter.bytes > limits.maxBytes) {
      throw new NetsecError(
        "PAYLOAD_TOO_LARGE",
        `${label} is larger than the upload limit of ${mib(limits.maxBytes)}`,
        {
          file: label,
          limit: "maxBytes",
          max: limits.maxBytes,
        },
      );
    }
    let text: string;
    try {
      text = decoder.decode(buf, { stream: true });
    } catch {
      // locate the first bad byte: a lenient decode of this chunk marks it with U+FFFD
      const lenient = new TextDecoder("utf-8").decode(buf);
      const at = lenient.indexOf("\uFFFD");
      const l = line + countNewlines(lenient, Math.max(at, 0));
      throw new NetsecError(
        "PARSE_ERROR",
        `${label}, line ${l}: the file is not valid UTF-8 text (save it as UTF-8 CSV)`,
        {
          file: label,
          line: l,
          encoding: "utf-8",
        },
      );
    }
    const nul = text.indexOf("\u0000");
    if (nul >= 0) {
      const l = line + countNewlines(text, nul);
      throw new NetsecError(
        "UNSUPPORTED_MEDIA_TYPE",
        `${label}, line ${l}: contains a NUL byte; this is a binary file, not a CSV`,
        {
          file: label,
          line: l,
        },
      );
    }
    line += countNewlines(text, text.length);
    if (text) yield text;
  }
  try {
    const rest = decoder.decode();
    if (rest) yield rest;
  } catch {
    throw new NetsecError(
      "PARSE_ERROR",
      `${label}, line ${line}: the file ends inside a UTF-8 character (not valid UTF-8)`,
      {
        file: label,
        line,
        encoding: "utf-8",
      },
    );
  }
}

/** Errors of the transport (a truncated multipart body, a dropped connection) as 4xx naming the upload. */
async function* guardSource(
  source: AsyncIterable<Buffer | string>,
  label: string,
): AsyncGenerator<Buffer | string> {
  const it = source[Symbol.asyncIterator]();
  for (;;) {
    let r: IteratorResult<Buffer | string>;
    try {
      r = await it.next();
    } catch (e) {
      if (e instanceof NetsecError) throw e;
      const err = e as Error & { statusCode?: number };
      if (err.statusCode === 413) {
        throw new NetsecError("PAYLOAD_TOO_LARGE", `${label} is larger than the upload limit`, {
          file: label,
          limit: "maxBytes",
        });
      }
      throw new NetsecError(
        "PARSE_ERROR",
        `${label}: the upload ended early or is malformed (${err.message})`,
        { file: label },
      );
    }
    if (r.done) return;
    yield r.value;
  }
}

function countNewlines(s: string, end: number): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i >= 0 && i < end; i = s.indexOf("\n", i + 1)) n++;
  return n;
}

function wrapCsvError(e: unknown, label: string, rows: number, limits: UploadLimits): NetsecError {
  if (e instanceof NetsecError) return e;
  const err = e as Error & { code?: string; lines?: number };
  if (err.code === "CSV_MAX_RECORD_SIZE") {
    // csv-parse reads ahead of the rows handed out; its line count (header = line 1) is exact
    const row = err.lines !== undefined ? Math.max(err.lines - 1, 0) : rows + 1;
    const what = row === 0 ? "the header" : `row ${row}`;
    return new NetsecError(
      "PAYLOAD_TOO_LARGE",
      `${label}, ${what}: longer than the limit of ${limits.maxRowChars} characters per row`,
      { file: label, row, limit: "maxRowChars", max: limits.maxRowChars },
    );
  }
  const where = err.lines !== undefined ? `line ${err.lines}` : `after row ${rows}`;
  return new NetsecError(
    "PARSE_ERROR",
    `${label}, ${where}: malformed CSV: ${err.message}`,
    { file: label, row: rows + 1 },
    { cause: e },
  );
}

/**
 * Parse an uploaded CSV. `inputColumns` are the model's input columns (all must be in the header);
 * other schema columns are carried as raw strings; columns unknown to the schema are refused.
 * Throws NetsecError (4xx) for every user mistake; the caller must drain `source` on error.
 */
export async function readCsvUpload(
  source: Readable | AsyncIterable<Buffer | string>,
  label: string,
  schema: DatasetSchema,
  inputColumns: readonly string[],
  limits: UploadLimits,
): Promise<ParsedUpload> {
  const counter = { bytes: 0 };
  // a Readable's own iterator would destroy it on an early exit; the caller drains it instead
  const chunks: AsyncIterable<Buffer | string> =
    "iterator" in source && typeof source.iterator === "function"
      ? source.iterator({ destroyOnReturn: false })
      : source;
  const text = decodeStrict(chunks, label, limits, counter);
  const parser = csvParse({
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    trim: true,
    max_record_size: limits.maxRowChars,
  });
  // feed the parser by hand so a decoding error reaches the reader as that error
  const feed = (async () => {
    try {
      for await (const t of text) {
        if (parser.destroyed) return;
        if (!parser.write(t)) {
          await new Promise<void>((r) => {
            parser.once("drain", r);
            parser.once("close", r);
          });
        }
      }
      parser.end();
    } catch (e) {
      parser.destroy(e as Error);
    }
  })();
  let rows = 0;
  try {
    const it = parser[Symbol.asyncIterator]() as AsyncIterator<string[]>;
    const next = async (): Promise<string[] | null> => {
      try {
        const r = await it.next();
        return r.done ? null : r.value;
      } catch (e) {
        throw wrapCsvError(e, label, rows, limits);
      }
    };
    const first = await next();
    if (first === null) {
      throw new NetsecError("PARSE_ERROR", `${label} is empty: expected a header line and data rows`, {
        file: label,
        row: 0,
      });
    }
    const header = first.map((h) => h.trim());
    checkHeaderNames(header, label);
    const hc = checkHeaderAgainstSchema(header, schema, false);
    const missingInputs = inputColumns.filter((c) => !hc.index.has(c));
    for (const m of missingInputs) if (!hc.missing.includes(m)) hc.missing.push(m);
    if (hc.missing.length > 0 || hc.unknown.length > 0) throw headerError(label, hc, schema);

    const inputs: { spec: ColumnSpec; idx: number; allowed: Set<string> | null }[] = inputColumns.map(
      (name) => {
        const spec = schema.column(name)!;
        return { spec, idx: hc.index.get(name)!, allowed: allowedSet(spec) };
      },
    );
    const inputSet = new Set(inputColumns);
    const extraCols = header.map((h, i) => ({ name: h, idx: i })).filter((c) => !inputSet.has(c.name));
    const extras = new Map<string, (string | null)[]>(extraCols.map((c) => [c.name, []]));
    const fb = new FrameBuilder(schema, inputColumns);
    const problems: CellProblem[] = [];
    let problemCount = 0;
    const width = header.length;
    const rec: Record<string, TypedValue> = {};
    for (;;) {
      const r = await next();
      if (r === null) break;
      rows++;
      if (rows > limits.maxRows) {
        throw new NetsecError(
          "PAYLOAD_TOO_LARGE",
          `${label} has more than the limit of ${limits.maxRows} data rows`,
          {
            file: label,
            row: rows,
            limit: "maxRows",
            max: limits.maxRows,
          },
        );
      }
      if (r.length !== width) {
        throw new NetsecError(
          "PARSE_ERROR",
          `${label}, row ${rows}: expected ${width} fields like the header, found ${r.length} (${showValue(r.join(","))})`,
          { file: label, row: rows, expected: width, found: r.length },
        );
      }
      for (const c of inputs) {
        const raw = r[c.idx]!;
        const chk = coerceCell(raw === "" ? null : raw, c.spec, c.allowed);
        if (chk.problem) {
          problemCount++;
          if (problems.length < MAX_LISTED) {
            problems.push({
              file: label,
              row: rows,
              column: c.spec.name,
              value: raw,
              kind: chk.problem,
              message: chk.message ?? chk.problem,
            });
          }
        }
        rec[c.spec.name] = chk.value;
      }
      if (problemCount === 0) {
        fb.push(rec);
        for (const c of extraCols) extras.get(c.name)!.push(r[c.idx] === "" ? null : r[c.idx]!);
      }
    }
    if (problemCount > 0) throw cellProblemsError(label, problems, problemCount);
    if (rows === 0) {
      throw new NetsecError("PARSE_ERROR", `${label} has a header but no data rows`, { file: label, row: 0 });
    }
    return { header, frame: fb.build(), extras, rows, bytes: counter.bytes };
  } finally {
    if (!parser.destroyed) parser.destroy();
    // not awaited: on an early error the feeder may still be waiting for the client's next chunk
    feed.catch(() => undefined);
  }
}

function checkHeaderNames(header: string[], label: string): void {
  const seen = new Set<string>();
  header.forEach((h, i) => {
    if (h === "") {
      throw new NetsecError("PARSE_ERROR", `${label}: header column ${i + 1} is empty`, {
        file: label,
        row: 0,
        column: `#${i + 1}`,
      });
    }
    if (seen.has(h)) {
      throw new NetsecError("PARSE_ERROR", `${label}: the header names column ${JSON.stringify(h)} twice`, {
        file: label,
        row: 0,
        column: h,
      });
    }
    seen.add(h);
  });
  if (header.length === 1) {
    const d = [";", "\t", "|"].find((c) => header[0]!.includes(c));
    if (d) {
      throw new NetsecError(
        "PARSE_ERROR",
        `${label}: the header is one column ${showValue(header[0])}; the file seems delimited by ${JSON.stringify(d)}, not ","`,
        {
          file: label,
          row: 0,
          value: header[0],
        },
      );
    }
  }
}

/** One 422 listing the first problems with row, column and value, and how many there are in all. */
export function cellProblemsError(label: string, problems: CellProblem[], total: number): NetsecError {
  const first = problems[0]!;
  const shown = problems
    .slice(0, 5)
    .map((p) => `row ${p.row}, column ${p.column}: ${showValue(p.value)} ${p.message}`);
  const more = total > shown.length ? ` (and ${total - shown.length} more)` : "";
  return new NetsecError(
    "SCHEMA_MISMATCH",
    `${label}: ${total} value(s) do not fit the schema: ${shown.join("; ")}${more}`,
    {
      file: label,
      row: first.row,
      column: first.column,
      value: first.value,
      total,
      problems: problems.map((p) => ({
        row: p.row,
        column: p.column,
        value: p.value,
        kind: p.kind,
        message: p.message,
      })),
    },
  );
}
