/**
 * An MLflow model directory for the `onnx` flavor, written without Python: `MLmodel`, `model.onnx`,
 * `requirements.txt`, `python_env.yaml`, `conda.yaml`, laid out exactly as `mlflow.onnx.save_model`
 * (MLflow 3.17) writes them, so `mlflow.pyfunc.load_model(dir)` and the MLflow model registry accept it.
 *
 * MLflow's onnx pyfunc feeds each DataFrame column to the ONNX input of the same name, as a 1-D array
 * (see export.ts). The signature lists one input column per raw feature: numeric columns as `double`
 * (pass float64 columns: MLflow refuses to convert int64 to double implicitly) and categorical
 * columns as `string` (object dtype, "" for missing); outputs are `label` and `probability`.
 */
import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { wrapError } from "../core/errors.ts";
import { inputNames, OUTPUT_LABEL, OUTPUT_PROBABILITY, type PipelineIR } from "./onnx/ir.ts";

/**
 * Versions written into requirements/conda files: the ones pinned in scripts/requirements-dev.txt
 * (a test checks they agree), i.e. the environment the exported models are verified in.
 */
export const MLFLOW_PINS = {
  mlflow: "3.17.2",
  numpy: "2.4.6",
  onnx: "1.23.2",
  onnxruntime: "1.32.0",
} as const;
export const DEFAULT_PYTHON_VERSION = "3.11.7";

export const MLMODEL_FILE = "MLmodel";
export const ONNX_MODEL_FILE = "model.onnx";

export interface MlflowOnnxModelOptions {
  /** ONNX bytes from exportPipelineToOnnx. */
  onnx: Uint8Array;
  /** The IR the bytes were exported from (its columns and labels give the signature). */
  ir: Signed;
  /** Set when the model is logged to a run (MLflow writes both then). */
  artifactPath?: string;
  runId?: string;
  pythonVersion?: string;
  /** Free-form MLmodel `metadata` (netsec version, threshold, ...). */
  metadata?: Readonly<Record<string, string | number | boolean>>;
  /** For reproducible output in tests. */
  now?: Date;
  uuid?: string;
}

/** What of a pipeline IR the MLflow signature reads. */
export type Signed = Pick<PipelineIR, "columns" | "labels">;

/** MLflow column schema: `[{"type": ..., "name": ..., "required": true}, ...]` as MLflow serialises it. */
export function signatureOf(ir: Signed): { inputs: string; outputs: string; params: null } {
  const names = inputNames(ir);
  const inputs = ir.columns.map((c) => ({
    type: c.kind === "numeric" ? "double" : "string",
    name: names.get(c.column)!,
    required: true,
  }));
  const outputs = [
    { type: ir.labels.type === "int64" ? "long" : "string", name: OUTPUT_LABEL, required: true },
    { type: "float", name: OUTPUT_PROBABILITY, required: true },
  ];
  // MLflow writes these with Python's json.dumps defaults (", " and ": " separators)
  const dump = (items: readonly Record<string, unknown>[]) =>
    `[${items
      .map(
        (o) =>
          `{${Object.entries(o)
            .map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`)
            .join(", ")}}`,
      )
      .join(", ")}]`;
  return { inputs: dump(inputs), outputs: dump(outputs), params: null };
}

/** Python's `str(datetime.utcnow())`: "2026-11-25 04:26:12.523306". */
function pythonUtc(d: Date): string {
  return `${d.toISOString().replace("T", " ").replace("Z", "")}000`;
}

/** The MLmodel document (a plain object; keys in the order MLflow's YAML dump sorts them). */
export function mlmodelDocument(o: MlflowOnnxModelOptions): Record<string, unknown> {
  const py = o.pythonVersion ?? DEFAULT_PYTHON_VERSION;
  const doc: Record<string, unknown> = {};
  if (o.artifactPath !== undefined) doc.artifact_path = o.artifactPath;
  doc.flavors = {
    onnx: {
      code: null,
      data: ONNX_MODEL_FILE,
      onnx_session_options: null,
      onnx_version: MLFLOW_PINS.onnx,
      // CPU only: a CUDA entry makes every load warn on machines without a GPU
      providers: ["CPUExecutionProvider"],
    },
    python_function: {
      data: ONNX_MODEL_FILE,
      env: { conda: "conda.yaml", virtualenv: "python_env.yaml" },
      loader_module: "mlflow.onnx",
      python_version: py,
    },
  };
  doc.is_signature_from_type_hint = false;
  if (o.metadata) doc.metadata = { ...o.metadata };
  doc.mlflow_version = MLFLOW_PINS.mlflow;
  doc.model_id = null;
  doc.model_size_bytes = o.onnx.byteLength;
  doc.model_uuid = o.uuid ?? randomUUID().replace(/-/g, "");
  doc.prompts = null;
  if (o.runId !== undefined) doc.run_id = o.runId;
  doc.signature = signatureOf(o.ir);
  doc.type_hint_from_example = false;
  doc.utc_time_created = pythonUtc(o.now ?? new Date());
  return doc;
}

export function requirementsTxt(): string {
  return `${Object.entries(MLFLOW_PINS)
    .map(([k, v]) => `${k}==${v}`)
    .join("\n")}\n`;
}

export function pythonEnvYaml(pythonVersion = DEFAULT_PYTHON_VERSION): string {
  return stringify({
    python: pythonVersion,
    build_dependencies: ["pip", "setuptools", "wheel"],
    dependencies: ["-r requirements.txt"],
  });
}

export function condaYaml(pythonVersion = DEFAULT_PYTHON_VERSION): string {
  return stringify({
    channels: ["conda-forge"],
    dependencies: [
      `python=${pythonVersion}`,
      "pip",
      { pip: Object.entries(MLFLOW_PINS).map(([k, v]) => `${k}==${v}`) },
    ],
    name: "mlflow-env",
  });
}

/**
 * Write the MLflow model directory `dir` (created if needed). Returns the files written (relative).
 * Throws NetsecError INTERNAL wrapping the I/O error, naming the directory.
 */
export async function writeMlflowOnnxModel(dir: string, o: MlflowOnnxModelOptions): Promise<string[]> {
  const py = o.pythonVersion ?? DEFAULT_PYTHON_VERSION;
  const files: [string, string | Uint8Array][] = [
    [MLMODEL_FILE, stringify(mlmodelDocument(o), { lineWidth: 0 })],
    [ONNX_MODEL_FILE, o.onnx],
    ["requirements.txt", requirementsTxt()],
    ["python_env.yaml", pythonEnvYaml(py)],
    ["conda.yaml", condaYaml(py)],
  ];
  try {
    await mkdir(dir, { recursive: true });
    for (const [name, data] of files) await writeFile(join(dir, name), data);
  } catch (e) {
    throw wrapError(`writing the MLflow model directory ${dir}`, e, "INTERNAL", { file: dir });
  }
  return files.map(([name]) => name);
}
