/**
 * What the steps hold in memory, on the phishing data through a real DuckDB store: the split's training
 * and test frames are the read-back frame's own rows regrouped, each part on its own buffers holding
 * only its rows (the rows once, not two copies), so the training rows can be freed alone; the
 * transform step's binned training rows can be let go, and are not read after.
 */
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/env.ts";
import type { Frame } from "../../src/core/frame.ts";
import { getDataset } from "../../src/datasets/registry.ts";
import { loadStoreFrame } from "../../src/datasets/store-frame.ts";
import { parsePipelineConfig } from "../../src/pipeline/config.ts";
import { PipelineRun } from "../../src/pipeline/runner.ts";
import { ingestStep } from "../../src/pipeline/steps/ingest.ts";
import { splitStep } from "../../src/pipeline/steps/split.ts";
import { transformStep } from "../../src/pipeline/steps/transform.ts";
import { MIRROR, tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-split-step-");
afterAll(tmp.cleanup);

const bufferOf = (f: Frame, name: string): ArrayBufferLike => {
  const c = f.column(name);
  return c.kind === "numeric" ? c.values.buffer : c.codes.buffer;
};
const rowKeys = (f: Frame): string[] =>
  Array.from({ length: f.nRows }, (_, i) => JSON.stringify(f.row(i))).sort();

describe("splitStep", () => {
  it("split: train and test on buffers of their own, every row once; train released alone; transform: Xtr released", async () => {
    const env = loadConfig(
      { NETSEC_HOME: tmp.dir, NETSEC_DATASET_MIRROR: MIRROR, NETSEC_STORE_URI: "" },
      tmp.dir,
    );
    const cfg = parsePipelineConfig({ dataset: "phishing" }, "test");
    const run = new PipelineRun(
      PipelineRun.prepare(cfg, env),
      getDataset("phishing", env.home),
      false,
      () => {},
      {},
    );
    const { data, all } = await run.withRecordStore(async (store) => {
      const sources = await ingestStep(run, store);
      const data = await splitStep(run, store, sources);
      return { data, all: (await loadStoreFrame(store, run.schema, { sources: sources.train })).frame };
    });
    const { train, test } = data;
    // 11,055 rows, about 20 % (2,211) of them test rows, whole duplicate groups on one side
    expect(data.splitKind).toBe("duplicate_aware");
    expect(train.nRows + test.nRows).toBe(11055);
    expect(Math.abs(test.nRows - 2211)).toBeLessThanOrEqual(5);
    expect(rowKeys(all)).toEqual([...rowKeys(train), ...rowKeys(test)].sort());
    // per column, a buffer of the training rows and one of the test rows: the 11,055 rows once
    for (const c of train.columns) {
      const values = c.kind === "numeric" ? c.values : c.codes;
      const width = values.BYTES_PER_ELEMENT;
      expect(bufferOf(test, c.name)).not.toBe(bufferOf(train, c.name));
      expect([values.byteOffset, values.buffer.byteLength]).toEqual([0, train.nRows * width]);
      expect(bufferOf(test, c.name).byteLength).toBe(test.nRows * width);
    }
    // the binned training rows: every training row, then gone after their release (the bundle step's)
    const t = transformStep(run, train, test);
    expect(t.Xtr.nRows).toBe(train.nRows);
    t.releaseXtr();
    expect(() => t.Xtr).toThrow(/read after their release/);
    // the test rows' blocks (one here: 2,211 rows) are freed once the loop asks for the next
    const seen: Float64Array[] = [];
    for (const X of t.testBlocks()) {
      expect([X.nRows, X.data.byteLength]).toEqual([test.nRows, test.nRows * X.nCols * 8]);
      seen.push(X.data);
    }
    expect(seen.map((d) => d.byteLength)).toEqual([0]);
    // the training rows freed (the bundle step's release) leave the test rows whole
    const testRows = rowKeys(test);
    const first = train.names[0]!;
    train.release();
    expect(() => train.column(first)).toThrow(/after release/);
    expect(rowKeys(test)).toEqual(testRows);
    await run.finish(
      "FINISHED",
      null,
      async () => {},
      async () => {},
    );
  });
});
