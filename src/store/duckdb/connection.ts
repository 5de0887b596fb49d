/**
 * The one place that opens DuckDB (`@duckdb/node-api`; its binary ships inside the npm package).
 *
 * Every DuckDB use in netsec — the record store, Parquet files, validation queries — goes through
 * `openDuckDb`, so the engine's settings are decided once:
 * - extensions are never downloaded (`autoinstall_known_extensions=false`); the ones netsec needs
 *   (parquet, json) are built into the shipped library;
 * - `threads` defaults to the machine's cores (DuckDB's own default), overridable per call;
 * - `memory_limit` defaults to {@link defaultMemoryLimit} (1/16 of the machine's memory, at least
 *   1 GiB), not DuckDB's 80 %: netsec's own arrays (the frame, the training matrix) live beside the engine in one process,
 *   and a file database spills what does not fit to `<file>.tmp`;
 * - a file database is locked by DuckDB for one writing process at a time; the caller decides what
 *   a lock conflict means (see the record store).
 * SQL text built here quotes identifiers and literals with `ident`/`literal`, never by hand.
 */
import { totalmem } from "node:os";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

export interface DuckDbOptions {
  /** A database file, or `:memory:` (the default) for a scratch engine over files. */
  path?: string;
  readOnly?: boolean;
  /** Worker threads for one query (default: DuckDB's, the number of cores). */
  threads?: number;
  /** DuckDB's memory limit, e.g. "2GB" (default: {@link defaultMemoryLimit}). */
  memoryLimit?: string;
}

export interface DuckDb {
  readonly connection: DuckDBConnection;
  /**
   * Another connection to the same engine (a streaming read beside writes on `connection`, whose
   * pending stream any other query on it would end). Closed by `close`.
   */
  connect(): Promise<{ connection: DuckDBConnection; close(): void }>;
  /** Closes the connection and the instance (releasing a file's lock). Idempotent. */
  close(): void;
}

export async function openDuckDb(opts: DuckDbOptions = {}): Promise<DuckDb> {
  const settings: Record<string, string> = {
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "true",
  };
  if (opts.readOnly) settings.access_mode = "READ_ONLY";
  if (opts.threads !== undefined) settings.threads = String(opts.threads);
  settings.memory_limit = opts.memoryLimit ?? defaultMemoryLimit();
  const instance = await DuckDBInstance.create(opts.path ?? ":memory:", settings);
  const connection = await instance.connect();
  const extra = new Set<DuckDBConnection>();
  let open = true;
  return {
    connection,
    async connect() {
      const c = await instance.connect();
      extra.add(c);
      return {
        connection: c,
        close() {
          if (extra.delete(c)) c.closeSync();
        },
      };
    },
    close() {
      if (!open) return;
      open = false;
      for (const c of extra) c.closeSync();
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/**
 * The memory limit of an engine opened without one: 1/16 of `totalBytes` (the machine's memory), at
 * least 1 GiB — 1.4 GiB on a 24 GB machine. At 10 M stored rows DuckDB's own default (80 % of RAM)
 * let the validation queries hold several GB beside a 3.4 GB frame. The floor: a 1 M-row ingest
 * (43 columns, 153 MB) took the same 5.2-6.1 CPU s at 1 GB, 1.4 GB and 8 GB, but 11.7 at 512 MB,
 * where DuckDB spills.
 */
export function defaultMemoryLimit(totalBytes = totalmem()): string {
  return `${Math.max(1024, Math.floor(totalBytes / 16 / 2 ** 20))}MiB`;
}

/** An SQL identifier: `"name"` with embedded quotes doubled (column names come from user files). */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** An SQL string literal: `'text'` with embedded quotes doubled (file paths, category values). */
export function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
