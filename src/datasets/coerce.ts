/**
 * Turning raw cells (strings from CSV, JSON scalars) into typed values by the schema, and the checks
 * that go with it. `coerceCell` separates two kinds of problem:
 *  - a *type* problem (a non-number in a numeric column, a non-integer in an integer column, an
 *    unparseable timestamp): the value cannot be stored as its type, so ingest refuses the file;
 *  - a *domain* problem (outside allowed values or range, missing where not nullable): the value is
 *    stored as is and validation reports it against its thresholds.
 */
import type { RawValue } from "./readers.ts";
import type { ColumnSpec } from "./schema.ts";

export type TypedValue = number | string | null;

export type ProblemKind =
  | "type"
  | "not_integer"
  | "not_allowed"
  | "below_min"
  | "above_max"
  | "missing"
  | "missing_column"
  | "unknown_column"
  | "unknown_label"
  | "missing_label";

export interface CellCheck {
  value: TypedValue;
  /** Set when the value breaks the schema; `value` is then null for type problems. */
  problem?: ProblemKind;
  message?: string;
}

const NUMERIC_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Canonical string form of a label or category value (numbers without trailing zeros). */
export function canonical(v: string | number | boolean): string {
  if (typeof v === "number") return Object.is(v, -0) ? "0" : String(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  return v;
}

/** Parse a number strictly: no empty strings, no "1abc", no "NaN"/"Infinity". */
export function parseNumber(raw: string | number | boolean): number | null {
  if (typeof raw === "number") return Number.isFinite(raw) ? raw : null;
  if (typeof raw === "boolean") return raw ? 1 : 0;
  const s = raw.trim();
  if (!NUMERIC_RE.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

export function parseTimestamp(raw: string | number | boolean, format: ColumnSpec["format"]): number | null {
  if (typeof raw === "boolean") return null;
  if (format === "epoch_s" || format === "epoch_ms") {
    const n = parseNumber(raw);
    if (n === null) return null;
    return format === "epoch_s" ? n * 1000 : n;
  }
  if (typeof raw === "number") return Number.isFinite(raw) ? raw : null;
  const t = Date.parse(raw);
  return Number.isNaN(t) ? null : t;
}

/** The set of allowed values of a column as canonical strings (null when unrestricted). */
export function allowedSet(col: ColumnSpec): Set<string> | null {
  return col.values ? new Set(col.values.map(canonical)) : null;
}

/**
 * Coerce one raw cell. Missing = null, empty string, or NA/NaN/null/? spellings.
 * `allowed` is `allowedSet(col)`, passed in so callers compute it once per column.
 */
export function coerceCell(
  raw: RawValue | undefined,
  col: ColumnSpec,
  allowed: Set<string> | null,
): CellCheck {
  if (raw === null || raw === undefined || (typeof raw === "string" && isMissingToken(raw))) {
    return missingValue(col);
  }
  switch (col.type) {
    case "integer":
    case "number": {
      const n = parseNumber(raw);
      if (n === null) {
        if (isInfinite(raw)) {
          if (col.infinity === "missing") return missingValue(col);
          return {
            value: null,
            problem: "type",
            message:
              "is infinite (the schema's infinity policy is error; `infinity: missing` reads it as missing)",
          };
        }
        return { value: null, problem: "type", message: `not a number` };
      }
      if (col.type === "integer" && !Number.isInteger(n)) {
        return { value: null, problem: "not_integer", message: "not an integer" };
      }
      return checkDomain(n, col, allowed);
    }
    case "timestamp": {
      const t = parseTimestamp(raw, col.format);
      if (t === null) return { value: null, problem: "type", message: "not a timestamp" };
      return checkDomain(t, col, null);
    }
    case "categorical": {
      const s = canonical(raw).trim();
      if (allowed && !allowed.has(s)) {
        return { value: s, problem: "not_allowed", message: `not one of the ${allowed.size} allowed values` };
      }
      return { value: s };
    }
  }
}

function missingValue(col: ColumnSpec): CellCheck {
  return col.nullable ? { value: null } : { value: null, problem: "missing", message: "missing value" };
}

const INFINITY_RE = /^[+-]?(inf|infinity)$/i;

/** An infinite number: `Infinity`, `-inf`, `+INF`… (any case), or a non-finite JS number. */
export function isInfinite(raw: string | number | boolean): boolean {
  if (typeof raw === "number") return raw === Number.POSITIVE_INFINITY || raw === Number.NEGATIVE_INFINITY;
  return typeof raw === "string" && INFINITY_RE.test(raw.trim());
}

function checkDomain(n: number, col: ColumnSpec, allowed: Set<string> | null): CellCheck {
  if (allowed && !allowed.has(canonical(n))) {
    return { value: n, problem: "not_allowed", message: `not one of ${[...allowed].join(", ")}` };
  }
  if (col.min !== undefined && n < col.min)
    return { value: n, problem: "below_min", message: `below the minimum ${col.min}` };
  if (col.max !== undefined && n > col.max)
    return { value: n, problem: "above_max", message: `above the maximum ${col.max}` };
  return { value: n };
}

const MISSING_TOKENS = new Set(["", "na", "n/a", "nan", "null", "none", "?"]);

export function isMissingToken(s: string): boolean {
  return MISSING_TOKENS.has(s.trim().toLowerCase());
}

/** Problems that make a value unstorable (ingest refuses the file). */
export function isTypeProblem(p: ProblemKind | undefined): boolean {
  return p === "type" || p === "not_integer";
}
