/**
 * What serving and `netsec predict` need from a loaded model: score a Frame of raw feature columns.
 * Implemented by the bundle loader (preprocessing + classifier + threshold from a bundle directory).
 */
import type { Frame } from "../core/frame.ts";
import type { DatasetSchema } from "../datasets/schema.ts";
import type { BundleManifest } from "./manifest.ts";

export interface Contribution {
  feature: string;
  /** Signed contribution to the threat score (raw units of the model's score). */
  contribution: number;
  /** The raw input value of that feature's column. */
  value: number | string | null;
}

export interface Prediction {
  /** Per row: the predicted label in the dataset's own values (e.g. "-1"). */
  labels: string[];
  /** Per row: display name of the label (from the schema). */
  labelNames: string[];
  /** Per row: whether the prediction is a threat. */
  isThreat: Uint8Array;
  /** Per row: probability of the threat class. */
  probability: Float64Array;
}

export interface Predictor {
  readonly manifest: BundleManifest;
  readonly schema: DatasetSchema;
  /** Registry name and version when loaded from the registry ("name:version"), else the bundle path. */
  readonly version: string;
  /** Score rows; the frame must hold every input column (extra columns are ignored). */
  predict(frame: Frame): Prediction;
  /** Top-k features that pushed row `row`'s threat score (trees: path contributions; LR: coef × value). */
  explain(frame: Frame, row: number, k?: number): Contribution[];
  /** `explain` for every row of the frame (the preprocessing runs once for the batch). */
  explainAll?(frame: Frame, k?: number): Contribution[][];
  /**
   * A predictor loaded from a bundle directory: the directory (which another thread can load the
   * same model from) and `predict` from scores computed there (BundlePredictor.scores on that copy).
   */
  readonly dir?: string;
  fromScores?(s: Scores, nRows: number): Prediction;
}

/** Class probabilities (row-major, nRows x nClasses) and the threat probability per row. */
export interface Scores {
  proba: Float64Array;
  threat: Float64Array;
}
