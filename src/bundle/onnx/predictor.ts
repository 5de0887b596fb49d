/**
 * Scoring with an exported `model.onnx` under onnxruntime-node (`netsec predict --model …/model.onnx`,
 * or `--engine onnx` with a bundle): the same rows, parsed against the same dataset schema as the
 * bundle path, fed to the graph exactly as verification feeds it (verify.ts), so the two engines agree
 * to the 1e-5 the export is verified to.
 *
 * The ONNX file carries no dataset schema, only the dataset's name (metadata_props, see export.ts),
 * so the schema is found in this order: an explicit schema file; the `bundle.json` of the bundle the
 * file sits in (`<bundle>/onnx/model.onnx`); the dataset registry by that name. Before any row is
 * scored, the graph's inputs are checked against the schema's feature columns (names and types).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import onnxProto from "onnx-proto";
import type ort from "onnxruntime-node";
import { NetsecError, wrapError } from "../../core/errors.ts";
import type { Frame } from "../../core/frame.ts";
import { getDataset } from "../../datasets/registry.ts";
import { type DatasetSchema, loadSchemaFile } from "../../datasets/schema.ts";
import { bundleSchema } from "../manifest.ts";
import { ONNX_MODEL_FILE } from "../mlmodel.ts";
import { type ColumnIR, inputNames } from "./ir.ts";
import { createOnnxSession, runOnnxSession } from "./verify.ts";

/**
 * The ONNX file a `--model` path names: the path itself when it is a file, `<dir>/model.onnx` when it
 * is a directory holding one (an exported `onnx/` folder), else null (e.g. a bundle directory).
 */
export function onnxFileAt(path: string): string | null {
  const p = resolve(path);
  if (!existsSync(p)) return null;
  if (statSync(p).isFile()) return p;
  const inner = join(p, ONNX_MODEL_FILE);
  return existsSync(inner) && statSync(inner).isFile() ? inner : null;
}

/** ModelProto.metadata_props as a plain object. The whole model is decoded: protobuf has no index. */
export function readOnnxMetadata(bytes: Uint8Array, file: string): Record<string, string> {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnxProto.onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new NetsecError(
      "BUNDLE_INVALID",
      `${file} is not an ONNX model: ${(e as Error).message}`,
      { file },
      { cause: e },
    );
  }
  const out: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) if (p.key) out[p.key] = p.value ?? "";
  return out;
}

/** A JSON array from metadata, or null when absent or not an array (older or foreign exports). */
function jsonArray(text: string | undefined): unknown[] | null {
  if (text === undefined) return null;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

export interface OnnxSchemaSource {
  schema: DatasetSchema;
  /** Where it came from: the --schema file, the bundle.json next to the onnx folder, or the registry. */
  from: "schema-file" | "bundle" | "registry";
  /** The bundle directory when the ONNX file sits inside one (…/<bundle>/onnx/model.onnx). */
  bundleDir: string | null;
}

/**
 * The schema to parse input rows with for `onnxFile`: `schemaFile` when given; else the bundle.json
 * of the bundle holding the file; else the registry's dataset named in the metadata; else
 * CONFIG_INVALID asking for --schema.
 */
export function resolveOnnxSchema(o: {
  onnxFile: string;
  metadata: Readonly<Record<string, string>>;
  home: string;
  schemaFile?: string | undefined;
}): OnnxSchemaSource {
  const bundleDir = dirname(dirname(o.onnxFile));
  const inBundle = existsSync(join(bundleDir, "bundle.json"));
  if (o.schemaFile !== undefined) {
    return {
      schema: loadSchemaFile(resolve(o.schemaFile)),
      from: "schema-file",
      bundleDir: inBundle ? bundleDir : null,
    };
  }
  if (inBundle) return { schema: bundleSchema(bundleDir), from: "bundle", bundleDir };
  const dataset = o.metadata.dataset;
  if (!dataset) {
    throw new NetsecError(
      "CONFIG_INVALID",
      `${o.onnxFile} names no dataset in its metadata and is not inside a model bundle; pass the dataset schema with --schema <yaml>`,
      { file: o.onnxFile },
    );
  }
  try {
    return { schema: getDataset(dataset, o.home), from: "registry", bundleDir: null };
  } catch (e) {
    if (e instanceof NetsecError && e.code === "DATASET_UNKNOWN") {
      throw new NetsecError(
        "CONFIG_INVALID",
        `${o.onnxFile} was exported for dataset ${JSON.stringify(dataset)}, which is not in the dataset registry, and is not inside a model bundle; pass the dataset schema with --schema <yaml>`,
        { file: o.onnxFile, value: dataset },
        { cause: e },
      );
    }
    throw e;
  }
}

/**
 * The raw columns the graph takes, in export order, checked against the schema: every input must be a
 * feature column of the schema with the matching type (double ↔ integer/number/timestamp, string ↔
 * categorical), and every feature column must be an input (netsec's pipelines use them all).
 */
export function onnxInputColumns(
  session: Pick<ort.InferenceSession, "inputNames" | "inputMetadata">,
  metadata: Readonly<Record<string, string>>,
  schema: DatasetSchema,
  file: string,
): ColumnIR[] {
  const graphNames = [...session.inputNames];
  // export.ts renames a few columns ("", "label", duplicates); its metadata gives the column of each
  // input. Without it (a foreign export) inputs are taken to be named after their columns.
  const mc = jsonArray(metadata.input_columns);
  const mn = jsonArray(metadata.input_names);
  const fromMeta = mc !== null && mn !== null && mc.length === mn.length;
  const columns = fromMeta ? mc.map(String) : graphNames;
  const names = fromMeta ? mn.map(String) : graphNames;
  if (
    names.length !== graphNames.length ||
    !names.every((n) => graphNames.includes(n)) ||
    new Set(columns).size !== columns.length
  ) {
    throw new NetsecError(
      "BUNDLE_INVALID",
      `${file}: metadata input_names ${JSON.stringify(names)} do not match the graph's inputs ${JSON.stringify(graphNames)}`,
      { file },
    );
  }
  const typeOf = new Map(session.inputMetadata.map((m) => [m.name, m.isTensor ? m.type : "non-tensor"]));
  const notFeature: string[] = [];
  const wrongType: string[] = [];
  const out: ColumnIR[] = [];
  columns.forEach((column, i) => {
    const spec = schema.column(column);
    const type = typeOf.get(names[i]!);
    if (spec?.role !== "feature" || column === schema.target.name) {
      notFeature.push(column);
      return;
    }
    const want = spec.type === "categorical" ? "string" : "float64";
    if (type !== want) {
      wrongType.push(`${column} (model ${type}, schema ${spec.type} needs ${want})`);
      return;
    }
    out.push(
      spec.type === "categorical"
        ? { kind: "categorical", column, impute: null, categories: [] }
        : { kind: "numeric", column, impute: null },
    );
  });
  const absent = schema.featureNames.filter((n) => !columns.includes(n));
  if (notFeature.length + wrongType.length + absent.length > 0) {
    const parts: string[] = [];
    if (notFeature.length)
      parts.push(`input(s) that are not feature columns of the schema: ${notFeature.join(", ")}`);
    if (wrongType.length) parts.push(`input(s) of another type: ${wrongType.join(", ")}`);
    if (absent.length) parts.push(`feature column(s) the model has no input for: ${absent.join(", ")}`);
    throw new NetsecError(
      "SCHEMA_MISMATCH",
      `${file}: the model's inputs do not match schema ${schema.name} (${schema.source}): ${parts.join("; ")}; pass the schema the model was trained with (--schema <yaml>)`,
      {
        file,
        // at least one list is non-empty here
        column: (notFeature[0] ?? wrongType[0]?.split(" ")[0] ?? absent[0])!,
        notFeature,
        wrongType,
        absent,
      },
    );
  }
  // feedsFromFrame names the feeds with inputNames(): it must give exactly the graph's names
  const fed = inputNames({ columns: out });
  const bad = out.findIndex((c, i) => fed.get(c.column) !== names[i]);
  if (bad >= 0) {
    throw new NetsecError(
      "BUNDLE_INVALID",
      `${file}: input ${JSON.stringify(names[bad])} for column ${JSON.stringify(out[bad]!.column)} is not named as netsec names its inputs (${JSON.stringify(fed.get(out[bad]!.column))})`,
      { file, column: out[bad]!.column },
    );
  }
  return out;
}

export interface OnnxPrediction {
  /** The dataset's own label per row (the graph's `label` output as text). */
  labels: string[];
  isThreat: Uint8Array;
  /** Threat probability per row (the graph's float32 output widened). */
  probability: Float64Array;
}

/** An open ONNX model checked against a schema. Call close() to release the onnxruntime session. */
export class OnnxPredictor {
  readonly file: string;
  readonly schema: DatasetSchema;
  readonly metadata: Readonly<Record<string, string>>;
  readonly columns: readonly ColumnIR[];
  private readonly session: ort.InferenceSession;
  private readonly threatOf: Map<string, boolean> | null;

  private constructor(
    file: string,
    schema: DatasetSchema,
    metadata: Record<string, string>,
    session: ort.InferenceSession,
  ) {
    this.file = file;
    this.schema = schema;
    this.metadata = metadata;
    this.session = session;
    this.columns = onnxInputColumns(session, metadata, schema, file);
    // the export's own class → threat map; a multiclass model's labels may be categories that the
    // schema's threat/benign lists do not name
    const labels = jsonArray(metadata.class_labels);
    const threat = jsonArray(metadata.class_is_threat);
    this.threatOf =
      labels && threat && labels.length === threat.length
        ? new Map(labels.map((l, i) => [String(l), threat[i] === true]))
        : null;
  }

  static async open(
    file: string,
    resolveSchema: (metadata: Record<string, string>) => DatasetSchema,
  ): Promise<OnnxPredictor> {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new NetsecError(
        "FILE_UNREADABLE",
        `cannot read ONNX model ${file}: ${(e as Error).message}`,
        { file },
        { cause: e },
      );
    }
    // onnxruntime first: it says clearly when a file is not a model, protobuf decoding may not
    let session: ort.InferenceSession;
    try {
      session = await createOnnxSession(bytes);
    } catch (e) {
      throw wrapError(file, e, "BUNDLE_INVALID", { file });
    }
    try {
      const metadata = readOnnxMetadata(bytes, file);
      return new OnnxPredictor(file, resolveSchema(metadata), metadata, session);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /** Model name and decision threshold from the metadata (null when a foreign export lacks them). */
  get model(): string | null {
    return this.metadata.model ?? null;
  }

  get threshold(): number | null {
    const t = Number(this.metadata.threshold);
    return this.metadata.threshold !== undefined && Number.isFinite(t) ? t : null;
  }

  async predict(frame: Frame): Promise<OnnxPrediction> {
    const run = await runOnnxSession(this.session, this.columns, frame);
    const labels = run.labels.map(String);
    const isThreat = new Uint8Array(labels.length);
    labels.forEach((l, i) => {
      isThreat[i] = (this.threatOf?.get(l) ?? this.schema.isThreat(l)) ? 1 : 0;
    });
    return { labels, isThreat, probability: run.probability };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
