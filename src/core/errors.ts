/**
 * The one catalogue of netsec errors. Every error a user can see carries a stable `code`, an HTTP
 * status (4xx = the user's mistake, 5xx = ours), a message that names what was wrong, and optional
 * structured `details` (file, row, column, value, ...). I/O failures are wrapped with what was being
 * done and keep their `cause`.
 */

export const ERROR_CATALOGUE = {
  CONFIG_INVALID: { status: 400, title: "invalid configuration" },
  DATASET_UNKNOWN: { status: 404, title: "unknown dataset" },
  DATASET_FETCH_FAILED: { status: 502, title: "dataset download failed" },
  CHECKSUM_MISMATCH: { status: 422, title: "SHA-256 mismatch" },
  FILE_UNREADABLE: { status: 400, title: "file cannot be read" },
  PARSE_ERROR: { status: 400, title: "malformed input" },
  SCHEMA_INVALID: { status: 400, title: "invalid schema" },
  SCHEMA_MISMATCH: { status: 422, title: "data does not match the schema" },
  VALIDATION_FAILED: { status: 422, title: "validation failed" },
  STORE_UNAVAILABLE: { status: 503, title: "record store unreachable" },
  STORE_ERROR: { status: 500, title: "record store error" },
  /** Another process holds the (DuckDB) record store and did not let go within NETSEC_STORE_WAIT_SECONDS. */
  STORE_BUSY: { status: 409, title: "record store busy" },
  /** A record store of a retired kind (SQLite): the message names the file and the migration command. */
  STORE_RETIRED: { status: 409, title: "record store needs migrating" },
  PARAM_INVALID: { status: 400, title: "invalid hyperparameter" },
  DATA_INVALID: { status: 422, title: "invalid training data" },
  NOT_FITTED: { status: 500, title: "estimator not fitted" },
  MODEL_NOT_FOUND: { status: 404, title: "model not found" },
  RUN_NOT_FOUND: { status: 404, title: "run not found" },
  /** A state file under NETSEC_HOME (run.json, registry.json, a schema) is damaged: the message names it. */
  STATE_CORRUPT: { status: 409, title: "stored state is damaged" },
  BUNDLE_INVALID: { status: 422, title: "invalid model bundle" },
  GATE_FAILED: { status: 422, title: "quality gate not met" },
  DRIFT_DETECTED: { status: 422, title: "dataset drift above threshold" },
  TRACKING_ERROR: { status: 502, title: "experiment tracking failed" },
  UNAUTHORIZED: { status: 401, title: "authentication required" },
  FORBIDDEN: { status: 403, title: "forbidden" },
  CONFLICT: { status: 409, title: "conflict" },
  PAYLOAD_TOO_LARGE: { status: 413, title: "payload too large" },
  URI_TOO_LONG: { status: 414, title: "URI too long" },
  HEADERS_TOO_LARGE: { status: 431, title: "request headers too large" },
  REQUEST_TIMEOUT: { status: 408, title: "request timeout" },
  TOO_MANY_REQUESTS: { status: 429, title: "too many requests" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: "unsupported media type" },
  BAD_REQUEST: { status: 400, title: "bad request" },
  NOT_FOUND: { status: 404, title: "not found" },
  INTERNAL: { status: 500, title: "internal error" },
  SERVICE_UNAVAILABLE: { status: 503, title: "service unavailable" },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Where in the input a problem is: any subset of these. Rows are 1-based data rows (header excluded). */
export interface ErrorLocation {
  file?: string;
  uri?: string;
  row?: number;
  column?: string;
  value?: unknown;
  [key: string]: unknown;
}

export class NetsecError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorLocation;

  constructor(code: ErrorCode, message: string, details: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "NetsecError";
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = details;
  }

  get isUserError(): boolean {
    return this.status < 500;
  }

  toJSON(): { code: ErrorCode; status: number; message: string; details: ErrorLocation } {
    return { code: this.code, status: this.status, message: this.message, details: this.details };
  }
}

export function isNetsecError(e: unknown): e is NetsecError {
  return e instanceof NetsecError;
}

/** Wrap an unknown failure with what was being done, keeping the cause; NetsecErrors pass through with context prefixed. */
export function wrapError(
  doing: string,
  cause: unknown,
  code: ErrorCode = "INTERNAL",
  details: ErrorLocation = {},
): NetsecError {
  if (cause instanceof NetsecError) {
    return new NetsecError(
      cause.code,
      `${doing}: ${cause.message}`,
      { ...details, ...cause.details },
      { cause },
    );
  }
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new NetsecError(code, `${doing}: ${msg}`, details, { cause });
}

/** Format a value for an error message: short, quoted, never huge. */
export function showValue(v: unknown): string {
  if (v === undefined) return "(missing)";
  if (v === null) return "null";
  const s = typeof v === "string" ? JSON.stringify(v) : String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Remove credentials from a URI so it can appear in messages and logs. */
export function redactUri(uri: string): string {
  try {
    const u = new URL(uri);
    if (u.username || u.password) {
      u.username = u.username ? "***" : "";
      u.password = u.password ? "***" : "";
    }
    for (const key of [...u.searchParams.keys()]) {
      if (/pass|secret|token|key/i.test(key)) u.searchParams.set(key, "***");
    }
    return u.toString();
  } catch {
    return uri.replace(/\/\/[^@/]*@/, "//***@");
  }
}
