/**
 * Parquet files in and out, through DuckDB's built-in Parquet reader and writer.
 *
 * In: `readParquetRows` streams a file's rows chunk by chunk as the readers' raw values (readers.ts
 * makes them a `RawTable`, names trimmed and deduplicated as for every format), so `readTable`/
 * `loadFrame` — ingest, validate, predict — take `.parquet` like any format. Numbers arrive as numbers
 * (BIGINT as a JavaScript number, NaN as missing, as the text formats read `NaN`), text as text,
 * timestamps as their text.
 * Out: `writeParquet` writes typed columns (DOUBLE or VARCHAR, NULL for missing); `writeFrameParquet`
 * a Frame (numeric columns DOUBLE, NaN written as NULL; categorical columns VARCHAR, which Parquet
 * stores dictionary-encoded) plus extra columns. Files are written beside the target and renamed over
 * it, so a reader never sees half a file.
 */
import { randomBytes } from "node:crypto";
import { renameSync, rmSync, statSync } from "node:fs";
import {
  DOUBLE,
  type DuckDBConnection,
  DuckDBDataChunk,
  type DuckDBResult,
  type DuckDBType,
  VARCHAR,
} from "@duckdb/node-api";
import { NetsecError } from "../../core/errors.ts";
import type { Frame } from "../../core/frame.ts";
import { ident, literal, openDuckDb } from "./connection.ts";

/**
 * One column to write: DOUBLE values (NaN and null are NULL), VARCHAR values (null is NULL), or VARCHAR
 * as dictionary codes (a Frame's categorical column: -1 is NULL; no string array of every row).
 */
export type ParquetColumn =
  | { name: string; type: "DOUBLE"; values: ArrayLike<number | null> }
  | { name: string; type: "VARCHAR"; values: ArrayLike<string | null> }
  | { name: string; type: "VARCHAR"; codes: Int32Array; categories: readonly string[] };

/** A column's number of rows. */
function columnRows(c: ParquetColumn): number {
  return "codes" in c ? c.codes.length : c.values.length;
}

/** A cell as the readers give it (datasets/readers.ts's RawValue). */
export type ParquetValue = string | number | boolean | null;

export interface ParquetRows {
  /** The file's column names, as written. */
  names: string[];
  /** Rows in batches, with the 1-based row number of each batch's first row. */
  batches: AsyncIterable<{ firstRow: number; rows: ParquetValue[][] }>;
}

/**
 * Open a Parquet file for reading (the readers make it a RawTable); a file DuckDB cannot read as
 * Parquet is a FILE_UNREADABLE naming it (`label`).
 */
export async function readParquetRows(path: string, label: string, batchSize = 5000): Promise<ParquetRows> {
  try {
    if (!statSync(path).isFile()) throw new Error("not a regular file");
  } catch (e) {
    throw new NetsecError(
      "FILE_UNREADABLE",
      `cannot read ${label}: ${(e as Error).message}`,
      { file: label },
      { cause: e },
    );
  }
  const source = `read_parquet(${literal(path)})`;
  // the header now (a file that is not Parquet fails here, naming it); the rows when iterated, through
  // an engine opened for them and closed when they end, so a table never read holds nothing open
  let names: string[];
  const probe = await openDuckDb({ threads: 1 });
  try {
    names = (await probe.connection.run(`SELECT * FROM ${source} LIMIT 0`)).columnNames();
  } catch (e) {
    throw unreadable(label, e);
  } finally {
    probe.close();
  }
  async function* batches(): AsyncGenerator<{ firstRow: number; rows: ParquetValue[][] }> {
    const db = await openDuckDb({ threads: 1 });
    try {
      let result: DuckDBResult;
      try {
        result = await db.connection.stream(`SELECT * FROM ${source}`);
      } catch (e) {
        throw unreadable(label, e);
      }
      let rows: ParquetValue[][] = [];
      let firstRow = 1;
      for (;;) {
        let chunk: DuckDBDataChunk | null;
        try {
          chunk = await result.fetchChunk();
        } catch (e) {
          throw unreadable(label, e);
        }
        if (!chunk || chunk.rowCount === 0) break;
        const cols = chunk.getColumns();
        for (let r = 0; r < chunk.rowCount; r++) {
          rows.push(cols.map((c) => rawValue(c[r])));
          if (rows.length >= batchSize) {
            yield { firstRow, rows };
            firstRow += rows.length;
            rows = [];
          }
        }
      }
      if (rows.length > 0) yield { firstRow, rows };
    } finally {
      db.close();
    }
  }
  return { names, batches: batches() };
}

function unreadable(label: string, e: unknown): NetsecError {
  return new NetsecError(
    "FILE_UNREADABLE",
    `${label}: not a readable Parquet file: ${(e as Error).message}`,
    { file: label },
    { cause: e },
  );
}

/** A DuckDB value as the readers give raw values. */
function rawValue(v: unknown): ParquetValue {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return Number.isNaN(v) ? null : v;
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "bigint") return Number(v);
  // DECIMAL, timestamps, dates, lists…: their text form (DuckDB's values print as SQL literals)
  const text = String(v);
  const n = Number(text);
  return typeof v === "object" && "scale" in v && Number.isFinite(n) ? n : text;
}

/**
 * Rows staged in DuckDB at a time when writing a Parquet file: a whole 806 k-row training frame staged
 * at once took about 1 GB (the run's ingest-step peak on the 1 M-row NSL-KDD file).
 */
export const PARQUET_BATCH_ROWS = 131_072;

/**
 * Write typed columns (all of one length) to a Parquet file: PARQUET_BATCH_ROWS rows at a time into
 * part files, then the parts into one file in order (DuckDB streams them).
 */
export async function writeParquet(path: string, columns: readonly ParquetColumn[]): Promise<void> {
  const n = columns[0] ? columnRows(columns[0]) : 0;
  if (n <= PARQUET_BATCH_ROWS) return writeParquetPart(path, columns, 0, n);
  const tag = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const parts: string[] = [];
  try {
    for (let from = 0; from < n; from += PARQUET_BATCH_ROWS) {
      const part = `${path}.part${parts.length}-${tag}`;
      parts.push(part);
      await writeParquetPart(part, columns, from, Math.min(n, from + PARQUET_BATCH_ROWS));
    }
    await concatParquet(parts, path);
  } finally {
    for (const p of parts) rmSync(p, { force: true });
  }
}

/** Rows from..to-1 of `columns` as one Parquet file. */
async function writeParquetPart(
  path: string,
  columns: readonly ParquetColumn[],
  from: number,
  to: number,
): Promise<void> {
  const db = await openDuckDb({ threads: 1 });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await appendColumns(db.connection, "out", columns, from, to);
    await db.connection.run(`COPY out TO ${literal(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof NetsecError) throw e;
    throw new NetsecError(
      "FILE_UNREADABLE",
      `cannot write ${path}: ${(e as Error).message}`,
      { file: path },
      { cause: e },
    );
  } finally {
    db.close();
  }
}

/** Parquet files with the same columns, one after the other, as one file. */
export async function concatParquet(paths: readonly string[], out: string): Promise<void> {
  await copySelectToParquet(`SELECT * FROM read_parquet([${paths.map(literal).join(", ")}])`, out);
}

/**
 * The rows of a DuckDB `select` into the Parquet file `out` (zstd), written beside it and renamed
 * into place, so `out` is either the whole result or untouched; a failure names `out`.
 */
export async function copySelectToParquet(select: string, out: string): Promise<void> {
  const db = await openDuckDb({ threads: 1 });
  const tmp = `${out}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await db.connection.run(`COPY (${select}) TO ${literal(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new NetsecError(
      "FILE_UNREADABLE",
      `cannot write ${out}: ${(e as Error).message}`,
      { file: out },
      { cause: e },
    );
  } finally {
    db.close();
  }
}

/** A Frame's columns (and `extra` columns after them) as a Parquet file. */
export async function writeFrameParquet(
  frame: Frame,
  path: string,
  extra: readonly ParquetColumn[] = [],
): Promise<void> {
  const cols: ParquetColumn[] = frame.columns.map((c) =>
    c.kind === "numeric"
      ? { name: c.name, type: "DOUBLE", values: c.values }
      : { name: c.name, type: "VARCHAR", codes: c.codes, categories: c.categories },
  );
  await writeParquet(path, [...cols, ...extra]);
}

/** Create `table` with the columns' rows from..to-1, filled a data chunk (2,048 rows) at a time. */
async function appendColumns(
  conn: DuckDBConnection,
  table: string,
  columns: readonly ParquetColumn[],
  from = 0,
  to = columns[0] ? columnRows(columns[0]) : 0,
): Promise<void> {
  const all = columns[0] ? columnRows(columns[0]) : 0;
  for (const c of columns)
    if (columnRows(c) !== all)
      throw new RangeError(`column ${c.name} has ${columnRows(c)} values, not ${all}`);
  await conn.run(
    `CREATE TABLE ${ident(table)} (${columns.map((c) => `${ident(c.name)} ${c.type}`).join(", ")})`,
  );
  const types: DuckDBType[] = columns.map((c) => (c.type === "DOUBLE" ? DOUBLE : VARCHAR));
  const appender = await conn.createAppender(table);
  const size = 2048;
  for (let start = from; start < to; start += size) {
    const end = Math.min(to, start + size);
    const chunk = DuckDBDataChunk.create(types, end - start);
    chunk.setColumns(
      columns.map((c) => {
        const out: (number | string | null)[] = new Array(end - start);
        if ("codes" in c) {
          for (let r = start; r < end; r++) {
            const code = c.codes[r]!;
            out[r - start] = code < 0 ? null : c.categories[code]!;
          }
          return out;
        }
        for (let r = start; r < end; r++) {
          const v = c.values[r] ?? null;
          out[r - start] = typeof v === "number" && Number.isNaN(v) ? null : v;
        }
        return out;
      }),
    );
    appender.appendDataChunk(chunk);
  }
  appender.closeSync();
}
