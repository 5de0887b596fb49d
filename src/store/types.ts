/**
 * The record store: where ingested, labelled traffic records live between ingest and training.
 * Two implementations: an embedded DuckDB file (default, `duckdb:<path>`; `duckdb/store.ts`) and MongoDB (`mongodb://…`).
 *
 * Idempotency comes from the record id, which derives from where the record came from — the source
 * file's SHA-256 and the 1-based data row (`<sha256[:16]>:<row>`), or a source MongoDB document's `_id`
 * (`mongo:<db>.<collection>:<_id>`). A record's identity in the store is (dataset, id): the same file
 * ingested under two datasets gives each dataset its own full copy, and re-running an ingest under the
 * same dataset adds nothing, while identical rows inside one file stay separate records (they are real
 * observations).
 *
 * Each source's ingest is bookkept from start to end: `putSource` with status `ingesting` before the first
 * record is written and `complete` after the last, so a source whose ingest was killed mid-way is known
 * (`validate` reports it).
 *
 * Set queries over a dataset (validation, profiles) do not go through this interface: the DuckDB
 * store's `withTable(dataset, (conn, table) => …)` runs them on its connection and the dataset's
 * table (`records_<dataset>`: `__source`, `__row`, `__id`, then one typed column per data column).
 */

/** A record's values by column name: numbers, strings, or null for missing. */
export type RecordData = Record<string, string | number | null>;

export interface StoredRecord {
  /** Stable id derived from the source (see module doc). */
  id: string;
  /** Dataset (schema) name, e.g. "phishing". */
  dataset: string;
  /** Source id: the file's SHA-256, or `mongo:<db>.<collection>`. */
  source: string;
  /** 1-based position in the source (data row for files, read order for collections). */
  row: number;
  data: RecordData;
}

/** One ingest of one source, as recorded in the store. */
export interface SourceInfo {
  source: string;
  dataset: string;
  /** Human description: file path or redacted URI. */
  location: string;
  /** File name as given (for files), or collection name. */
  name: string;
  /** Data rows of the source (all of them, also while its ingest is still writing). */
  rows: number;
  ingestedAt: string;
  /**
   * `ingesting` from before the first record is written until the last is; `complete` after. A source
   * still `ingesting` when nothing runs was interrupted: its records are partial. Stores written before
   * this field existed read as `complete`.
   */
  status: "ingesting" | "complete";
}

export interface ScanFilter {
  dataset: string;
  /** Restrict to these sources (default: all sources of the dataset). */
  sources?: readonly string[];
}

export interface RecordStore {
  readonly kind: "duckdb" | "mongodb";
  /** Where it is, safe for logs and messages (no credentials). */
  readonly location: string;
  /** Connect / create tables and indexes. Errors name the location. */
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Insert a batch all-or-nothing; records whose (dataset, id) already exists are skipped (not updated).
   * The same id under another dataset is another record. Returns how many were added.
   */
  insertBatch(records: readonly StoredRecord[]): Promise<number>;
  /** Record (or update) the bookkeeping entry for an ingested source. */
  putSource(info: SourceInfo): Promise<void>;
  listSources(dataset?: string): Promise<SourceInfo[]>;
  count(filter?: Partial<ScanFilter>): Promise<number>;
  /**
   * Stream records of a dataset in batches of at most `batchSize`, ordered by (source, row).
   * Memory is bounded by one batch: implementations page with a cursor, never load everything.
   */
  scan(filter: ScanFilter, batchSize?: number): AsyncIterable<StoredRecord[]>;
  /** Remove every record and source entry of a dataset; returns records removed. */
  deleteDataset(dataset: string): Promise<number>;
}
