/**
 * The ONNX check in a child process (verify-child.ts): the same verdict, row numbers and errors as the
 * in-process check on rows spanning several blocks, with disagreements planted at known rows.
 */
import { describe, expect, it } from "vitest";
import { exportPipelineToOnnx } from "../../../src/bundle/onnx/export.ts";
import { evaluatePipelineIR } from "../../../src/bundle/onnx/reference.ts";
import { ONNX_CHUNK_ROWS, verifyOnnx } from "../../../src/bundle/onnx/verify.ts";
import { verifyOnnxInChild } from "../../../src/bundle/onnx/verify-child.ts";
import { NetsecError } from "../../../src/core/errors.ts";
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
