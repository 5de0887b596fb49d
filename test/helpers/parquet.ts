/** Test helpers for Parquet files (run snapshots): their rows as text, or as a CSV file. */
import { literal, openDuckDb } from "../../src/store/duckdb/connection.ts";

/** The rows of a Parquet file, every value as text ("" for missing), as a CSV reader gives them. */
export async function parquetRows(path: string): Promise<Record<string, string>[]> {
  const db = await openDuckDb({ threads: 1 });
  try {
    const r = await db.connection.runAndReadAll(`SELECT * FROM read_parquet(${literal(path)})`);
    return r
      .getRowObjectsJS()
      .map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? "" : String(v)])),
      );
  } finally {
    db.close();
  }
}

/** A Parquet file copied as a CSV file with a header (for tools that read CSV only). */
export async function parquetToCsv(path: string, out: string): Promise<string> {
  const db = await openDuckDb({ threads: 1 });
  try {
    await db.connection.run(
      `COPY (SELECT * FROM read_parquet(${literal(path)})) TO ${literal(out)} (FORMAT csv, HEADER true)`,
    );
    return out;
  } finally {
    db.close();
  }
}
