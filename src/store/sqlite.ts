/**
 * The default record store: an embedded SQLite file (Node's built-in `node:sqlite`, no native npm
 * package). Records are rows of `records(dataset, id, source, row, data JSON)` keyed by (dataset, id);
 * a batch is one transaction with INSERT OR IGNORE, so it is all-or-nothing and re-inserting an id
 * under the same dataset adds nothing. Reads page by keyset on (source, row), so memory stays at one
 * batch whatever the table size.
 *
 * Stores written by older versions (records keyed by id alone, sources without a status) are migrated
 * in place when opened, in one transaction.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { NetsecError } from "../core/errors.ts";
import type { RecordData, RecordStore, ScanFilter, SourceInfo, StoredRecord } from "./types.ts";

export class SqliteStore implements RecordStore {
  readonly kind = "sqlite" as const;
  readonly location: string;
  private db: DatabaseSync | null = null;
  private insert: StatementSync | null = null;

  readonly path: string;

  constructor(path: string) {
    this.path = path;
    this.location = `sqlite:${path}`;
  }

  private fail(doing: string, e: unknown): NetsecError {
    if (e instanceof NetsecError) return e;
    const msg = (e as Error).message;
    // a damaged file (truncated, overwritten) is not something a retry fixes: say what to do
    const damaged = /not a database|malformed|corrupt/i.test(msg);
    const what = damaged
      ? `; the store file is damaged. Move it aside and ingest again: mv ${JSON.stringify(this.path)} ${JSON.stringify(`${this.path}.damaged`)} && netsec ingest --dataset <name> (or --file … --schema …)`
      : "";
    return new NetsecError(
      "STORE_ERROR",
      `${doing} in ${this.location}: ${msg}${what}`,
      { uri: this.location, ...(damaged ? { file: this.path } : {}) },
      { cause: e },
    );
  }

  private get conn(): DatabaseSync {
    if (!this.db)
      throw new NetsecError("STORE_ERROR", `record store ${this.location} is not open`, {
        uri: this.location,
      });
    return this.db;
  }

  async open(): Promise<void> {
    if (this.db) return;
    let db: DatabaseSync;
    try {
      if (this.path !== ":memory:") mkdirSync(dirname(this.path), { recursive: true });
      db = new DatabaseSync(this.path);
    } catch (e) {
      throw new NetsecError(
        "STORE_UNAVAILABLE",
        `cannot open record store ${this.location}: ${(e as Error).message}`,
        { uri: this.location },
        { cause: e },
      );
    }
    try {
      db.exec(`
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = NORMAL;
        PRAGMA busy_timeout = 5000;
      `);
      migrateOldLayout(db);
      db.exec(`
        CREATE TABLE IF NOT EXISTS records (
          dataset TEXT NOT NULL,
          id TEXT NOT NULL,
          source TEXT NOT NULL,
          row INTEGER NOT NULL,
          data TEXT NOT NULL,
          PRIMARY KEY (dataset, id)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS records_by_source ON records(dataset, source, row);
        CREATE TABLE IF NOT EXISTS sources (
          source TEXT NOT NULL,
          dataset TEXT NOT NULL,
          location TEXT NOT NULL,
          name TEXT NOT NULL,
          rows INTEGER NOT NULL,
          ingested_at TEXT NOT NULL,
          status TEXT NOT NULL DEFAULT 'complete',
          PRIMARY KEY (dataset, source)
        );
      `);
      this.insert = db.prepare(
        "INSERT OR IGNORE INTO records (dataset, id, source, row, data) VALUES (?, ?, ?, ?, ?)",
      );
      this.db = db;
    } catch (e) {
      db.close();
      throw this.fail("opening the record store", e);
    }
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
    this.insert = null;
  }

  async insertBatch(records: readonly StoredRecord[]): Promise<number> {
    const db = this.conn;
    const ins = this.insert!;
    let added = 0;
    db.exec("BEGIN IMMEDIATE");
    try {
      for (const r of records) {
        const res = ins.run(r.dataset, r.id, r.source, r.row, JSON.stringify(r.data));
        added += Number(res.changes);
      }
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw this.fail(`inserting a batch of ${records.length} records (first ${records[0]?.id ?? "-"})`, e);
    }
    return added;
  }

  async putSource(info: SourceInfo): Promise<void> {
    try {
      this.conn
        .prepare(
          `INSERT INTO sources (source, dataset, location, name, rows, ingested_at, status) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(dataset, source) DO UPDATE SET location = excluded.location, name = excluded.name, rows = excluded.rows, ingested_at = excluded.ingested_at, status = excluded.status`,
        )
        .run(info.source, info.dataset, info.location, info.name, info.rows, info.ingestedAt, info.status);
    } catch (e) {
      throw this.fail(`recording source ${info.name}`, e);
    }
  }

  async listSources(dataset?: string): Promise<SourceInfo[]> {
    let rows: {
      source: string;
      dataset: string;
      location: string;
      name: string;
      rows: number;
      ingested_at: string;
      status: string;
    }[];
    try {
      rows = (
        dataset === undefined
          ? this.conn.prepare("SELECT * FROM sources ORDER BY dataset, source").all()
          : this.conn.prepare("SELECT * FROM sources WHERE dataset = ? ORDER BY source").all(dataset)
      ) as typeof rows;
    } catch (e) {
      throw this.fail("listing sources", e);
    }
    return rows.map((r) => ({
      source: r.source,
      dataset: r.dataset,
      location: r.location,
      name: r.name,
      rows: Number(r.rows),
      ingestedAt: r.ingested_at,
      status: r.status === "ingesting" ? "ingesting" : "complete",
    }));
  }

  async count(filter: Partial<ScanFilter> = {}): Promise<number> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.dataset !== undefined) {
      where.push("dataset = ?");
      args.push(filter.dataset);
    }
    if (filter.sources) {
      if (filter.sources.length === 0) return 0;
      where.push(`source IN (${filter.sources.map(() => "?").join(",")})`);
      args.push(...filter.sources);
    }
    const sql = `SELECT COUNT(*) AS n FROM records${where.length ? ` WHERE ${where.join(" AND ")}` : ""}`;
    try {
      const r = this.conn.prepare(sql).get(...args) as { n: number };
      return Number(r.n);
    } catch (e) {
      throw this.fail("counting records", e);
    }
  }

  async *scan(filter: ScanFilter, batchSize = 5000): AsyncIterable<StoredRecord[]> {
    if (!(batchSize >= 1)) throw new RangeError(`batchSize must be >= 1, got ${batchSize}`);
    const srcFilter = filter.sources ? ` AND source IN (${filter.sources.map(() => "?").join(",")})` : "";
    if (filter.sources?.length === 0) return;
    let stmt: StatementSync;
    try {
      stmt = this.conn.prepare(
        `SELECT id, dataset, source, row, data FROM records
       WHERE dataset = ?${srcFilter} AND (source > ? OR (source = ? AND row > ?))
       ORDER BY source, row LIMIT ?`,
      );
    } catch (e) {
      throw this.fail(`reading dataset ${filter.dataset}`, e);
    }
    let lastSource = "";
    let lastRow = -1;
    for (;;) {
      let rows: { id: string; dataset: string; source: string; row: number; data: string }[];
      try {
        rows = stmt.all(
          filter.dataset,
          ...(filter.sources ?? []),
          lastSource,
          lastSource,
          lastRow,
          batchSize,
        ) as typeof rows;
      } catch (e) {
        throw this.fail(`reading dataset ${filter.dataset}`, e);
      }
      if (rows.length === 0) return;
      const batch = rows.map((r) => ({
        id: r.id,
        dataset: r.dataset,
        source: r.source,
        row: Number(r.row),
        data: JSON.parse(r.data) as RecordData,
      }));
      const last = rows[rows.length - 1]!;
      lastSource = last.source;
      lastRow = Number(last.row);
      yield batch;
      if (rows.length < batchSize) return;
    }
  }

  async deleteDataset(dataset: string): Promise<number> {
    const db = this.conn;
    db.exec("BEGIN IMMEDIATE");
    try {
      const r = db.prepare("DELETE FROM records WHERE dataset = ?").run(dataset);
      db.prepare("DELETE FROM sources WHERE dataset = ?").run(dataset);
      db.exec("COMMIT");
      return Number(r.changes);
    } catch (e) {
      db.exec("ROLLBACK");
      throw this.fail(`deleting dataset ${dataset}`, e);
    }
  }
}

/**
 * Bring a store written by an older netsec to the current layout, in one transaction: records keyed by
 * id alone (the same file under a second dataset added nothing) are re-keyed by (dataset, id), and
 * sources get a status (their ingests finished, as far as anything recorded: `complete`).
 */
function migrateOldLayout(db: DatabaseSync): void {
  const cols = (table: string) =>
    db.prepare(`PRAGMA table_info(${table})`).all() as { name: string; pk: number }[];
  const rec = cols("records");
  const oldKey = rec.length > 0 && rec.find((c) => c.name === "dataset")?.pk === 0;
  const src = cols("sources");
  const noStatus = src.length > 0 && !src.some((c) => c.name === "status");
  if (!oldKey && !noStatus) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    if (oldKey) {
      db.exec(`
        CREATE TABLE records_by_dataset (
          dataset TEXT NOT NULL,
          id TEXT NOT NULL,
          source TEXT NOT NULL,
          row INTEGER NOT NULL,
          data TEXT NOT NULL,
          PRIMARY KEY (dataset, id)
        ) WITHOUT ROWID;
        INSERT INTO records_by_dataset (dataset, id, source, row, data)
          SELECT dataset, id, source, row, data FROM records;
        DROP TABLE records;
        ALTER TABLE records_by_dataset RENAME TO records;
      `);
    }
    if (noStatus) db.exec("ALTER TABLE sources ADD COLUMN status TEXT NOT NULL DEFAULT 'complete'");
    db.exec("COMMIT");
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
}
