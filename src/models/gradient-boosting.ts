/**
 * Gradient boosting classifier, histogram-based (the algorithm of scikit-learn's
 * HistGradientBoostingClassifier and LightGBM) with the parameter names and defaults of scikit-learn's
 * GradientBoostingClassifier, whose grid the original project searches (learning_rate, subsample,
 * n_estimators, max_depth 3).
 *
 * Log-loss: binary (one tree per iteration on the logit, initialised at the log-odds prior) or
 * multinomial (K trees per iteration, softmax). Each tree is fitted to gradients/hessians with Newton
 * leaves −G/(H + λ), shrunk by the learning rate (and, for K > 2 classes with friedman_mse, by
 * (K − 1)/K, GradientBoostingClassifier's multinomial step; "newton" leaves are HistGradientBoosting's,
 * without it). Per node and feature, a histogram of (G, S, count) over the feature's bins
 * (at most 255, and one for missing values); the larger child's histogram is the parent's minus the smaller child's (histogram
 * subtraction). Missing values (bin 255) go to the side that gains more. Row subsampling (stochastic
 * gradient boosting) draws `subsample · n` rows without replacement per iteration, seeded.
 *
 * Split criterion (`criterion`): "friedman_mse" (default, as GradientBoostingClassifier) fits each tree
 * to the residuals by least squares, S = sample weight, gain (w_R·G_L − w_L·G_R)² / (w_L·w_R·w)
 * ("squared_error" ranks splits identically: the same criterion here);
 * "newton" (HistGradientBoosting, XGBoost, LightGBM) uses the second-order gain G_L²/(H_L + λ) +
 * G_R²/(H_R + λ) − G²/(H + λ), S = hessian. On NSL-KDD the first-order criterion is what brings test F1
 * to GradientBoostingClassifier's (0.80 vs 0.78 with "newton", which matches HistGradientBoosting's);
 * state saved before the parameter existed was fitted with "newton" and loads as such.
 */
import { z } from "zod";
import type { Matrix } from "../core/frame.ts";
import { Rng } from "../core/rng.ts";
import {
  argmaxRows,
  checkFitData,
  checkPredictData,
  serialized,
  sigmoidRows,
  softmaxRows,
} from "./checks.ts";
import { randomStateSchema } from "./params.ts";
import {
  binMatrix,
  fitBinMapper,
  gapMid,
  MISSING_BIN,
  quantileColumns,
  type RawColumns,
} from "./tree/binning.ts";
import { contributionSteps, packedContributionsAll, pathContributions } from "./tree/contributions.ts";
import { type FlatTree, leafOf } from "./tree/flat-tree.ts";
import { type PackedTrees, packTrees } from "./tree/packed-trees.ts";
import { type FlatTreeJSON, treeFromJSON, treeToJSON } from "./tree/tree-serial.ts";
import { accumulatePacked } from "./tree/walk-dispatch.ts";
import type { Classifier, FitOptions, FitReport, ModelSpec, SerializedModel } from "./types.ts";

export const GradientBoostingParamsSchema = z
  .object({
    criterion: z.enum(["friedman_mse", "squared_error", "newton"]).default("friedman_mse"),
    learningRate: z.number().gt(0).max(10).default(0.1),
    nEstimators: z.number().int().min(1).max(100_000).default(100),
    subsample: z.number().gt(0).max(1).default(1.0),
    maxDepth: z.number().int().min(1).max(32).nullable().default(3),
    maxLeafNodes: z.number().int().min(2).nullable().default(null),
    minSamplesLeaf: z.number().int().min(1).default(1),
    l2Regularization: z.number().min(0).default(0),
    randomState: randomStateSchema,
    maxBins: z.number().int().min(2).max(255).default(255),
  })
  .strict();

export type GradientBoostingParams = z.infer<typeof GradientBoostingParamsSchema>;

const MIN_HESSIAN = 1e-3;

interface GrowCtx {
  bins: Uint8Array;
  nRows: number;
  nFeatures: number;
  nBins: Uint16Array;
  /** Per feature: where its histogram slots start (histOffsets). */
  hOff: Int32Array;
  /** The second statistic is 1 for every row (friedman_mse without sample weights): S = count. */
  unitS: boolean;
  /** buildHist's scratch: a node's gradients and second statistics in row order, 4 sub-histograms. */
  hist: { gv: Float64Array; sv: Float64Array; sub: Float64Array };
  /** Per feature: the raw threshold of the split "bins <= b left" (BinMapper.cuts). */
  cuts: readonly Float64Array[];
  /** Raw columns of the quantile-binned features (exact thresholds next to a chosen bin boundary). */
  raw: RawColumns | null;
  /** Scratch for refineSplit (the candidate rows' values, gradients, second statistics and order). */
  scratch: { val: Float64Array; g: Float64Array; s: Float64Array; order: Uint32Array } | null;
  /** Least squares on the residuals ("friedman_mse", "squared_error"), else the "newton" gain. */
  friedman: boolean;
  g: Float64Array;
  /** Per-row hessians (leaf values). */
  h: Float64Array;
  /** Per-row second histogram statistic: the hessian ("newton") or the sample weight ("friedman_mse"). */
  s: Float64Array;
  maxDepth: number;
  maxLeaves: number;
  minLeaf: number;
  l2: number;
  /**
   * Leaf values are lr · scale · (−G / (H + λ)): scale (K − 1)/K for K > 2 classes with
   * friedman_mse / squared_error (GradientBoostingClassifier's multinomial Newton step), else 1.
   */
  lr: number;
  leafScale: number;
}

/**
 * Histogram layout: feature f's slots start at hOff[f], nBins[f] + 1 slots of (G, S, count) — its bins,
 * then the missing values' slot (S: GrowCtx.s). Only the bins a feature has: a binary feature takes 3
 * slots, not 256, so building, subtracting and scanning histograms costs what the data needs.
 */
export function histOffsets(nBins: Uint16Array): Int32Array {
  const off = new Int32Array(nBins.length + 1);
  for (let f = 0; f < nBins.length; f++) off[f + 1] = off[f]! + (nBins[f]! + 1) * 3;
  return off;
}

function buildHist(ctx: GrowCtx, idx: Uint32Array, start: number, end: number, out: Float64Array): void {
  const { bins, nRows, nFeatures, g, s, hOff, nBins, unitS } = ctx;
  const { gv, sv, sub } = ctx.hist;
  const m = end - start;
  // the node's gradients (and second statistics) in row order once, read 30 times below
  for (let i = 0; i < m; i++) gv[i] = g[idx[start + i]!]!;
  if (!unitS) for (let i = 0; i < m; i++) sv[i] = s[idx[start + i]!]!;
  for (let f = 0; f < nFeatures; f++) {
    const fo = f * nRows;
    const ho = hOff[f]!;
    // bins are < nBins[f], MISSING_BIN (255) is >= it: min() puts missing values in the last slot
    const nb = nBins[f]!;
    const slots = nb + 1;
    // four interleaved sub-histograms (row i into copy i mod 4): consecutive rows in one bin do not
    // wait on each other's read-modify-write
    const w = 3 * slots;
    sub.fill(0, 0, 4 * w);
    let i = 0;
    if (unitS) {
      for (; i + 4 <= m; i += 4) {
        const b0 = Math.min(bins[fo + idx[start + i]!]!, nb) * 3;
        const b1 = w + Math.min(bins[fo + idx[start + i + 1]!]!, nb) * 3;
        const b2 = 2 * w + Math.min(bins[fo + idx[start + i + 2]!]!, nb) * 3;
        const b3 = 3 * w + Math.min(bins[fo + idx[start + i + 3]!]!, nb) * 3;
        sub[b0]! += gv[i]!;
        sub[b0 + 2]!++;
        sub[b1]! += gv[i + 1]!;
        sub[b1 + 2]!++;
        sub[b2]! += gv[i + 2]!;
        sub[b2 + 2]!++;
        sub[b3]! += gv[i + 3]!;
        sub[b3 + 2]!++;
      }
      for (; i < m; i++) {
        const b = Math.min(bins[fo + idx[start + i]!]!, nb) * 3;
        sub[b]! += gv[i]!;
        sub[b + 2]!++;
      }
      for (let q = 0; q < w; q += 3) {
        const G = sub[q]! + sub[q + w]! + (sub[q + 2 * w]! + sub[q + 3 * w]!);
        const c = sub[q + 2]! + sub[q + w + 2]! + (sub[q + 2 * w + 2]! + sub[q + 3 * w + 2]!);
        out[ho + q] = G;
        out[ho + q + 1] = c;
        out[ho + q + 2] = c;
      }
    } else {
      for (; i < m; i++) {
        const b = (i & 3) * w + Math.min(bins[fo + idx[start + i]!]!, nb) * 3;
        sub[b]! += gv[i]!;
        sub[b + 1]! += sv[i]!;
        sub[b + 2]!++;
      }
      for (let q = 0; q < w; q++) out[ho + q] = sub[q]! + sub[q + w]! + (sub[q + 2 * w]! + sub[q + 3 * w]!);
    }
  }
}

interface Split {
  gain: number;
  f: number;
  bin: number;
  missLeft: number;
  gl: number;
  /** The left side's sum of the second statistic (GrowCtx.s). */
  sl: number;
  /** Rows in bins bin..binNext go by raw value (refineSplit), not by bin. */
  byRaw?: boolean;
  binNext?: number;
}

/**
 * A split's gain from the left side's sums (gl, sl) of the node's (G, S), or -Infinity when a side is
 * too light: "newton" (S = hessians; parent = G²/(S + λ)) or "friedman_mse" (S = weights).
 */
function splitGain(
  friedman: boolean,
  gl: number,
  sl: number,
  G: number,
  S: number,
  l2: number,
  parent: number,
): number {
  const gr = G - gl;
  const sr = S - sl;
  if (friedman) {
    if (sl <= 1e-9 * S || sr <= 1e-9 * S) return Number.NEGATIVE_INFINITY;
    const d = sr * gl - sl * gr;
    return (d * d) / (sl * sr * S);
  }
  if (sl < MIN_HESSIAN || sr < MIN_HESSIAN) return Number.NEGATIVE_INFINITY;
  return (gl * gl) / (sl + l2) + (gr * gr) / (sr + l2) - parent;
}

function bestSplit(ctx: GrowCtx, hist: Float64Array, G: number, S: number, n: number): Split | null {
  const { nFeatures, nBins, l2, minLeaf, friedman } = ctx;
  const parent = (G * G) / (S + l2);
  let best: Split | null = null;
  for (let f = 0; f < nFeatures; f++) {
    const ho = ctx.hOff[f]!;
    const nb = nBins[f]!;
    const mo = ho + nb * 3;
    const gm = hist[mo]!;
    const sm = hist[mo + 1]!;
    const cm = hist[mo + 2]!;
    for (let ml = 0; ml <= (cm > 0 ? 1 : 0); ml++) {
      let gl = ml ? gm : 0;
      let sl = ml ? sm : 0;
      let cl = ml ? cm : 0;
      for (let b = 0; b < nb - (ml ? 1 : cm > 0 ? 0 : 1); b++) {
        const o = ho + b * 3;
        const c = hist[o + 2]!;
        if (c === 0 && b < nb - 1) continue;
        gl += hist[o]!;
        sl += hist[o + 1]!;
        cl += c;
        const cr = n - cl;
        if (cr < minLeaf) break;
        if (cl < minLeaf) continue;
        const gain = splitGain(friedman, gl, sl, G, S, l2, parent);
        if (gain > (best ? best.gain + 1e-12 : Number.NEGATIVE_INFINITY))
          best = { gain, f, bin: b, missLeft: ml, gl, sl };
      }
    }
  }
  return best && best.gain > 1e-12 ? best : null;
}

/**
 * Exact threshold next to the chosen boundary "bins <= s.bin left" of a quantile-binned feature (as
 * the exact GradientBoostingClassifier places it): the node's rows in that bin and in the next
 * non-empty one are ordered by raw value and every boundary between two of their distinct values is
 * scored with the rest of the node fixed. The bin boundary is one of the candidates, so the gain is at
 * least the bin split's. A bin holding a single training value moves as one block (its histogram
 * sums), unsorted; between two such bins the boundary is the only candidate and no row is read.
 * Returns the threshold (midpoint of the node's two values around it) or NaN when there is nothing to
 * refine; `s.byRaw` (rows go by raw value) and s.gl / s.sl are updated when the rows split otherwise
 * than by the bin boundary.
 */
function refineSplit(
  ctx: GrowCtx,
  hist: Float64Array,
  idx: Uint32Array,
  start: number,
  end: number,
  s: Split,
  G: number,
  S: number,
): number {
  const slot = ctx.raw ? ctx.raw.index[s.f]! : -1;
  const nb = ctx.nBins[s.f]!;
  if (slot < 0 || s.bin >= nb - 1) return Number.NaN;
  const ho = ctx.hOff[s.f]!;
  const bL = s.bin;
  let bR = bL + 1;
  while (bR < nb && hist[ho + bR * 3 + 2]! === 0) bR++;
  if (bR >= nb) return Number.NaN;
  const single = ctx.raw!.single;
  const vL = single[slot * 256 + bL]!;
  const vR = single[slot * 256 + bR]!;
  const sL = !Number.isNaN(vL);
  const sR = !Number.isNaN(vR);
  if (sL && sR) return gapMid(vL, vR);
  const { bins, nRows, g, l2, minLeaf, friedman } = ctx;
  const st = ctx.s;
  const { val, g: cg, s: cs, order } = ctx.scratch!;
  const col = ctx.raw!.data;
  const co = slot * nRows;
  const fo = s.f * nRows;
  let gB = 0;
  let sB = 0;
  let nBase = 0;
  for (let b = 0; b < bL; b++) {
    gB += hist[ho + b * 3]!;
    sB += hist[ho + b * 3 + 1]!;
    nBase += hist[ho + b * 3 + 2]!;
  }
  if (s.missLeft) {
    const mo = ho + nb * 3;
    gB += hist[mo]!;
    sB += hist[mo + 1]!;
    nBase += hist[mo + 2]!;
  }
  // the multi-valued bin(s)' rows
  let m = 0;
  for (let i = start; i < end; i++) {
    const r = idx[i]!;
    const b = bins[fo + r]!;
    if ((b === bL && !sL) || (b === bR && !sR)) {
      val[m] = col[co + r]!;
      cg[m] = g[r]!;
      cs[m] = st[r]!;
      order[m] = m;
      m++;
    }
  }
  const ord = order.subarray(0, m).sort((a, b) => val[a]! - val[b]!);
  const n = end - start;
  const parent = (G * G) / (S + l2);
  let gl = gB;
  let sl = sB;
  let nl = nBase;
  let best = Number.NEGATIVE_INFINITY;
  let bestLo = 0;
  let bestHi = 0;
  let bestGl = 0;
  let bestSl = 0;
  // score the boundary between values lo and hi with (gl, sl, nl) on the left; false: stop
  const consider = (lo: number, hi: number): boolean => {
    if (n - nl < minLeaf) return false;
    if (nl < minLeaf) return true;
    const gain = splitGain(friedman, gl, sl, G, S, l2, parent);
    if (gain > best + 1e-12) {
      best = gain;
      bestLo = lo;
      bestHi = hi;
      bestGl = gl;
      bestSl = sl;
    }
    return true;
  };
  let go = true;
  if (sL) {
    // bin bL as one block (bR is multi-valued: the sorted rows are bR's)
    gl += hist[ho + bL * 3]!;
    sl += hist[ho + bL * 3 + 1]!;
    nl += hist[ho + bL * 3 + 2]!;
    go = consider(vL, val[ord[0]!]!);
  }
  for (let i = 0; go && i < m; i++) {
    const o = ord[i]!;
    gl += cg[o]!;
    sl += cs[o]!;
    nl++;
    if (i + 1 < m) {
      const next = val[ord[i + 1]!]!;
      if (next !== val[o]!) go = consider(val[o]!, next);
    } else if (sR) go = consider(val[o]!, vR);
  }
  if (best === Number.NEGATIVE_INFINITY) return Number.NaN;
  s.gl = bestGl;
  s.sl = bestSl;
  s.gain = best;
  s.byRaw = true;
  s.binNext = bR;
  return gapMid(bestLo, bestHi);
}

/**
 * Grow one tree on `rows` (reordered in place). With `leafOfRow`, each of those rows' leaf is written
 * to leafOfRow[row]: the partition routes rows exactly as the tree's thresholds do, so the caller can
 * update their raw scores without walking the tree.
 */
function growRegressionTree(ctx: GrowCtx, rows: Uint32Array, leafOfRow?: Int32Array): FlatTree {
  const idx = rows;
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const missingLeft: number[] = [];
  const value: number[] = [];
  const weight: number[] = [];
  const histSize = ctx.hOff[ctx.nFeatures]!;
  interface Node {
    start: number;
    end: number;
    depth: number;
    hist: Float64Array;
    G: number;
    /** Sum of hessians (the leaf value) and of the second histogram statistic (the same for "newton"). */
    H: number;
    S: number;
    id: number;
  }
  const newNode = (G: number, H: number, n: number): number => {
    const id = feature.length;
    feature.push(-1);
    threshold.push(Number.NaN);
    left.push(-1);
    right.push(-1);
    missingLeft.push(0);
    // a denominator this small is no step (GradientBoostingClassifier's guard)
    const v = H + ctx.l2 < 1e-150 ? 0 : (-G / (H + ctx.l2)) * ctx.lr * ctx.leafScale;
    value.push(Number.isFinite(v) ? v : 0);
    weight.push(n);
    return id;
  };
  const rootHist = new Float64Array(histSize);
  buildHist(ctx, idx, 0, idx.length, rootHist);
  let G0 = 0;
  let H0 = 0;
  let S0 = 0;
  for (let i = 0; i < idx.length; i++) {
    G0 += ctx.g[idx[i]!]!;
    H0 += ctx.h[idx[i]!]!;
    S0 += ctx.s[idx[i]!]!;
  }
  const root: Node = {
    start: 0,
    end: idx.length,
    depth: 0,
    hist: rootHist,
    G: G0,
    H: H0,
    S: ctx.friedman ? S0 : H0,
    id: newNode(G0, H0, idx.length),
  };
  let leaves = 1;
  let frontier: Node[] = [root];
  // every node made (the ones never split are the leaves)
  const leafNodes: Node[] = [root];
  // depth-wise growth: split every splittable node of a level, best gains first when leaves are capped
  while (frontier.length) {
    const cands: { node: Node; split: Split }[] = [];
    for (const node of frontier) {
      const n = node.end - node.start;
      if (node.depth >= ctx.maxDepth || n < 2 * ctx.minLeaf) continue;
      const s = bestSplit(ctx, node.hist, node.G, node.S, n);
      if (s) cands.push({ node, split: s });
    }
    cands.sort((a, b) => b.split.gain - a.split.gain);
    const next: Node[] = [];
    for (const { node, split } of cands) {
      if (leaves >= ctx.maxLeaves) break;
      leaves++;
      const rawTh = refineSplit(ctx, node.hist, idx, node.start, node.end, split, node.G, node.S);
      const refined = !Number.isNaN(rawTh);
      const byRaw = split.byRaw === true;
      const col = ctx.raw?.data;
      const co = byRaw ? ctx.raw!.index[split.f]! * ctx.nRows : 0;
      const fo = split.f * ctx.nRows;
      let i = node.start;
      let j = node.end - 1;
      while (i <= j) {
        const b = ctx.bins[fo + idx[i]!]!;
        // (by raw value: only the two bins around the boundary need it)
        const goLeft =
          b === MISSING_BIN
            ? split.missLeft === 1
            : !byRaw || b < split.bin || b > split.binNext!
              ? b <= split.bin
              : col![co + idx[i]!]! <= rawTh;
        if (goLeft) i++;
        else {
          const t = idx[i]!;
          idx[i] = idx[j]!;
          idx[j] = t;
          j--;
        }
      }
      const mid = i;
      const th = ctx.cuts[split.f]!;
      feature[node.id] = split.f;
      threshold[node.id] = refined
        ? rawTh
        : split.bin < th.length
          ? th[split.bin]!
          : Number.POSITIVE_INFINITY;
      const hasMissing = node.hist[ctx.hOff[split.f]! + ctx.nBins[split.f]! * 3 + 2]! > 0;
      const nl = mid - node.start;
      const nr = node.end - mid;
      missingLeft[node.id] = hasMissing ? split.missLeft : nl >= nr ? 1 : 0;
      const gl = split.gl;
      const sl = split.sl;
      const gr = node.G - gl;
      const sr = node.S - sl;
      // each child's hessian sum (its leaf value's denominator) summed over its own rows: the parent's
      // minus the other child's can come out 0 or negative where rows are almost certain (p(1 − p)
      // ~ 1e-16), and −G / 0 is an infinite leaf
      let hl = 0;
      let hr = 0;
      for (let q = node.start; q < mid; q++) hl += ctx.h[idx[q]!]!;
      for (let q = mid; q < node.end; q++) hr += ctx.h[idx[q]!]!;
      // histogram subtraction: build the smaller child, derive the larger
      const small = new Float64Array(histSize);
      const smallIsLeft = nl <= nr;
      if (smallIsLeft) buildHist(ctx, idx, node.start, mid, small);
      else buildHist(ctx, idx, mid, node.end, small);
      const large = node.hist; // reuse the parent's buffer
      for (let q = 0; q < histSize; q++) large[q]! -= small[q]!;
      const lh = smallIsLeft ? small : large;
      const rh = smallIsLeft ? large : small;
      const lid = newNode(gl, hl, nl);
      const rid = newNode(gr, hr, nr);
      left[node.id] = lid;
      right[node.id] = rid;
      next.push({
        start: node.start,
        end: mid,
        depth: node.depth + 1,
        hist: lh,
        G: gl,
        H: hl,
        S: sl,
        id: lid,
      });
      next.push({ start: mid, end: node.end, depth: node.depth + 1, hist: rh, G: gr, H: hr, S: sr, id: rid });
    }
    frontier = next;
    for (const nd of next) leafNodes.push(nd);
  }
  if (leafOfRow) {
    for (const nd of leafNodes) {
      if (feature[nd.id] !== -1) continue;
      for (let q = nd.start; q < nd.end; q++) leafOfRow[idx[q]!] = nd.id;
    }
  }
  return {
    nNodes: feature.length,
    k: 1,
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    missingLeft: Uint8Array.from(missingLeft),
    value: Float64Array.from(value),
    weight: Float64Array.from(weight),
  };
}

export class GradientBoostingClassifier implements Classifier {
  readonly name = "gradient_boosting" as const;
  readonly params: GradientBoostingParams;
  nClasses = 0;
  nFeatures = 0;
  /** Initial raw scores (1 for binary, K otherwise). */
  init = new Float64Array(0);
  /** trees[iteration * R + k]. */
  trees: FlatTree[] = [];
  /** `trees` packed for prediction, built on first use (never serialized). */
  private packed: { from: FlatTree[]; n: number; p: PackedTrees } | null = null;
  /** Per class k, its trees (t ≡ k mod R) packed with their path steps, for explanations (first use). */
  private explainers: {
    from: FlatTree[];
    n: number;
    byClass: Map<number, { P: PackedTrees; steps: Float64Array | null }>;
  } | null = null;

  constructor(params: Partial<GradientBoostingParams> = {}) {
    this.params = GradientBoostingParamsSchema.parse(params);
  }

  private get R(): number {
    return this.nClasses === 2 ? 1 : this.nClasses;
  }

  async fit(X: Matrix, y: Int32Array, nClasses: number, opts: FitOptions = {}): Promise<FitReport> {
    const t0 = performance.now();
    checkFitData(X, y, nClasses, this.name, true);
    const P = this.params;
    const n = X.nRows;
    const K = nClasses;
    const R = K === 2 ? 1 : K;
    this.nClasses = K;
    this.nFeatures = X.nCols;
    const sw = opts.sampleWeight ?? new Float64Array(n).fill(1);
    const mapper = fitBinMapper(X, { maxBins: P.maxBins, seed: P.randomState });
    const bins = binMatrix(X, mapper);
    const raw = quantileColumns(X, mapper, bins);
    const friedman = P.criterion !== "newton";
    // priors
    const cw = new Float64Array(K);
    let wt = 0;
    for (let i = 0; i < n; i++) {
      cw[y[i]!]! += sw[i]!;
      wt += sw[i]!;
    }
    this.init = new Float64Array(R);
    if (R === 1) {
      const p1 = Math.min(Math.max(cw[1]! / wt, 1e-15), 1 - 1e-15);
      this.init[0] = Math.log(p1 / (1 - p1));
    } else for (let k = 0; k < K; k++) this.init[k] = Math.log(Math.max(cw[k]! / wt, 1e-15));
    const F = new Float64Array(n * R);
    for (let i = 0; i < n; i++) for (let k = 0; k < R; k++) F[i * R + k] = this.init[k]!;
    const g = new Float64Array(n);
    const h = new Float64Array(n);
    const prob = new Float64Array(n * R);
    const rng = new Rng(P.randomState);
    const leafOfRow = new Int32Array(n);
    const nSub = Math.max(1, Math.floor(P.subsample * n));
    const all = Uint32Array.from({ length: n }, (_, i) => i);
    const ctx: GrowCtx = {
      bins,
      nRows: n,
      nFeatures: X.nCols,
      nBins: mapper.nBins,
      hOff: histOffsets(mapper.nBins),
      unitS: friedman && !opts.sampleWeight,
      hist: {
        gv: new Float64Array(n),
        sv: new Float64Array(n),
        sub: new Float64Array(4 * 3 * 256),
      },
      cuts: mapper.cuts,
      raw,
      scratch: raw
        ? {
            val: new Float64Array(n),
            g: new Float64Array(n),
            s: new Float64Array(n),
            order: new Uint32Array(n),
          }
        : null,
      friedman,
      g,
      h,
      s: friedman ? sw : h,
      maxDepth: P.maxDepth ?? Number.POSITIVE_INFINITY,
      maxLeaves: P.maxLeafNodes ?? Number.POSITIVE_INFINITY,
      minLeaf: P.minSamplesLeaf,
      l2: P.l2Regularization,
      lr: P.learningRate,
      leafScale: R > 1 && friedman ? (K - 1) / K : 1,
    };
    this.trees = [];
    for (let it = 0; it < P.nEstimators; it++) {
      opts.signal?.throwIfAborted();
      // probabilities from the current raw scores
      if (R === 1) for (let i = 0; i < n; i++) prob[i] = 1 / (1 + Math.exp(-F[i]!));
      else {
        for (let i = 0; i < n; i++) {
          let mx = Number.NEGATIVE_INFINITY;
          for (let k = 0; k < R; k++) mx = Math.max(mx, F[i * R + k]!);
          let s = 0;
          for (let k = 0; k < R; k++) s += prob[i * R + k] = Math.exp(F[i * R + k]! - mx);
          for (let k = 0; k < R; k++) prob[i * R + k]! /= s;
        }
      }
      // row subsample for this iteration (shared by its K trees)
      let rows: Uint32Array;
      if (nSub < n) {
        for (let i = 0; i < nSub; i++) {
          const j = i + rng.int(n - i);
          const t = all[i]!;
          all[i] = all[j]!;
          all[j] = t;
        }
        rows = all.slice(0, nSub);
      } else rows = all.slice();
      for (let k = 0; k < R; k++) {
        for (let i = 0; i < n; i++) {
          const pk = prob[i * R + k]!;
          const yk = R === 1 ? (y[i] === 1 ? 1 : 0) : y[i] === k ? 1 : 0;
          g[i] = sw[i]! * (pk - yk);
          h[i] = sw[i]! * Math.max(pk * (1 - pk), 1e-16);
        }
        leafOfRow.fill(-1);
        const tree = growRegressionTree(ctx, k === 0 ? rows : rows.slice(), leafOfRow);
        this.trees.push(tree);
        // update raw scores of every row (not only the subsample): the subsample's rows by the leaf
        // the partition put them in, the others by walking the tree
        const val = tree.value;
        for (let i = 0; i < n; i++) {
          const l = leafOfRow[i]!;
          F[i * R + k]! += val[l >= 0 ? l : leafOf(tree, X.data, n, i)]!;
        }
      }
      opts.onProgress?.(it + 1, P.nEstimators);
    }
    let nodes = 0;
    for (const t of this.trees) nodes += t.nNodes;
    return { fitSeconds: (performance.now() - t0) / 1000, counters: { trees: this.trees.length, nodes } };
  }

  /** Raw scores, row-major n x R. */
  decision(X: Matrix): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    const R = this.R;
    const n = X.nRows;
    const out = new Float64Array(n * R);
    for (let i = 0; i < n; i++) for (let k = 0; k < R; k++) out[i * R + k] = this.init[k]!;
    if (this.packed?.from !== this.trees || this.packed.n !== this.trees.length)
      this.packed = { from: this.trees, n: this.trees.length, p: packTrees(this.trees) };
    accumulatePacked(this.packed.p, X.data, n, out, 1, R, R);
    return out;
  }

  predictProba(X: Matrix): Float64Array {
    const F = this.decision(X);
    return this.R === 1 ? sigmoidRows(F, X.nRows) : softmaxRows(F, X.nRows, this.nClasses);
  }

  predict(X: Matrix): Int32Array {
    return argmaxRows(this.predictProba(X), X.nRows, this.nClasses);
  }

  /** Path contributions to the raw score of class `cls` (binary: the logit of class 1, negated for class 0). */
  contributions(X: Matrix, row: number, cls: number): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    const out = new Float64Array(this.nFeatures);
    const R = this.R;
    const k = R === 1 ? 0 : cls;
    const sign = R === 1 && cls === 0 ? -1 : 1;
    for (let t = k; t < this.trees.length; t += R)
      pathContributions(this.trees[t]!, X.data, X.nRows, row, 0, out, sign);
    return out;
  }

  /**
   * `contributions` of every row at once (row-major nRows x nFeatures): class k's trees packed and
   * walked together (the WebAssembly kernel for rows without missing values), each row's steps added
   * in tree order exactly as `contributions` adds them; rows with a missing value the same way as there.
   */
  contributionsAll(X: Matrix, cls: number): Float64Array {
    checkPredictData(X, this.nFeatures, this.name);
    const p = this.nFeatures;
    const out = new Float64Array(X.nRows * p);
    const R = this.R;
    const k = R === 1 ? 0 : cls;
    const sign = R === 1 && cls === 0 ? -1 : 1;
    if (this.explainers?.from !== this.trees || this.explainers.n !== this.trees.length)
      this.explainers = { from: this.trees, n: this.trees.length, byClass: new Map() };
    const key = k * 2 + (sign < 0 ? 1 : 0);
    let e = this.explainers.byClass.get(key);
    if (!e) {
      const P = packTrees(this.trees.filter((_, t) => t % R === k));
      e = { P, steps: contributionSteps(P, 0, sign) };
      this.explainers.byClass.set(key, e);
    }
    const rest = e.steps
      ? packedContributionsAll(e.P, e.steps, X.data, X.nRows, out, p)
      : Array.from({ length: X.nRows }, (_, r) => r);
    for (const r of rest ?? Array.from({ length: X.nRows }, (_, i) => i)) {
      const o = out.subarray(r * p, (r + 1) * p);
      for (let t = k; t < this.trees.length; t += R)
        pathContributions(this.trees[t]!, X.data, X.nRows, r, 0, o, sign);
    }
    return out;
  }

  stagedProba(X: Matrix, stages: readonly number[]): Float64Array[] {
    checkPredictData(X, this.nFeatures, this.name);
    const R = this.R;
    const n = X.nRows;
    const F = new Float64Array(n * R);
    for (let i = 0; i < n; i++) for (let k = 0; k < R; k++) F[i * R + k] = this.init[k]!;
    // the running raw scores, tree after tree as decision() adds them, copied out at each stage
    let done = 0;
    return stages.map((s) => {
      const upto = Math.min(s * R, this.trees.length);
      if (upto > done) {
        accumulatePacked(packTrees(this.trees.slice(done, upto)), X.data, n, F, 1, R, R);
        done = upto;
      }
      return R === 1 ? sigmoidRows(F, n) : softmaxRows(F, n, this.nClasses);
    });
  }

  truncate(nEstimators: number): GradientBoostingClassifier {
    const m = new GradientBoostingClassifier({ ...this.params, nEstimators });
    m.init = this.init.slice();
    m.trees = this.trees.slice(0, nEstimators * this.R);
    m.nClasses = this.nClasses;
    m.nFeatures = this.nFeatures;
    return m;
  }

  toJSON(): SerializedModel {
    return serialized(this, { init: Array.from(this.init), trees: this.trees.map(treeToJSON) });
  }

  static fromJSON(s: SerializedModel): GradientBoostingClassifier {
    // state saved before `criterion` existed was fitted with the second-order gain
    const m = new GradientBoostingClassifier(
      GradientBoostingParamsSchema.parse({ criterion: "newton", ...(s.params as object) }),
    );
    const st = s.state as { init: number[]; trees: FlatTreeJSON[] };
    m.init = Float64Array.from(st.init);
    m.trees = st.trees.map(treeFromJSON);
    m.nClasses = s.nClasses;
    m.nFeatures = s.nFeatures;
    return m;
  }
}

export const gradientBoostingSpec: ModelSpec<GradientBoostingParams> = {
  name: "gradient_boosting",
  title: "Gradient boosting (histogram)",
  paramSchema: GradientBoostingParamsSchema,
  defaultGrid: {
    learning_rate: [0.1, 0.01, 0.05, 0.001],
    subsample: [0.6, 0.7, 0.75, 0.85, 0.9],
    n_estimators: [8, 16, 32, 64, 128, 256],
  },
  capabilities: {
    multiclass: true,
    sampleWeight: true,
    needsScaling: false,
    parallelFit: false,
    staged: true,
  },
  create: (params) => new GradientBoostingClassifier(params),
  fromJSON: (s) => GradientBoostingClassifier.fromJSON(s),
};
