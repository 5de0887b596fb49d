/**
 * The ONNX check in a child process (verify-child.ts): the same verdict, row numbers and errors as the
 * in-process check on rows spanning several blocks, with disagreements planted at known rows; and the
 * bundle step's export made in the child from a real bundle (a phishing forest trained by the CLI).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BundlePredictor } from "../../../src/bundle/bundle.ts";
import { exportPipelineToOnnx } from "../../../src/bundle/onnx/export.ts";
import { pipelineIRFromModels } from "../../../src/bundle/onnx/from-models.ts";
import { evaluatePipelineIR } from "../../../src/bundle/onnx/reference.ts";
import { ONNX_CHUNK_ROWS, verifyOnnx } from "../../../src/bundle/onnx/verify.ts";
import { verifyOnnxInChild } from "../../../src/bundle/onnx/verify-child.ts";
import { writeBundleOnnx } from "../../../src/bundle/onnx/write.ts";
import { ModelRegistry } from "../../../src/bundle/registry.ts";
import { NetsecError } from "../../../src/core/errors.ts";
import type { Frame } from "../../../src/core/frame.ts";
import { loadFrame } from "../../../src/datasets/load.ts";
import { runCli } from "../../helpers/cli.ts";
import { PHISHING_CSV, tempDir } from "../../helpers/env.ts";
import { forestIR, testFrame } from "./fixtures.ts";

/** testFrame's 10 rows (NaNs, a missing and an unseen category) repeated over three blocks. */
function rows() {
  const small = testFrame();
  const n = 2 * ONNX_CHUNK_ROWS + 3;
  const frame = small.take(Int32Array.from({ length: n }, (_, i) => (i * 7) % small.nRows));
  const ir = forestIR();
  return { ir, frame, n, bytes: exportPipelineToOnnx(ir), ref: evaluatePipelineIR(ir, frame) };
}

describe("verifyOnnxInChild", () => {
  it("agrees with netsec's own predictions on every row of three blocks", async () => {
    const { ir, frame, n, bytes, ref } = rows();
    const v = await verifyOnnxInChild(bytes, ir.columns, frame, ref.probability, 1e-5, ref.labels);
    expect(v).toMatchObject({ nRows: n, ok: true, failingRows: [], labelMismatches: [], thresholdTies: [] });
    expect(v.maxAbsDiff).toBeLessThanOrEqual(1e-5);
  });

  it("finds planted disagreements by their row in the whole sequence, as the in-process check does", async () => {
    const { ir, frame, bytes, ref } = rows();
    const off = [5, ONNX_CHUNK_ROWS + 7, 2 * ONNX_CHUNK_ROWS + 2];
    const probabilities = Float64Array.from(ref.probability);
    for (const i of off) probabilities[i]! += 0.01;
    const flipped = ONNX_CHUNK_ROWS + 9;
    const labels = [...ref.labels];
    labels[flipped] = ref.labels.find((l) => l !== ref.labels[flipped])!;
    expect(labels[flipped]).not.toBe(ref.labels[flipped]);

    const child = await verifyOnnxInChild(bytes, ir.columns, frame, probabilities, 1e-5, labels);
    expect(child.ok).toBe(false);
    expect(child.failingRows).toEqual(off);
    expect(child.labelMismatches).toEqual([flipped]);
    expect(child.maxAbsDiff).toBeGreaterThan(0.0099);
    expect(child.maxAbsDiff).toBeLessThan(0.0101);
    const inProcess = await verifyOnnx(bytes, ir.columns, frame, probabilities, 1e-5, labels);
    const { probability: _p, labels: _l, ...outcome } = inProcess;
    expect(child).toEqual(outcome);
  });

  it("a NaN probability fails the check (and travels back as NaN)", async () => {
    const { ir, frame, bytes, ref } = rows();
    const probabilities = Float64Array.from(ref.probability);
    probabilities[3] = Number.NaN;
    const v = await verifyOnnxInChild(bytes, ir.columns, frame, probabilities);
    expect(v.ok).toBe(false);
    expect(v.failingRows).toEqual([3]);
    expect(v.maxAbsDiff).toBeNaN();
  });

  it("errors: a graph onnxruntime refuses (from the child), a missing input column (before it)", async () => {
    const { ir, frame, ref } = rows();
    const refused = verifyOnnxInChild(Uint8Array.of(1, 2, 3), ir.columns, frame, ref.probability);
    await expect(refused).rejects.toBeInstanceOf(NetsecError);
    await expect(refused).rejects.toMatchObject({ code: "BUNDLE_INVALID", message: /onnxruntime/ });
    const missing = verifyOnnxInChild(
      exportPipelineToOnnx(ir),
      [...ir.columns, { kind: "numeric", column: "absent", impute: null }],
      frame,
      ref.probability,
    );
    await expect(missing).rejects.toMatchObject({ code: "SCHEMA_MISMATCH", details: { column: "absent" } });
  });
});

describe("writeBundleOnnx (the bundle step's export, made and checked in the child)", () => {
  const tmp = tempDir("netsec-bundle-onnx-");
  afterAll(tmp.cleanup);
  const home = join(tmp.dir, "home");
  let bp: BundlePredictor;
  let frame: Frame;

  beforeAll(async () => {
    const r = runCli(
      ["train", "--dataset", "phishing", "--models", "random_forest", "--params", '{"n_estimators":10}'],
      { NETSEC_HOME: home, NETSEC_STORE_URI: "", MONGODB_URI: "" },
    );
    expect(r.code, r.stderr).toBe(0);
    bp = new BundlePredictor(new ModelRegistry(home).resolve("champion").dir);
    frame = (await loadFrame({ path: PHISHING_CSV }, bp.schema)).frame.slice(0, 600);
  }, 120_000);

  const options = (probabilities: ArrayLike<number>, labels: readonly string[]) => {
    const m = bp.manifest;
    return {
      bundleDir: bp.dir,
      classLabels: m.class_labels,
      classIsThreat: m.class_is_threat,
      threshold: m.threshold,
      dataset: m.dataset,
      netsecVersion: m.code_version.netsec,
      verifyOn: { frame, inputs: bp.transformer.inputColumns, probabilities, labels },
      metadata: { model: m.model },
    };
  };

  it("writes the export of the bundle's own pipeline once onnxruntime agrees on every row", async () => {
    const pred = bp.predict(frame);
    const out = join(tmp.dir, "ok");
    const r = await writeBundleOnnx(out, options(pred.probability, pred.labels));
    expect(r.verify).toMatchObject({ ok: true, nRows: 600, failingRows: [], labelMismatches: [] });
    expect(r.verify!.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(r.files).toContain("model.onnx");
    // the same graph the training process would have exported itself
    const m = bp.manifest;
    const ir = pipelineIRFromModels({
      preprocess: bp.transformer.toJSON(),
      model: bp.model.toJSON(),
      classLabels: m.class_labels,
      classIsThreat: m.class_is_threat,
      threshold: m.threshold,
      dataset: m.dataset,
      netsecVersion: m.code_version.netsec,
    });
    // (decoded: the test runner's and node's protobuf encoders may lay out the same model differently)
    const decoded = (bytes: Uint8Array) => onnxProto.onnx.ModelProto.decode(bytes).toJSON();
    expect(decoded(readFileSync(join(out, "model.onnx")))).toEqual(decoded(exportPipelineToOnnx(ir)));
  });

  it("refuses an export that disagrees with the bundle (probabilities or labels) and writes nothing", async () => {
    const pred = bp.predict(frame);
    const off = Float64Array.from(pred.probability);
    off[7]! += 0.01;
    const bad = join(tmp.dir, "bad");
    await expect(writeBundleOnnx(bad, options(off, pred.labels))).rejects.toThrow(
      /ONNX export of random_forest disagrees with netsec.*1 rows beyond 0\.00001 \(first: 7\)/,
    );
    const labels = [...pred.labels];
    labels[11] = bp.manifest.class_labels.find((l) => l !== labels[11])!;
    await expect(writeBundleOnnx(bad, options(pred.probability, labels))).rejects.toMatchObject({
      code: "BUNDLE_INVALID",
      details: { failingRows: [], labelMismatches: [11] },
    });
    expect(existsSync(bad)).toBe(false);
  });
});
