/** Input checks shared by every estimator: shapes, labels, non-finite values. Errors name what and where. */
import { NetsecError } from "../core/errors.ts";
import type { Matrix } from "../core/frame.ts";
import type { SerializedModel } from "./types.ts";

export function featureName(X: Matrix, c: number): string {
  return X.names?.[c] ?? `feature ${c}`;
}

/**
 * Check training data: matching lengths, labels in [0, nClasses), at least two classes present, no
 * ±Infinity (NaN is a missing value, allowed where the model handles it: `allowNaN`).
 */
export function checkFitData(
  X: Matrix,
  y: Int32Array,
  nClasses: number,
  model: string,
  allowNaN: boolean,
): void {
  checkFitShape(X, y, nClasses, model);
  checkValues(X, model, allowNaN);
}

/**
 * checkFitData without the values: for a fit that reads every value anyway and calls checkValues
 * when it meets a non-finite one (the same error, found without a pass of its own).
 */
export function checkFitShape(X: Matrix, y: Int32Array, nClasses: number, model: string): void {
  if (X.nRows === 0) throw new NetsecError("DATA_INVALID", `${model}: no training rows`, {});
  if (X.nCols === 0) throw new NetsecError("DATA_INVALID", `${model}: no features`, {});
  if (y.length !== X.nRows) {
    throw new NetsecError("DATA_INVALID", `${model}: ${X.nRows} rows of features but ${y.length} labels`, {});
  }
  checkLabels(y, nClasses, model);
}

/** Labels in [0, nClasses), at least two classes present (checkFitData's part on labels). */
export function checkLabels(y: Int32Array, nClasses: number, model: string): void {
  if (!Number.isInteger(nClasses) || nClasses < 2) {
    throw new NetsecError(
      "DATA_INVALID",
      `${model}: needs at least 2 classes, got nClasses = ${nClasses}`,
      {},
    );
  }
  const seen = new Uint8Array(nClasses);
  for (let i = 0; i < y.length; i++) {
    const c = y[i]!;
    if (!(c >= 0 && c < nClasses)) {
      throw new NetsecError(
        "DATA_INVALID",
        `${model}: label at row ${i + 1} is ${c}, outside 0..${nClasses - 1}`,
        { row: i + 1, value: c },
      );
    }
    seen[c] = 1;
  }
  let present = 0;
  for (const s of seen) present += s;
  if (present < 2) {
    throw new NetsecError(
      "DATA_INVALID",
      `${model}: the target has a single class; a classifier needs at least two`,
      {},
    );
  }
}

/**
 * Refuse ±Infinity (and NaN unless `allowNaN`) in rows [from, to) of X, naming the row (1-based) and
 * column of the first one found, column by column. One pass over those rows (a model explaining one
 * row checks only that row).
 */
export function checkValues(X: Matrix, model: string, allowNaN: boolean, from = 0, to = X.nRows): void {
  const { data, nRows, nCols } = X;
  for (let c = 0; c < nCols; c++) {
    const o = c * nRows;
    // v · 0 is 0 for a finite v and NaN otherwise: a column with only finite values is passed in one
    // pass of multiplies and adds (four sums, not one chain of dependent adds); others are searched
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let r = from;
    for (; r + 3 < to; r += 4) {
      s0 += data[o + r]! * 0;
      s1 += data[o + r + 1]! * 0;
      s2 += data[o + r + 2]! * 0;
      s3 += data[o + r + 3]! * 0;
    }
    for (; r < to; r++) s0 += data[o + r]! * 0;
    if (s0 + s1 + s2 + s3 === 0) continue;
    for (let r = from; r < to; r++) {
      const v = data[o + r]!;
      if (
        v === Number.POSITIVE_INFINITY ||
        v === Number.NEGATIVE_INFINITY ||
        (!allowNaN && Number.isNaN(v))
      ) {
        throw new NetsecError(
          "DATA_INVALID",
          `${model}: row ${r + 1}, column ${featureName(X, c)} is ${v}; values must be finite${allowNaN ? " or missing" : ""}`,
          {
            row: r + 1,
            column: featureName(X, c),
            value: String(v),
          },
        );
      }
    }
  }
}

export function checkPredictData(X: Matrix, nFeatures: number, model: string): void {
  if (nFeatures === 0) throw new NetsecError("NOT_FITTED", `${model} is not fitted; call fit first`, {});
  if (X.nCols !== nFeatures) {
    throw new NetsecError("DATA_INVALID", `${model}: fitted on ${nFeatures} features, got ${X.nCols}`, {
      expected: nFeatures,
      value: X.nCols,
    });
  }
}

/** Row-major argmax of probabilities. */
export function argmaxRows(p: Float64Array, nRows: number, k: number): Int32Array {
  const out = new Int32Array(nRows);
  for (let r = 0; r < nRows; r++) {
    let best = 0;
    let bv = p[r * k]!;
    for (let c = 1; c < k; c++) {
      const v = p[r * k + c]!;
      if (v > bv) {
        bv = v;
        best = c;
      }
    }
    out[r] = best;
  }
  return out;
}

/** Class weights: "balanced" = n / (K · count_k); a map gives weights per class index. */
export function classWeights(
  y: Int32Array,
  nClasses: number,
  cw: null | "balanced" | Record<string, number>,
): Float64Array | null {
  if (cw === null) return null;
  const w = new Float64Array(nClasses).fill(1);
  if (cw === "balanced") {
    const cnt = new Float64Array(nClasses);
    for (const c of y) cnt[c]!++;
    for (let k = 0; k < nClasses; k++) w[k] = cnt[k]! > 0 ? y.length / (nClasses * cnt[k]!) : 1;
  } else {
    for (const [k, v] of Object.entries(cw)) {
      const i = Number(k);
      if (Number.isInteger(i) && i >= 0 && i < nClasses) w[i] = v;
    }
  }
  return w;
}

/** Row-major softmax of `scale · z` (n x K), numerically stable. */
export function softmaxRows(z: Float64Array, n: number, K: number, scale = 1): Float64Array {
  const out = new Float64Array(n * K);
  for (let r = 0; r < n; r++) {
    const o = r * K;
    let mx = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < K; k++) mx = Math.max(mx, z[o + k]! * scale);
    let s = 0;
    for (let k = 0; k < K; k++) s += out[o + k] = Math.exp(z[o + k]! * scale - mx);
    for (let k = 0; k < K; k++) out[o + k]! /= s;
  }
  return out;
}

/** Binary probabilities [1 − σ(z), σ(z)] per row (row-major n x 2) from logits. */
export function sigmoidRows(z: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * 2);
  sigmoidRange(z, out, 0, n);
  return out;
}

/** sigmoidRows on rows [from, to) into `out` (n x 2). */
export function sigmoidRange(z: Float64Array, out: Float64Array, from: number, to: number): void {
  for (let r = from; r < to; r++) {
    const v = z[r]!;
    // one exp a row: e^−|v| (the same value either branch used, so the same bits)
    const e = Math.exp(v >= 0 ? -v : v);
    const p1 = v >= 0 ? 1 / (1 + e) : e / (1 + e);
    out[r * 2] = 1 - p1;
    out[r * 2 + 1] = p1;
  }
}

/** The JSON form every model writes: its name, format version, params and fitted state. */
export function serialized(
  m: { name: SerializedModel["model"]; params: Record<string, unknown>; nClasses: number; nFeatures: number },
  state: unknown,
): SerializedModel {
  return {
    model: m.name,
    formatVersion: 1,
    params: { ...m.params },
    nClasses: m.nClasses,
    nFeatures: m.nFeatures,
    state,
  };
}
