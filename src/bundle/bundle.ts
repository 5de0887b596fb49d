/**
 * Writing and loading model bundles (see manifest.ts for the layout). Loading validates every file
 * with zod and rebuilds the model from JSON state; nothing in a bundle is executed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NetsecError } from "../core/errors.ts";
import { type Frame, SHARED_BATCH_MIN_ROWS } from "../core/frame.ts";
import { DatasetSchema } from "../datasets/schema.ts";
import { modelFromJSON } from "../models/registry.ts";
import type { Classifier, SerializedModel } from "../models/types.ts";
import { ColumnTransformer, type TransformerState } from "../preprocess/column-transformer.ts";
import { threatScore } from "../selection/cv-task.ts";
import type { DataProfile } from "../validate/profile.ts";
import { type BundleManifest, ManifestSchema } from "./manifest.ts";
import type { Contribution, Prediction, Predictor, Scores } from "./predictor.ts";

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

/** Rebuild state from one bundle file; a rejection names that file (the user must know which one). */
function inFile<T>(path: string, build: (raw: unknown) => T): T {
  const raw = readJson(path);
  try {
    return build(raw);
  } catch (e) {
    const msg = (e as Error)?.message ?? String(e);
    throw new NetsecError(
      "BUNDLE_INVALID",
      `model bundle file ${path}: ${msg}`,
      { file: path },
      { cause: e },
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
  /** Input columns of the model's features (one-hot features share their column), built on first use. */
  private groups: { names: string[]; of: Int32Array } | null = null;

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
    this.transformer = inFile(join(dir, "preprocess.json"), (raw) =>
      ColumnTransformer.fromJSON(raw as TransformerState),
    );
    this.model = inFile(join(dir, "model.json"), (raw) => modelFromJSON(raw as SerializedModel));
    if (this.model.nFeatures !== this.transformer.featureNames.length) {
      throw new NetsecError(
        "BUNDLE_INVALID",
        `${dir}: model expects ${this.model.nFeatures} features, preprocessing gives ${this.transformer.featureNames.length}`,
        {},
      );
    }
    // labels are looked up per class index: a manifest whose class lists do not fit the model (or
    // without a class on each side, which the threshold needs) would mislabel rows silently
    const m = this.manifest;
    const K = this.model.nClasses;
    const sides = new Set(m.class_is_threat);
    if (
      m.classes.length !== K ||
      m.class_labels.length !== K ||
      m.class_is_threat.length !== K ||
      sides.size !== 2
    ) {
      throw new NetsecError(
        "BUNDLE_INVALID",
        `${join(dir, "bundle.json")}: the model has ${K} classes but classes, class_labels and class_is_threat have ${m.classes.length}, ${m.class_labels.length} and ${m.class_is_threat.length} entries${sides.size !== 2 ? ", and class_is_threat must mark at least one threat and one benign class" : ""}`,
        { file: join(dir, "bundle.json") },
      );
    }
    this.threatClasses = m.class_is_threat.flatMap((t, i) => (t ? [i] : []));
    this.featureColumns = this.transformer.featureNames.map((nm) =>
      nm.includes("=") ? nm.slice(0, nm.indexOf("=")) : nm,
    );
    this.version = version ?? `${this.manifest.model}@${this.manifest.run_id}`;
  }

  get referenceProfile(): DataProfile {
    return readJson(join(this.dir, "reference_profile.json")) as DataProfile;
  }

  /** Each class's display name (a prediction's `labelNames` entry), by class index. */
  get classNames(): string[] {
    const m = this.manifest;
    return m.class_labels.map((l, c) =>
      this.schema.labelName(l) === l ? m.classes[c]! : this.schema.labelName(l),
    );
  }

  /** Threat probability per row (and the class probabilities). */
  scores(frame: Frame): Scores {
    const X = this.transformer.transform(frame, frame.nRows >= SHARED_BATCH_MIN_ROWS);
    const proba = this.model.predictProba(X);
    return { proba, threat: threatScore(proba, frame.nRows, this.model.nClasses, this.threatClasses) };
  }

  predict(frame: Frame): Prediction {
    return this.fromScores(this.scores(frame), frame.nRows);
  }

  /** Labels from scores: the threshold on P(threat), then the most likely class of that side. */
  fromScores(s: Scores, n: number): Prediction {
    const m = this.manifest;
    // per class, once: its label and display name
    const clsLabel = m.class_labels;
    const clsName = this.classNames;
    const cls = decideClasses(s.proba, s.threat, n, m.class_is_threat, m.threshold);
    const labels: string[] = new Array(n);
    const labelNames: string[] = new Array(n);
    const isThreat = new Uint8Array(n);
    for (let r = 0; r < n; r++) {
      const c = cls[r]!;
      labels[r] = clsLabel[c]!;
      labelNames[r] = clsName[c]!;
      isThreat[r] = m.class_is_threat[c] ? 1 : 0;
    }
    return { labels, labelNames, isThreat, probability: s.threat };
  }

  explain(frame: Frame, row: number, k = 3): Contribution[] {
    if (!this.model.contributions) return [];
    // transform only this row: explaining every row of a batch stays linear in the batch size
    const X = this.transformer.transform(frame.take([row]));
    return this.topContributions(X, 0, frame, row, k);
  }

  explainAll(frame: Frame, k = 3): Contribution[][] {
    if (!this.model.contributions) return Array.from({ length: frame.nRows }, () => []);
    const X = this.transformer.transform(frame);
    const all = this.model.contributionsAll;
    if (!all) return Array.from({ length: frame.nRows }, (_, r) => this.topContributions(X, r, frame, r, k));
    // every row's contributions per threat class in one pass over the trees, summed as explain() does
    const p = this.model.nFeatures;
    const per = this.threatClasses.map((t) => all.call(this.model, X, t));
    return Array.from({ length: frame.nRows }, (_, r) => {
      const total = new Float64Array(p);
      for (const c of per) for (let i = 0; i < p; i++) total[i]! += c[r * p + i]!;
      return this.top(total, frame, r, k);
    });
  }

  private topContributions(
    X: Parameters<NonNullable<Classifier["contributions"]>>[0],
    xRow: number,
    frame: Frame,
    row: number,
    k: number,
  ): Contribution[] {
    const contrib = this.model.contributions!;
    const total = new Float64Array(this.model.nFeatures);
    for (const t of this.threatClasses) {
      const c = contrib.call(this.model, X, xRow, t);
      for (let i = 0; i < c.length; i++) total[i]! += c[i]!;
    }
    return this.top(total, frame, row, k);
  }

  /** Fold one-hot features back to their input column, then the k largest |contribution|. */
  private top(total: Float64Array, frame: Frame, row: number, k: number): Contribution[] {
    if (!this.groups) {
      const names: string[] = [];
      const index = new Map<string, number>();
      const of = new Int32Array(this.featureColumns.length);
      this.featureColumns.forEach((c, i) => {
        if (!index.has(c)) {
          index.set(c, names.length);
          names.push(c);
        }
        of[i] = index.get(c)!;
      });
      this.groups = { names, of };
    }
    const { names, of } = this.groups;
    const byCol = new Float64Array(names.length);
    for (let i = 0; i < total.length; i++) byCol[of[i]!]! += total[i]!;
    const top: number[] = [];
    for (let g = 0; g < byCol.length; g++) {
      const a = Math.abs(byCol[g]!);
      if (top.length === k && a <= Math.abs(byCol[top[k - 1]!]!)) continue;
      let j = top.length < k ? top.length : k - 1;
      top[j] = g;
      // insertion: larger magnitude first, ties keep column order
      while (j > 0 && Math.abs(byCol[top[j - 1]!]!) < a) {
        top[j] = top[j - 1]!;
        top[j - 1] = g;
        j--;
      }
    }
    return top.map((g) => {
      const feature = names[g]!;
      return {
        feature,
        contribution: byCol[g]!,
        value: frame.has(feature) ? frame.value(row, feature) : null,
      };
    });
  }
}

/**
 * The class a model outputs per row: the threshold on P(threat) decides the side (threat or benign),
 * then the most probable class of that side (the first on ties). With two classes that is just the
 * threshold. One rule for the bundle, the training run's per-class evaluation and the ONNX export
 * (export.ts builds the same decision as a graph), so all three label every row alike.
 */
export function decideClasses(
  proba: ArrayLike<number>,
  threat: ArrayLike<number>,
  n: number,
  classIsThreat: readonly boolean[],
  threshold: number,
): Int32Array {
  const K = classIsThreat.length;
  const out = new Int32Array(n);
  const threatCls = classIsThreat.indexOf(true);
  const benignCls = classIsThreat.indexOf(false);
  for (let r = 0; r < n; r++) {
    const wantThreat = threat[r]! >= threshold;
    if (K === 2) {
      out[r] = wantThreat ? threatCls : benignCls;
      continue;
    }
    let cls = -1;
    for (let k = 0; k < K; k++) {
      if (classIsThreat[k] !== wantThreat) continue;
      if (cls < 0 || proba[r * K + k]! > proba[r * K + cls]!) cls = k;
    }
    out[r] = cls;
  }
  return out;
}

/** Load a bundle directory as a Predictor (used by `netsec predict` and the server). */
export function loadPredictor(dir: string, version?: string): Predictor {
  return new BundlePredictor(dir, version);
}
