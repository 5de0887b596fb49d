/**
 * A fitted boosted ensemble's prediction side: raw scores F = init + Σ trees (trees[iteration · R + k]
 * adds its leaf value to score k; R = 1 for two classes, K otherwise), walked packed (the WebAssembly
 * walks of tree/walks.ts), staged scores, and path contributions (Saabas) for explanations.
 * Trees with category-set splits (native categorical features) are scored by QuickScorer, the one
 * packed walk that knows them (tree/quick-scorer.ts); their explanations, and trees QuickScorer
 * declines, walk each tree with the generic walk (tree/flat-tree.ts leafOf); `packable` decides.
 */
import type { Matrix } from "../../core/frame.ts";
import { sigmoidRows, softmaxRows } from "../checks.ts";
import { contributionSteps, packedContributionsAll, pathContributions } from "../tree/contributions.ts";
import { accumulateTree, type FlatTree } from "../tree/flat-tree.ts";
import { type PackedTrees, packTrees } from "../tree/packed-trees.ts";
import { quickScorable } from "../tree/quick-scorer.ts";
import { accumulatePacked } from "../tree/walk-dispatch.ts";

export class BoostedTrees {
  readonly init: Float64Array;
  readonly trees: readonly FlatTree[];
  readonly nClasses: number;
  /** Raw scores per row: 1 for two classes, K otherwise. */
  readonly R: number;
  /**
   * False when some tree has category-set splits: only QuickScorer's packed tables are then used
   * (when it accepts the trees), never the other packed walks.
   */
  readonly packable: boolean;
  /** All the trees packed (undefined: not yet; null: only the generic walk can score them). */
  private packed: PackedTrees | null | undefined;
  /** Per (class, sign): that class's trees packed with their path steps (built on first use). */
  private explainers = new Map<number, { P: PackedTrees; steps: Float64Array | null }>();

  constructor(init: Float64Array, trees: readonly FlatTree[], nClasses: number) {
    this.init = init;
    this.trees = trees;
    this.nClasses = nClasses;
    this.R = nClasses === 2 ? 1 : nClasses;
    this.packable = trees.every((t) => t.categorical === undefined);
  }

  /** Add trees [from, to)'s leaf values of every row to F (row-major n x R). */
  private accumulate(X: Matrix, F: Float64Array, from: number, to: number): void {
    const { R } = this;
    const P = this.pack(from, to);
    if (P) accumulatePacked(P, X.data, X.nRows, F, 1, R, R);
    else for (let t = from; t < to; t++) accumulateTree(this.trees[t]!, X.data, X.nRows, F, 1, R, t % R);
  }

  /** Trees [from, to) packed, or null when only the generic walk scores them (all trees: kept). */
  private pack(from: number, to: number): PackedTrees | null {
    const all = from === 0 && to === this.trees.length;
    if (all && this.packed !== undefined) return this.packed;
    const trees = all ? this.trees : this.trees.slice(from, to);
    const P = this.packable || quickScorable(trees) ? packTrees(trees) : null;
    if (all) this.packed = P;
    return P;
  }

  /** Raw scores, row-major n x R. */
  decision(X: Matrix): Float64Array {
    const { R } = this;
    const n = X.nRows;
    const out = new Float64Array(n * R);
    for (let i = 0; i < n; i++) for (let k = 0; k < R; k++) out[i * R + k] = this.init[k]!;
    this.accumulate(X, out, 0, this.trees.length);
    return out;
  }

  proba(F: Float64Array, n: number): Float64Array {
    return this.R === 1 ? sigmoidRows(F, n) : softmaxRows(F, n, this.nClasses);
  }

  /** proba after the first s iterations, for each s of `stages` (ascending); the trees walked once. */
  stagedProba(X: Matrix, stages: readonly number[]): Float64Array[] {
    const { R } = this;
    const n = X.nRows;
    const F = new Float64Array(n * R);
    for (let i = 0; i < n; i++) for (let k = 0; k < R; k++) F[i * R + k] = this.init[k]!;
    let done = 0;
    return stages.map((s) => {
      const upto = Math.min(s * R, this.trees.length);
      if (upto > done) {
        this.accumulate(X, F, done, upto);
        done = upto;
      }
      return this.proba(F, n);
    });
  }

  /** Path contributions to the raw score of class `cls` (binary: class 1's logit, negated for class 0). */
  contributions(X: Matrix, row: number, cls: number, nFeatures: number): Float64Array {
    const out = new Float64Array(nFeatures);
    const { R } = this;
    const k = R === 1 ? 0 : cls;
    const sign = R === 1 && cls === 0 ? -1 : 1;
    for (let t = k; t < this.trees.length; t += R)
      pathContributions(this.trees[t]!, X.data, X.nRows, row, 0, out, sign);
    return out;
  }

  /**
   * `contributions` of every row (row-major nRows x nFeatures): class k's trees packed and walked
   * together (WebAssembly for rows without missing values), the others tree by tree; the same sums.
   */
  contributionsAll(X: Matrix, cls: number, nFeatures: number): Float64Array {
    const p = nFeatures;
    const out = new Float64Array(X.nRows * p);
    const { R } = this;
    const k = R === 1 ? 0 : cls;
    const sign = R === 1 && cls === 0 ? -1 : 1;
    const key = k * 2 + (sign < 0 ? 1 : 0);
    let e = this.explainers.get(key);
    if (!e && this.packable) {
      const P = packTrees(this.trees.filter((_, t) => t % R === k));
      e = { P, steps: contributionSteps(P, 0, sign) };
      this.explainers.set(key, e);
    }
    const rest = e?.steps ? packedContributionsAll(e.P, e.steps, X.data, X.nRows, out, p) : null;
    for (const r of rest ?? Array.from({ length: X.nRows }, (_, i) => i)) {
      const o = out.subarray(r * p, (r + 1) * p);
      for (let t = k; t < this.trees.length; t += R)
        pathContributions(this.trees[t]!, X.data, X.nRows, r, 0, o, sign);
    }
    return out;
  }
}
