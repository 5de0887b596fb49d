/**
 * One regression tree on gradients/hessians, grown leaf-wise (best first), as scikit-learn's
 * HistGradientBoosting TreeGrower (and LightGBM) grow them:
 *
 * - the splittable leaf with the largest gain is split next, until max_leaf_nodes leaves (then every
 *   other candidate stays a leaf) or no leaf has a split with a positive gain;
 * - a node at max_depth, or with fewer than 2 · min_samples_leaf rows, is a leaf; a split leaving a child
 *   less than min_child_weight summed hessian is not a candidate (split.ts);
 * - the smaller child's histogram is built from its rows, the larger's is the parent's minus it;
 * - rows are partitioned stably (each child keeps the parent's row order, as scikit-learn's
 *   single-thread partition does), so histogram sums add in the same order;
 * - leaf values are learning_rate · (−G / (H + λ)); internal nodes carry theirs too (explanations);
 * - missing values: the side the split found (NaN-aware scans), or, for a feature without missing
 *   values at fit, the child with more rows (ties right), as scikit-learn;
 * - categorical features (./categorical.ts) split into category sets: the node keeps the codes going
 *   left and the codes known at fit (tree/categorical-splits.ts); codes unknown at fit go the missing
 *   values' way, as scikit-learn's.
 *
 * The tree stores raw thresholds (the bin's upper bound, BinMapper.thresholds: x <= t goes left is
 * bin(x) <= b), so it predicts on raw values exactly as it routed the binned training rows.
 */
import type { Rng } from "../../core/rng.ts";
import { addToSet, CAT_WORDS } from "../tree/categorical-splits.ts";
import type { FlatTree } from "../tree/flat-tree.ts";
import {
  buildHistogram,
  buildHistogramBeside,
  type HistInput,
  type HistPool,
  type HistScratch,
  subtractHistogram,
} from "./histogram.ts";
import { findBestSplit, nodeValue, type SplitInfo } from "./split.ts";
import { HIST_PARALLEL_NODE_MIN_ROWS } from "./wasm-kernels.ts";

/**
 * The least rows of a node partitioned ahead beside a helper's build (the pipeline): a smaller
 * partition (about 2.5 ns a row) saves less than the hand-off costs.
 */
const PIPELINE_PARTITION_MIN_ROWS = 2048;

export interface GrowInput extends HistInput {
  /** Per feature: NaN seen at fit. */
  hasMissing: Uint8Array;
  /** Per feature: bin upper bounds (BinMapper.thresholds). */
  thresholds: readonly Float64Array[];
  /** Per feature: its categories (ascending codes; bin b is code categories[b]) when categorical, else null. */
  categories: readonly (Int32Array | null)[];
  /** Per feature: 1 when categorical; null when none is. */
  categorical: Uint8Array | null;
}

export interface GrowParams {
  /** Infinity for no limit. */
  maxLeafNodes: number;
  /** Infinity for no limit. */
  maxDepth: number;
  minSamplesLeaf: number;
  /** The least summed hessian a child may have (split.ts). */
  minChildWeight: number;
  l2: number;
  learningRate: number;
  /** Share of the features a split may choose from (drawn per split), 1 = all. */
  maxFeatures: number;
}

export interface GrowScratch {
  hist: HistScratch;
  /** Node histograms, reused. */
  hists: HistPool;
  /** A partition's right-hand rows (length nRows). */
  right: Uint32Array;
  /** Feature permutation for feature subsampling (length nFeatures). */
  perm: Uint32Array;
  allowed: Uint8Array;
}

export function growScratch(
  nRows: number,
  nFeatures: number,
  hist: HistScratch,
  hists: HistPool,
): GrowScratch {
  return {
    hist,
    hists,
    right: new Uint32Array(nRows),
    perm: new Uint32Array(nFeatures),
    allowed: new Uint8Array(nFeatures),
  };
}

interface Node {
  id: number;
  start: number;
  end: number;
  depth: number;
  G: number;
  H: number;
  /** Unshrunk value −G / (H + λ) (0 for the root's gain, as scikit-learn). */
  value: number;
  hist: Float64Array | null;
  split: SplitInfo | null;
  /** Its partition's first right row once partitioned ahead of its split (the pipeline), else −1. */
  mid: number;
}

/**
 * Grow a tree on rows `rows` (reordered in place). Each of those rows' leaf is written to
 * leafOfRow[row]. `rng` draws the features of each split when maxFeatures < 1 (else unused).
 */
export function growTree(
  inp: GrowInput,
  rows: Uint32Array,
  P: GrowParams,
  rng: Rng,
  scratch: GrowScratch,
  leafOfRow: Int32Array,
): FlatTree {
  const { nBins, off, hasMissing, thresholds, bins, nRows } = inp;
  const nFeatures = nBins.length;
  const histSize = off[nFeatures]!;
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const missingLeft: number[] = [];
  const value: number[] = [];
  const weight: number[] = [];
  const catNode: number[] = [];
  const catBits: number[] = [];
  const newNode = (G: number, H: number, n: number): number => {
    catNode.push(-1);
    feature.push(-1);
    threshold.push(Number.NaN);
    left.push(-1);
    right.push(-1);
    missingLeft.push(0);
    value.push(P.learningRate * nodeValue(G, H, P.l2));
    weight.push(n);
    return feature.length - 1;
  };
  const nSub = P.maxFeatures < 1 ? Math.max(1, Math.ceil(P.maxFeatures * nFeatures)) : nFeatures;
  const allowedFeatures = (): Uint8Array | null => {
    if (nSub >= nFeatures) return null;
    const { perm, allowed } = scratch;
    for (let f = 0; f < nFeatures; f++) perm[f] = f;
    allowed.fill(0);
    for (let i = 0; i < nSub; i++) {
      const j = i + rng.int(nFeatures - i);
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
      allowed[perm[i]!] = 1;
    }
    return allowed;
  };
  const splitParams = { minSamplesLeaf: P.minSamplesLeaf, minChildWeight: P.minChildWeight, l2: P.l2 };
  const findSplit = (nd: Node): void => {
    nd.split = findBestSplit(
      nd.hist!,
      off,
      nBins,
      hasMissing,
      nd.end - nd.start,
      nd.G,
      nd.H,
      nd.value,
      splitParams,
      allowedFeatures(),
      inp.categorical,
    );
  };

  const partitionNode = (nd: Node): number => {
    const s = nd.split!;
    return s.cats
      ? partitionCategories(bins, nRows, rows, scratch.right, nd.start, nd.end, s.feature, s.cats)
      : inp.wasm && rows.buffer === inp.wasm.rows.buffer && rows.byteOffset === inp.wasm.rows.byteOffset
        ? inp.wasm.partition(nd.start, nd.end, s.feature, s.bin, s.missingLeft)
        : partition(bins, nRows, rows, scratch.right, nd.start, nd.end, s);
  };
  /**
   * The candidate to partition beside a build of `smallRows` rows: the largest gain among those not
   * yet partitioned whose partition repays the hand-off (PIPELINE_PARTITION_MIN_ROWS), and, where the
   * build would be split in halves between the threads anyway, at least as many rows as the build's
   * (a partition costs about a quarter of a build a row: a smaller one saves less than the halves).
   */
  const toPartitionAhead = (smallRows: number): Node | null => {
    let best: Node | null = null;
    const least = Math.max(
      PIPELINE_PARTITION_MIN_ROWS,
      smallRows >= HIST_PARALLEL_NODE_MIN_ROWS ? smallRows : 0,
    );
    for (const nd of splittable)
      if (nd.mid < 0 && nd.end - nd.start >= least && (!best || nd.split!.gain > best.split!.gain)) best = nd;
    return best;
  };

  const n = rows.length;
  const { hists } = scratch;
  const rootHist = hists.acquire();
  const { G: G0, H: H0 } = buildHistogram(inp, rows, 0, n, rootHist, scratch.hist);
  const nodes: Node[] = [
    {
      id: newNode(G0, H0, n),
      start: 0,
      end: n,
      depth: 0,
      G: G0,
      H: H0,
      value: 0,
      hist: rootHist,
      split: null,
      mid: -1,
    },
  ];
  const splittable: Node[] = [];
  if (n >= 2 * P.minSamplesLeaf && H0 >= P.minChildWeight) {
    findSplit(nodes[0]!);
    if (nodes[0]!.split) splittable.push(nodes[0]!);
  }
  if (!nodes[0]!.split) hists.release(rootHist);
  let leaves = 1;
  while (splittable.length > 0) {
    // the largest gain (the first of equal ones)
    let bi = 0;
    for (let i = 1; i < splittable.length; i++)
      if (splittable[i]!.split!.gain > splittable[bi]!.split!.gain) bi = i;
    const node = splittable[bi]!;
    splittable.splice(bi, 1);
    const s = node.split!;
    const mid = node.mid >= 0 ? node.mid : partitionNode(node);
    const depth = node.depth + 1;
    const lid = newNode(s.gl, s.hl, mid - node.start);
    const rid = newNode(s.gr, s.hr, node.end - mid);
    feature[node.id] = s.feature;
    const th = thresholds[s.feature]!;
    if (s.cats) {
      // the left bins and every known bin as category codes (the missing bin is missingLeft's)
      const c = catBits.length / CAT_WORDS;
      const set = new Uint32Array(CAT_WORDS);
      const cats = inp.categories[s.feature]!;
      cats.forEach((code, b) => {
        if (s.cats![b >>> 5]! & (1 << (b & 31))) addToSet(set, 0, code);
        addToSet(set, 8, code);
      });
      catBits.push(...set);
      catNode[node.id] = c;
      threshold[node.id] = Number.NaN;
    } else threshold[node.id] = s.bin < th.length ? th[s.bin]! : Number.POSITIVE_INFINITY;
    left[node.id] = lid;
    right[node.id] = rid;
    missingLeft[node.id] = hasMissing[s.feature] ? s.missingLeft : mid - node.start > node.end - mid ? 1 : 0;
    const L: Node = {
      id: lid,
      start: node.start,
      end: mid,
      depth,
      G: s.gl,
      H: s.hl,
      value: nodeValue(s.gl, s.hl, P.l2),
      hist: null,
      split: null,
      mid: -1,
    };
    const R: Node = {
      id: rid,
      start: mid,
      end: node.end,
      depth,
      G: s.gr,
      H: s.hr,
      value: nodeValue(s.gr, s.hr, P.l2),
      hist: null,
      split: null,
      mid: -1,
    };
    nodes.push(L, R);
    leaves++;
    const parentHist = node.hist!;
    node.hist = null;
    const splitL = L.end - L.start >= 2 * P.minSamplesLeaf;
    const splitR = R.end - R.start >= 2 * P.minSamplesLeaf;
    if (leaves >= P.maxLeafNodes || depth >= P.maxDepth || (!splitL && !splitR)) {
      hists.release(parentHist);
      if (leaves >= P.maxLeafNodes) break;
      continue;
    }
    // the smaller child from its rows, the larger as the parent's minus it (ties: right built)
    const [small, large] = L.end - L.start < R.end - R.start ? [L, R] : [R, L];
    small.hist = hists.acquire();
    // the pipeline: the helper thread builds the smaller child's histogram whole while this thread
    // partitions the best candidate not yet partitioned (its rows only: valid whichever node is split
    // next, used when it is split)
    const ahead = leaves + 1 < P.maxLeafNodes ? toPartitionAhead(small.end - small.start) : null;
    const beside = ahead
      ? buildHistogramBeside(inp, rows, small.start, small.end, small.hist, () => {
          ahead.mid = partitionNode(ahead);
        })
      : "not sent";
    // (a late helper's histogram is left to it: never read, never back in the pool)
    if (beside === "late") small.hist = hists.acquire();
    if (typeof beside === "string")
      buildHistogram(inp, rows, small.start, small.end, small.hist, scratch.hist);
    if (!inp.wasm?.subtract(parentHist, small.hist, histSize))
      subtractHistogram(parentHist, small.hist, histSize);
    large.hist = parentHist;
    for (const [c, ok] of [
      [L, splitL],
      [R, splitR],
    ] as const) {
      if (!ok) {
        hists.release(c.hist);
        c.hist = null;
        continue;
      }
      findSplit(c);
      if (c.split) splittable.push(c);
      else {
        hists.release(c.hist);
        c.hist = null;
      }
    }
  }
  // the candidates left when max_leaf_nodes was reached
  for (const nd of splittable) {
    hists.release(nd.hist);
    nd.hist = null;
  }
  for (const nd of nodes) {
    if (feature[nd.id] !== -1) continue;
    for (let q = nd.start; q < nd.end; q++) leafOfRow[rows[q]!] = nd.id;
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
    ...(catBits.length > 0
      ? { categorical: { node: Int32Array.from(catNode), bits: Uint32Array.from(catBits) } }
      : {}),
  };
}

/** `partition` for a category-set split: rows whose bin is in `cats` (bit 255: missing) go left. */
function partitionCategories(
  bins: Uint8Array,
  nRows: number,
  rows: Uint32Array,
  rightRows: Uint32Array,
  start: number,
  end: number,
  feature: number,
  cats: Uint32Array,
): number {
  const fo = feature * nRows;
  let w = start;
  let nr = 0;
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    const b = bins[fo + r]!;
    if ((cats[b >>> 5]! >>> (b & 31)) & 1) rows[w++] = r;
    else rightRows[nr++] = r;
  }
  rows.set(rightRows.subarray(0, nr), w);
  return w;
}

/**
 * Stable partition of rows[start..end) by the split (left rows compacted in place, right rows through
 * `rightRows`); returns the first right row's position. (The fit's WebAssembly kernel does the same.)
 */
function partition(
  bins: Uint8Array,
  nRows: number,
  rows: Uint32Array,
  rightRows: Uint32Array,
  start: number,
  end: number,
  s: SplitInfo,
): number {
  const fo = s.feature * nRows;
  let w = start;
  let nr = 0;
  const sb = s.bin;
  const ml = s.missingLeft;
  // without branches (a node's rows go either way unpredictably): each row is written to both
  // sides and only its side's cursor moves (w <= i: the left side never overtakes the reads)
  for (let i = start; i < end; i++) {
    const r = rows[i]!;
    const b = bins[fo + r]!;
    // MISSING_BIN (255) is above every split bin (<= 254)
    const goLeft = +(b <= sb) | (+(b === 255) & ml);
    rows[w] = r;
    rightRows[nr] = r;
    w += goLeft;
    nr += 1 - goLeft;
  }
  rows.set(rightRows.subarray(0, nr), w);
  return w;
}
