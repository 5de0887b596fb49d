/** Real data as estimator inputs for tests and benchmarks: phishing (all numeric) and NSL-KDD (one-hot). */
import { readFileSync } from "node:fs";
import { allocMatrix, type Matrix } from "../../src/core/frame.ts";
import type { FlatTree } from "../../src/models/tree/flat-tree.ts";

export interface XY {
  X: Matrix;
  y: Int32Array;
}

/** Parse a simple numeric CSV with a header and the target in `target` (threat label → class 1). */
export function numericCsv(path: string, target: string, threat: string): XY {
  const lines = readFileSync(path, "utf8").trim().split(/\r?\n/);
  const header = lines[0]!.split(",").map((h) => h.replace(/"/g, ""));
  const ti = header.indexOf(target);
  const names = header.filter((_, i) => i !== ti);
  const n = lines.length - 1;
  const X = allocMatrix(n, names.length, names);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const cells = lines[r + 1]!.split(",");
    let c = 0;
    for (let j = 0; j < cells.length; j++) {
      if (j === ti) y[r] = cells[j] === threat ? 1 : 0;
      else X.data[c++ * n + r] = Number(cells[j]);
    }
  }
  return { X, y };
}

/** Rows of a matrix/labels. */
export function subset(d: XY, rows: ArrayLike<number>, shared = false): XY {
  const n = rows.length;
  const X = allocMatrix(n, d.X.nCols, d.X.names, shared);
  const y = new Int32Array(n);
  for (let c = 0; c < d.X.nCols; c++)
    for (let i = 0; i < n; i++) X.data[c * n + i] = d.X.data[c * d.X.nRows + rows[i]!]!;
  for (let i = 0; i < n; i++) y[i] = d.y[rows[i]!]!;
  return { X, y };
}

/** Standardise columns with the mean and population std of `ref` (as scikit-learn's StandardScaler). */
export function standardise(X: Matrix, ref: Matrix = X, shared = false): Matrix {
  const out = allocMatrix(X.nRows, X.nCols, X.names, shared);
  for (let c = 0; c < X.nCols; c++) {
    let m = 0;
    for (let r = 0; r < ref.nRows; r++) m += ref.data[c * ref.nRows + r]!;
    m /= ref.nRows;
    let v = 0;
    for (let r = 0; r < ref.nRows; r++) v += (ref.data[c * ref.nRows + r]! - m) ** 2;
    const sd = Math.sqrt(v / ref.nRows) || 1;
    for (let r = 0; r < X.nRows; r++) out.data[c * X.nRows + r] = (X.data[c * X.nRows + r]! - m) / sd;
  }
  return out;
}

/**
 * Training rows reaching each node of a tree when routed by raw value (a missing value takes the
 * node's missing branch), counted independently of the learner, to check the fitted node weights.
 */
export function rowsPerNode(t: FlatTree, X: Matrix): Float64Array {
  const c = new Float64Array(t.nNodes);
  for (let r = 0; r < X.nRows; r++) {
    let i = 0;
    for (;;) {
      c[i]!++;
      const f = t.feature[i]!;
      if (f < 0) break;
      const v = X.data[f * X.nRows + r]!;
      i = (Number.isNaN(v) ? t.missingLeft[i] === 1 : v <= t.threshold[i]!) ? t.left[i]! : t.right[i]!;
    }
  }
  return c;
}
