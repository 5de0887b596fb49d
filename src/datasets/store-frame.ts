/**
 * Reading a dataset back from the record store into a Frame, keeping each row's provenance (source
 * and row) for messages and splits, in (source, row) order.
 *
 * From the DuckDB store, column by column: one query streams the dataset's table in result chunks,
 * and each chunk's vectors are written straight into the Frame's typed arrays (numbers into
 * Float64Array, categories into Int32Array codes), never through row objects. From MongoDB, record
 * batches through a FrameBuilder (memory: one batch plus the columnar result). Both give the same
 * Frame: categorical dictionaries start with the schema's values, then unseen values in row order.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { NetsecError } from "../core/errors.ts";
import { type Column, Frame } from "../core/frame.ts";
import { ident, literal } from "../store/duckdb/connection.ts";
import { DuckDbStore, ROW_COL, SOURCE_COL } from "../store/duckdb/store.ts";
import type { RecordStore, SourceInfo } from "../store/types.ts";
import { canonical } from "./coerce.ts";
import { FrameBuilder, isCategoricalColumn } from "./frame-builder.ts";
import type { DatasetSchema } from "./schema.ts";

export interface StoreFrame {
  frame: Frame;
  /** Per row: index into `sources`. */
  sourceIndex: Int32Array;
  /** Per row: the row number within its source. */
  sourceRow: Int32Array;
  sources: SourceInfo[];
}

export async function loadStoreFrame(
  store: RecordStore,
  schema: DatasetSchema,
  opts: {
    sources?: readonly string[];
    batchSize?: number;
    onProgress?: (rows: number) => void;
    /** Read a DuckDB store through `scan`'s records too (tests compare the two ways). */
    rowByRow?: boolean;
  } = {},
): Promise<StoreFrame> {
  const all = await store.listSources(schema.name);
  const sources = opts.sources ? all.filter((s) => opts.sources!.includes(s.source)) : all;
  if (opts.sources) {
    for (const s of opts.sources) {
      if (!all.some((x) => x.source === s)) {
        throw new NetsecError(
          "DATA_INVALID",
          `source ${s} of dataset ${schema.name} is not in the store ${store.location}`,
          { value: s },
        );
      }
    }
  }
  const n = await store.count({ dataset: schema.name, ...(opts.sources ? { sources: opts.sources } : {}) });
  if (n === 0) {
    throw new NetsecError(
      "DATA_INVALID",
      `the store ${store.location} holds no records of dataset ${schema.name}; run \`netsec ingest --dataset ${schema.name}\` first`,
      { value: schema.name },
    );
  }
  const srcIdx = new Map(sources.map((s, i) => [s.source, i]));
  if (store instanceof DuckDbStore && !opts.rowByRow) {
    const stored = new Set((await store.columns(schema.name)).keys());
    return store.withTable(schema.name, async (conn, table) => ({
      ...(await framesFromColumns(conn, table, stored, schema, n, srcIdx, opts.sources, opts.onProgress)),
      sources,
    }));
  }
  const fb = new FrameBuilder(schema, schema.columnNames, n);
  const sourceIndex = new Int32Array(n);
  const sourceRow = new Int32Array(n);
  let i = 0;
  const filter = { dataset: schema.name, ...(opts.sources ? { sources: opts.sources } : {}) };
  for await (const batch of store.scan(filter, opts.batchSize ?? 5000)) {
    for (const r of batch) {
      if (i >= n) break;
      fb.push(r.data);
      sourceIndex[i] = srcIdx.get(r.source) ?? -1;
      sourceRow[i] = r.row;
      i++;
    }
    opts.onProgress?.(i);
  }
  return {
    frame: fb.build(),
    sourceIndex: sourceIndex.subarray(0, i),
    sourceRow: sourceRow.subarray(0, i),
    sources,
  };
}

/** The DuckDB way: result chunks' vectors straight into typed arrays. */
async function framesFromColumns(
  conn: DuckDBConnection,
  table: string,
  stored: ReadonlySet<string>,
  schema: DatasetSchema,
  n: number,
  srcIdx: ReadonlyMap<string, number>,
  sources: readonly string[] | undefined,
  onProgress: ((rows: number) => void) | undefined,
): Promise<Omit<StoreFrame, "sources">> {
  const cols = schema.columns.map((spec) => {
    if (isCategoricalColumn(spec, schema)) {
      const categories = (spec.values ?? []).map(canonical);
      return {
        spec,
        kind: "categorical" as const,
        codes: new Int32Array(n).fill(-1),
        categories,
        dict: new Map(categories.map((c, i) => [c, i])),
      };
    }
    return { spec, kind: "numeric" as const, values: new Float64Array(n).fill(Number.NaN) };
  });
  const read = cols.filter((c) => stored.has(c.spec.name));
  const where = sources ? ` WHERE ${ident(SOURCE_COL)} IN (${sources.map(literal).join(", ")})` : "";
  const result = await conn.stream(
    `SELECT ${ident(SOURCE_COL)}, ${ident(ROW_COL)}${read.map((c) => `, ${ident(c.spec.name)}`).join("")}
     FROM ${table}${where} ORDER BY ${ident(SOURCE_COL)}, ${ident(ROW_COL)}`,
  );
  const sourceIndex = new Int32Array(n);
  const sourceRow = new Int32Array(n);
  let at = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const m = Math.min(chunk.rowCount, n - at);
    const src = chunk.getColumnVector(0);
    const row = chunk.getColumnVector(1);
    for (let i = 0; i < m; i++) {
      sourceIndex[at + i] = srcIdx.get(src.getItem(i) as string) ?? -1;
      sourceRow[at + i] = Number(row.getItem(i));
    }
    read.forEach((c, j) => {
      const v = chunk.getColumnVector(j + 2);
      if (c.kind === "numeric") {
        for (let i = 0; i < m; i++) {
          const x = v.getItem(i);
          c.values[at + i] = typeof x === "number" ? x : x === null ? Number.NaN : Number(x);
        }
      } else {
        for (let i = 0; i < m; i++) {
          const x = v.getItem(i);
          if (x === null) continue; // -1: missing
          const s = typeof x === "number" ? canonical(x) : String(x);
          let code = c.dict.get(s);
          if (code === undefined) {
            code = c.categories.length;
            c.categories.push(s);
            c.dict.set(s, code);
          }
          c.codes[at + i] = code;
        }
      }
    });
    at += m;
    onProgress?.(at);
    if (at === n) break;
  }
  const frameCols: Column[] = cols.map((c) =>
    c.kind === "numeric"
      ? { kind: "numeric", name: c.spec.name, values: at === n ? c.values : c.values.slice(0, at) }
      : {
          kind: "categorical",
          name: c.spec.name,
          codes: at === n ? c.codes : c.codes.slice(0, at),
          categories: c.categories,
        },
  );
  return {
    frame: new Frame(frameCols, at),
    sourceIndex: sourceIndex.subarray(0, at),
    sourceRow: sourceRow.subarray(0, at),
  };
}
