/**
 * Log-loss for boosting, as scikit-learn's HalfBinomialLoss / HalfMultinomialLoss (sklearn/_loss):
 * raw scores F are row-major n x R (R = 1 for two classes, K otherwise).
 *
 * - baseline: binary, the logit of the weighted share of class 1 (clipped to [10ε, 1 − 10ε]);
 *   multiclass, log p_k − mean_j log p_j of the weighted class shares (clipped to [ε, 1 − ε]);
 * - gradients and hessians per row and tree: w · (p_k − y_k) and w · p_k (1 − p_k), rounded to float32
 *   as scikit-learn stores them (G_H_DTYPE);
 * - the loss (early stopping's score): the weighted mean of log(1 + e^F) − y·F (binary) or
 *   logsumexp(F) − F_y (multiclass).
 */

const EPS = 2.220446049250313e-16;

export function baseline(y: Int32Array, w: Float64Array, K: number): Float64Array {
  const share = new Float64Array(K);
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    share[y[i]!]! += w[i]!;
    total += w[i]!;
  }
  if (K === 2) {
    const p = Math.min(Math.max(share[1]! / total, 10 * EPS), 1 - 10 * EPS);
    return Float64Array.of(Math.log(p / (1 - p)));
  }
  const out = new Float64Array(K);
  let mean = 0;
  for (let k = 0; k < K; k++) {
    out[k] = Math.log(Math.min(Math.max(share[k]! / total, EPS), 1 - EPS));
    mean += out[k]!;
  }
  mean /= K;
  for (let k = 0; k < K; k++) out[k]! -= mean;
  return out;
}

/**
 * Gradients and hessians of every tree of an iteration at once (g, h: R blocks of n, block k for
 * raw score k), from the current raw scores F (n x R).
 */
export function gradients(
  F: Float64Array,
  y: Int32Array,
  w: Float64Array,
  R: number,
  g: Float32Array,
  h: Float32Array,
  prob: Float64Array,
): void {
  const n = y.length;
  if (R === 1) {
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-F[i]!));
      g[i] = w[i]! * (p - (y[i] === 1 ? 1 : 0));
      h[i] = w[i]! * p * (1 - p);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const o = i * R;
    let mx = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < R; k++) mx = Math.max(mx, F[o + k]!);
    let s = 0;
    for (let k = 0; k < R; k++) s += prob[k] = Math.exp(F[o + k]! - mx);
    for (let k = 0; k < R; k++) {
      const p = prob[k]! / s;
      g[k * n + i] = w[i]! * (p - (y[i] === k ? 1 : 0));
      h[k * n + i] = w[i]! * p * (1 - p);
    }
  }
}

/** Weighted mean log-loss of raw scores F (n x R). */
export function logLoss(F: Float64Array, y: Int32Array, w: Float64Array, R: number): number {
  const n = y.length;
  let sum = 0;
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    let l: number;
    if (R === 1) {
      const f = F[i]!;
      // log(1 + e^f), stable for large |f|
      l = (f > 0 ? f + Math.log1p(Math.exp(-f)) : Math.log1p(Math.exp(f))) - (y[i] === 1 ? f : 0);
    } else {
      const o = i * R;
      let mx = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < R; k++) mx = Math.max(mx, F[o + k]!);
      let s = 0;
      for (let k = 0; k < R; k++) s += Math.exp(F[o + k]! - mx);
      l = mx + Math.log(s) - F[o + y[i]!]!;
    }
    sum += w[i]! * l;
    wsum += w[i]!;
  }
  return sum / wsum;
}
