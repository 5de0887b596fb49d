/**
 * CSV formula injection (OWASP "CSV Injection"): a spreadsheet opening a CSV runs a cell that starts
 * with `=`, `+`, `-` or `@` as a formula (tab or carriage return, or spaces, can hide such a start). Every
 * CSV netsec writes for people (prediction outputs, `netsec predict --output`, run reports) passes its
 * cells through here: such a cell gets a leading `'`, which spreadsheets show as text. A cell that is
 * a number (`-1`, `+0.5`, `-1e-3`) stays as it is: the phishing features are -1/0/1.
 */
import { stringify } from "csv-stringify/sync";

const EQ = 61;
const PLUS = 43;
const MINUS = 45;
const AT = 64;
const TAB = 9;
const CR = 13;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Whether text[a, b) is a plain number: optional sign, digits with an optional fraction (or a
 * fraction alone), an optional exponent. Char codes only: no string is made.
 */
export function isNumberSpan(text: string, a: number, b: number): boolean {
  let i = a;
  if (i < b && (text.charCodeAt(i) === PLUS || text.charCodeAt(i) === MINUS)) i++;
  let digits = 0;
  while (i < b && isDigit(text.charCodeAt(i))) {
    i++;
    digits++;
  }
  if (i < b && text.charCodeAt(i) === 46) {
    i++;
    while (i < b && isDigit(text.charCodeAt(i))) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return false;
  if (i < b && (text.charCodeAt(i) === 101 || text.charCodeAt(i) === 69)) {
    i++;
    if (i < b && (text.charCodeAt(i) === PLUS || text.charCodeAt(i) === MINUS)) i++;
    const e = i;
    while (i < b && isDigit(text.charCodeAt(i))) i++;
    if (i === e) return false;
  }
  return i === b;
}

/**
 * Whether the cell text[a, b) may be read as a formula: it starts with = + - @ tab or CR (after any
 * spaces, which some spreadsheets skip) and is not a number.
 */
export function isFormulaSpan(text: string, a: number, b: number): boolean {
  while (a < b && text.charCodeAt(a) === 32) a++;
  if (b <= a) return false;
  const c = text.charCodeAt(a);
  if (c === EQ || c === AT || c === TAB || c === CR) return true;
  if (c === PLUS || c === MINUS) return !isNumberSpan(text, a, b);
  return false;
}

/** The cell as a spreadsheet shows it as text: `'` before a formula-like cell, anything else as it is. */
export function spreadsheetSafe(cell: string): string {
  return isFormulaSpan(cell, 0, cell.length) ? `'${cell}` : cell;
}

/** csv-stringify with a header, every string cell (and column name) made spreadsheet-safe; numbers as numbers. */
export function safeCsv(rows: readonly (readonly unknown[])[], columns: readonly string[]): string {
  return stringify(rows as unknown[][], {
    header: true,
    columns: columns.map(spreadsheetSafe),
    cast: { string: spreadsheetSafe },
  });
}

/** One CSV cell as netsec writes it: neutralised, then quoted when it holds `"`, `,`, a line break or edge spaces. */
export function safeCsvCell(cell: string): string {
  const s = spreadsheetSafe(cell);
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
