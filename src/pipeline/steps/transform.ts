/**
 * The transform step: the classes the model learns (the config's target), each split's target, and
 * the column transformer (imputer, scaler, one-hot) fitted on the training rows only, then applied
 * to both splits: the training rows binned once, column by column (never whole as float64), shared
 * by every fold, worker and the refit; the test rows become float64 matrices a block of rows at a
 * time, only when asked for, after the fits, and are not kept.
 */
import { NetsecError } from "../../core/errors.ts";
import type { Frame, Matrix } from "../../core/frame.ts";
import { type BinnedMatrix, BinnedMatrixBuilder } from "../../models/tree/binned-matrix.ts";
import { ColumnTransformer } from "../../preprocess/column-transformer.ts";
import { rowBlocks } from "../row-blocks.ts";
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
  /**
   * The transformed training rows, binned (uint8 codes on shared memory, for the worker threads);
   * reading it after `releaseXtr()` is an INTERNAL error.
   */
  readonly Xtr: BinnedMatrix;
  /**
   * Lets the binned training rows go (the bundle step, once train.npy is written from them): nothing
   * after reads them, and the bundle's predictions and ONNX check run without them in memory
   * (150 MB for the 1 M-row NSL-KDD file's 806,227 training rows).
   */
  releaseXtr(): void;
  /**
   * The transformed test rows (float64), SCORE_BLOCK_ROWS rows a matrix, in row order, each built as
   * it is iterated and freed when the next is asked for (the caller must not keep it): never the
   * whole test split at once, nor a trail of blocks waiting for the garbage collector.
   */
  testBlocks(): Generator<Matrix>;
}

/**
 * The transformer's features of `frame`, binned a column at a time as the tree learners bin them
 * (seed: the quantile subsample's): one float64 column in memory at a time, never the whole matrix.
 */
export function binnedTrainingMatrix(
  transformer: ColumnTransformer,
  frame: Frame,
  seed: number,
): BinnedMatrix {
  const names = transformer.featureNames;
  const builder = new BinnedMatrixBuilder(frame.nRows, names.length, names, { seed });
  const column = new Float64Array(frame.nRows);
  transformer.eachColumn(
    frame,
    () => column.fill(0),
    (f, values) => builder.add(f, values),
  );
  return builder.finish();
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
  let binned: BinnedMatrix | undefined = binnedTrainingMatrix(transformer, train, cfg.seed);
  // in blocks: the whole test matrix is 197 MB for the 1 M-row NSL-KDD file's test rows, 1.9 GB at 10 M;
  // each block's 64 MB freed at once (detached) once used: left to the garbage collector, the
  // evaluate step's and test.npy's blocks were still there when the bundle step's ONNX child ran
  function* testBlocks(): Generator<Matrix> {
    for (const { rows } of rowBlocks(test)) {
      const m = transformer.transform(rows);
      try {
        yield m;
      } finally {
        if (m.data.buffer instanceof ArrayBuffer) m.data.buffer.transfer(0);
      }
    }
  }
  return {
    space,
    threatClasses,
    yTrain,
    yTest,
    transformer,
    get Xtr(): BinnedMatrix {
      if (!binned)
        throw new NetsecError("INTERNAL", "the binned training rows were read after their release", {});
      return binned;
    },
    releaseXtr: () => {
      binned = undefined;
    },
    testBlocks,
  };
}
