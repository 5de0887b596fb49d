/**
 * The training frame is freed before the fit (the bundle's digest, profile and importance sample are
 * taken from it at the transform step). When the bundle step starts the ONNX child, the training
 * run's shared buffers are gone from memory,
 * not waiting for a garbage collection that may never come before the run ends: the transform step's
 * binned training rows (released after train.npy) and the forest's out-of-bag sums (garbage after
 * the fit). Observed in process through WeakRefs taken when they were made (the steps wrapped, the
 * run otherwise real: phishing through a DuckDB store, one random forest scored out of bag).
 */
import { afterAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config/env.ts";
import { collectGarbage } from "../../src/core/memory.ts";
import { closePool } from "../../src/core/pool.ts";
import { parsePipelineConfig } from "../../src/pipeline/config.ts";
import { runPipeline } from "../../src/pipeline/run.ts";
import { MIRROR, tempDir } from "../helpers/env.ts";

const seen = vi.hoisted(() => ({
  refs: [] as { what: string; ref: WeakRef<object> }[],
  /** At the ONNX export's start: what was still alive. */
  aliveAtOnnx: null as string[] | null,
  /** The same after one more full collection there: what the run still referenced. */
  referencedAtOnnx: null as string[] | null,
  /** The training frame's column buffers (as the transform step got them). */
  trainBuffers: [] as ArrayBufferLike[],
  /** At the first fit's start: the bytes those buffers still held. */
  trainBytesAtFit: null as number | null,
}));

vi.mock("../../src/pipeline/steps/transform.ts", async (importOriginal) => {
  const m = await importOriginal<typeof import("../../src/pipeline/steps/transform.ts")>();
  return {
    ...m,
    transformStep: (...a: Parameters<typeof m.transformStep>) => {
      const train = a[1];
      for (const c of train.columns)
        seen.trainBuffers.push(c.kind === "numeric" ? c.values.buffer : c.codes.buffer);
      const t = m.transformStep(...a);
      seen.refs.push({ what: "binned training rows", ref: new WeakRef(t.Xtr.bins.buffer) });
      if (t.Xtr.raw) seen.refs.push({ what: "raw columns", ref: new WeakRef(t.Xtr.raw.data.buffer) });
      return t;
    },
  };
});

vi.mock("../../src/models/random-forest.ts", async (importOriginal) => {
  const m = await importOriginal<typeof import("../../src/models/random-forest.ts")>();
  // the out-of-bag sums are made per fit as SharedArrayBuffers: every one made is recorded
  const Shared = globalThis.SharedArrayBuffer;
  const { fitBinned } = m.RandomForestClassifier.prototype;
  m.RandomForestClassifier.prototype.fitBinned = async function (this: unknown, ...a) {
    seen.trainBytesAtFit ??= seen.trainBuffers.reduce((n, b) => n + b.byteLength, 0);
    const made: SharedArrayBuffer[] = [];
    globalThis.SharedArrayBuffer = class extends Shared {
      constructor(n: number) {
        super(n);
        made.push(this);
      }
    } as SharedArrayBufferConstructor;
    try {
      return await fitBinned.apply(this as never, a);
    } finally {
      globalThis.SharedArrayBuffer = Shared;
      for (const b of made) seen.refs.push({ what: `fit buffer of ${b.byteLength} B`, ref: new WeakRef(b) });
    }
  };
  return m;
});

vi.mock("../../src/bundle/onnx/write.ts", async (importOriginal) => {
  const m = await importOriginal<typeof import("../../src/bundle/onnx/write.ts")>();
  return {
    ...m,
    writeBundleOnnx: (...a: Parameters<typeof m.writeBundleOnnx>) => {
      const alive = () => seen.refs.filter((r) => r.ref.deref() !== undefined).map((r) => r.what);
      seen.aliveAtOnnx = alive();
      collectGarbage();
      seen.referencedAtOnnx = alive();
      return m.writeBundleOnnx(...a);
    },
  };
});

const tmp = tempDir("netsec-bundle-memory-");
afterAll(async () => {
  await closePool();
  tmp.cleanup();
});

describe("bundle step", () => {
  it("fits without the training frame; starts the ONNX child with the binned rows and the fit's shared buffers freed", async () => {
    const env = loadConfig(
      { NETSEC_HOME: tmp.dir, NETSEC_DATASET_MIRROR: MIRROR, NETSEC_STORE_URI: "" },
      tmp.dir,
    );
    const cfg = parsePipelineConfig(
      {
        dataset: "phishing",
        models: ["random_forest"],
        search: { kind: "none", params: { random_forest: { n_estimators: 30 } }, threads: 2 },
      },
      "test",
    );
    const res = await runPipeline(cfg, env);
    expect(res.status, res.failure ?? "").toBe("FINISHED");
    const made = seen.refs.map((r) => r.what);
    expect(made).toContain("binned training rows");
    expect(made.filter((w) => w.startsWith("fit buffer")).length).toBeGreaterThan(0);
    // the binned rows are gone when the child starts; the fits' shared buffers are no longer referenced
    // (freed by the run's own collection before the child; one CI run on a loaded machine still saw
    // some of the small ones, 17–141 KB, uncollected at that moment, which a further collection
    // frees: what is asserted is that nothing holds them)
    expect(seen.aliveAtOnnx!.filter((w) => !w.startsWith("fit buffer"))).toEqual([]);
    expect(seen.referencedAtOnnx).toEqual([]);
    // the training frame (what the bundle reads of it taken at the transform step) freed before the fit
    expect(seen.trainBuffers.length).toBeGreaterThan(30);
    expect(seen.trainBytesAtFit).toBe(0);
  });
});
