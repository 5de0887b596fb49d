/**
 * The MLflow model directory: file layout and MLmodel fields as `mlflow.onnx.save_model` writes them,
 * pins equal to scripts/requirements-dev.txt, and (with the project's Python venv) a real
 * `mlflow.pyfunc.load_model(dir).predict(df)` giving the TypeScript reference's probabilities to 1e-5.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  MLFLOW_PINS,
  mlmodelDocument,
  signatureOf,
  writeMlflowOnnxModel,
} from "../../../src/bundle/mlmodel.ts";
import { exportPipelineToOnnx } from "../../../src/bundle/onnx/export.ts";
import { pipelineIRFromModels } from "../../../src/bundle/onnx/from-models.ts";
import { inputNames, type PipelineIR } from "../../../src/bundle/onnx/ir.ts";
import { evaluatePipelineIR } from "../../../src/bundle/onnx/reference.ts";
import { writeOnnxModel } from "../../../src/bundle/onnx/write.ts";
import { type Column, type Frame, Frame as FrameClass } from "../../../src/core/frame.ts";
import { Rng } from "../../../src/core/rng.ts";
import { loadFrame } from "../../../src/datasets/load.ts";
import { getDataset } from "../../../src/datasets/registry.ts";
import { createModel } from "../../../src/models/registry.ts";
import { ColumnTransformer } from "../../../src/preprocess/column-transformer.ts";
import {
  boosted3IR,
  boostedBinaryIR,
  forestIR,
  knnCase,
  logisticIR,
  randomForestCase,
  softmaxLinearIR,
  testFrame,
} from "./fixtures.ts";

const ROOT = resolve(import.meta.dirname, "../../..");
const PYTHON = join(ROOT, ".venv/bin/python");
const SCRIPT = join(ROOT, "test/golden/onnx/check_pyfunc.py");
const haveVenv = existsSync(PYTHON);
if (!haveVenv) console.warn(`skipping MLflow pyfunc checks: ${PYTHON} not found (run scripts/python-env)`);

const tmpDirs: string[] = [];
afterAll(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "netsec-mlmodel-"));
  tmpDirs.push(d);
  return d;
}

describe("MLmodel document", () => {
  it("mirrors mlflow.onnx.save_model's layout", () => {
    const ir = forestIR();
    const doc = mlmodelDocument({
      onnx: new Uint8Array(10),
      ir,
      now: new Date("2026-01-02T03:04:05.678Z"),
      uuid: "abc",
      metadata: { threshold: 0.45 },
    }) as Record<string, unknown> & {
      flavors: { onnx: unknown; python_function: { loader_module: string } };
      utc_time_created: string;
      model_size_bytes: number;
    };
    expect(Object.keys(doc)).toEqual([
      "flavors",
      "is_signature_from_type_hint",
      "metadata",
      "mlflow_version",
      "model_id",
      "model_size_bytes",
      "model_uuid",
      "prompts",
      "signature",
      "type_hint_from_example",
      "utc_time_created",
    ]);
    expect(doc.flavors.onnx).toEqual({
      code: null,
      data: "model.onnx",
      onnx_session_options: null,
      onnx_version: MLFLOW_PINS.onnx,
      providers: ["CPUExecutionProvider"],
    });
    expect(doc.flavors.python_function.loader_module).toBe("mlflow.onnx");
    expect(doc.utc_time_created).toBe("2026-01-02 03:04:05.678000");
    expect(doc.model_size_bytes).toBe(10);
  });

  it("signature: one column per raw input, label type from the labels", () => {
    const s = signatureOf(forestIR());
    expect(JSON.parse(s.inputs)).toEqual([
      { type: "double", name: "duration", required: true },
      { type: "double", name: "src bytes", required: true },
      { type: "string", name: "protocol_type", required: true },
      { type: "double", name: "unused", required: true },
    ]);
    expect(JSON.parse(s.outputs)[0]).toEqual({ type: "long", name: "label", required: true });
    expect(JSON.parse(signatureOf(boostedBinaryIR()).outputs)[0].type).toBe("string");
    // Python json.dumps spacing, as MLflow writes it
    expect(s.outputs).toBe(
      '[{"type": "long", "name": "label", "required": true}, {"type": "float", "name": "probability", "required": true}]',
    );
  });

  it("pins the versions of scripts/requirements-dev.txt", async () => {
    const req = await readFile(join(ROOT, "scripts/requirements-dev.txt"), "utf8");
    for (const [pkg, version] of Object.entries(MLFLOW_PINS)) {
      expect(req).toMatch(new RegExp(`^${pkg}==${version.replace(/\./g, "\\.")}$`, "m"));
    }
  });

  it("writes the five files", async () => {
    const dir = await tmp();
    const ir = forestIR();
    const files = await writeMlflowOnnxModel(dir, {
      onnx: exportPipelineToOnnx(ir),
      ir,
      runId: "r1",
      artifactPath: "model",
    });
    expect(files.sort()).toEqual([
      "MLmodel",
      "conda.yaml",
      "model.onnx",
      "python_env.yaml",
      "requirements.txt",
    ]);
    const doc = parse(await readFile(join(dir, "MLmodel"), "utf8"));
    expect(doc.artifact_path).toBe("model");
    expect(doc.run_id).toBe("r1");
    expect(await readFile(join(dir, "requirements.txt"), "utf8")).toContain(
      `onnxruntime==${MLFLOW_PINS.onnxruntime}`,
    );
  });
});

describe("writeOnnxModel", () => {
  it("verifies before writing; a disagreeing model is refused and not written", async () => {
    const ir = forestIR();
    const frame = testFrame();
    const ref = evaluatePipelineIR(ir, frame);
    const dir = await tmp();
    const ok = await writeOnnxModel(join(dir, "ok"), {
      ir,
      verifyOn: { frame, probabilities: ref.probability, labels: ref.labels },
      metadata: { threshold: ir.threshold },
    });
    expect(ok.verify?.ok).toBe(true);
    expect(ok.verify?.maxAbsDiff).toBeLessThan(1e-6);
    expect(existsSync(join(dir, "ok", "model.onnx"))).toBe(true);
    const wrong = ref.probability.map((p, i) => (i === 3 ? p + 0.01 : p));
    await expect(
      writeOnnxModel(join(dir, "bad"), { ir, verifyOn: { frame, probabilities: wrong } }),
    ).rejects.toThrow(/disagrees with netsec.*1 rows beyond/);
    expect(existsSync(join(dir, "bad"))).toBe(false);
  });
});

/** A real fitted pipeline: 1,000 phishing rows, gradient boosting, KNN imputer; 200 test rows with NaNs. */
async function phishingCase(): Promise<{ ir: PipelineIR; frame: Frame }> {
  const schema = getDataset("phishing", await tmp());
  const { frame } = await loadFrame({ path: "/work/shared/datasets/phishing/phisingData.csv" }, schema);
  const rows = Uint32Array.from({ length: 1200 }, (_, i) => i * 9);
  const train = frame.take(rows.subarray(0, 1000));
  const rng = new Rng(4);
  const test = frame.take(rows.subarray(1000));
  const holed = new FrameClass(
    test.columns.map(
      (c): Column =>
        c.kind === "numeric" && c.name !== schema.target.name
          ? { ...c, values: c.values.map((v) => (rng.next() < 0.05 ? Number.NaN : v)) }
          : c,
    ),
  );
  const ct = new ColumnTransformer().fit(train, {
    numeric: schema.featureNames,
    categorical: [],
    imputer: "knn",
  });
  const y = Int32Array.from({ length: train.nRows }, (_, r) =>
    schema.isThreat(String(train.value(r, "Result"))) ? 1 : 0,
  );
  const model = createModel("gradient_boosting", { n_estimators: 30 });
  await model.fit(ct.transform(train), y, 2, { threads: 1 });
  const ir = pipelineIRFromModels({
    preprocess: ct.toJSON(),
    model: model.toJSON(),
    classLabels: ["1", "-1"],
    classIsThreat: [false, true],
    threshold: 0.5,
    dataset: "phishing",
    netsecVersion: "0.1.0",
  });
  // the reference must equal the model itself before it can stand in for it in Python
  const proba = model.predictProba(ct.transform(holed));
  const ref = evaluatePipelineIR(ir, holed);
  for (let r = 0; r < holed.nRows; r++)
    expect(Math.abs(ref.probability[r]! - proba[r * 2 + 1]!)).toBeLessThan(1e-12);
  return { ir, frame: holed };
}

/** The case file check_pyfunc.py reads: raw columns (null = missing) and the expected outputs. */
function caseJson(ir: PipelineIR, frame: Frame): unknown {
  const ref = evaluatePipelineIR(ir, frame);
  const names = inputNames(ir);
  const columns: Record<string, unknown> = {};
  for (const c of ir.columns) {
    columns[names.get(c.column)!] = {
      kind: c.kind,
      values: Array.from({ length: frame.nRows }, (_, r) => frame.value(r, c.column)),
    };
  }
  return {
    columns,
    expected_probability: Array.from(ref.probability),
    expected_label: ref.labels,
    tol: 1e-5,
  };
}

describe.skipIf(!haveVenv)("mlflow.pyfunc.load_model on the exported directory (Python venv)", () => {
  const cases: [
    string,
    () => { ir: PipelineIR; frame: Frame } | Promise<{ ir: PipelineIR; frame: Frame }>,
  ][] = [
    ["forest, int64 labels", () => ({ ir: forestIR(), frame: testFrame() })],
    ["boosted binary, string labels", () => ({ ir: boostedBinaryIR(), frame: testFrame() })],
    ["boosted 3-class", () => ({ ir: boosted3IR(), frame: testFrame() })],
    ["logistic", () => ({ ir: logisticIR(), frame: testFrame() })],
    ["multinomial logistic", () => ({ ir: softmaxLinearIR(), frame: testFrame() })],
    ["random forest with NaNs and huge counts", () => randomForestCase(7)],
    ["KNN imputation", knnCase],
    ["phishing: fitted gradient boosting with KNN imputer, NaNs in test rows", phishingCase],
  ];
  // one Python process for every case (importing mlflow dominates the cost)
  const results = new Map<string, Record<string, unknown>>();
  const rows = new Map<string, number>();
  beforeAll(async () => {
    const dir = await tmp();
    const args: string[] = [];
    for (const [i, [name, make]] of cases.entries()) {
      const { ir, frame } = await make();
      const modelDir = join(dir, `model${i}`);
      await writeMlflowOnnxModel(modelDir, { onnx: exportPipelineToOnnx(ir), ir });
      await writeFile(join(dir, `case${i}.json`), JSON.stringify(caseJson(ir, frame)));
      args.push(modelDir, join(dir, `case${i}.json`));
      rows.set(name, frame.nRows);
    }
    const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, ...args], { timeout: 120_000 });
    const lines = stdout
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("{"));
    for (const [i, [name]] of cases.entries()) results.set(name, JSON.parse(lines[i]!));
  });

  it.each(cases)("%s", (name) => {
    const res = results.get(name)!;
    expect(res.checker).toBe("ok");
    expect(res.columns).toEqual(["label", "probability"]);
    expect(res.rows).toBe(rows.get(name));
    expect(res.label_mismatches).toEqual([]);
    expect(res.max_abs_diff).toBeLessThanOrEqual(1e-5);
    expect(res.ok).toBe(true);
    expect(res.opsets).toEqual({ "ai.onnx": 17, "ai.onnx.ml": 3 });
  });
});
