/**
 * Open a record store from a URI: `duckdb:<path>`, a bare path or `:memory:` (DuckDB), or
 * `mongodb://…` / `mongodb+srv://…`. SQLite stores are retired: a `sqlite:` URI, a bare path to a
 * SQLite file, or a DuckDB store that does not exist yet beside an old `store.db` is refused with
 * STORE_RETIRED naming the file and the one-line migration command.
 */
import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { NetsecError } from "../core/errors.ts";
import { DuckDbStore } from "./duckdb/store.ts";
import { MongoStore } from "./mongodb.ts";
import type { RecordStore } from "./types.ts";

export interface OpenStoreOptions {
  serverSelectionTimeoutMS?: number;
  /** DuckDB: how long to wait for another process holding the file (NETSEC_STORE_WAIT_SECONDS). */
  waitSeconds?: number;
  /** DuckDB: where the "busy, waiting" message goes (default stderr). */
  onWait?: (message: string) => void;
  /** Open a DuckDB store that does not exist yet even beside an old `store.db` (the migration does). */
  migrating?: boolean;
  /** DuckDB: the engine's memory limit, e.g. "1.5GB" (NETSEC_DUCKDB_MEMORY_LIMIT). */
  memoryLimit?: string;
  /** DuckDB: threads per query (NETSEC_DUCKDB_THREADS). */
  threads?: number;
}

/** The store options the environment sets (the config's NETSEC_STORE_WAIT_SECONDS and NETSEC_DUCKDB_*). */
export function storeOptionsFrom(config: {
  NETSEC_STORE_WAIT_SECONDS: number;
  NETSEC_DUCKDB_MEMORY_LIMIT?: string | undefined;
  NETSEC_DUCKDB_THREADS?: number | undefined;
}): OpenStoreOptions {
  return {
    waitSeconds: config.NETSEC_STORE_WAIT_SECONDS,
    ...(config.NETSEC_DUCKDB_MEMORY_LIMIT !== undefined
      ? { memoryLimit: config.NETSEC_DUCKDB_MEMORY_LIMIT }
      : {}),
    ...(config.NETSEC_DUCKDB_THREADS !== undefined ? { threads: config.NETSEC_DUCKDB_THREADS } : {}),
  };
}

/** The default DuckDB store's file name under NETSEC_HOME, and the SQLite file it replaced. */
export const DUCKDB_STORE_FILE = "store.duckdb";
export const SQLITE_STORE_FILE = "store.db";

export function openStore(uri: string, opts: OpenStoreOptions = {}): RecordStore {
  if (/^mongodb(\+srv)?:\/\//.test(uri)) return new MongoStore(uri, opts);
  if (uri.startsWith("sqlite:")) {
    const path = resolve(uri.slice("sqlite:".length));
    throw sqliteRetired(path, join(dirname(path), DUCKDB_STORE_FILE), true);
  }
  const raw = uri.startsWith("duckdb:") ? uri.slice("duckdb:".length) : uri;
  const path = raw === ":memory:" ? raw : resolve(raw);
  if (path !== ":memory:") {
    if (isSqliteFile(path)) throw sqliteRetired(path, join(dirname(path), DUCKDB_STORE_FILE), true);
    const old = join(dirname(path), SQLITE_STORE_FILE);
    if (!opts.migrating && basename(path) === DUCKDB_STORE_FILE && !existsSync(path) && isSqliteFile(old))
      throw sqliteRetired(old, path);
  }
  return new DuckDbStore(path, {
    ...(opts.waitSeconds !== undefined ? { waitSeconds: opts.waitSeconds } : {}),
    ...(opts.onWait ? { onWait: opts.onWait } : {}),
    ...(opts.memoryLimit !== undefined ? { memoryLimit: opts.memoryLimit } : {}),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
  });
}

/** Whether `path` is a SQLite database file (its 16-byte magic header). */
export function isSqliteFile(path: string): boolean {
  if (!existsSync(path)) return false;
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const head = Buffer.alloc(16);
    return readSync(fd, head, 0, 16, 0) === 16 && head.toString("latin1") === "SQLite format 3\0";
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `named`: the SQLite store was named (a URI or path), so the user must also name the new one. */
function sqliteRetired(sqlitePath: string, duckdbPath: string, named = false): NetsecError {
  const to = `duckdb:${duckdbPath}`;
  const command = `netsec store migrate --from ${JSON.stringify(`sqlite:${sqlitePath}`)} --to ${JSON.stringify(to)}`;
  const then = named
    ? `; then use ${to} (NETSEC_STORE_URI or --store; unset, the default is $NETSEC_HOME/${DUCKDB_STORE_FILE})`
    : "";
  return new NetsecError(
    "STORE_RETIRED",
    `the record store ${sqlitePath} is a SQLite store; netsec now keeps records in DuckDB. Copy its records once with: ${command}${then}`,
    { file: sqlitePath, command },
  );
}
