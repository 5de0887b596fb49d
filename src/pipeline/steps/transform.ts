/**
 * The transform step: the classes the model learns (the config's target), each split's target, and
 * the column transformer (imputer, scaler, one-hot) fitted on the training rows only, then applied
 * to both splits.
 */
import type { Frame, Matrix } from "../../core/frame.ts";
import { ColumnTransformer } from "../../preprocess/column-transformer.ts";
import type { PipelineRun } from "../runner.ts";
import { type ClassSpace, classSpace, type EncodedTarget, encodeTarget } from "../train.ts";

export interface Transformed {
  space: ClassSpace;
  /** Indices of the threat classes (binary: [1]). */
  threatClasses: number[];
  /** Training and test targets (the model learns `y`; the threshold and threat metrics use `threat`). */
  yTrain: EncodedTarget;
  yTest: EncodedTarget;
  transformer: ColumnTransformer;
  /** The transformed training rows (on shared memory, for the worker threads) and test rows. */
  Xtr: Matrix;
  Xte: Matrix;
}

export function transformStep(run: PipelineRun, train: Frame, test: Frame): Transformed {
  const { cfg, schema } = run;
  const space = classSpace(schema, train, cfg.target);
  const threatClasses = space.classIsThreat.flatMap((t, k) => (t ? [k] : []));
  const yTrain = encodeTarget(schema, train, space);
  const yTest = encodeTarget(schema, test, space);
  const numeric = schema.features.filter((c) => c.type !== "categorical").map((c) => c.name);
  const categorical = schema.features.filter((c) => c.type === "categorical").map((c) => c.name);
  run.progress("transform", 0.1, "fitting imputer, scaler and one-hot encoder on the training rows");
  const transformer = new ColumnTransformer().fit(train, {
    numeric,
    categorical,
    imputer: cfg.transform.imputer,
    knnNeighbors: cfg.transform.knn_neighbors,
    scale: true,
    seed: cfg.seed,
  });
  const Xtr = transformer.transform(train, true);
  const Xte = transformer.transform(test);
  return { space, threatClasses, yTrain, yTest, transformer, Xtr, Xte };
}
