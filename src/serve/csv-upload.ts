/**
 * Reading an uploaded CSV as a stream, against the model's schema, with hard limits:
 *
 *   bytes ─▶ count (maxBytes) ─▶ strict UTF-8 decode ─▶ CsvTokenizer (maxRowChars) ─▶ header check ─▶
 *   rows (maxRows) ─▶ per input column: plain decimals read from the characters, anything else
 *   through coerceCell ─▶ FrameBuilder
 *
 * Only the model's input columns are required. The label (target) column, when present, is checked
 * against the schema like an input (its values kept for label metrics); every other column (ids,
 * metadata, columns the schema does not know) is passed through unread.
 *
 * Kept: the growing columnar Frame (8 bytes per numeric cell), the raw strings of the few columns
 * that are not model inputs (ids, metadata, the label when present), and each row's text, from
 * which the output CSV is made (the input rows as given, plus prediction and probability); a row with
 * a formula-like cell (core/spreadsheet-safe.ts) is rewritten with that cell neutralised. Every
 * problem names the row (1-based data row), the column and the value; cell problems are all counted
 * and the first 50 listed.
 */
import type { Readable } from "node:stream";
import { NetsecError, showValue } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import { isFormulaSpan, safeCsvCell } from "../core/spreadsheet-safe.ts";
import { allowedSet, coerceCell } from "../datasets/coerce.ts";
import {
  type CsvRecord,
  CsvSyntaxError,
  CsvTokenizer,
  fieldValue,
  isTrimmable,
  recordValues,
} from "../datasets/csv-tokenizer.ts";
import { FrameBuilder } from "../datasets/frame-builder.ts";
import { type CellProblem, headerError } from "../datasets/load.ts";
import { dedupeHeader } from "../datasets/readers.ts";
import type { ColumnSpec, DatasetSchema } from "../datasets/schema.ts";
import { scoringHeader } from "../datasets/scoring-input.ts";

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
  /** Each data row as it is in the file (without its line break), for the output CSV. */
  lines: string[];
  /** Model input columns, typed. */
  frame: Frame;
  /** Raw values of the file's other columns (by name, in header order), for the output. */
  extras: Map<string, (string | null)[]>;
  /** The label column's values (canonical text, null where empty), or null without a label column. */
  labels: (string | null)[] | null;
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
    if (counter.bytes > limits.maxBytes) throw tooLarge(label, limits);
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

/**
 * The whole upload as one buffer, refusing it (413, as readCsvUpload words it) once it passes
 * maxBytes: what a scoring thread then parses (readCsvUpload over [buffer]).
 */
export async function collectUpload(
  source: Readable | AsyncIterable<Buffer | string>,
  label: string,
  limits: UploadLimits,
): Promise<Buffer> {
  const chunks: AsyncIterable<Buffer | string> =
    "iterator" in source && typeof source.iterator === "function"
      ? source.iterator({ destroyOnReturn: false })
      : source;
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of guardSource(chunks, label)) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    bytes += buf.length;
    if (bytes > limits.maxBytes) throw tooLarge(label, limits);
    parts.push(buf);
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes);
}

function tooLarge(label: string, limits: UploadLimits): NetsecError {
  return new NetsecError(
    "PAYLOAD_TOO_LARGE",
    `${label} is larger than the upload limit of ${mib(limits.maxBytes)}`,
    {
      file: label,
      limit: "maxBytes",
      max: limits.maxBytes,
    },
  );
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

function wrapCsvError(e: unknown, label: string, limits: UploadLimits): NetsecError {
  if (e instanceof NetsecError) return e;
  if (!(e instanceof CsvSyntaxError)) throw e;
  if (e.code === "MAX_RECORD_SIZE") {
    // the header is record 0, so a data row's number is its record index
    const row = e.record;
    const what = row === 0 ? "the header" : `row ${row}`;
    return new NetsecError(
      "PAYLOAD_TOO_LARGE",
      `${label}, ${what}: longer than the limit of ${limits.maxRowChars} characters per row`,
      { file: label, row, line: e.line, limit: "maxRowChars", max: limits.maxRowChars },
    );
  }
  return new NetsecError(
    "PARSE_ERROR",
    `${label}, line ${e.line}: malformed CSV: ${e.message}`,
    { file: label, row: e.record, line: e.line },
    { cause: e },
  );
}

/** Powers of ten exactly representable as doubles (10^0 .. 10^22). */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * A plain decimal (optional sign, digits, optional point and digits, at most 15 digits) read straight
 * from the characters, or NaN for anything else (exponents, long mantissas, missing tokens, text): the
 * caller then takes the general path (coerceCell). m / 10^d with m < 2^53 and d <= 22 is correctly
 * rounded, so the value is exactly Number(text).
 */
export function plainDecimal(s: string, a: number, b: number): number {
  let i = a;
  let neg = false;
  let c = s.charCodeAt(i);
  if (c === 45) {
    neg = true;
    i++;
  } else if (c === 43) i++;
  let m = 0;
  let digits = 0;
  let frac = -1;
  for (; i < b; i++) {
    c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      if (frac >= 0) frac++;
    } else if (c === 46 && frac < 0) frac = 0;
    else return Number.NaN;
  }
  if (digits === 0 || digits > 15) return Number.NaN;
  const v = frac > 0 ? m / POW10[frac]! : m;
  return neg ? -v : v;
}

/** How one model input column is read: a numeric fast path where the schema allows it. */
interface InputPlan {
  spec: ColumnSpec;
  /** Position in the FrameBuilder. */
  j: number;
  /** Field index in the file. */
  idx: number;
  allowed: Set<string> | null;
  /** Numeric column whose checks the fast path can do (allowed values all numbers, if any). */
  fast: boolean;
  integer: boolean;
  allowedNum: Set<number> | null;
  /** allowedNum as a table when its values are small integers: allowedAt[v − allowedLo] = 1. */
  allowedAt: Uint8Array | null;
  allowedLo: number;
  min: number;
  max: number;
}

function inputPlan(spec: ColumnSpec, j: number, idx: number): InputPlan {
  const allowed = allowedSet(spec);
  const numeric = spec.type === "number" || spec.type === "integer";
  const allNumbers = !spec.values || spec.values.every((v) => typeof v === "number");
  const nums = numeric && allNumbers && spec.values ? (spec.values as number[]) : null;
  // small integer sets (flags, ternary features, codes): a table lookup instead of a hash lookup
  let allowedAt: Uint8Array | null = null;
  let allowedLo = 0;
  if (nums && nums.length > 0 && nums.every((v) => Number.isInteger(v))) {
    const lo = Math.min(...nums);
    const hi = Math.max(...nums);
    if (hi - lo < 4096) {
      allowedLo = lo;
      allowedAt = new Uint8Array(hi - lo + 1);
      for (const v of nums) allowedAt[v - lo] = 1;
    }
  }
  return {
    spec,
    j,
    idx,
    allowed,
    fast: numeric && allNumbers,
    integer: spec.type === "integer",
    allowedNum: nums ? new Set(nums) : null,
    allowedAt,
    allowedLo,
    min: spec.min ?? Number.NEGATIVE_INFINITY,
    max: spec.max ?? Number.POSITIVE_INFINITY,
  };
}

/** How the label column is read: checked against the schema, its values kept. */
interface LabelPlan {
  spec: ColumnSpec;
  idx: number;
  allowed: Set<string> | null;
  values: (string | null)[];
}

/** One label cell: its canonical text (null when empty), or the problem as coerceCell words it. */
function readLabel(
  raw: string,
  plan: LabelPlan,
): { value: string | null; problem?: CellProblem["kind"]; message?: string } {
  const chk = coerceCell(raw === "" ? null : raw, plan.spec, plan.allowed);
  if (!chk.problem) return { value: chk.value === null ? null : String(chk.value) };
  // a row without a label is an unlabelled row, never a problem
  if (chk.problem === "missing") return { value: null };
  return {
    value: null,
    problem: chk.problem === "not_allowed" ? "unknown_label" : chk.problem,
    message: chk.message ?? chk.problem,
  };
}

/** The header's checks (names, model inputs) and how each column is read; throws the 4xx. */
function headerPlan(
  h: string[],
  label: string,
  schema: DatasetSchema,
  inputColumns: readonly string[],
): {
  plans: InputPlan[];
  extraCols: { name: string; idx: number; values: (string | null)[] }[];
  labelPlan: LabelPlan | null;
} {
  checkHeaderNames(h, label);
  const hc = scoringHeader(h, schema, inputColumns);
  if (hc.missing.length > 0) throw headerError(label, hc, schema);
  const plans = inputColumns.map((name, j) => inputPlan(schema.column(name)!, j, hc.index.get(name)!));
  const inputSet = new Set(inputColumns);
  const extraCols = h.flatMap((name, idx) => (inputSet.has(name) ? [] : [{ name, idx, values: [] }]));
  const labelPlan: LabelPlan | null =
    hc.label === null
      ? null
      : {
          spec: schema.target,
          idx: hc.index.get(hc.label)!,
          allowed: allowedSet(schema.target),
          values: [],
        };
  return { plans, extraCols, labelPlan };
}

async function* once(bytes: Uint8Array): AsyncGenerator<Buffer> {
  yield Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * readCsvUpload for an upload already in memory, with the same answer, result or error. Most uploads
 * are plain: unquoted fields without surrounding whitespace, one line a row ending in \n or \r\n, as
 * many fields as the header, every value fitting the schema. Those are read in one pass over the text
 * (no tokenizer records, no callbacks); anything else, a problem included, goes to readCsvUpload, which
 * words every error (test/serve/csv-upload.test.ts checks both paths give the same on generated files).
 */
export function readCsvBytes(
  bytes: Uint8Array,
  label: string,
  schema: DatasetSchema,
  inputColumns: readonly string[],
  limits: UploadLimits,
): Promise<ParsedUpload> {
  const plain =
    bytes.length <= limits.maxBytes ? readPlain(bytes, label, schema, inputColumns, limits) : null;
  return plain ? Promise.resolve(plain) : readCsvUpload(once(bytes), label, schema, inputColumns, limits);
}

/** The plain upload's one pass (readCsvBytes), or null when the file is not plain or has a problem. */
export function readPlain(
  bytes: Uint8Array,
  label: string,
  schema: DatasetSchema,
  inputColumns: readonly string[],
  limits: UploadLimits,
): ParsedUpload | null {
  let text: string;
  try {
    // as decodeStrict: strict UTF-8, a leading byte-order mark dropped
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  // a NUL character is a 0 byte in UTF-8, and a 0 byte is nothing else
  if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(0) >= 0) return null;
  // the header: its first line, through the tokenizer (quoted names are common)
  const lf = text.indexOf("\n");
  if (lf < 0) return null;
  const headerText = text.slice(0, lf > 0 && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf);
  if (headerText.indexOf("\r") >= 0) return null;
  let header: string[] | null = null;
  let records = 0;
  let plans: InputPlan[];
  let extraCols: { name: string; idx: number; values: (string | null)[] }[];
  let labelPlan: LabelPlan | null;
  try {
    const tok = new CsvTokenizer((r) => {
      records++;
      header = dedupeHeader(recordValues(r)).header;
    }, limits.maxRowChars);
    tok.push(headerText);
    tok.end();
    if (records !== 1 || header === null) return null;
    ({ plans, extraCols, labelPlan } = headerPlan(header, label, schema, inputColumns));
  } catch {
    return null;
  }
  const labelIdx = labelPlan ? labelPlan.idx : -1;
  const width = (header as string[]).length;
  const planAt: (InputPlan | null)[] = new Array(width).fill(null);
  for (const c of plans) planAt[c.idx] = c;
  const extraAt: ((string | null)[] | null)[] = new Array(width).fill(null);
  for (const x of extraCols) extraAt[x.idx] = x.values;
  const fb = new FrameBuilder(schema, inputColumns);
  const lines: string[] = [];
  const len = text.length;
  const maxRows = limits.maxRows;
  const maxChars = limits.maxRowChars;
  let rows = 0;
  let p = lf + 1;
  while (p < len) {
    const recStart = p;
    if (++rows > maxRows) return null;
    const i = fb.addRow();
    let formula = false;
    for (let k = 0; k < width; k++) {
      const q = p;
      let c = 0;
      while (p < len) {
        c = text.charCodeAt(p);
        if (c === COMMA || c === LF || c === CR || c === QUOTE) break;
        p++;
      }
      if (p < len && c === QUOTE) return null;
      // as many fields as the header
      if (k === width - 1 ? p < len && c === COMMA : p >= len || c !== COMMA) return null;
      if (p > q && (trimmable(text.charCodeAt(q)) || trimmable(text.charCodeAt(p - 1)))) return null;
      if (!formula && isFormulaSpan(text, q, p)) formula = true;
      const plan = planAt[k]!;
      if (plan !== null) {
        // onRow's two paths, for an unquoted, trimmed field
        let done = false;
        if (plan.fast) {
          const v = plainDecimal(text, q, p);
          if (
            v >= plan.min &&
            v <= plan.max &&
            // (v is finite here: NaN failed the range test)
            (!plan.integer || Math.floor(v) === v) &&
            (plan.allowedAt !== null
              ? plan.allowedAt[v - plan.allowedLo] === 1
              : plan.allowedNum === null || plan.allowedNum.has(v))
          ) {
            fb.setNumber(plan.j, i, v);
            done = true;
          }
        }
        if (!done) {
          const raw = text.slice(q, p);
          const chk = coerceCell(raw === "" ? null : raw, plan.spec, plan.allowed);
          if (chk.problem) return null;
          fb.set(plan.j, i, chk.value);
        }
      } else {
        const values = extraAt[k];
        const raw = p > q ? text.slice(q, p) : null;
        if (values) values.push(raw);
        if (k === labelIdx) {
          const l = readLabel(raw ?? "", labelPlan!);
          if (l.problem) return null;
          labelPlan!.values.push(l.value);
        }
      }
      if (k < width - 1) p++;
    }
    const recEnd = p;
    // a line of one empty field is blank (the tokenizer skips it); a lone \r ends a line there too
    if (recEnd === recStart || recEnd - recStart > maxChars) return null;
    if (p < len) {
      if (text.charCodeAt(p) === CR) {
        if (p + 1 < len && text.charCodeAt(p + 1) === LF) p += 2;
        else return null;
      } else p++;
    }
    // a plain row has no quotes: its fields are its comma-separated parts
    const line = text.slice(recStart, recEnd);
    lines.push(formula ? line.split(",").map(safeCsvCell).join(",") : line);
  }
  if (rows === 0) return null;
  return {
    header: header as string[],
    frame: fb.build(),
    extras: new Map(extraCols.map((x) => [x.name, x.values])),
    labels: labelPlan ? labelPlan.values : null,
    lines,
    rows,
    bytes: bytes.length,
  };
}

/** isTrimmable, with printable ASCII answered inline. */
function trimmable(c: number): boolean {
  return (c <= 32 || c >= 0xa0) && isTrimmable(c);
}

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * Parse an uploaded CSV. `inputColumns` are the model's input columns (all must be in the header);
 * the label column, when present, is checked; every other column is carried as raw strings.
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

  let header: string[] | null = null;
  let width = 0;
  let plans: InputPlan[] = [];
  let extraCols: { name: string; idx: number; values: (string | null)[] }[] = [];
  let labelPlan: LabelPlan | null = null;
  const fb = new FrameBuilder(schema, inputColumns);
  const lines: string[] = [];
  const problems: CellProblem[] = [];
  let problemCount = 0;
  let rows = 0;

  const onHeader = (r: CsvRecord): void => {
    // a repeated name renamed as every reader does, so a schema inferred from the file matches
    const h = dedupeHeader(recordValues(r)).header;
    const hp = headerPlan(h, label, schema, inputColumns);
    plans = hp.plans;
    extraCols = hp.extraCols;
    labelPlan = hp.labelPlan;
    header = h;
    width = h.length;
  };

  const onRow = (r: CsvRecord): void => {
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
    if (r.n !== width) {
      throw new NetsecError(
        "PARSE_ERROR",
        `${label}, row ${rows}: expected ${width} fields like the header, found ${r.n} (${showValue(recordValues(r).join(","))})`,
        { file: label, row: rows, expected: width, found: r.n },
      );
    }
    const i = fb.addRow();
    const s = r.text;
    for (let k = 0; k < plans.length; k++) {
      const c = plans[k]!;
      if (c.fast && r.quoted[c.idx] === undefined) {
        const v = plainDecimal(s, r.start[c.idx]!, r.end[c.idx]!);
        if (
          v >= c.min &&
          v <= c.max &&
          (!c.integer || Number.isInteger(v)) &&
          (c.allowedAt !== null
            ? c.allowedAt[v - c.allowedLo] === 1
            : c.allowedNum === null || c.allowedNum.has(v))
        ) {
          fb.setNumber(c.j, i, v);
          continue;
        }
      }
      // the general path: every other value, and every problem, worded as everywhere else
      const raw = fieldValue(r, c.idx);
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
      fb.set(c.j, i, chk.value);
    }
    let labelValue: string | null = null;
    if (labelPlan !== null) {
      const raw = fieldValue(r, labelPlan.idx);
      const l = readLabel(raw, labelPlan);
      if (l.problem) {
        problemCount++;
        if (problems.length < MAX_LISTED) {
          problems.push({
            file: label,
            row: rows,
            column: labelPlan.spec.name,
            value: raw,
            kind: l.problem,
            message: l.message ?? l.problem,
          });
        }
      }
      labelValue = l.value;
    }
    if (problemCount === 0) {
      lines.push(safeLine(r));
      for (const x of extraCols) {
        const v = fieldValue(r, x.idx);
        x.values.push(v === "" ? null : v);
      }
      labelPlan?.values.push(labelValue);
    }
  };

  const tok = new CsvTokenizer((r) => (r.index === 0 ? onHeader(r) : onRow(r)), limits.maxRowChars);
  try {
    for await (const t of text) tok.push(t);
    tok.end();
  } catch (e) {
    throw wrapCsvError(e, label, limits);
  }
  if (header === null) {
    throw new NetsecError("PARSE_ERROR", `${label} is empty: expected a header line and data rows`, {
      file: label,
      row: 0,
    });
  }
  if (problemCount > 0) throw cellProblemsError(label, problems, problemCount);
  if (rows === 0) {
    throw new NetsecError("PARSE_ERROR", `${label} has a header but no data rows`, { file: label, row: 0 });
  }
  return {
    header,
    frame: fb.build(),
    extras: new Map(extraCols.map((x) => [x.name, x.values])),
    labels: labelPlan === null ? null : (labelPlan as LabelPlan).values,
    lines,
    rows,
    bytes: counter.bytes,
  };
}

/**
 * A record's text for the output: as it was in the file, or, when a field would be read as a formula
 * by a spreadsheet, rebuilt from its fields with those fields neutralised (the others keep their
 * spelling and quoting).
 */
function safeLine(r: CsvRecord): string {
  const s = r.text;
  let formula = false;
  for (let k = 0; k < r.n && !formula; k++) {
    const q = r.quoted[k];
    formula = q === undefined ? isFormulaSpan(s, r.start[k]!, r.end[k]!) : isFormulaSpan(q, 0, q.length);
  }
  if (!formula) return s.slice(r.recordStart, r.recordEnd);
  const cells: string[] = new Array(r.n);
  for (let k = 0; k < r.n; k++) {
    const q = r.quoted[k];
    const unsafe = q === undefined ? isFormulaSpan(s, r.start[k]!, r.end[k]!) : isFormulaSpan(q, 0, q.length);
    cells[k] = unsafe ? safeCsvCell(fieldValue(r, k)) : s.slice(r.start[k]!, r.end[k]!);
  }
  return cells.join(",");
}

function checkHeaderNames(header: string[], label: string): void {
  header.forEach((h, i) => {
    if (h === "") {
      throw new NetsecError("PARSE_ERROR", `${label}: header column ${i + 1} is empty`, {
        file: label,
        row: 0,
        column: `#${i + 1}`,
      });
    }
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
