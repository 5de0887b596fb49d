/**
 * `netsec store migrate`: copy every record and source entry of a retired SQLite store into a
 * record store (the DuckDB default). Idempotent: records keep their ids, so a second run adds
 * nothing, and an interrupted run completes on the next.
 */
import { SqliteReader } from "./sqlite.ts";
import type { RecordStore } from "./types.ts";

export interface MigrateResult {
  from: string;
  to: string;
  sources: number;
  records: number;
  added: number;
}

export async function migrateSqlite(
  sqlitePath: string,
  to: RecordStore,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<MigrateResult> {
  const src = new SqliteReader(sqlitePath);
  try {
    const total = src.count();
    const sources = src.listSources();
    // a source is marked as it was only once all its records are copied: `ingesting` first
    for (const s of sources) await to.putSource({ ...s, status: "ingesting" });
    let added = 0;
    let done = 0;
    for (const batch of src.records()) {
      added += await to.insertBatch(batch);
      done += batch.length;
      onProgress(done, total);
    }
    for (const s of sources) await to.putSource(s);
    return { from: sqlitePath, to: to.location, sources: sources.length, records: total, added };
  } finally {
    src.close();
  }
}
