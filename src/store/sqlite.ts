/**
 * Reading a retired SQLite record store (`records(dataset, id, source, row, data JSON)` and
 * `sources`), for `netsec store migrate` only. Read-only: the file is never changed, whatever layout
 * an older netsec wrote (records keyed by id alone, sources without a status, which read as
 * `complete`).
 */
import { DatabaseSync } from "node:sqlite";
import { z } from "zod";
import { NetsecError } from "../core/errors.ts";
import type { SourceInfo, StoredRecord } from "./types.ts";

const SourceRow = z.object({
  source: z.string(),
  dataset: z.string(),
  location: z.string(),
  name: z.string(),
  rows: z.coerce.number(),
  ingested_at: z.string(),
  status: z.string().optional(),
});
const RecordRow = z.object({
  id: z.string(),
  dataset: z.string(),
  source: z.string(),
  row: z.coerce.number(),
  data: z.string(),
});
const RecordDataSchema = z.record(z.string(), z.union([z.string(), z.number(), z.null()]));

export class SqliteReader {
  readonly path: string;
  private readonly db: DatabaseSync;

  constructor(path: string) {
    this.path = path;
    try {
      this.db = new DatabaseSync(path, { readOnly: true });
      this.db.prepare("SELECT count(*) FROM records").get();
    } catch (e) {
      throw new NetsecError(
        "STORE_UNAVAILABLE",
        `cannot read the SQLite record store ${path}: ${(e as Error).message}`,
        { file: path },
        { cause: e },
      );
    }
  }

  close(): void {
    this.db.close();
  }

  count(): number {
    const r = z
      .object({ n: z.coerce.number() })
      .parse(this.db.prepare("SELECT count(*) AS n FROM records").get());
    return r.n;
  }

  listSources(): SourceInfo[] {
    const hasSources = this.db
      .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'sources'")
      .get() as { n: number };
    if (Number(hasSources.n) === 0) return [];
    return this.db
      .prepare("SELECT * FROM sources ORDER BY dataset, source")
      .all()
      .map((r) => {
        const s = SourceRow.parse(r);
        return {
          source: s.source,
          dataset: s.dataset,
          location: s.location,
          name: s.name,
          rows: s.rows,
          ingestedAt: s.ingested_at,
          status: s.status === "ingesting" ? "ingesting" : "complete",
        };
      });
  }

  /** Every record, in batches of at most `batchSize`, ordered by (dataset, source, row). */
  *records(batchSize = 5000): Generator<StoredRecord[]> {
    const stmt = this.db.prepare(
      `SELECT id, dataset, source, row, data FROM records
       WHERE (dataset, source, row) > (?, ?, ?) ORDER BY dataset, source, row LIMIT ?`,
    );
    let last: [string, string, number] = ["", "", -1];
    for (;;) {
      const rows = stmt.all(...last, batchSize).map((r) => RecordRow.parse(r));
      if (rows.length === 0) return;
      yield rows.map((r) => ({
        id: r.id,
        dataset: r.dataset,
        source: r.source,
        row: r.row,
        data: RecordDataSchema.parse(JSON.parse(r.data)),
      }));
      const l = rows[rows.length - 1]!;
      last = [l.dataset, l.source, l.row];
      if (rows.length < batchSize) return;
    }
  }
}
