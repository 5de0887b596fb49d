/**
 * Writing and loading model bundles (see manifest.ts for the layout). Loading validates every file
 * with zod and rebuilds the model from JSON state; nothing in a bundle is executed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NetsecError } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import { DatasetSchema } from "../datasets/schema.ts";
import { modelFromJSON } from "../models/registry.ts";
import type { Classifier, SerializedModel } from "../models/types.ts";
import { ColumnTransformer, type TransformerState } from "../preprocess/column-transformer.ts";
import { threatScore } from "../selection/cv-task.ts";
import type { DataProfile } from "../validate/profile.ts";
import { type BundleManifest, ManifestSchema } from "./manifest.ts";
import type { Contribution, Prediction, Predictor } from "./predictor.ts";

export function writeBundle(
  dir: string,
  manifest: BundleManifest,
  transformer: ColumnTransformer,
  model: Classifier,
  profile: DataProfile,
): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "bundle.json"), `${JSON.stringify(ManifestSchema.parse(manifest), null, 2)}\n`);
  writeFileSync(join(dir, "preprocess.json"), JSON.stringify(transformer.toJSON()));
  writeFileSync(join(dir, "model.json"), JSON.stringify(model.toJSON()));
  writeFileSync(join(dir, "reference_profile.json"), JSON.stringify(profile));
}

function readJson(path: string): unknown {
  if (!existsSync(path))
    throw new NetsecError("BUNDLE_INVALID", `model bundle file ${path} is missing`, { file: path });
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new NetsecError(
      "BUNDLE_INVALID",
      `model bundle file ${path} is not valid JSON: ${(e as Error).message}`,
      { file: path },
    );
  }
}

export class BundlePredictor implements Predictor {
  readonly manifest: BundleManifest;
  readonly schema: DatasetSchema;
  readonly version: string;
  readonly transformer: ColumnTransformer;
  readonly model: Classifier;
  readonly dir: string;
  private readonly threatClasses: number[];
  /** Input column of each transformed feature (one-hot features map back to their column). */
  private readonly featureColumns: string[];

  constructor(dir: string, version?: string) {
    this.dir = dir;
    const raw = readJson(join(dir, "bundle.json"));
    const r = ManifestSchema.safeParse(raw);
    if (!r.success) {
      throw new NetsecError(
        "BUNDLE_INVALID",
        `${join(dir, "bundle.json")}: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
        {
          file: join(dir, "bundle.json"),
        },
      );
    }
    this.manifest = r.data;
    this.schema = new DatasetSchema(this.manifest.schema, `${dir}/bundle.json#schema`);
    this.transformer = ColumnTransformer.fromJSON(readJson(join(dir, "preprocess.json")) as TransformerState);
    this.model = modelFromJSON(readJson(join(dir, "model.json")) as SerializedModel);
    if (this.model.nFeatures !== this.transformer.featureNames.length) {
      throw new NetsecError(
        "BUNDLE_INVALID",
        `${dir}: model expects ${this.model.nFeatures} features, preprocessing gives ${this.transformer.featureNames.length}`,
        {},
      );
    }
    this.threatClasses = this.manifest.class_is_threat.flatMap((t, i) => (t ? [i] : []));
    this.featureColumns = this.transformer.featureNames.map((nm) =>
      nm.includes("=") ? nm.slice(0, nm.indexOf("=")) : nm,
    );
    this.version = version ?? `${this.manifest.model}@${this.manifest.run_id}`;
  }

  get referenceProfile(): DataProfile {
    return readJson(join(this.dir, "reference_profile.json")) as DataProfile;
  }

  /** Threat probability per row (and the class probabilities). */
  scores(frame: Frame): { proba: Float64Array; threat: Float64Array } {
    const X = this.transformer.transform(frame);
    const proba = this.model.predictProba(X);
    return { proba, threat: threatScore(proba, frame.nRows, this.model.nClasses, this.threatClasses) };
  }

  predict(frame: Frame): Prediction {
    const { proba, threat } = this.scores(frame);
    const n = frame.nRows;
    const K = this.model.nClasses;
    const m = this.manifest;
    const labels: string[] = new Array(n);
    const labelNames: string[] = new Array(n);
    const isThreat = new Uint8Array(n);
    for (let r = 0; r < n; r++) {
      let cls: number;
      if (K === 2)
        cls = threat[r]! >= m.threshold ? m.class_is_threat.indexOf(true) : m.class_is_threat.indexOf(false);
      else {
        // multiclass: threat decided by the threshold on P(threat); the class is the most likely of that side
        const wantThreat = threat[r]! >= m.threshold;
        cls = -1;
        for (let k = 0; k < K; k++) {
          if (m.class_is_threat[k] !== wantThreat) continue;
          if (cls < 0 || proba[r * K + k]! > proba[r * K + cls]!) cls = k;
        }
      }
      labels[r] = m.class_labels[cls]!;
      labelNames[r] =
        this.schema.labelName(m.class_labels[cls]!) === m.class_labels[cls]
          ? m.classes[cls]!
          : this.schema.labelName(m.class_labels[cls]!);
      isThreat[r] = m.class_is_threat[cls] ? 1 : 0;
    }
    return { labels, labelNames, isThreat, probability: threat };
  }

  explain(frame: Frame, row: number, k = 3): Contribution[] {
    const contrib = this.model.contributions;
    if (!contrib) return [];
    // transform only this row: explaining every row of a batch stays linear in the batch size
    const one = frame.take([row]);
    const X = this.transformer.transform(one);
    const total = new Float64Array(this.model.nFeatures);
    for (const t of this.threatClasses) {
      const c = contrib.call(this.model, X, 0, t);
      for (let i = 0; i < c.length; i++) total[i]! += c[i]!;
    }
    // fold one-hot features back to their input column
    const byCol = new Map<string, number>();
    const cols = this.featureColumns;
    for (let i = 0; i < total.length; i++) byCol.set(cols[i]!, (byCol.get(cols[i]!) ?? 0) + total[i]!);
    return [...byCol.entries()]
      .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
      .slice(0, k)
      .map(([feature, contribution]) => ({
        feature,
        contribution,
        value: frame.has(feature) ? frame.value(row, feature) : null,
      }));
  }
}

/** Load a bundle directory as a Predictor (used by `netsec predict` and the server). */
export function loadPredictor(dir: string, version?: string): Predictor {
  return new BundlePredictor(dir, version);
}
