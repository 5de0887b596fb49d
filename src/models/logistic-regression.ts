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
import {
  argmaxRows,
  checkFitData,
  checkPredictData,
  classWeights,
  serialized,
  sigmoidRows,
  softmaxRows,
} from "./checks.ts";
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
    randomState: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(0),
  })
  .strict();

export type LogisticRegressionParams = z.infer<typeof LogisticRegressionParamsSchema>;

interface Problem {
  X: Matrix;
  y: Int32Array;
  /** Sample weights divided by their sum. */
  s: Float64Array;
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
  const { X, y, s, R, p, l2 } = pr;
  const n = X.nRows;
  const d = X.data;
  zbuf.fill(0);
  for (let k = 0; k < R; k++) {
    const zo = k * n;
    const b = pr.fitIntercept ? theta[R * p + k]! : 0;
    for (let r = 0; r < n; r++) zbuf[zo + r] = b;
    for (let c = 0; c < p; c++) {
      const w = theta[k * p + c]!;
      if (w === 0) continue;
      const xo = c * n;
      for (let r = 0; r < n; r++) zbuf[zo + r]! += w * d[xo + r]!;
    }
  }
  let loss = 0;
  // zbuf becomes the residual (prob − onehot) · s
  if (R === 1) {
    for (let r = 0; r < n; r++) {
      const zz = zbuf[r]!;
      const yy = y[r] === 1 ? 1 : 0;
      // log(1 + e^z) − y z, stably
      const lse = zz > 0 ? zz + Math.log1p(Math.exp(-zz)) : Math.log1p(Math.exp(zz));
      loss += s[r]! * (lse - yy * zz);
      const pr1 = zz >= 0 ? 1 / (1 + Math.exp(-zz)) : Math.exp(zz) / (1 + Math.exp(zz));
      zbuf[r] = s[r]! * (pr1 - yy);
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
  grad.fill(0);
  for (let k = 0; k < R; k++) {
    const zo = k * n;
    for (let c = 0; c < p; c++) {
      const xo = c * n;
      let g = 0;
      for (let r = 0; r < n; r++) g += zbuf[zo + r]! * d[xo + r]!;
      grad[k * p + c] = g + l2 * theta[k * p + c]!;
    }
    if (pr.fitIntercept) {
      let g = 0;
      for (let r = 0; r < n; r++) g += zbuf[zo + r]!;
      grad[R * p + k] = g;
    }
  }
  let pen = 0;
  for (let i = 0; i < R * p; i++) pen += theta[i]! * theta[i]!;
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
): { iterations: number; converged: boolean } {
  const dim = theta.length;
  const m = 10;
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
    if (maxAbs(g) <= tol) return { iterations: it, converged: true };
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
      return { iterations: it + 1, converged: true };
    }
  }
  return { iterations: maxIter, converged: maxAbs(g) <= tol };
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
    const pr: Problem = { X, y, s, R, K: nClasses, p, l2: 1 / (P.C * ssum), fitIntercept: P.fitIntercept };
    const theta = new Float64Array(R * p + R);
    const res =
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
      counters: { iterations: res.iterations, converged: res.converged },
    };
  }

  /** Raw scores z (row-major n x R). */
  decision(X: Matrix): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    const n = X.nRows;
    const p = this.nFeatures;
    const R = this.nClasses === 2 ? 1 : this.nClasses;
    const z = new Float64Array(n * R);
    for (let k = 0; k < R; k++) {
      const b = this.intercept[k]!;
      for (let r = 0; r < n; r++) z[r * R + k] = b;
    }
    for (let c = 0; c < p; c++) {
      const xo = c * n;
      for (let k = 0; k < R; k++) {
        const w = this.coef[k * p + c]!;
        if (w === 0) continue;
        for (let r = 0; r < n; r++) z[r * R + k]! += w * X.data[xo + r]!;
      }
    }
    return z;
  }

  predictProba(X: Matrix): Float64Array {
    const z = this.decision(X);
    return this.nClasses === 2 ? sigmoidRows(z, X.nRows) : softmaxRows(z, X.nRows, this.nClasses);
  }

  predict(X: Matrix): Int32Array {
    return argmaxRows(this.predictProba(X), X.nRows, this.nClasses);
  }

  /** coefficient × value for class `cls` (binary: the single row, signed toward class 1). */
  contributions(X: Matrix, row: number, cls: number): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
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
