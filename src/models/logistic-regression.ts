/**
 * L2-regularised logistic regression, scikit-learn's objective: mean_i s_i·loss_i + ||W||² / (2·C·Σs)
 * (intercept not penalised). Binary: one coefficient vector and the logistic loss; K > 2: multinomial
 * softmax with K coefficient rows. Solvers: "lbfgs" (limited-memory BFGS, m = 10, Armijo backtracking,
 * stops when max |gradient| <= tol, as scipy's L-BFGS-B pgtol that scikit-learn uses) and "newton"
 * (Newton's method with a Cholesky solve of the full Hessian; binary only). Expects scaled inputs.
 */
import { z } from "zod";
import { NetsecError } from "../core/errors.ts";
import type { Matrix } from "../core/frame.ts";
import { helperReady, helperScratch, runWithHelper } from "../core/helper.ts";
import { task } from "../core/tasks.ts";
import {
  argmaxRows,
  checkFitData,
  checkPredictData,
  checkValues,
  classWeights,
  featureName,
  serialized,
  sigmoidRange,
  softmaxRows,
} from "./checks.ts";
import { randomStateSchema } from "./params.ts";
import type { Classifier, FitOptions, FitReport, ModelSpec, SerializedModel } from "./types.ts";

export const LogisticRegressionParamsSchema = z
  .object({
    C: z.number().gt(0).default(1.0),
    solver: z.enum(["lbfgs", "newton"]).default("lbfgs"),
    maxIter: z.number().int().min(1).max(100_000).default(100),
    tol: z.number().gt(0).default(1e-4),
    fitIntercept: z.boolean().default(true),
    classWeight: z
      .union([z.null(), z.literal("balanced"), z.record(z.string(), z.number().positive())])
      .default(null),
    randomState: randomStateSchema,
  })
  .strict();

export type LogisticRegressionParams = z.infer<typeof LogisticRegressionParamsSchema>;

/**
 * The design matrix as the loss sees it. A column whose values are mostly one value m (a one-hot or
 * count feature, also after scaling) is kept sparse relative to m: x = m + δ with δ ≠ 0 on few rows,
 * so X·w and Xᵀ·r touch only those rows (m's share goes to a constant / the sum of r). Other columns
 * are read in place from the column-major matrix, four at a time.
 */
interface Design {
  n: number;
  d: Float64Array;
  /** Dense column indices. */
  dense: Int32Array;
  /** Sparse column indices. */
  sparse: Int32Array;
  /** Per column: the value a sparse column takes on most rows (0 for dense columns). */
  mode: Float64Array;
  /** Offsets of each sparse column's entries in idx/val (length sparse.length + 1). */
  start: Int32Array;
  idx: Int32Array;
  val: Float64Array;
}

/** A column is stored sparse when at most this share of its rows differ from its most common value. */
const SPARSE_SHARE = 0.25;
/**
 * At least this many values (rows x features) in a batch in shared memory, binary scores are split
 * with the helper thread (below it, handing off costs more than the half it saves: phishing's 30
 * features, 512 rows take 14 µs alone and 16 split, 1,024 rows 28 and 25, 2,211 rows 63 and 44).
 */
export const PARALLEL_MIN_VALUES = 1 << 14;
/** Rows sampled to find a column's candidate common value. */
const SAMPLE_ROWS = 512;

function buildDesign(X: Matrix): Design {
  const n = X.nRows;
  const p = X.nCols;
  const d = X.data;
  const mode = new Float64Array(p);
  const dense: number[] = [];
  const sparse: number[] = [];
  let nnz = 0;
  // Boyer–Moore majority vote over a strided sample of the rows finds the candidate (a value on at
  // least 75% of the rows is the sample's majority unless the sample is freakishly unlike the column;
  // then the column stays dense, which changes speed, never results' correctness); one branch-free
  // pass counts the rows off it. Deterministic: the sample rows depend on n only.
  const stride = Math.max(1, Math.floor(n / SAMPLE_ROWS));
  for (let c = 0; c < p; c++) {
    const o = c * n;
    let cand = d[o]!;
    let votes = 0;
    for (let r = 0; r < n; r += stride) {
      const v = d[o + r]!;
      if (votes === 0) {
        cand = v;
        votes = 1;
      } else if (v === cand) votes++;
      else votes--;
    }
    let on = 0;
    for (let r = 0; r < n; r++) on += +(d[o + r] === cand);
    const off = n - on;
    if (off <= SPARSE_SHARE * n) {
      mode[c] = cand;
      sparse.push(c);
      nnz += off;
    } else dense.push(c);
  }
  const start = new Int32Array(sparse.length + 1);
  // one slot more: every row is written at k, which moves on only past rows off the mode (no branch)
  const idx = new Int32Array(nnz + 1);
  const val = new Float64Array(nnz + 1);
  let k = 0;
  for (let j = 0; j < sparse.length; j++) {
    const c = sparse[j]!;
    const o = c * n;
    const m = mode[c]!;
    start[j] = k;
    for (let r = 0; r < n; r++) {
      const v = d[o + r]!;
      idx[k] = r;
      val[k] = v - m;
      k += +(v !== m);
    }
  }
  start[sparse.length] = k;
  return {
    n,
    d,
    dense: Int32Array.from(dense),
    sparse: Int32Array.from(sparse),
    mode,
    start,
    idx: idx.subarray(0, nnz),
    val: val.subarray(0, nnz),
  };
}

/** z[zo + r] = b + Σ_c w[wo + c] · x_rc for every row r. */
function linear(ds: Design, w: Float64Array, wo: number, b: number, z: Float64Array, zo: number): void {
  const { n, d, dense, sparse, mode, start, idx, val } = ds;
  let base = b;
  for (let j = 0; j < sparse.length; j++) base += w[wo + sparse[j]!]! * mode[sparse[j]!]!;
  z.fill(base, zo, zo + n);
  const nd = dense.length;
  let j = 0;
  for (; j + 4 <= nd; j += 4) {
    const c0 = dense[j]!;
    const c1 = dense[j + 1]!;
    const c2 = dense[j + 2]!;
    const c3 = dense[j + 3]!;
    const w0 = w[wo + c0]!;
    const w1 = w[wo + c1]!;
    const w2 = w[wo + c2]!;
    const w3 = w[wo + c3]!;
    const o0 = c0 * n;
    const o1 = c1 * n;
    const o2 = c2 * n;
    const o3 = c3 * n;
    for (let r = 0; r < n; r++)
      z[zo + r]! += w0 * d[o0 + r]! + w1 * d[o1 + r]! + w2 * d[o2 + r]! + w3 * d[o3 + r]!;
  }
  for (; j < nd; j++) {
    const c = dense[j]!;
    const wc = w[wo + c]!;
    if (wc === 0) continue;
    const o = c * n;
    for (let r = 0; r < n; r++) z[zo + r]! += wc * d[o + r]!;
  }
  for (let q = 0; q < sparse.length; q++) {
    const wc = w[wo + sparse[q]!]!;
    if (wc === 0) continue;
    const e = start[q + 1]!;
    for (let t = start[q]!; t < e; t++) z[zo + idx[t]!]! += wc * val[t]!;
  }
}

/** g[go + c] = Σ_r res[ro + r] · x_rc for every column c; returns Σ_r res[ro + r]. */
function transposed(ds: Design, res: Float64Array, ro: number, g: Float64Array, go: number): number {
  const { n, d, dense, sparse, mode, start, idx, val } = ds;
  let total = 0;
  for (let r = 0; r < n; r++) total += res[ro + r]!;
  const nd = dense.length;
  let j = 0;
  for (; j + 4 <= nd; j += 4) {
    const c0 = dense[j]!;
    const c1 = dense[j + 1]!;
    const c2 = dense[j + 2]!;
    const c3 = dense[j + 3]!;
    const o0 = c0 * n;
    const o1 = c1 * n;
    const o2 = c2 * n;
    const o3 = c3 * n;
    let g0 = 0;
    let g1 = 0;
    let g2 = 0;
    let g3 = 0;
    for (let r = 0; r < n; r++) {
      const v = res[ro + r]!;
      g0 += v * d[o0 + r]!;
      g1 += v * d[o1 + r]!;
      g2 += v * d[o2 + r]!;
      g3 += v * d[o3 + r]!;
    }
    g[go + c0] = g0;
    g[go + c1] = g1;
    g[go + c2] = g2;
    g[go + c3] = g3;
  }
  for (; j < nd; j++) {
    const c = dense[j]!;
    const o = c * n;
    let gc = 0;
    for (let r = 0; r < n; r++) gc += res[ro + r]! * d[o + r]!;
    g[go + c] = gc;
  }
  for (let q = 0; q < sparse.length; q++) {
    const c = sparse[q]!;
    const e = start[q + 1]!;
    let gc = 0;
    for (let t = start[q]!; t < e; t++) gc += res[ro + idx[t]!]! * val[t]!;
    g[go + c] = gc + mode[c]! * total;
  }
  return total;
}

interface Problem {
  X: Matrix;
  ds: Design;
  y: Int32Array;
  /** Sample weights divided by their sum. */
  s: Float64Array;
  /** The common weight when every row has the same (1/n without weights), else 0. */
  uniform: number;
  /** Coefficient rows: 1 (binary) or K. */
  R: number;
  K: number;
  p: number;
  /** ½·l2·||W||² penalty (l2 = 1 / (C · Σs)). */
  l2: number;
  fitIntercept: boolean;
}

/** Objective and gradient at theta = [W (R x p) row-major, b (R)]. */
function lossGrad(pr: Problem, theta: Float64Array, grad: Float64Array, zbuf: Float64Array): number {
  const { X, y, s, R, p, l2, ds } = pr;
  const n = X.nRows;
  for (let k = 0; k < R; k++) linear(ds, theta, k * p, pr.fitIntercept ? theta[R * p + k]! : 0, zbuf, k * n);
  let loss = 0;
  // zbuf becomes the residual (prob − onehot) · s
  if (R === 1 && pr.uniform > 0) {
    // equal weights: Σ log1p(e_r) taken as log Π (1 + e_r) over blocks of eight rows (each factor is
    // in (1, 2], so a block's product is at most 256): one log per eight rows instead of eight
    const w = pr.uniform;
    let lin = 0;
    let logs = 0;
    let r = 0;
    for (; r < n; ) {
      const e8 = Math.min(n, r + 8);
      let prod = 1;
      for (; r < e8; r++) {
        const zz = zbuf[r]!;
        const yy = y[r] === 1 ? 1 : 0;
        const e = Math.exp(-Math.abs(zz));
        const q = 1 + e;
        prod *= q;
        lin += Math.max(zz, 0) - yy * zz;
        zbuf[r] = w * ((zz >= 0 ? 1 : e) / q - yy);
      }
      logs += Math.log(prod);
    }
    loss = w * (lin + logs);
  } else if (R === 1) {
    for (let r = 0; r < n; r++) {
      const zz = zbuf[r]!;
      const yy = y[r] === 1 ? 1 : 0;
      // log(1 + e^z) − y z and σ(z), stably, from one exp
      const e = Math.exp(-Math.abs(zz));
      const lse = Math.max(zz, 0) + Math.log1p(e);
      const sr = s[r]!;
      loss += sr * (lse - yy * zz);
      const pr1 = zz >= 0 ? 1 / (1 + e) : e / (1 + e);
      zbuf[r] = sr * (pr1 - yy);
    }
  } else {
    for (let r = 0; r < n; r++) {
      let mx = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < R; k++) mx = Math.max(mx, zbuf[k * n + r]!);
      let se = 0;
      for (let k = 0; k < R; k++) se += Math.exp(zbuf[k * n + r]! - mx);
      const lse = mx + Math.log(se);
      const yy = y[r]!;
      loss += s[r]! * (lse - zbuf[yy * n + r]!);
      for (let k = 0; k < R; k++) {
        const pk = Math.exp(zbuf[k * n + r]! - lse);
        zbuf[k * n + r] = s[r]! * (pk - (k === yy ? 1 : 0));
      }
    }
  }
  let pen = 0;
  for (let k = 0; k < R; k++) {
    const gi = transposed(ds, zbuf, k * n, grad, k * p);
    for (let c = 0; c < p; c++) {
      const w = theta[k * p + c]!;
      grad[k * p + c]! += l2 * w;
      pen += w * w;
    }
    grad[R * p + k] = pr.fitIntercept ? gi : 0;
  }
  return loss + 0.5 * l2 * pen;
}

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (const x of v) m = Math.max(m, Math.abs(x));
  return m;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function lbfgs(
  pr: Problem,
  theta: Float64Array,
  maxIter: number,
  tol: number,
  signal?: AbortSignal,
): { iterations: number; converged: boolean; evaluations: number } {
  const dim = theta.length;
  const m = 10;
  let evaluations = 1;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const zbuf = new Float64Array(pr.R * pr.X.nRows);
  const g = new Float64Array(dim);
  let f = lossGrad(pr, theta, g, zbuf);
  const dir = new Float64Array(dim);
  const tNew = new Float64Array(dim);
  const gNew = new Float64Array(dim);
  const alpha = new Float64Array(m);
  for (let it = 0; it < maxIter; it++) {
    signal?.throwIfAborted();
    if (maxAbs(g) <= tol) return { iterations: it, converged: true, evaluations };
    // two-loop recursion: dir = −H·g
    for (let i = 0; i < dim; i++) dir[i] = -g[i]!;
    for (let j = S.length - 1; j >= 0; j--) {
      alpha[j] = rho[j]! * dot(S[j]!, dir);
      const yj = Y[j]!;
      const a = alpha[j]!;
      for (let i = 0; i < dim; i++) dir[i]! -= a * yj[i]!;
    }
    if (S.length) {
      const last = S.length - 1;
      const gamma = dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!);
      for (let i = 0; i < dim; i++) dir[i]! *= gamma;
    } else {
      const gn = Math.sqrt(dot(g, g));
      for (let i = 0; i < dim; i++) dir[i]! /= Math.max(1, gn);
    }
    for (let j = 0; j < S.length; j++) {
      const b = rho[j]! * dot(Y[j]!, dir);
      const sj = S[j]!;
      const a = alpha[j]! - b;
      for (let i = 0; i < dim; i++) dir[i]! += a * sj[i]!;
    }
    let gd = dot(g, dir);
    if (gd >= 0) {
      // not a descent direction: reset memory, use steepest descent
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let i = 0; i < dim; i++) dir[i] = -g[i]!;
      gd = -dot(g, g);
    }
    let step = 1;
    let fNew = 0;
    for (let ls = 0; ls < 60; ls++) {
      for (let i = 0; i < dim; i++) tNew[i] = theta[i]! + step * dir[i]!;
      fNew = lossGrad(pr, tNew, gNew, zbuf);
      evaluations++;
      if (fNew <= f + 1e-4 * step * gd) break;
      step *= 0.5;
    }
    const sv = new Float64Array(dim);
    const yv = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      sv[i] = tNew[i]! - theta[i]!;
      yv[i] = gNew[i]! - g[i]!;
    }
    const sy = dot(sv, yv);
    theta.set(tNew);
    g.set(gNew);
    const fPrev = f;
    f = fNew;
    if (sy > 1e-12 * Math.sqrt(dot(sv, sv) * dot(yv, yv))) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(sv);
      Y.push(yv);
      rho.push(1 / sy);
    }
    // scipy's factr-style stop on negligible relative decrease
    if (
      Math.abs(fPrev - f) <= 2.220446049250313e-16 * 1e7 * Math.max(Math.abs(f), Math.abs(fPrev), 1) &&
      maxAbs(g) <= 10 * tol
    ) {
      return { iterations: it + 1, converged: true, evaluations };
    }
  }
  return { iterations: maxIter, converged: maxAbs(g) <= tol, evaluations };
}

/** Newton's method for the binary case: H = Xᵀ diag(s·p(1−p)) X + l2·I (intercept unpenalised). */
function newton(
  pr: Problem,
  theta: Float64Array,
  maxIter: number,
  tol: number,
): { iterations: number; converged: boolean } {
  const { X, s, p, l2 } = pr;
  const n = X.nRows;
  const d = X.data;
  const dim = theta.length;
  const zbuf = new Float64Array(n);
  const g = new Float64Array(dim);
  const H = new Float64Array(dim * dim);
  const wv = new Float64Array(n);
  let f = lossGrad(pr, theta, g, zbuf);
  for (let it = 0; it < maxIter; it++) {
    if (maxAbs(g) <= tol) return { iterations: it, converged: true };
    // hessian weights
    for (let r = 0; r < n; r++) {
      let zz = pr.fitIntercept ? theta[p]! : 0;
      for (let c = 0; c < p; c++) zz += theta[c]! * d[c * n + r]!;
      const q = 1 / (1 + Math.exp(-zz));
      wv[r] = s[r]! * q * (1 - q);
    }
    H.fill(0);
    const col = (c: number, r: number): number => (c < p ? d[c * n + r]! : 1);
    for (let a = 0; a < dim; a++) {
      for (let b = a; b < dim; b++) {
        let h = 0;
        for (let r = 0; r < n; r++) h += wv[r]! * col(a, r) * col(b, r);
        H[a * dim + b] = h;
        H[b * dim + a] = h;
      }
      if (a < p) H[a * dim + a]! += l2;
    }
    const step = choleskySolve(H, g, dim);
    let t = 1;
    const tNew = new Float64Array(dim);
    const gNew = new Float64Array(dim);
    let fNew = 0;
    const gd = -dot(g, step);
    for (let ls = 0; ls < 50; ls++) {
      for (let i = 0; i < dim; i++) tNew[i] = theta[i]! - t * step[i]!;
      fNew = lossGrad(pr, tNew, gNew, zbuf);
      if (fNew <= f + 1e-4 * t * gd) break;
      t *= 0.5;
    }
    theta.set(tNew);
    g.set(gNew);
    f = fNew;
  }
  return { iterations: maxIter, converged: maxAbs(g) <= tol };
}

function choleskySolve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = A[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) L[i * n + i] = Math.sqrt(Math.max(sum, 1e-300));
      else L[i * n + j] = sum / L[j * n + j]!;
    }
  }
  const yv = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= L[i * n + k]! * yv[k]!;
    yv[i] = sum / L[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = yv[i]!;
    for (let k = i + 1; k < n; k++) sum -= L[k * n + i]! * x[k]!;
    x[i] = sum / L[i * n + i]!;
  }
  return x;
}

/**
 * z += X[:, c..c+8) · w[c..c+8) on rows [from, to) of column-major X with n rows. A small function of its own, so V8
 * optimises it within the first batch (a loop inside a method called once per batch would wait).
 */
function addColumns8(
  z: Float64Array,
  d: Float64Array,
  n: number,
  w: Float64Array,
  c: number,
  from: number,
  to: number,
): void {
  const w0 = w[c]!;
  const w1 = w[c + 1]!;
  const w2 = w[c + 2]!;
  const w3 = w[c + 3]!;
  const w4 = w[c + 4]!;
  const w5 = w[c + 5]!;
  const w6 = w[c + 6]!;
  const w7 = w[c + 7]!;
  const o0 = c * n;
  const o1 = o0 + n;
  const o2 = o1 + n;
  const o3 = o2 + n;
  const o4 = o3 + n;
  const o5 = o4 + n;
  const o6 = o5 + n;
  const o7 = o6 + n;
  for (let r = from; r < to; r++)
    z[r]! +=
      w0 * d[o0 + r]! +
      w1 * d[o1 + r]! +
      w2 * d[o2 + r]! +
      w3 * d[o3 + r]! +
      (w4 * d[o4 + r]! + w5 * d[o5 + r]! + w6 * d[o6 + r]! + w7 * d[o7 + r]!);
}

/** z += X[:, c..c+4) · w[c..c+4). */
function addColumns4(
  z: Float64Array,
  d: Float64Array,
  n: number,
  w: Float64Array,
  c: number,
  from: number,
  to: number,
): void {
  const w0 = w[c]!;
  const w1 = w[c + 1]!;
  const w2 = w[c + 2]!;
  const w3 = w[c + 3]!;
  const o0 = c * n;
  const o1 = o0 + n;
  const o2 = o1 + n;
  const o3 = o2 + n;
  for (let r = from; r < to; r++)
    z[r]! += w0 * d[o0 + r]! + w1 * d[o1 + r]! + (w2 * d[o2 + r]! + w3 * d[o3 + r]!);
}

/** z += X[:, c..c+2) · w[c..c+2). */
function addColumns2(
  z: Float64Array,
  d: Float64Array,
  n: number,
  w: Float64Array,
  c: number,
  from: number,
  to: number,
): void {
  const w0 = w[c]!;
  const w1 = w[c + 1]!;
  const o0 = c * n;
  const o1 = o0 + n;
  for (let r = from; r < to; r++) z[r]! += w0 * d[o0 + r]! + w1 * d[o1 + r]!;
}

/** z += wc · X[:, c]. */
function addColumn(
  z: Float64Array,
  d: Float64Array,
  n: number,
  wc: number,
  c: number,
  from: number,
  to: number,
): void {
  const o = c * n;
  for (let r = from; r < to; r++) z[r]! += wc * d[o + r]!;
}

/** z[r] = b + X[r, :] · w on rows [from, to) of column-major X (n x p): eight columns per pass. */
function binaryScores(
  d: Float64Array,
  n: number,
  p: number,
  w: Float64Array,
  b: number,
  z: Float64Array,
  from: number,
  to: number,
  proba: Float64Array | null = null,
): void {
  z.fill(b, from, to);
  let c = 0;
  for (; c + 8 <= p; c += 8) addColumns8(z, d, n, w, c, from, to);
  // the rest four and two at a time: each pass reads and writes z once
  if (c + 4 <= p) {
    addColumns4(z, d, n, w, c, from, to);
    c += 4;
  }
  if (c + 2 <= p) {
    addColumns2(z, d, n, w, c, from, to);
    c += 2;
  }
  for (; c < p; c++) addColumn(z, d, n, w[c]!, c, from, to);
  if (proba) sigmoidRange(z, proba, from, to);
}

interface ScoreArgs {
  d: Float64Array;
  n: number;
  p: number;
  w: Float64Array;
  b: number;
  z: Float64Array;
  /** The probabilities (n x 2) too, when given. */
  proba: Float64Array | null;
  from: number;
  to: number;
}

/** binaryScores on the helper thread (d, z and proba in shared memory). */
export function binaryScoresTask(a: ScoreArgs): null {
  binaryScores(a.d, a.n, a.p, a.w, a.b, a.z, a.from, a.to, a.proba);
  return null;
}

export class LogisticRegression implements Classifier {
  readonly name = "logistic_regression" as const;
  readonly params: LogisticRegressionParams;
  nClasses = 0;
  nFeatures = 0;
  /** R x p, row-major (R = 1 for binary). */
  coef = new Float64Array(0);
  intercept = new Float64Array(0);
  converged = false;

  constructor(params: Partial<LogisticRegressionParams> = {}) {
    this.params = LogisticRegressionParamsSchema.parse(params);
  }

  async fit(X: Matrix, y: Int32Array, nClasses: number, opts: FitOptions = {}): Promise<FitReport> {
    const t0 = performance.now();
    checkFitData(X, y, nClasses, this.name, false);
    const P = this.params;
    if (P.solver === "newton" && nClasses > 2) {
      throw new NetsecError(
        "PARAM_INVALID",
        `logistic_regression: solver "newton" supports binary targets only (got ${nClasses} classes); use "lbfgs"`,
        {
          parameter: "solver",
          value: P.solver,
        },
      );
    }
    const n = X.nRows;
    const p = X.nCols;
    const R = nClasses === 2 ? 1 : nClasses;
    const cw = classWeights(y, nClasses, P.classWeight);
    const s = new Float64Array(n);
    let ssum = 0;
    for (let i = 0; i < n; i++)
      ssum += s[i] = (opts.sampleWeight ? opts.sampleWeight[i]! : 1) * (cw ? cw[y[i]!]! : 1);
    for (let i = 0; i < n; i++) s[i]! /= ssum;
    let uniform = n > 0 ? s[0]! : 0;
    for (let i = 1; i < n && uniform > 0; i++) if (s[i] !== uniform) uniform = 0;
    const pr: Problem = {
      X,
      ds: buildDesign(X),
      y,
      s,
      uniform,
      R,
      K: nClasses,
      p,
      l2: 1 / (P.C * ssum),
      fitIntercept: P.fitIntercept,
    };
    const theta = new Float64Array(R * p + R);
    const res: { iterations: number; converged: boolean; evaluations?: number } =
      P.solver === "newton"
        ? newton(pr, theta, P.maxIter, P.tol)
        : lbfgs(pr, theta, P.maxIter, P.tol, opts.signal);
    this.coef = theta.slice(0, R * p);
    this.intercept = P.fitIntercept ? theta.slice(R * p) : new Float64Array(R);
    this.nClasses = nClasses;
    this.nFeatures = p;
    this.converged = res.converged;
    return {
      fitSeconds: (performance.now() - t0) / 1000,
      counters: {
        iterations: res.iterations,
        converged: res.converged,
        ...(res.evaluations === undefined ? {} : { evaluations: res.evaluations }),
      },
    };
  }

  /** Raw scores z (row-major n x R). */
  decision(X: Matrix): Float64Array {
    return this.checkedScores(X, false).z;
  }

  /** decision(X), and for a binary model when `proba`, the probabilities (n x 2) too. */
  private checkedScores(X: Matrix, proba: boolean): { z: Float64Array; proba: Float64Array | null } {
    checkPredictData(X, this.nFeatures, this.name);
    const scores = this.rawScores(X, proba);
    const z = scores.z;
    // NaN or ±Infinity would come out as a NaN probability (or a certain one from a value no scaler
    // produced): refused as at fit, naming row and column. A non-finite input makes its row's score
    // non-finite (0 · ∞ is NaN too), so one pass over the scores finds the rows to look at; a row whose
    // values are all finite (an overflow) is left as it is. Columns the multiclass sums skipped (every
    // weight 0) are read separately.
    const R = this.nClasses === 2 ? 1 : this.nClasses;
    for (let i = 0; i < z.length; i++) {
      if (Number.isFinite(z[i]!)) continue;
      const r = Math.floor(i / R);
      checkValues(X, this.name, false, r, r + 1);
    }
    if (R > 1) {
      const p = this.nFeatures;
      for (let c = 0; c < p; c++) {
        let any = false;
        for (let k = 0; k < R && !any; k++) any = this.coef[k * p + c] !== 0;
        if (!any)
          checkValues(
            {
              ...X,
              nCols: 1,
              data: X.data.subarray(c * X.nRows, (c + 1) * X.nRows),
              names: [featureName(X, c)],
            },
            this.name,
            false,
          );
      }
    }
    return scores;
  }

  /** Raw scores z (row-major n x R), unchecked; a binary model's probabilities too when `proba`. */
  private rawScores(X: Matrix, proba = false): { z: Float64Array; proba: Float64Array | null } {
    const n = X.nRows;
    const p = this.nFeatures;
    const R = this.nClasses === 2 ? 1 : this.nClasses;
    const d = X.data;
    const w = this.coef;
    if (R === 1) {
      const b = this.intercept[0]!;
      // a large batch already in shared memory (bundles build theirs there): the helper thread scores
      // the second half of the rows while this one scores the first (the same sums, row by row)
      if (d.buffer instanceof SharedArrayBuffer && n >= 64 && n * p >= PARALLEL_MIN_VALUES && helperReady()) {
        const z = new Float64Array(n);
        const pr = proba ? new Float64Array(2 * n) : null;
        // the helper writes its rows' scores at the same places of shared scratch, copied out after
        const zs = helperScratch(n);
        const ps = proba ? helperScratch(2 * n, n) : null;
        const half = n >> 1;
        const args: ScoreArgs = { d, n, p, w, b, z: zs, proba: ps, from: half, to: n };
        const ok = runWithHelper(task("logistic.binaryScores", args), () =>
          binaryScores(d, n, p, w, b, z, 0, half, pr),
        );
        if (!ok) binaryScores(d, n, p, w, b, z, half, n, pr);
        else {
          z.set(zs.subarray(half, n), half);
          if (pr) pr.set(ps!.subarray(2 * half, 2 * n), 2 * half);
        }
        return { z, proba: pr };
      }
      const z = new Float64Array(n);
      const pr = proba ? new Float64Array(2 * n) : null;
      binaryScores(d, n, p, w, b, z, 0, n, pr);
      return { z, proba: pr };
    }
    const z = new Float64Array(n * R);
    for (let k = 0; k < R; k++) {
      const b = this.intercept[k]!;
      for (let r = 0; r < n; r++) z[r * R + k] = b;
    }
    for (let c = 0; c < p; c++) {
      const xo = c * n;
      for (let k = 0; k < R; k++) {
        const wk = w[k * p + c]!;
        if (wk === 0) continue;
        for (let r = 0; r < n; r++) z[r * R + k]! += wk * d[xo + r]!;
      }
    }
    return { z, proba: null };
  }

  predictProba(X: Matrix): Float64Array {
    if (this.nClasses === 2) return this.checkedScores(X, true).proba!;
    return softmaxRows(this.decision(X), X.nRows, this.nClasses);
  }

  predict(X: Matrix): Int32Array {
    return argmaxRows(this.predictProba(X), X.nRows, this.nClasses);
  }

  /** coefficient × value for class `cls` (binary: the single row, signed toward class 1). */
  contributions(X: Matrix, row: number, cls: number): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    checkValues(X, this.name, false, row, row + 1);
    const p = this.nFeatures;
    const out = new Float64Array(p);
    const k = this.nClasses === 2 ? 0 : cls;
    const sign = this.nClasses === 2 && cls === 0 ? -1 : 1;
    for (let c = 0; c < p; c++) out[c] = sign * this.coef[k * p + c]! * X.data[c * X.nRows + row]!;
    return out;
  }

  toJSON(): SerializedModel {
    return serialized(this, {
      coef: Array.from(this.coef),
      intercept: Array.from(this.intercept),
      converged: this.converged,
    });
  }

  static fromJSON(s: SerializedModel): LogisticRegression {
    const m = new LogisticRegression(LogisticRegressionParamsSchema.parse(s.params));
    const st = s.state as { coef: number[]; intercept: number[]; converged: boolean };
    m.coef = Float64Array.from(st.coef);
    m.intercept = Float64Array.from(st.intercept);
    m.converged = st.converged;
    m.nClasses = s.nClasses;
    m.nFeatures = s.nFeatures;
    return m;
  }
}

export const logisticRegressionSpec: ModelSpec<LogisticRegressionParams> = {
  name: "logistic_regression",
  title: "Logistic regression",
  paramSchema: LogisticRegressionParamsSchema,
  defaultGrid: {},
  capabilities: { multiclass: true, sampleWeight: true, needsScaling: true, parallelFit: false },
  create: (params) => new LogisticRegression(params),
  fromJSON: (s) => LogisticRegression.fromJSON(s),
};

declare module "../core/tasks.ts" {
  interface TaskFns {
    "logistic.binaryScores": typeof binaryScoresTask;
  }
}
