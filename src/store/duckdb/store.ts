/**
 * The default record store: one DuckDB file (`duckdb:$NETSEC_HOME/store.duckdb`), columnar.
 *
 * Layout:
 * - one table per dataset, `records_<dataset>`, with the provenance columns `__source` (the source
 *   id), `__row` (1-based row in the source) and `__id` (the record id; NULL when it is the file id
 *   `<source[:16]>:<row>`, so a million file rows do not store a million id strings), then one typed
 *   column per data column: DOUBLE for numbers (integers, numbers and timestamps in epoch ms, as the
 *   rows carry them) and VARCHAR for categories. VARCHAR rather than ENUM: DuckDB stores a column of
 *   few distinct strings dictionary-compressed anyway, and an ENUM would have to be altered for every
 *   value a new file brings.
 * - `sources`: the bookkeeping of each ingested source (`ingesting` → `complete`).
 *
 * A record's identity is (dataset, id); within a dataset (source, row) is unique too, and an id
 * belongs to one source (it derives from it), so a batch is checked against its sources' rows only. DuckDB's unique
 * indexes cost memory per row, so uniqueness holds by construction instead: every write goes through
 * an anti-join on the id (`insertBatch`) or on (source, row) (`insertFromTable`, the file ingest),
 * inside one transaction, by the one process DuckDB lets write the file.
 *
 * One process at a time: DuckDB locks the file for the process that opens it. `open` waits while
 * another process holds it (a message on stderr naming its pid, at most `waitSeconds`), then fails
 * with STORE_BUSY. Callers open, work and close; nothing keeps the store open between uses.
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { NetsecError } from "../../core/errors.ts";
import type { RecordData, RecordStore, ScanFilter, SourceInfo, StoredRecord } from "../types.ts";
import { type DuckDb, ident, literal, openDuckDb } from "./connection.ts";

/** Provenance columns of every dataset table (data columns may not use these names). */
export const SOURCE_COL = "__source";
export const ROW_COL = "__row";
export const ID_COL = "__id";
const PROVENANCE = new Set([SOURCE_COL, ROW_COL, ID_COL]);

const TABLE_PREFIX = "records_";

/** The (unquoted) table name of a dataset's records. */
export function datasetTable(dataset: string): string {
  return `${TABLE_PREFIX}${dataset}`;
}

/** The record id a row stored without one has: the file id `<source[:16]>:<row>` (SQL expression). */
const ID_EXPR = `coalesce(${ident(ID_COL)}, substr(${ident(SOURCE_COL)}, 1, 16) || ':' || ${ident(ROW_COL)}::VARCHAR)`;

export interface DuckDbStoreOptions {
  /** How long `open` waits for another process holding the file (default 30 s). */
  waitSeconds?: number;
  /** Where the "busy, waiting" message goes (default: stderr). */
  onWait?: (message: string) => void;
  /** Poll interval while waiting, ms (default 250). */
  pollMs?: number;
  /** DuckDB's memory limit (NETSEC_DUCKDB_MEMORY_LIMIT; default: openDuckDb's). */
  memoryLimit?: string;
  /** DuckDB's threads (NETSEC_DUCKDB_THREADS; default: DuckDB's). */
  threads?: number;
}

export type DuckColumnType = "DOUBLE" | "VARCHAR";

export class DuckDbStore implements RecordStore {
  readonly kind = "duckdb" as const;
  readonly location: string;
  readonly path: string;
  private db: DuckDb | null = null;
  private readonly opts: DuckDbStoreOptions;

  constructor(path: string, opts: DuckDbStoreOptions = {}) {
    this.path = path;
    this.location = `duckdb:${path}`;
    this.opts = opts;
  }

  private fail(doing: string, e: unknown): NetsecError {
    if (e instanceof NetsecError) return e;
    return new NetsecError(
      "STORE_ERROR",
      `${doing} in ${this.location}: ${(e as Error).message}`,
      { uri: this.location },
      { cause: e },
    );
  }

  /** The open connection (ingest stages files on it; see also `withTable`). */
  get connection(): DuckDBConnection {
    return this.conn;
  }

  private get conn(): DuckDBConnection {
    if (!this.db)
      throw new NetsecError("STORE_ERROR", `record store ${this.location} is not open`, {
        uri: this.location,
      });
    return this.db.connection;
  }

  async open(): Promise<void> {
    if (this.db) return;
    const file = this.path !== ":memory:";
    if (file) {
      try {
        mkdirSync(dirname(this.path), { recursive: true });
      } catch (e) {
        throw new NetsecError(
          "STORE_UNAVAILABLE",
          `cannot open record store ${this.location}: ${(e as Error).message}`,
          { uri: this.location },
          { cause: e },
        );
      }
    }
    const waitSeconds = this.opts.waitSeconds ?? 30;
    const deadline = Date.now() + waitSeconds * 1000;
    let told = false;
    for (;;) {
      try {
        this.db = await openDuckDb({
          ...(file ? { path: this.path } : {}),
          ...(this.opts.memoryLimit !== undefined ? { memoryLimit: this.opts.memoryLimit } : {}),
          ...(this.opts.threads !== undefined ? { threads: this.opts.threads } : {}),
        });
        break;
      } catch (e) {
        const holder = lockHolder((e as Error).message);
        if (holder === null) {
          throw new NetsecError(
            "STORE_UNAVAILABLE",
            `cannot open record store ${this.location}: ${(e as Error).message}`,
            { uri: this.location, ...(file && existsSync(this.path) ? { file: this.path } : {}) },
            { cause: e },
          );
        }
        const who = holder.pid !== undefined ? ` (pid ${holder.pid})` : "";
        if (Date.now() >= deadline) {
          throw new NetsecError(
            "STORE_BUSY",
            `record store ${this.location} is busy${who}: another netsec command is using it; waited ${waitSeconds} s (NETSEC_STORE_WAIT_SECONDS). Try again when it has finished.`,
            { uri: this.location, file: this.path, ...(holder.pid !== undefined ? { pid: holder.pid } : {}) },
          );
        }
        if (!told) {
          told = true;
          const say = this.opts.onWait ?? ((m: string) => process.stderr.write(`${m}\n`));
          say(`record store ${this.location} is busy${who}; waiting up to ${waitSeconds} s`);
        }
        await sleep(Math.min(this.opts.pollMs ?? 250, Math.max(1, deadline - Date.now())));
      }
    }
    try {
      // reads that need an order say ORDER BY; inserts then use every thread (the file ingest turns
      // the order back on for its insert: it numbers a file's rows by where they land)
      await this.conn.run("SET preserve_insertion_order = false");
      await this.conn.run(`
        CREATE TABLE IF NOT EXISTS sources (
          dataset VARCHAR NOT NULL,
          source VARCHAR NOT NULL,
          location VARCHAR NOT NULL,
          name VARCHAR NOT NULL,
          rows BIGINT NOT NULL,
          ingested_at VARCHAR NOT NULL,
          status VARCHAR NOT NULL,
          PRIMARY KEY (dataset, source)
        )`);
    } catch (e) {
      this.db?.close();
      this.db = null;
      throw this.fail("opening the record store", e);
    }
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
  }

  /** Whether the dataset has a records table. */
  async hasDataset(dataset: string): Promise<boolean> {
    const r = await this.conn.runAndReadAll(
      "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = $1",
      [datasetTable(dataset)],
    );
    return Number(r.getRows()[0]![0]) > 0;
  }

  /** The data columns of a dataset's table and their types (provenance columns excluded). */
  async columns(dataset: string): Promise<Map<string, DuckColumnType>> {
    const r = await this.conn.runAndReadAll(
      `SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = $1 ORDER BY column_index`,
      [datasetTable(dataset)],
    );
    const out = new Map<string, DuckColumnType>();
    for (const [name, type] of r.getRows() as [string, string][]) {
      if (!PROVENANCE.has(name)) out.set(name, type === "DOUBLE" ? "DOUBLE" : "VARCHAR");
    }
    return out;
  }

  /**
   * Make sure the dataset's table exists with (at least) these data columns. A column a value of
   * another kind arrives for is widened: DOUBLE → VARCHAR (a number then reads back as its text).
   */
  async ensureDataset(dataset: string, want: ReadonlyMap<string, DuckColumnType>): Promise<void> {
    const table = ident(datasetTable(dataset));
    for (const name of want.keys()) {
      if (PROVENANCE.has(name))
        throw new NetsecError(
          "SCHEMA_INVALID",
          `column name ${JSON.stringify(name)} is reserved by the record store (provenance column); rename it`,
          { column: name },
        );
    }
    if (!(await this.hasDataset(dataset))) {
      const cols = [...want].map(([n, t]) => `, ${ident(n)} ${t}`).join("");
      await this.conn.run(
        `CREATE TABLE ${table} (${ident(SOURCE_COL)} VARCHAR NOT NULL, ${ident(ROW_COL)} BIGINT NOT NULL, ${ident(ID_COL)} VARCHAR${cols})`,
      );
      return;
    }
    const have = await this.columns(dataset);
    for (const [name, type] of want) {
      const t = have.get(name);
      if (t === undefined) await this.conn.run(`ALTER TABLE ${table} ADD COLUMN ${ident(name)} ${type}`);
      else if (t === "DOUBLE" && type === "VARCHAR")
        await this.conn.run(`ALTER TABLE ${table} ALTER ${ident(name)} TYPE VARCHAR`);
    }
  }

  /**
   * Run `fn` with the store's connection and the dataset's quoted table name (`records_<dataset>`:
   * columns `__source`, `__row`, `__id`, then one per data column by its schema name). For set
   * queries over a dataset (validation, profiles); `fn` must not keep the connection. Fails with
   * DATA_INVALID when the store holds no records of the dataset.
   */
  async withTable<T>(dataset: string, fn: (conn: DuckDBConnection, table: string) => Promise<T>): Promise<T> {
    if (!(await this.hasDataset(dataset)))
      throw new NetsecError(
        "DATA_INVALID",
        `the store ${this.location} holds no records of dataset ${dataset}; run \`netsec ingest --dataset ${dataset}\` first`,
        { value: dataset },
      );
    return fn(this.conn, ident(datasetTable(dataset)));
  }

  /** Run `fn` in one transaction (rolled back when it throws). */
  async transaction<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const c = this.conn;
    await c.run("BEGIN TRANSACTION");
    try {
      const r = await fn(c);
      await c.run("COMMIT");
      return r;
    } catch (e) {
      await c.run("ROLLBACK").catch(() => {});
      throw e;
    }
  }

  /**
   * Insert the rows of `staging` (a table with `__row` and the dataset's data columns) as records of
   * source `source`, skipping rows whose (source, row) the dataset already holds. Call inside
   * `transaction`. Returns how many were added.
   */
  async insertFromTable(
    dataset: string,
    source: string,
    staging: string,
    columns: readonly string[],
  ): Promise<number> {
    const table = ident(datasetTable(dataset));
    const cols = columns.map(ident).join(", ");
    const r = await this.conn.run(
      `INSERT INTO ${table} (${ident(SOURCE_COL)}, ${ident(ROW_COL)}${cols ? `, ${cols}` : ""})
       SELECT ${literal(source)}, s.${ident(ROW_COL)}${columns.map((c) => `, s.${ident(c)}`).join("")}
       FROM ${staging} s
       WHERE s.${ident(ROW_COL)} NOT IN (SELECT ${ident(ROW_COL)} FROM ${table} WHERE ${ident(SOURCE_COL)} = ${literal(source)})
       ORDER BY s.${ident(ROW_COL)}`,
    );
    return r.rowsChanged;
  }

  async insertBatch(records: readonly StoredRecord[]): Promise<number> {
    if (records.length === 0) return 0;
    const byDataset = new Map<string, StoredRecord[]>();
    for (const r of records) {
      const list = byDataset.get(r.dataset);
      if (list) list.push(r);
      else byDataset.set(r.dataset, [r]);
    }
    try {
      return await this.transaction(async (c) => {
        let added = 0;
        for (const [dataset, recs] of byDataset) {
          const want = new Map<string, DuckColumnType>();
          for (const r of recs)
            for (const [k, v] of Object.entries(r.data)) {
              if (v === null) continue;
              const t: DuckColumnType = typeof v === "number" ? "DOUBLE" : "VARCHAR";
              if (want.get(k) !== "VARCHAR") want.set(k, t);
            }
          await this.ensureDataset(dataset, want);
          const types = await this.columns(dataset);
          const names = [...types.keys()];
          await c.run(
            `CREATE OR REPLACE TEMP TABLE batch_stage (${ident(SOURCE_COL)} VARCHAR, ${ident(ROW_COL)} BIGINT, ${ident(ID_COL)} VARCHAR, seq BIGINT${names.map((n) => `, ${ident(n)} ${types.get(n)}`).join("")})`,
          );
          const app = await c.createAppender("batch_stage", "main", "temp");
          try {
            recs.forEach((r, seq) => {
              app.appendVarchar(r.source);
              app.appendBigInt(BigInt(r.row));
              app.appendVarchar(r.id);
              app.appendBigInt(BigInt(seq));
              for (const n of names) {
                const v = r.data[n];
                if (v === null || v === undefined) app.appendNull();
                else if (types.get(n) === "DOUBLE") app.appendDouble(v as number);
                else app.appendVarchar(String(v));
              }
              app.endRow();
            });
            app.flushSync();
          } finally {
            app.closeSync();
          }
          const table = ident(datasetTable(dataset));
          const cols = names.map(ident);
          const res = await c.run(
            `INSERT INTO ${table} (${ident(SOURCE_COL)}, ${ident(ROW_COL)}, ${ident(ID_COL)}${cols.map((x) => `, ${x}`).join("")})
             SELECT ${ident(SOURCE_COL)}, ${ident(ROW_COL)},
               CASE WHEN ${ident(ID_COL)} = substr(${ident(SOURCE_COL)}, 1, 16) || ':' || ${ident(ROW_COL)}::VARCHAR THEN NULL ELSE ${ident(ID_COL)} END
               ${cols.map((x) => `, ${x}`).join("")}
             FROM temp.batch_stage
             WHERE ${ident(ID_COL)} NOT IN (SELECT ${ID_EXPR} FROM ${table}
               WHERE ${ident(SOURCE_COL)} IN (SELECT DISTINCT ${ident(SOURCE_COL)} FROM temp.batch_stage))
             QUALIFY row_number() OVER (PARTITION BY ${ident(ID_COL)} ORDER BY seq) = 1
             ORDER BY seq`,
          );
          added += res.rowsChanged;
          await c.run("DROP TABLE temp.batch_stage");
        }
        return added;
      });
    } catch (e) {
      throw this.fail(`inserting a batch of ${records.length} records (first ${records[0]?.id ?? "-"})`, e);
    }
  }

  async putSource(info: SourceInfo): Promise<void> {
    try {
      await this.conn.run(
        `INSERT INTO sources (dataset, source, location, name, rows, ingested_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (dataset, source) DO UPDATE SET location = excluded.location, name = excluded.name,
           rows = excluded.rows, ingested_at = excluded.ingested_at, status = excluded.status`,
        [info.dataset, info.source, info.location, info.name, info.rows, info.ingestedAt, info.status],
      );
    } catch (e) {
      throw this.fail(`recording source ${info.name}`, e);
    }
  }

  async listSources(dataset?: string): Promise<SourceInfo[]> {
    try {
      const r =
        dataset === undefined
          ? await this.conn.runAndReadAll(
              "SELECT source, dataset, location, name, rows, ingested_at, status FROM sources ORDER BY dataset, source",
            )
          : await this.conn.runAndReadAll(
              "SELECT source, dataset, location, name, rows, ingested_at, status FROM sources WHERE dataset = $1 ORDER BY source",
              [dataset],
            );
      return (r.getRows() as [string, string, string, string, bigint, string, string][]).map((x) => ({
        source: x[0],
        dataset: x[1],
        location: x[2],
        name: x[3],
        rows: Number(x[4]),
        ingestedAt: x[5],
        status: x[6] === "ingesting" ? "ingesting" : "complete",
      }));
    } catch (e) {
      throw this.fail("listing sources", e);
    }
  }

  private async datasets(): Promise<string[]> {
    const r = await this.conn.runAndReadAll(
      "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND starts_with(table_name, $1) ORDER BY table_name",
      [TABLE_PREFIX],
    );
    return (r.getRows() as [string][]).map(([t]) => t.slice(TABLE_PREFIX.length));
  }

  async count(filter: Partial<ScanFilter> = {}): Promise<number> {
    if (filter.sources?.length === 0) return 0;
    try {
      const names = filter.dataset !== undefined ? [filter.dataset] : await this.datasets();
      let n = 0;
      for (const d of names) {
        if (!(await this.hasDataset(d))) continue;
        const where = filter.sources
          ? ` WHERE ${ident(SOURCE_COL)} IN (${filter.sources.map(literal).join(", ")})`
          : "";
        const r = await this.conn.runAndReadAll(`SELECT count(*) FROM ${ident(datasetTable(d))}${where}`);
        n += Number(r.getRows()[0]![0]);
      }
      return n;
    } catch (e) {
      throw this.fail("counting records", e);
    }
  }

  async *scan(filter: ScanFilter, batchSize = 5000): AsyncIterable<StoredRecord[]> {
    if (!(batchSize >= 1)) throw new RangeError(`batchSize must be >= 1, got ${batchSize}`);
    if (filter.sources?.length === 0) return;
    if (!(await this.hasDataset(filter.dataset))) return;
    const types = await this.columns(filter.dataset);
    const names = [...types.keys()];
    const where = filter.sources
      ? ` WHERE ${ident(SOURCE_COL)} IN (${filter.sources.map(literal).join(", ")})`
      : "";
    // a connection of its own: the stream stays valid whatever the caller runs on the store meanwhile
    const reader = await this.db!.connect();
    try {
      yield* this.streamBatches(reader.connection, filter.dataset, names, where, batchSize);
    } finally {
      reader.close();
    }
  }

  private async *streamBatches(
    reader: DuckDBConnection,
    dataset: string,
    names: readonly string[],
    where: string,
    batchSize: number,
  ): AsyncGenerator<StoredRecord[]> {
    const filter = { dataset };
    let result: Awaited<ReturnType<DuckDBConnection["stream"]>>;
    try {
      result = await reader.stream(
        `SELECT ${ID_EXPR}, ${ident(SOURCE_COL)}, ${ident(ROW_COL)}${names.map((n) => `, ${ident(n)}`).join("")}
         FROM ${ident(datasetTable(filter.dataset))}${where} ORDER BY ${ident(SOURCE_COL)}, ${ident(ROW_COL)}`,
      );
    } catch (e) {
      throw this.fail(`reading dataset ${filter.dataset}`, e);
    }
    let batch: StoredRecord[] = [];
    for (;;) {
      let chunk: Awaited<ReturnType<typeof result.fetchChunk>>;
      try {
        chunk = await result.fetchChunk();
      } catch (e) {
        throw this.fail(`reading dataset ${filter.dataset}`, e);
      }
      if (!chunk || chunk.rowCount === 0) break;
      for (const row of chunk.getRows() as DuckDBValue[][]) {
        const data: RecordData = {};
        names.forEach((n, j) => {
          const v = row[j + 3];
          data[n] = v === null || v === undefined ? null : typeof v === "number" ? v : String(v);
        });
        batch.push({
          id: row[0] as string,
          dataset: filter.dataset,
          source: row[1] as string,
          row: Number(row[2]),
          data,
        });
        if (batch.length === batchSize) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  async deleteDataset(dataset: string): Promise<number> {
    try {
      return await this.transaction(async (c) => {
        const n = await this.count({ dataset });
        await c.run(`DROP TABLE IF EXISTS ${ident(datasetTable(dataset))}`);
        await c.run("DELETE FROM sources WHERE dataset = $1", [dataset]);
        return n;
      });
    } catch (e) {
      throw this.fail(`deleting dataset ${dataset}`, e);
    }
  }
}

/** A DuckDB "could not set lock" error: the other process's pid when it says; null for other errors. */
export function lockHolder(message: string): { pid?: number } | null {
  if (!/Could not set lock on file|Conflicting lock is held/i.test(message)) return null;
  const m = /\(PID (\d+)\)/.exec(message);
  return m ? { pid: Number(m[1]) } : {};
}
