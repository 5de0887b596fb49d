/**
 * NSL-KDD as the bench scripts use it: KDDTrain+ (from the mirror's NSL_KDD.zip) → KDDTest+, the categoricals
 * one-hot and the numerics median-imputed, unscaled, as the pipeline's ColumnTransformer makes them; the
 * target is the binary threat label (normal = 0).
 */
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Matrix, SHARED_BATCH_MIN_ROWS } from "../src/core/frame.ts";
import { loadFiles } from "../src/datasets/load-many.ts";
import { getDataset } from "../src/datasets/registry.ts";
import { binaryTarget } from "../src/pipeline/train.ts";
import { ColumnTransformer } from "../src/preprocess/column-transformer.ts";

const MIRROR = process.env.NETSEC_DATASET_MIRROR ?? resolve(import.meta.dirname, "../../shared/datasets");

export interface NslKddRows {
  Xtr: Matrix;
  ytr: Int32Array;
  Xte: Matrix;
  yte: Int32Array;
  /** The schema's categorical inputs (before one-hot), for `categorical_features`. */
  categorical: string[];
}

export async function loadNslKddOneHot(): Promise<NslKddRows> {
  const s = getDataset("nsl-kdd", join(tmpdir(), "netsec-bench-home"));
  const train = await loadFiles(
    [{ path: join(MIRROR, "nsl-kdd/NSL_KDD.zip"), member: "KDDTrain+.txt", format: "txt" }],
    s,
  );
  const test = await loadFiles([{ path: join(MIRROR, "nsl-kdd/KDDTest+.txt"), format: "txt" }], s);
  const numeric = s.features.filter((c) => c.type !== "categorical").map((c) => c.name);
  const categorical = s.features.filter((c) => c.type === "categorical").map((c) => c.name);
  const t = new ColumnTransformer().fit(train, { numeric, categorical, imputer: "median", scale: false });
  return {
    Xtr: t.transform(train),
    ytr: binaryTarget(s, train).y,
    Xte: t.transform(test, test.nRows >= SHARED_BATCH_MIN_ROWS),
    yte: binaryTarget(s, test).y,
    categorical,
  };
}
