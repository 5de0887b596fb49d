/**
 * Growing one classification tree on binned data (the kernel under DecisionTree, RandomForest and
 * AdaBoost's stumps). Pure function on typed arrays; no logging.
 *
 * Depth-first; each node owns a range of a row-index array that is partitioned in place. Split finding
 * per candidate feature builds a (bin x class) weighted histogram of the node's rows and scans the bins
 * left to right: O(rows in node) + O(256·K) per feature. Missing values (bin 255) are tried on both sides
 * and the better direction is stored with the split, as histogram gradient boosting does. Features are
 * drawn in a random order until `maxFeatures` have been drawn, constant ones included, and past that
 * only while none drawn was non-constant (scikit-learn's BestSplitter rule: in a deep node where many
 * features are constant, a forest's trees see fewer usable features, which keeps them diverse), so
 * `maxFeatures = nFeatures` gives an exhaustive search with random tie-breaking.
 *
 * Thresholds: a feature binned one value per bin splits at the midpoint between two values, as
 * scikit-learn does. On a feature binned at quantiles the best bin boundary is then refined to the
 * exact best threshold among the node's raw values in the two bins around it (refineThreshold), so
 * the split scores at least as well and sits where an exact tree would put it whenever the exact best
 * lies there (so at NSL-KDD's first splits on byte counts). The search itself stays on bins; the
 * refinement costs O(rows in node) and a sort of those two bins' rows, once per split.
 *
 * Sample weights carry bootstrap counts and class weights; rows with weight 0 are left out entirely
 * (as scikit-learn does), and min_samples_* count rows, not weight.
 *
 * Speed: each row's class and weight travel with its index through the partitions (the histogram loop
 * reads one scattered byte, the bin, per row), and a feature found constant in a node is known constant
 * in its whole subtree: drawn again there, it is skipped without a scan (as scikit-learn does). The
 * random draws are the same either way, so this changes no tree.
 */
import type { Rng } from "../../core/rng.ts";
import { gapMid, MISSING_BIN, type RawColumns } from "./binning.ts";
import type { FlatTree } from "./flat-tree.ts";

export type Criterion = "gini" | "entropy" | "log_loss";

export interface GrowParams {
  criterion: Criterion;
  /** Infinity for unlimited. */
  maxDepth: number;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  /** Number of features to evaluate per node (1..nFeatures). */
  maxFeatures: number;
  minImpurityDecrease: number;
  /** Infinity for unlimited (best-first growth is not implemented; depth-first with a node budget). */
  maxLeafNodes: number;
}

export interface BinnedData {
  /** Column-major bins, nRows x nFeatures. */
  bins: Uint8Array;
  nRows: number;
  nFeatures: number;
  /** Per feature: the raw-unit upper bound of each non-missing bin (length nBins-1). */
  thresholds: readonly Float64Array[];
  /** Per feature: the raw threshold stored for the split "bins <= b left" (BinMapper.cuts). */
  cuts: readonly Float64Array[];
  /**
   * Raw columns of the quantile-binned features (quantileColumns), or null: a split chosen on such a
   * feature then gets its exact threshold from the node's raw values (refineThreshold).
   */
  raw: RawColumns | null;
}

function impurity(crit: Criterion, counts: Float64Array, off: number, k: number, w: number): number {
  if (w <= 0) return 0;
  if (crit === "gini") {
    let s = 0;
    for (let c = 0; c < k; c++) {
      const p = counts[off + c]! / w;
      s += p * p;
    }
    return 1 - s;
  }
  let e = 0;
  for (let c = 0; c < k; c++) {
    const x = counts[off + c]!;
    if (x > 0) {
      const p = x / w;
      e -= p * Math.log2(p);
    }
  }
  return e;
}

/*
 * The hot loops are small functions of their own: V8 optimises a small function after a few calls,
 * where the big growing loop would wait for on-stack replacement (a cold single tree fit is mostly
 * warm-up otherwise).
 */

/** Whether every row in idx[start, end) has the same bin in the column at fo. */
function isConstant(bins: Uint8Array, fo: number, idx: Uint32Array, start: number, end: number): boolean {
  const b0 = bins[fo + idx[start]!]!;
  for (let q = start + 1; q < end; q++) if (bins[fo + idx[q]!] !== b0) return false;
  return true;
}

/** Binary (bin, class) weight histogram: hist[2·bin + class] += weight. */
function histogram2(
  bins: Uint8Array,
  fo: number,
  idx: Uint32Array,
  ys: Int32Array,
  ws: Float64Array,
  start: number,
  end: number,
  hist: Float64Array,
): void {
  for (let i = start; i < end; i++) hist[(bins[fo + idx[i]!]! << 1) | ys[i]!]! += ws[i]!;
}

/** Scratch for refineThreshold: the candidate rows' values, classes and weights, and a sort order. */
interface RefineScratch {
  val: Float64Array;
  cls: Int32Array;
  w: Float64Array;
  order: Uint32Array;
  /** Class weights: rows left of both bins, of bin bL and of bin bR when single-valued, running left. */
  base: Float64Array;
  blockL: Float64Array;
  blockR: Float64Array;
  run: Float64Array;
}

/**
 * Exact threshold next to the chosen boundary "bins <= bL left" of a quantile-binned feature, as an
 * exact tree (scikit-learn's DecisionTreeClassifier) would place it: the node's rows in bin bL and in
 * the next non-empty bin bR are ordered by raw value and every boundary between two of their distinct
 * values is scored with the rest of the node fixed (bins < bL left, bins > bR right, missing values as
 * chosen). The bin boundary itself is one of the candidates, so the split found is at least as good.
 * A bin holding a single training value (RawColumns.single) moves as one block, unsorted; between two
 * such bins the boundary is the only candidate and no row is read.
 *
 * Returns the threshold (midpoint of the node's two values around it) and the left side's weight, row
 * count and class weights (in leftC); `same`: the rows split as by the bin boundary. Null when no
 * boundary is allowed (min_samples_leaf). O(rows in node) plus a sort of the multi-valued bins' rows.
 */
function refineThreshold(
  sc: RefineScratch,
  bins: Uint8Array,
  fo: number,
  col: Float64Array,
  co: number,
  single: Float64Array,
  so: number,
  idx: Uint32Array,
  ys: Int32Array,
  ws: Float64Array,
  start: number,
  end: number,
  bL: number,
  bR: number,
  missLeft: number,
  K: number,
  crit: Criterion,
  nodeC: Float64Array,
  w: number,
  minLeaf: number,
  leftC: Float64Array,
): { threshold: number; wL: number; same: boolean } | null {
  const vL = single[so + bL]!;
  const vR = single[so + bR]!;
  const sL = !Number.isNaN(vL);
  const sR = !Number.isNaN(vR);
  if (sL && sR) return { threshold: gapMid(vL, vR), wL: Number.NaN, same: true };
  const { val, cls, w: cw, order, base, blockL, blockR, run } = sc;
  base.fill(0);
  blockL.fill(0);
  blockR.fill(0);
  let nBase = 0;
  let nBlockL = 0;
  let nBlockR = 0;
  let m = 0;
  for (let q = start; q < end; q++) {
    const r = idx[q]!;
    const b = bins[fo + r]!;
    if (b === bL || b === bR) {
      if (b === bL ? sL : sR) {
        if (b === bL) {
          blockL[ys[q]!]! += ws[q]!;
          nBlockL++;
        } else {
          blockR[ys[q]!]! += ws[q]!;
          nBlockR++;
        }
      } else {
        val[m] = col[co + r]!;
        cls[m] = ys[q]!;
        cw[m] = ws[q]!;
        order[m] = m;
        m++;
      }
    } else if (b === MISSING_BIN ? missLeft === 1 : b < bL) {
      base[ys[q]!]! += ws[q]!;
      nBase++;
    }
  }
  const ord = order.subarray(0, m).sort((a, b) => val[a]! - val[b]!);
  const n = end - start;
  // the running left side: base, then bL's block, the sorted rows, bR's block (values in that order)
  for (let c = 0; c < K; c++) run[c] = base[c]!;
  let wL = 0;
  for (let c = 0; c < K; c++) wL += base[c]!;
  let nL = nBase;
  let best = Number.NEGATIVE_INFINITY;
  let bestLo = 0;
  let bestHi = 0;
  let bestWL = 0;
  // score the boundary between values lo and hi with `run` on the left; false: stop (right too small)
  const consider = (lo: number, hi: number): boolean => {
    if (n - nL < minLeaf) return false;
    if (nL < minLeaf) return true;
    const wR = w - wL;
    if (wL <= 0 || wR <= 0) return true;
    let proxy: number;
    if (crit === "gini") {
      // -wL·gini(L) - wR·gini(R) up to the constant -w
      let pL = 0;
      let pR = 0;
      for (let c = 0; c < K; c++) {
        const l = run[c]!;
        const r = nodeC[c]! - l;
        pL += l * l;
        pR += r * r;
      }
      proxy = pL / wL + pR / wR;
    } else {
      let eL = 0;
      let eR = 0;
      for (let c = 0; c < K; c++) {
        const l = run[c]!;
        const r = nodeC[c]! - l;
        if (l > 0) eL -= l * Math.log2(l / wL);
        if (r > 0) eR -= r * Math.log2(r / wR);
      }
      proxy = -eL - eR;
    }
    if (proxy > best + 1e-12 * w) {
      best = proxy;
      bestLo = lo;
      bestHi = hi;
      bestWL = wL;
      for (let c = 0; c < K; c++) leftC[c] = run[c]!;
    }
    return true;
  };
  let go = true;
  if (sL) {
    for (let c = 0; c < K; c++) {
      run[c]! += blockL[c]!;
      wL += blockL[c]!;
    }
    nL += nBlockL;
    // (bR is multi-valued here: the sorted rows are bR's and follow)
    if (nBlockL > 0 && m > 0) go = consider(vL, val[ord[0]!]!);
  }
  for (let i = 0; go && i < m; i++) {
    const o = ord[i]!;
    run[cls[o]!]! += cw[o]!;
    wL += cw[o]!;
    nL++;
    if (i + 1 < m) {
      const next = val[ord[i + 1]!]!;
      if (next !== val[o]!) go = consider(val[o]!, next);
    } else if (sR && nBlockR > 0) go = consider(val[o]!, vR);
  }
  if (best === Number.NEGATIVE_INFINITY) return null;
  return { threshold: gapMid(bestLo, bestHi), wL: bestWL, same: false };
}

class Growable {
  feature: number[] = [];
  threshold: number[] = [];
  left: number[] = [];
  right: number[] = [];
  missingLeft: number[] = [];
  value: number[] = [];
  weight: number[] = [];
}

/**
 * One tree on the rows of positive weight. `leafOfRow` (length nRows), when given, receives the leaf
 * each of those rows ends in (other entries are left as they are): the forest's out-of-bag pass reads
 * the in-bag rows' leaves from it instead of walking them.
 */
export function growClassificationTree(
  data: BinnedData,
  y: Int32Array,
  nClasses: number,
  sampleWeight: Float64Array,
  p: GrowParams,
  rng: Rng,
  leafOfRow: Int32Array | null = null,
): FlatTree {
  const { bins, nRows, nFeatures, thresholds, cuts, raw } = data;
  const K = nClasses;
  let nActive = 0;
  for (let i = 0; i < nRows; i++) if (sampleWeight[i]! > 0) nActive++;
  const idx = new Uint32Array(nActive);
  // class and weight of the row at each position of idx, permuted along with it
  const ys = new Int32Array(nActive);
  const ws = new Float64Array(nActive);
  for (let i = 0, j = 0; i < nRows; i++) {
    if (sampleWeight[i]! > 0) {
      idx[j] = i;
      ys[j] = y[i]!;
      ws[j++] = sampleWeight[i]!;
    }
  }
  let totalW = 0;
  for (let i = 0; i < nActive; i++) totalW += ws[i]!;
  const idxR = new Uint32Array(nActive);
  const ysR = new Int32Array(nActive);
  const wsR = new Float64Array(nActive);

  const hist = new Float64Array(256 * K);
  const cnt = new Int32Array(256);
  // row counts per bin are needed only for min_samples_leaf > 1 (emptiness is read from the weights)
  const countRows = p.minSamplesLeaf > 1;
  const leftC = new Float64Array(K);
  const nodeC = new Float64Array(K);
  const tmpC = new Float64Array(K);
  const sc: RefineScratch | null = raw
    ? {
        val: new Float64Array(nActive),
        cls: new Int32Array(nActive),
        w: new Float64Array(nActive),
        order: new Uint32Array(nActive),
        base: new Float64Array(K),
        blockL: new Float64Array(K),
        blockR: new Float64Array(K),
        run: new Float64Array(K),
      }
    : null;
  const featOrder = Int32Array.from({ length: nFeatures }, (_, i) => i);
  const out = new Growable();
  let leaves = 0;

  interface Task {
    start: number;
    end: number;
    depth: number;
    parent: number;
    isLeft: boolean;
    /** Features known to be constant on this node's rows (found so in an ancestor), or null. */
    known: Uint8Array | null;
  }
  const stack: Task[] = [{ start: 0, end: nActive, depth: 0, parent: -1, isLeft: false, known: null }];
  while (stack.length) {
    const t = stack.pop()!;
    const { start, end, depth } = t;
    const n = end - start;
    nodeC.fill(0);
    let w = 0;
    for (let i = start; i < end; i++) {
      const sw = ws[i]!;
      nodeC[ys[i]!]! += sw;
      w += sw;
    }
    const node = out.feature.length;
    if (t.parent >= 0) {
      if (t.isLeft) out.left[t.parent] = node;
      else out.right[t.parent] = node;
    }
    out.feature.push(-1);
    out.threshold.push(Number.NaN);
    out.left.push(-1);
    out.right.push(-1);
    out.missingLeft.push(0);
    out.weight.push(w);
    for (let c = 0; c < K; c++) out.value.push(w > 0 ? nodeC[c]! / w : 1 / K);
    const imp = impurity(p.criterion, nodeC, 0, K, w);
    const canSplit =
      depth < p.maxDepth &&
      n >= p.minSamplesSplit &&
      n >= 2 * p.minSamplesLeaf &&
      imp > 1e-12 &&
      leaves + stack.length + 1 < p.maxLeafNodes;
    if (!canSplit) {
      leaves++;
      if (leafOfRow) for (let q = start; q < end; q++) leafOfRow[idx[q]!] = node;
      continue;
    }
    // best split search
    let bestProxy = Number.NEGATIVE_INFINITY;
    let bestF = -1;
    let bestBin = -1;
    let bestMissLeft = 0;
    let bestImpL = 0;
    let bestImpR = 0;
    let bestWL = 0;
    let bestWR = 0;
    let bestNMiss = 0;
    // the first non-empty bin after bestBin (for the exact threshold search), 256 if none
    let bestNext = 256;
    const known = t.known;
    // this node's known-constant set, copied from the parent's on the first new constant feature
    let known2: Uint8Array | null = known;
    // random feature order (partial Fisher–Yates as we go). scikit-learn's rule: every feature drawn
    // counts toward max_features, constant ones too (known from an ancestor or found here), and the
    // draw goes on past max_features only while every feature drawn so far was constant
    let visited = 0;
    let constants = 0;
    for (let fi = 0; fi < nFeatures && (visited < p.maxFeatures || visited === constants); fi++) {
      const j = fi + rng.int(nFeatures - fi);
      const tmp = featOrder[fi]!;
      featOrder[fi] = featOrder[j]!;
      featOrder[j] = tmp;
      const f = featOrder[fi]!;
      visited++;
      if (known !== null && known[f] === 1) {
        constants++;
        continue;
      }
      const nb = thresholds[f]!.length + 1;
      const fo = f * nRows;
      // constant feature in this node? (a cheap scan that stops at the first other bin)
      if (isConstant(bins, fo, idx, start, end)) {
        if (known2 === known) known2 = known ? known.slice() : new Uint8Array(nFeatures);
        known2![f] = 1;
        constants++;
        continue;
      }
      hist.fill(0, 0, nb * K);
      const missOff = 255 * K;
      for (let c = 0; c < K; c++) hist[missOff + c] = 0;
      if (countRows) {
        cnt.fill(0, 0, nb);
        cnt[255] = 0;
      }
      if (K === 2 && !countRows) {
        histogram2(bins, fo, idx, ys, ws, start, end, hist);
      } else if (K === 2) {
        for (let i = start; i < end; i++) {
          const b = bins[fo + idx[i]!]!;
          hist[(b << 1) | ys[i]!]! += ws[i]!;
          cnt[b]!++;
        }
      } else {
        for (let i = start; i < end; i++) {
          const b = bins[fo + idx[i]!]!;
          hist[b * K + ys[i]!]! += ws[i]!;
          cnt[b]!++;
        }
      }
      const bestBefore = bestProxy;
      let wMiss = 0;
      for (let c = 0; c < K; c++) wMiss += hist[missOff + c]!;
      // without row counts (every weight > 0): a bin is empty iff its weight is 0
      const nMiss = countRows ? cnt[MISSING_BIN]! : wMiss > 0 ? 1 : 0;
      let lastB = -1;
      if (!countRows) {
        for (let b = nb - 1; b >= 0 && lastB < 0; b--) {
          for (let c = 0; c < K; c++) if (hist[b * K + c]! > 0) lastB = b;
        }
      }
      // missing direction options: 0 = right, 1 = left (only try left when there are missing values)
      for (let ml = 0; ml <= (nMiss > 0 ? 1 : 0); ml++) {
        leftC.fill(0);
        let nL = 0;
        let wL = 0;
        if (ml) {
          for (let c = 0; c < K; c++) leftC[c] = hist[missOff + c]!;
          nL = nMiss;
          wL = wMiss;
        }
        for (let b = 0; b < nb - 1; b++) {
          if (countRows) {
            if (cnt[b] === 0) continue;
          } else {
            let wb = 0;
            for (let c = 0; c < K; c++) wb += hist[b * K + c]!;
            if (wb === 0) continue;
          }
          for (let c = 0; c < K; c++) leftC[c]! += hist[b * K + c]!;
          for (let c = 0; c < K; c++) wL += hist[b * K + c]!;
          if (countRows) {
            nL += cnt[b]!;
            const nR = n - nL;
            if (nR < p.minSamplesLeaf) break;
            if (nL < p.minSamplesLeaf) continue;
          } else if (b >= lastB && (ml === 1 || nMiss === 0)) break; // nothing left on the right
          const wR = w - wL;
          if (wL <= 0 || wR <= 0) continue;
          for (let c = 0; c < K; c++) tmpC[c] = nodeC[c]! - leftC[c]!;
          const iL = impurity(p.criterion, leftC, 0, K, wL);
          const iR = impurity(p.criterion, tmpC, 0, K, wR);
          const proxy = -wL * iL - wR * iR;
          if (proxy > bestProxy + 1e-12 * w) {
            bestProxy = proxy;
            bestF = f;
            bestBin = b;
            bestMissLeft = ml;
            bestImpL = iL;
            bestImpR = iR;
            bestWL = wL;
            bestWR = wR;
            bestNMiss = nMiss;
          }
        }
        // the split "non-missing left, missing right" with every value left is also a candidate
        if (nMiss > 0 && !ml) {
          const nR = nMiss;
          const nL2 = countRows ? n - nMiss : lastB >= 0 ? 1 : 0;
          if (nL2 >= p.minSamplesLeaf && nR >= p.minSamplesLeaf && wMiss > 0 && w - wMiss > 0) {
            for (let c = 0; c < K; c++) {
              tmpC[c] = hist[missOff + c]!;
              leftC[c] = nodeC[c]! - tmpC[c]!;
            }
            const iL = impurity(p.criterion, leftC, 0, K, w - wMiss);
            const iR = impurity(p.criterion, tmpC, 0, K, wMiss);
            const proxy = -(w - wMiss) * iL - wMiss * iR;
            if (proxy > bestProxy + 1e-12 * w) {
              bestProxy = proxy;
              bestF = f;
              bestBin = nb - 1; // every non-missing bin left
              bestMissLeft = 0;
              bestImpL = iL;
              bestImpR = iR;
              bestWL = w - wMiss;
              bestWR = wMiss;
              bestNMiss = nMiss;
            }
          }
        }
      }
      // this feature is now the best: note the bin after its boundary while its histogram is here
      if (bestProxy !== bestBefore && raw !== null && raw.index[f]! >= 0) {
        bestNext = 256;
        for (let b = bestBin + 1; b < nb && bestNext === 256; b++) {
          if (countRows) {
            if (cnt[b]! > 0) bestNext = b;
          } else for (let c = 0; c < K; c++) if (hist[b * K + c]! > 0) bestNext = b;
        }
      }
    }
    if (bestF < 0) {
      leaves++;
      if (leafOfRow) for (let q = start; q < end; q++) leafOfRow[idx[q]!] = node;
      continue;
    }
    // a quantile-binned feature: the exact threshold next to the chosen bin boundary
    // (rawTh: the threshold; byRaw: rows then go by raw value, else by bin as scored)
    let rawTh = Number.NaN;
    let byRaw = false;
    const slot = raw ? raw.index[bestF]! : -1;
    if (slot >= 0 && bestBin < thresholds[bestF]!.length && bestNext < 256) {
      const r = refineThreshold(
        sc!,
        bins,
        bestF * nRows,
        raw!.data,
        slot * nRows,
        raw!.single,
        slot * 256,
        idx,
        ys,
        ws,
        start,
        end,
        bestBin,
        bestNext,
        bestMissLeft,
        K,
        p.criterion,
        nodeC,
        w,
        p.minSamplesLeaf,
        leftC,
      );
      if (r) {
        rawTh = r.threshold;
        if (!r.same) {
          byRaw = true;
          bestWL = r.wL;
          bestWR = w - r.wL;
          for (let c = 0; c < K; c++) tmpC[c] = nodeC[c]! - leftC[c]!;
          bestImpL = impurity(p.criterion, leftC, 0, K, bestWL);
          bestImpR = impurity(p.criterion, tmpC, 0, K, bestWR);
        }
      }
    }
    const improvement = (w / totalW) * (imp - (bestWR / w) * bestImpR - (bestWL / w) * bestImpL);
    if (improvement < p.minImpurityDecrease - 1e-15) {
      leaves++;
      if (leafOfRow) for (let q = start; q < end; q++) leafOfRow[idx[q]!] = node;
      continue;
    }
    // partition rows: bin <= bestBin (non-missing) or missing-and-missingLeft go left
    // stable: rows stay in ascending order within a node, so the histogram loops read each bin column
    // front to back (right-going rows wait in the scratch arrays)
    // (and whether a child gets a single bin of bestF: then bestF is constant in its whole subtree)
    const fo = bestF * nRows;
    const col = byRaw ? raw!.data : null;
    const co = slot * nRows;
    let i = start;
    let nr = 0;
    let binL = -1;
    let binR = -1;
    let oneL = true;
    let oneR = true;
    for (let q = start; q < end; q++) {
      const r = idx[q]!;
      const b = bins[fo + r]!;
      // (by raw value: only bins bestBin and bestNext need it)
      const goLeft =
        b === MISSING_BIN
          ? bestMissLeft === 1
          : !byRaw || b < bestBin || b > bestNext
            ? b <= bestBin
            : col![co + r]! <= rawTh;
      if (goLeft) {
        if (b !== binL) {
          if (binL >= 0) oneL = false;
          binL = b;
        }
        idx[i] = r;
        ys[i] = ys[q]!;
        ws[i++] = ws[q]!;
      } else {
        if (b !== binR) {
          if (binR >= 0) oneR = false;
          binR = b;
        }
        idxR[nr] = r;
        ysR[nr] = ys[q]!;
        wsR[nr++] = ws[q]!;
      }
    }
    const mid = i;
    idx.set(idxR.subarray(0, nr), mid);
    ys.set(ysR.subarray(0, nr), mid);
    ws.set(wsR.subarray(0, nr), mid);
    const th = cuts[bestF]!;
    out.feature[node] = bestF;
    // the exact threshold, else the training-value gap's midpoint above bin b; "all non-missing left"
    // uses +Infinity
    out.threshold[node] = !Number.isNaN(rawTh)
      ? rawTh
      : bestBin < th.length
        ? th[bestBin]!
        : Number.POSITIVE_INFINITY;
    // no missing seen here: send missing values to the heavier child
    out.missingLeft[node] = bestNMiss > 0 ? bestMissLeft : bestWL >= bestWR ? 1 : 0;
    // push right first so the left subtree is numbered first (depth-first, left to right)
    const withBest = (): Uint8Array => {
      const a = known2 ? known2.slice() : new Uint8Array(nFeatures);
      a[bestF] = 1;
      return a;
    };
    const knownL = oneL ? withBest() : known2;
    const knownR = oneR ? (oneL ? knownL : withBest()) : known2;
    stack.push({ start: mid, end, depth: depth + 1, parent: node, isLeft: false, known: knownR });
    stack.push({ start, end: mid, depth: depth + 1, parent: node, isLeft: true, known: knownL });
  }
  const nNodes = out.feature.length;
  return {
    nNodes,
    k: K,
    feature: Int32Array.from(out.feature),
    threshold: Float64Array.from(out.threshold),
    left: Int32Array.from(out.left),
    right: Int32Array.from(out.right),
    missingLeft: Uint8Array.from(out.missingLeft),
    value: Float64Array.from(out.value),
    weight: Float64Array.from(out.weight),
  };
}
