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
  // (source, row) order without sorting the table when each source's rows are numbered without gaps:
  // a row's place is then its source's offset plus its row number (an ORDER BY of every column took
  // more memory than the frame itself: about 540 MB at 1 M NSL-KDD rows)
  const place = await densePlaces(conn, table, where, n);
  const result = await conn.stream(
    `SELECT ${ident(SOURCE_COL)}, ${ident(ROW_COL)}${read.map((c) => `, ${ident(c.spec.name)}`).join("")}
     FROM ${table}${where}${place ? "" : ` ORDER BY ${ident(SOURCE_COL)}, ${ident(ROW_COL)}`}`,
  );
  const sourceIndex = new Int32Array(n);
  const sourceRow = new Int32Array(n);
  let pos = new Int32Array(2048); // each chunk row's place
  let at = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const m = Math.min(chunk.rowCount, n - at);
    if (pos.length < m) pos = new Int32Array(m);
    const src = chunk.getColumnVector(0);
    const row = chunk.getColumnVector(1);
    for (let i = 0; i < m; i++) {
      const s = src.getItem(i) as string;
      const r = Number(row.getItem(i));
      const p = place ? place.get(s)! + r : at + i;
      pos[i] = p;
      sourceIndex[p] = srcIdx.get(s) ?? -1;
      sourceRow[p] = r;
    }
    read.forEach((c, j) => {
      const v = chunk.getColumnVector(j + 2);
      if (c.kind === "numeric") {
        for (let i = 0; i < m; i++) {
          const x = v.getItem(i);
          c.values[pos[i]!] = typeof x === "number" ? x : x === null ? Number.NaN : Number(x);
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
          c.codes[pos[i]!] = code;
        }
      }
    });
    at += m;
    onProgress?.(at);
    if (at === n) break;
  }
  // scanned out of order: values the schema does not list get their codes in row order, as sorted
  if (place)
    for (const c of read)
      if (c.kind === "categorical") renumberInRowOrder(c, (c.spec.values ?? []).length, at);
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

/**
 * Each source's first place in (source, row) order minus its lowest row number, when every source's
 * rows are numbered without gaps (row max − min + 1 = rows) and the total is `n`; else null (the
 * rows are then read sorted).
 */
async function densePlaces(
  conn: DuckDBConnection,
  table: string,
  where: string,
  n: number,
): Promise<Map<string, number> | null> {
  const r = await conn.runAndReadAll(
    `SELECT ${ident(SOURCE_COL)} AS s, count(*) AS k, min(${ident(ROW_COL)}) AS lo, max(${ident(ROW_COL)}) AS hi
     FROM ${table}${where} GROUP BY ${ident(SOURCE_COL)} ORDER BY ${ident(SOURCE_COL)}`,
  );
  const place = new Map<string, number>();
  let offset = 0;
  for (const row of r.getRows()) {
    const [s, k, lo, hi] = [String(row[0]), Number(row[1]), Number(row[2]), Number(row[3])];
    if (hi - lo + 1 !== k) return null;
    place.set(s, offset - lo);
    offset += k;
  }
  return offset === n ? place : null;
}

/**
 * A categorical column's codes past the schema's `fixed` values renumbered in order of first row
 * (its dictionary reordered to match), as a scan in (source, row) order assigns them.
 */
function renumberInRowOrder(
  c: { codes: Int32Array; categories: string[]; dict: Map<string, number> },
  fixed: number,
  n: number,
): void {
  if (c.categories.length <= fixed) return;
  const map = new Int32Array(c.categories.length).fill(-1);
  for (let k = 0; k < fixed; k++) map[k] = k;
  const order: string[] = c.categories.slice(0, fixed);
  for (let i = 0; i < n; i++) {
    const code = c.codes[i]!;
    if (code < 0 || map[code]! >= 0) continue;
    map[code] = order.length;
    order.push(c.categories[code]!);
  }
  for (let i = 0; i < n; i++) if (c.codes[i]! >= 0) c.codes[i] = map[c.codes[i]!]!;
  c.categories.splice(0, c.categories.length, ...order);
  c.dict.clear();
  order.forEach((v, k) => {
    c.dict.set(v, k);
  });
}
