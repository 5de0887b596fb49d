/**
 * Ingest: files (or a MongoDB collection) into the record store, idempotently. Files into the
 * DuckDB store go the columnar way (`ingest-duckdb.ts`); what follows is the MongoDB store's.
 *
 * Two passes over the source: the first reads and coerces everything and refuses the source if any
 * value cannot be stored as its type (every such problem counted, the first ones named with file, row,
 * column and value) — so a bad file leaves the store unchanged; the second streams batches into the
 * store (each batch all-or-nothing). Record ids come from the source (file SHA-256 + data row), so a
 * re-run under the same dataset adds nothing and identical rows inside a file stay separate records.
 * The source is recorded as `ingesting` before the first batch is written and `complete` after the
 * last, so an ingest killed mid-way leaves a mark that `validate` reports.
 */
import { basename } from "node:path";
import { NetsecError } from "../core/errors.ts";
import { DuckDbStore } from "../store/duckdb/store.ts";
import type { RecordData, RecordStore, StoredRecord } from "../store/types.ts";
import { allowedSet, coerceCell } from "./coerce.ts";
import { ingestFileDuckDb } from "./ingest-duckdb.ts";
import { checkHeaderAgainstSchema, checkTableTypes, headerError, typedBatches } from "./load.ts";
import { type FileFormat, readTable, refLabel, type SourceRef } from "./readers.ts";
import { sha256OfRef } from "./registry.ts";
import type { DatasetSchema } from "./schema.ts";

export interface IngestResult {
  dataset: string;
  source: string;
  location: string;
  rows: number;
  added: number;
  /** Records of the dataset in the store after this ingest. */
  total: number;
  /** Domain problems seen (values outside allowed sets/ranges): stored, reported by `validate`. */
  warnings: number;
  seconds: number;
}

export interface IngestOptions {
  format?: FileFormat;
  batchSize?: number;
  allowUnknownColumns?: boolean;
  /** Known SHA-256 of the file (skips hashing it again). */
  sha256?: string;
  onProgress?: (msg: string) => void;
  /** Rows stored so far of the file's `total` (for a rows/s meter). */
  onRows?: (done: number, total: number) => void;
}

/** The record id of data row `row` of the file with SHA-256 `sha`. */
export function fileRecordId(sha: string, row: number): string {
  return `${sha.slice(0, 16)}:${row}`;
}

export async function ingestFile(
  store: RecordStore,
  schema: DatasetSchema,
  ref: SourceRef,
  opts: IngestOptions = {},
): Promise<IngestResult> {
  const t0 = performance.now();
  const label = refLabel(ref);
  // (the DuckDB store hashes a file in the pass that scans it, when it can)
  if (store instanceof DuckDbStore) return ingestFileDuckDb(store, schema, ref, opts.sha256, opts);
  const sha = opts.sha256 ?? (await sha256OfRef(ref)).sha256;
  const readOpts = {
    schema,
    batchSize: opts.batchSize ?? 2000,
    ...(opts.format ? { format: opts.format } : {}),
  };

  // pass 1: check everything, write nothing
  const t1 = await readTable(ref, readOpts);
  const hc = checkHeaderAgainstSchema(t1.header, schema, true);
  if (hc.missing.length > 0 || (hc.unknown.length > 0 && !opts.allowUnknownColumns))
    throw headerError(label, hc, schema);
  const { rows, warnings } = await checkTableTypes(t1, schema, hc, label);
  opts.onProgress?.(`${label}: ${rows} rows checked`);

  // pass 2: write, bookkept from start to end
  const sourceInfo = {
    source: sha,
    dataset: schema.name,
    location: label,
    name: ref.member ?? basename(ref.path),
    rows,
  };
  await store.putSource({ ...sourceInfo, ingestedAt: new Date().toISOString(), status: "ingesting" });
  const t2 = await readTable(ref, readOpts);
  const hc2 = checkHeaderAgainstSchema(t2.header, schema, true);
  let added = 0;
  let done = 0;
  for await (const b of typedBatches(t2, schema, hc2)) {
    const recs: StoredRecord[] = b.rows.map((data, i) => ({
      id: fileRecordId(sha, b.firstRow + i),
      dataset: schema.name,
      source: sha,
      row: b.firstRow + i,
      data: data as RecordData,
    }));
    added += await store.insertBatch(recs);
    done += recs.length;
    opts.onProgress?.(`${label}: ${done}/${rows} rows stored`);
    opts.onRows?.(done, rows);
  }
  await store.putSource({ ...sourceInfo, ingestedAt: new Date().toISOString(), status: "complete" });
  const total = await store.count({ dataset: schema.name });
  return {
    dataset: schema.name,
    source: sha,
    location: label,
    rows,
    added,
    total,
    warnings,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** A batch source of documents (e.g. a MongoDB collection): ids and plain data. */
export interface DocumentSource {
  /** Source id, e.g. `mongo:<db>.<collection>`. */
  source: string;
  /** Redacted location for messages. */
  location: string;
  name: string;
  /** A fresh iteration over the documents each call (ingest reads twice). */
  batches(): AsyncIterable<{ id: string; row: number; data: Record<string, unknown> }[]>;
}

/** Ingest documents (MongoDB collection) with the same two-pass guarantee as files. */
export async function ingestDocuments(
  store: RecordStore,
  schema: DatasetSchema,
  src: DocumentSource,
  opts: Pick<IngestOptions, "allowUnknownColumns" | "onProgress"> = {},
): Promise<IngestResult> {
  const t0 = performance.now();
  const header = schema.columnNames;
  const asTable = (): import("./readers.ts").RawTable => ({
    label: src.location,
    format: "jsonl",
    header,
    batches: (async function* () {
      for await (const docs of src.batches()) {
        if (docs.length === 0) continue;
        const rows = docs.map((d) => {
          if (!opts.allowUnknownColumns) {
            for (const k of Object.keys(d.data)) {
              if (!schema.column(k)) {
                throw new NetsecError(
                  "SCHEMA_MISMATCH",
                  `${src.location}, document ${d.id} (row ${d.row}): unknown field ${JSON.stringify(k)}`,
                  {
                    uri: src.location,
                    row: d.row,
                    column: k,
                  },
                );
              }
            }
          }
          return header.map((h) => {
            const v = d.data[h];
            return v === undefined ? null : (v as string | number | boolean | null);
          });
        });
        yield { firstRow: docs[0]!.row, rows };
      }
    })(),
  });
  const hc = checkHeaderAgainstSchema(header, schema, true);
  // an empty collection is a source of 0 rows, not an error
  const { rows, warnings } = await checkTableTypes(asTable(), schema, hc, src.location, { allowEmpty: true });
  const sourceInfo = {
    source: src.source,
    dataset: schema.name,
    location: src.location,
    name: src.name,
    rows,
  };
  await store.putSource({ ...sourceInfo, ingestedAt: new Date().toISOString(), status: "ingesting" });
  let added = 0;
  for await (const docs of src.batches()) {
    const typed = typedDocuments(docs, schema);
    const recs: StoredRecord[] = docs.map((d, i) => ({
      id: d.id,
      dataset: schema.name,
      source: src.source,
      row: d.row,
      data: typed[i]!,
    }));
    added += await store.insertBatch(recs);
    opts.onProgress?.(`${src.location}: ${added} added`);
  }
  await store.putSource({ ...sourceInfo, ingestedAt: new Date().toISOString(), status: "complete" });
  const total = await store.count({ dataset: schema.name });
  return {
    dataset: schema.name,
    source: src.source,
    location: src.location,
    rows,
    added,
    total,
    warnings,
    seconds: (performance.now() - t0) / 1000,
  };
}

function typedDocuments(docs: { data: Record<string, unknown> }[], schema: DatasetSchema): RecordData[] {
  const cols = schema.columns.map((c) => ({ c, allowed: allowedSet(c) }));
  return docs.map((d) => {
    const out: RecordData = {};
    for (const { c, allowed } of cols) {
      const v = d.data[c.name];
      out[c.name] = coerceCell(
        v === undefined ? null : (v as string | number | boolean | null),
        c,
        allowed,
      ).value;
    }
    return out;
  });
}
