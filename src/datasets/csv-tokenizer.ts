/**
 * A streaming CSV tokenizer (RFC 4180, comma-delimited) that hands out records as field *spans* in
 * the decoded text, so a caller can parse numbers straight from character codes without making a
 * string per cell. It reads what csv-parse reads with `{ bom, trim, skip_empty_lines,
 * relax_column_count, max_record_size }` (test/datasets/csv-tokenizer.test.ts checks it against
 * csv-parse on generated files):
 *
 * - records end at `\n`, `\r\n` or a lone `\r` (csv-parse takes the first one it sees for the whole
 *   file; here each line may end either way, so a file with mixed endings still reads row by row);
 * - whitespace around a field is dropped (the characters of String.prototype.trim), also around a
 *   quoted field, whose content is kept verbatim (`""` inside stands for one `"`, line breaks allowed);
 * - a line with nothing but whitespace is skipped; a leading byte-order mark is dropped;
 * - a record longer than `maxRecordChars` characters (delimiters included) is an error as soon as it
 *   is seen, so memory stays bounded by the limit whatever the input;
 * - a quote inside an unquoted field, a character other than a delimiter after a closing quote, and
 *   a quote still open at the end are errors naming the line (stricter than csv-parse in one place:
 *   `"a" "b"`, which csv-parse joins into one field, is an error here).
 *
 * The text may arrive in chunks of any size; an incomplete record is kept (at most maxRecordChars
 * characters) and scanned again with the next chunk.
 */

export type CsvSyntaxCode =
  | "QUOTE_NOT_CLOSED"
  | "INVALID_OPENING_QUOTE"
  | "INVALID_CLOSING_QUOTE"
  | "MAX_RECORD_SIZE";

export class CsvSyntaxError extends Error {
  readonly code: CsvSyntaxCode;
  /** 1-based line of the file where the problem is. */
  readonly line: number;
  /** 0-based index of the record it is in (0 = the first record, usually the header). */
  readonly record: number;
  constructor(code: CsvSyntaxCode, message: string, line: number, record: number) {
    super(message);
    this.name = "CsvSyntaxError";
    this.code = code;
    this.line = line;
    this.record = record;
  }
}

/**
 * One record, valid only during the onRecord call (the arrays are reused). Field i is
 * `quoted[i] ?? text.slice(start[i], end[i])`, already trimmed.
 */
export interface CsvRecord {
  text: string;
  /** Span of the whole record in `text` (without its line break). */
  recordStart: number;
  recordEnd: number;
  /** Number of fields. */
  n: number;
  start: Int32Array;
  end: Int32Array;
  /** The value of a quoted field (unescaped); undefined for an unquoted one. */
  quoted: (string | undefined)[];
  /** 1-based line where the record starts. */
  line: number;
  /** 0-based index of the record. */
  index: number;
}

/** The characters String.prototype.trim removes (ECMAScript WhiteSpace and LineTerminator). */
export function isTrimmable(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

/** Leading whitespace that is not a line break. */
function skipSpace(s: string, p: number, len: number): number {
  while (p < len) {
    const c = s.charCodeAt(p);
    if (c === LF || c === CR || !isTrimmable(c)) break;
    p++;
  }
  return p;
}

/** Field value of a record (trimmed, unescaped). */
export function fieldValue(r: CsvRecord, i: number): string {
  return r.quoted[i] ?? r.text.slice(r.start[i]!, r.end[i]!);
}

/** All field values of a record. */
export function recordValues(r: CsvRecord): string[] {
  const out = new Array<string>(r.n);
  for (let i = 0; i < r.n; i++) out[i] = fieldValue(r, i);
  return out;
}

export class CsvTokenizer {
  private carry = "";
  private started = false;
  private line = 1;
  private records = 0;
  private readonly rec: CsvRecord;
  private readonly onRecord: (r: CsvRecord) => void;
  private readonly maxRecordChars: number;

  constructor(onRecord: (r: CsvRecord) => void, maxRecordChars = Number.POSITIVE_INFINITY) {
    this.onRecord = onRecord;
    this.maxRecordChars = maxRecordChars;
    this.rec = {
      text: "",
      recordStart: 0,
      recordEnd: 0,
      n: 0,
      start: new Int32Array(64),
      end: new Int32Array(64),
      quoted: [],
      line: 1,
      index: 0,
    };
  }

  push(chunk: string): void {
    let text = this.carry + chunk;
    if (!this.started) {
      if (text.length === 0) return;
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.scan(text, false);
  }

  end(): void {
    const text = this.carry;
    this.carry = "";
    if (text.length > 0) this.scan(text, true);
  }

  private tooLong(at: number): never {
    throw new CsvSyntaxError(
      "MAX_RECORD_SIZE",
      `record longer than the limit of ${this.maxRecordChars} characters`,
      at,
      this.records,
    );
  }

  /** Scan every complete record of `s` (all of it when `final`); keep the rest as carry. */
  private scan(s: string, final: boolean): void {
    const len = s.length;
    const r = this.rec;
    const max = this.maxRecordChars;
    r.text = s;
    let p = 0;
    records: while (p < len) {
      const recStart = p;
      let line = this.line;
      let n = 0;
      let allEmpty = true;
      // fields
      for (;;) {
        const q = skipSpace(s, p, len);
        if (n === r.start.length) this.growFields();
        if (q < len && s.charCodeAt(q) === QUOTE) {
          // quoted field
          let from = q + 1;
          let value = "";
          let close = -1;
          for (;;) {
            const k = s.indexOf('"', from);
            if (k < 0) {
              if (!final) break;
              throw new CsvSyntaxError(
                "QUOTE_NOT_CLOSED",
                `a quoted field opened on line ${line + countLF(s, recStart, q)} is not closed at the end of the file`,
                line + countLF(s, recStart, q),
                this.records,
              );
            }
            if (k + 1 < len && s.charCodeAt(k + 1) === QUOTE) {
              value += s.slice(from, k + 1);
              from = k + 2;
              continue;
            }
            if (k + 1 === len && !final) break; // "" may continue in the next chunk
            value += s.slice(from, k);
            close = k;
            break;
          }
          if (close < 0) {
            if (len - recStart > max) this.tooLong(line);
            this.carry = s.slice(recStart);
            return;
          }
          line += countLF(s, q, close);
          p = close + 1;
          const after = skipSpace(s, p, len);
          if (after < len) {
            const c = s.charCodeAt(after);
            if (c !== COMMA && c !== LF && c !== CR) {
              throw new CsvSyntaxError(
                "INVALID_CLOSING_QUOTE",
                `line ${line}: ${JSON.stringify(String.fromCharCode(c))} after the closing quote of a field, where a delimiter or the end of the line should be`,
                line,
                this.records,
              );
            }
          } else if (!final) {
            if (len - recStart > max) this.tooLong(line);
            this.carry = s.slice(recStart);
            return;
          }
          p = after;
          r.quoted[n] = value;
          r.start[n] = q;
          r.end[n] = close + 1;
          allEmpty = false;
        } else {
          // unquoted field: up to the next delimiter or line break
          p = q;
          let c = 0;
          while (p < len) {
            c = s.charCodeAt(p);
            if (c === COMMA || c === LF || c === CR) break;
            if (c === QUOTE) {
              throw new CsvSyntaxError(
                "INVALID_OPENING_QUOTE",
                `line ${line}: a quote inside the unquoted field ${JSON.stringify(s.slice(q, p + 1))}; quote the whole field and double the quotes inside`,
                line,
                this.records,
              );
            }
            p++;
          }
          let e = p;
          while (e > q && isTrimmable(s.charCodeAt(e - 1))) e--;
          r.quoted[n] = undefined;
          r.start[n] = q;
          r.end[n] = e;
          if (e > q) allEmpty = false;
        }
        n++;
        if (p - recStart > max) this.tooLong(line);
        if (p >= len) {
          if (!final) {
            this.carry = s.slice(recStart);
            return;
          }
          this.emit(recStart, len, n, allEmpty, this.line);
          this.line = line;
          p = len;
          continue records;
        }
        const c = s.charCodeAt(p);
        if (c === COMMA) {
          p++;
          allEmpty = false;
          continue;
        }
        // a line break ends the record
        let next = p + 1;
        if (c === CR) {
          if (next === len && !final) {
            this.carry = s.slice(recStart);
            return;
          }
          if (next < len && s.charCodeAt(next) === LF) next++;
        }
        this.emit(recStart, p, n, allEmpty, this.line);
        this.line = line + 1;
        p = next;
        continue records;
      }
    }
    this.carry = "";
  }

  private emit(recStart: number, recEnd: number, n: number, empty: boolean, line: number): void {
    // a line with nothing but whitespace (one empty unquoted field) is skipped
    if (empty && n === 1) return;
    const r = this.rec;
    r.recordStart = recStart;
    r.recordEnd = recEnd;
    r.n = n;
    r.line = line;
    r.index = this.records++;
    this.onRecord(r);
  }

  private growFields(): void {
    const r = this.rec;
    const start = new Int32Array(r.start.length * 2);
    start.set(r.start);
    const end = new Int32Array(r.end.length * 2);
    end.set(r.end);
    r.start = start;
    r.end = end;
  }
}

function countLF(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = s.indexOf("\n", from); i >= 0 && i < to; i = s.indexOf("\n", i + 1)) n++;
  return n;
}
