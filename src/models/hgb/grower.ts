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
  type HistInput,
  type HistPool,
  type HistScratch,
  subtractHistogram,
} from "./histogram.ts";
import type { ChildSearch, NodeSearch } from "./node-step.ts";
import { findBestSplit, nodeValue, type SplitInfo } from "./split.ts";

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
  // a fresh mask per call when subsampling (the two children of a split are searched together)
  const allowedFeatures = (): Uint8Array | null => {
    if (nSub >= nFeatures) return null;
    const { perm } = scratch;
    const allowed = new Uint8Array(nFeatures);
    for (let f = 0; f < nFeatures; f++) perm[f] = f;
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
  const search: NodeSearch = {
    off,
    nBins,
    hasMissing,
    common: inp.rows.common,
    categorical: inp.categorical,
    ...splitParams,
  };
  const findSplit = (hist: Float64Array, c: ChildSearch): SplitInfo | null =>
    findBestSplit(
      hist,
      off,
      nBins,
      hasMissing,
      c.n,
      c.G,
      c.H,
      c.value,
      splitParams,
      c.allowed,
      inp.categorical,
    );
  const toSearch = (nd: Node, allowed: Uint8Array | null): ChildSearch => ({
    n: nd.end - nd.start,
    G: nd.G,
    H: nd.H,
    value: nd.value,
    allowed,
  });
  const { wasm } = inp;
  const rowsInMemory =
    wasm !== null &&
    wasm !== undefined &&
    rows.buffer === wasm.rows.buffer &&
    rows.byteOffset === wasm.rows.byteOffset;

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
    },
  ];
  const splittable: Node[] = [];
  if (n >= 2 * P.minSamplesLeaf && H0 >= P.minChildWeight) {
    nodes[0]!.split = findSplit(rootHist, toSearch(nodes[0]!, allowedFeatures()));
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
    const mid = s.cats
      ? partitionCategories(bins, nRows, rows, scratch.right, node.start, node.end, s.feature, s.cats)
      : rowsInMemory
        ? wasm!.partition(node.start, node.end, s.feature, s.bin, s.missingLeft)
        : partition(bins, nRows, rows, scratch.right, node.start, node.end, s);
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
    // each searched child's features (feature subsampling), drawn left first
    const allowL = splitL ? allowedFeatures() : null;
    const allowR = splitR ? allowedFeatures() : null;
    // the smaller child from its rows, the larger as the parent's minus it (ties: right built)
    const [small, large] = L.end - L.start < R.end - R.start ? [L, R] : [R, L];
    const wanted = [small, large].map((c) =>
      (c === L ? splitL : splitR) ? toSearch(c, c === L ? allowL : allowR) : null,
    );
    small.hist = hists.acquire();
    let found: (SplitInfo | null)[] | null = null;
    if (rowsInMemory) {
      // on two threads when the fit can (./node-step.ts): the larger child's histogram out of place
      const largeHist = hists.acquire();
      const r = wasm!.children(
        inp.g,
        inp.h,
        small.start,
        small.end,
        parentHist,
        small.hist,
        largeHist,
        search,
        wanted,
      );
      if (r === null) hists.release(largeHist);
      else if (r === "late") {
        // the helper may still read the parent and write the two children: built again in others
        const smallHist = hists.acquire();
        const again = hists.acquire();
        buildHistogram(inp, rows, small.start, small.end, smallHist, scratch.hist);
        for (let q = 0; q < histSize; q++) again[q] = parentHist[q]! - smallHist[q]!;
        hists.hold(small.hist);
        hists.hold(largeHist);
        hists.hold(parentHist);
        small.hist = smallHist;
        large.hist = again;
      } else {
        found = r;
        large.hist = largeHist;
        hists.release(parentHist);
      }
    }
    if (!large.hist) {
      buildHistogram(inp, rows, small.start, small.end, small.hist, scratch.hist);
      subtractHistogram(parentHist, small.hist, histSize);
      large.hist = parentHist;
    }
    found ??= wanted.map((c, i) => (c ? findSplit(i === 0 ? small.hist! : large.hist!, c) : null));
    for (const c of [L, R]) {
      c.split = found[c === small ? 0 : 1] ?? null;
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
