/**
 * Reading a dataset back from the record store into a Frame, batch by batch (memory: one batch plus
 * the columnar result), keeping each row's provenance (source and row) for messages and splits.
 */
import { NetsecError } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import type { RecordStore, SourceInfo } from "../store/types.ts";
import { FrameBuilder } from "./frame-builder.ts";
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
  opts: { sources?: readonly string[]; batchSize?: number; onProgress?: (rows: number) => void } = {},
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
  const fb = new FrameBuilder(schema, schema.columnNames, n);
  const srcIdx = new Map(sources.map((s, i) => [s.source, i]));
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
