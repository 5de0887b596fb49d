/**
 * The MongoDB record store and the MongoDB source/sink used by `push` and `ingest --mongodb`. This is
 * the only file that imports the `mongodb` driver. It uses only what MongoDB itself supports (tested
 * against FerretDB, which speaks the MongoDB wire protocol).
 *
 * All-or-nothing per batch without transactions: FerretDB 1.x has no multi-document transactions and a
 * standalone MongoDB has none either, so a batch is written with `insertMany({ordered: false})` where
 * `_id` is `<dataset>:<record id>` (a record's identity includes its dataset; dataset names have no
 * `:`), the record id also kept as `id`. Duplicate-key errors (code 11000) are the idempotency case and are ignored;
 * any other failure triggers compensation: the ids this call inserted are deleted again, then the error
 * is thrown, so a failed batch leaves the store as it was and re-running never creates duplicates
 * (`_id` makes them impossible in the first place).
 */
import type { Collection, Db, Document, MongoBulkWriteError, MongoClient } from "mongodb";
import { NetsecError, redactUri } from "../core/errors.ts";
import type { RecordData, RecordStore, ScanFilter, SourceInfo, StoredRecord } from "./types.ts";

interface RecordDoc {
  /** `<dataset>:<id>`; older stores had the bare id here and no `id` field (migrated by `open`). */
  _id: string;
  id: string;
  dataset: string;
  source: string;
  row: number;
  data: RecordData;
}

interface SourceDoc extends Omit<SourceInfo, "source" | "status"> {
  _id: string;
  source: string;
  /** Absent in stores written before ingests were bookkept from start to end. */
  status?: SourceInfo["status"];
}

export interface MongoOptions {
  /** Database name (default: the URI's path, else "netsec"). */
  db?: string;
  serverSelectionTimeoutMS?: number;
}

function dbFromUri(uri: string): string | undefined {
  try {
    const p = new URL(uri).pathname.replace(/^\//, "");
    return p === "" ? undefined : decodeURIComponent(p);
  } catch {
    return undefined;
  }
}

/**
 * The driver, loaded by the first connect: it takes ~0.13 s of CPU to import, and most commands
 * (everything on the default DuckDB store) never connect. Set before any driver error can exist.
 */
let driver: typeof import("mongodb") | undefined;

async function connect(uri: string, timeoutMs: number): Promise<MongoClient> {
  const shown = redactUri(uri);
  driver ??= await import("mongodb");
  let client: MongoClient;
  try {
    client = new driver.MongoClient(uri, {
      serverSelectionTimeoutMS: timeoutMs,
      connectTimeoutMS: timeoutMs,
    });
  } catch (e) {
    throw new NetsecError("CONFIG_INVALID", `invalid MongoDB URI ${shown}: ${(e as Error).message}`, {
      uri: shown,
    });
  }
  try {
    await client.connect();
    await client.db("admin").command({ ping: 1 });
    return client;
  } catch (e) {
    await client.close().catch(() => {});
    const msg = ((e as Error).message ?? String(e)).split(uri).join(shown);
    throw new NetsecError(
      "STORE_UNAVAILABLE",
      `cannot reach MongoDB at ${shown}: ${msg}`,
      { uri: shown },
      { cause: e },
    );
  }
}

/** Ids inserted by a failed insertMany (from the bulk write result), for compensation. */
function insertedIds(e: unknown): string[] {
  if (driver && e instanceof driver.MongoBulkWriteError) {
    return Object.values(e.insertedIds ?? {}).map(String);
  }
  return [];
}

function onlyDuplicateKeys(e: unknown): boolean {
  if (!driver) return false;
  if (e instanceof driver.MongoBulkWriteError) {
    const errs = Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors];
    return errs.length > 0 && errs.every((w) => w.code === 11000);
  }
  return e instanceof driver.MongoServerError && e.code === 11000;
}

/**
 * insertMany ignoring duplicates, with compensation on any other failure. Returns how many were added.
 */
async function insertIdempotent<T extends { _id: string }>(coll: Collection<T>, docs: T[]): Promise<number> {
  if (docs.length === 0) return 0;
  try {
    const r = await coll.insertMany(docs as never[], { ordered: false });
    return r.insertedCount;
  } catch (e) {
    if (onlyDuplicateKeys(e)) {
      const bw = e as MongoBulkWriteError;
      return bw.insertedCount ?? Object.keys(bw.insertedIds ?? {}).length;
    }
    // compensation: undo what this call inserted (the driver reports them), then fail
    const ids = insertedIds(e);
    if (ids.length) await coll.deleteMany({ _id: { $in: ids } } as never).catch(() => {});
    throw e;
  }
}

export class MongoStore implements RecordStore {
  readonly kind = "mongodb" as const;
  readonly location: string;
  private readonly uri: string;
  private readonly dbName: string;
  private readonly timeoutMs: number;
  private client: MongoClient | null = null;
  private db: Db | null = null;

  constructor(uri: string, opts: MongoOptions = {}) {
    this.uri = uri;
    this.dbName = opts.db ?? dbFromUri(uri) ?? "netsec";
    this.timeoutMs = opts.serverSelectionTimeoutMS ?? 5000;
    this.location = `${redactUri(uri)} (db ${this.dbName})`;
  }

  private get records(): Collection<RecordDoc> {
    if (!this.db)
      throw new NetsecError("STORE_ERROR", `record store ${this.location} is not open`, {
        uri: this.location,
      });
    return this.db.collection<RecordDoc>("records");
  }

  private get sources(): Collection<SourceDoc> {
    if (!this.db)
      throw new NetsecError("STORE_ERROR", `record store ${this.location} is not open`, {
        uri: this.location,
      });
    return this.db.collection<SourceDoc>("sources");
  }

  private fail(doing: string, e: unknown): NetsecError {
    if (e instanceof NetsecError) return e;
    const msg = ((e as Error).message ?? String(e)).split(this.uri).join(redactUri(this.uri));
    return new NetsecError(
      "STORE_ERROR",
      `${doing} in ${this.location}: ${msg}`,
      { uri: redactUri(this.uri) },
      { cause: e },
    );
  }

  async open(): Promise<void> {
    if (this.client) return;
    this.client = await connect(this.uri, this.timeoutMs);
    this.db = this.client.db(this.dbName);
    try {
      await this.records.createIndex({ dataset: 1, source: 1, row: 1 });
      await this.migrateOldIds();
    } catch (e) {
      throw this.fail("creating indexes", e);
    }
  }

  /**
   * Records written by older versions have `_id` = the bare record id (so a second dataset could not
   * hold the same file): each is re-inserted under `<dataset>:<id>`, then the old document removed.
   * Safe to interrupt: a re-run finds the remaining old documents and skips the copies already made.
   */
  private async migrateOldIds(): Promise<void> {
    for (;;) {
      const old = await this.records
        .find({ id: { $exists: false } } as never)
        .limit(2000)
        .toArray();
      if (old.length === 0) return;
      await insertIdempotent(
        this.records,
        old.map((d) => ({ ...d, _id: `${d.dataset}:${d._id}`, id: d._id })),
      );
      await this.records.deleteMany({ _id: { $in: old.map((d) => d._id) } } as never);
    }
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = null;
    this.db = null;
  }

  async insertBatch(records: readonly StoredRecord[]): Promise<number> {
    const docs: RecordDoc[] = records.map((r) => ({
      _id: `${r.dataset}:${r.id}`,
      id: r.id,
      dataset: r.dataset,
      source: r.source,
      row: r.row,
      data: r.data,
    }));
    try {
      return await insertIdempotent(this.records, docs);
    } catch (e) {
      throw this.fail(`inserting a batch of ${records.length} records (first ${records[0]?.id ?? "-"})`, e);
    }
  }

  /**
   * Insert documents keyed by `_id` into `collection`, skipping those whose `_id` is there already
   * (stream alerts: `alerts.ts`). Returns how many were added.
   */
  async insertKeyed(collection: string, docs: readonly ({ _id: string } & Document)[]): Promise<number> {
    if (!this.db)
      throw new NetsecError("STORE_ERROR", `record store ${this.location} is not open`, {
        uri: this.location,
      });
    try {
      return await insertIdempotent(this.db.collection<{ _id: string } & Document>(collection), [...docs]);
    } catch (e) {
      throw this.fail(
        `inserting ${docs.length} documents into ${collection} (first ${docs[0]?._id ?? "-"})`,
        e,
      );
    }
  }

  async putSource(info: SourceInfo): Promise<void> {
    try {
      await this.sources.replaceOne({ _id: `${info.dataset}:${info.source}` }, { ...info }, { upsert: true });
    } catch (e) {
      throw this.fail(`recording source ${info.name}`, e);
    }
  }

  async listSources(dataset?: string): Promise<SourceInfo[]> {
    try {
      const docs = await this.sources
        .find(dataset === undefined ? {} : { dataset })
        .sort({ dataset: 1, source: 1 })
        .toArray();
      // sources recorded before `status` existed finished as far as anything recorded
      return docs.map(({ _id, ...rest }) => ({ ...rest, status: rest.status ?? "complete" }));
    } catch (e) {
      throw this.fail("listing sources", e);
    }
  }

  async count(filter: Partial<ScanFilter> = {}): Promise<number> {
    const q: Document = {};
    if (filter.dataset !== undefined) q.dataset = filter.dataset;
    if (filter.sources) q.source = { $in: [...filter.sources] };
    try {
      return await this.records.countDocuments(q);
    } catch (e) {
      throw this.fail("counting records", e);
    }
  }

  async *scan(filter: ScanFilter, batchSize = 5000): AsyncIterable<StoredRecord[]> {
    const q: Document = { dataset: filter.dataset };
    if (filter.sources) q.source = { $in: [...filter.sources] };
    const cursor = this.records.find(q).sort({ source: 1, row: 1 }).batchSize(batchSize);
    let batch: StoredRecord[] = [];
    try {
      for await (const d of cursor) {
        batch.push({ id: d.id, dataset: d.dataset, source: d.source, row: d.row, data: d.data });
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length) yield batch;
    } catch (e) {
      throw this.fail(`reading dataset ${filter.dataset}`, e);
    } finally {
      await cursor.close().catch(() => {});
    }
  }

  async deleteDataset(dataset: string): Promise<number> {
    try {
      const r = await this.records.deleteMany({ dataset });
      await this.sources.deleteMany({ dataset });
      return r.deletedCount;
    } catch (e) {
      throw this.fail(`deleting dataset ${dataset}`, e);
    }
  }
}

/** The original project's ETL, made idempotent: one document per row, `_id` = file SHA-256 prefix + row. */
export async function pushToCollection(
  uri: string,
  db: string,
  collection: string,
  rows: AsyncIterable<{ id: string; data: RecordData }[]>,
  timeoutMs = 5000,
): Promise<{ added: number; total: number }> {
  const client = await connect(uri, timeoutMs);
  try {
    const coll = client.db(db).collection<{ _id: string } & RecordData>(collection);
    let added = 0;
    for await (const batch of rows) {
      const docs = batch.map((r) => ({ ...r.data, _id: r.id }) as { _id: string } & RecordData);
      try {
        added += await insertIdempotent(coll, docs);
      } catch (e) {
        const shown = redactUri(uri);
        const msg = ((e as Error).message ?? String(e)).split(uri).join(shown);
        throw new NetsecError(
          "STORE_ERROR",
          `pushing to ${shown} ${db}.${collection}: ${msg}`,
          { uri: shown },
          { cause: e },
        );
      }
    }
    const total = await coll.countDocuments({});
    return { added, total };
  } finally {
    await client.close();
  }
}

/**
 * Documents of a collection in `_id` order, in batches, for `ingest --mongodb`. Record ids are
 * `mongo:<db>.<collection>:<_id>`, so re-ingesting adds nothing.
 */
export async function* readCollection(
  uri: string,
  db: string,
  collection: string,
  batchSize = 2000,
  timeoutMs = 5000,
): AsyncGenerator<{ id: string; row: number; data: Record<string, unknown> }[]> {
  const client = await connect(uri, timeoutMs);
  const shown = redactUri(uri);
  try {
    const coll = client.db(db).collection(collection);
    const n = await coll.estimatedDocumentCount();
    if (n === 0) {
      const exists = (await client.db(db).listCollections({ name: collection }).toArray()).length > 0;
      if (!exists)
        throw new NetsecError("DATA_INVALID", `collection ${db}.${collection} does not exist at ${shown}`, {
          uri: shown,
        });
    }
    const cursor = coll.find({}).sort({ _id: 1 }).batchSize(batchSize);
    let row = 0;
    let batch: { id: string; row: number; data: Record<string, unknown> }[] = [];
    for await (const doc of cursor) {
      row++;
      const { _id, ...data } = doc;
      batch.push({ id: `mongo:${db}.${collection}:${String(_id)}`, row, data });
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  } catch (e) {
    if (e instanceof NetsecError) throw e;
    const msg = ((e as Error).message ?? String(e)).split(uri).join(shown);
    throw new NetsecError(
      "STORE_ERROR",
      `reading ${shown} ${db}.${collection}: ${msg}`,
      { uri: shown },
      { cause: e },
    );
  } finally {
    await client.close();
  }
}
