/**
 * hist_gradient_boosting trees with category-set splits → threshold trees over the preprocessed
 * features plus derived linear features (TreeEnsembleIR.derived), so ai.onnx.ml TreeEnsembleRegressor
 * (BRANCH_LEQ only, no per-node category sets in opset 3) evaluates them.
 *
 * The model's trees read its input columns through `inputs` (src/models/hgb/categorical-inputs.ts):
 * kept columns as they are, then one feature per one-hot block, whose code is the position of the
 * row's hot column (none hot: unknown). A category split on block b_0..b_{m-1} (left codes S, codes
 * known at fit K, missing way ml) sends code j right when j ∈ K \ S, or j ∉ K and not ml; a row
 * with no hot column goes the missing way. With w_j = 1 for the codes going right (else 0) and u = 1
 * when the missing way is right, "goes right" is exactly
 *     d = u + Σ_j (w_j − u) · x_{b_j}    (x one-hot: Σ_j x_{b_j} is 1, or 0 for an unknown category)
 * which is 0 or 1: the node becomes `d <= 0.5` goes left, d a derived feature. Identical splits share
 * one derived feature. Category splits on a column of codes (not a one-hot block) are refused: the
 * pipeline's bundles always one-hot their categorical columns.
 */
import { NetsecError } from "../../core/errors.ts";
import { CAT_WORDS } from "../../models/tree/categorical-splits.ts";
import type { FlatTreeJSON } from "../../models/tree/tree-serial.ts";
import type { DerivedFeaturesIR } from "./ir.ts";

/** The flat tree JSON (src/models/tree/tree-serial.ts) with its optional category splits. */
export type CategoryTreeState = Omit<FlatTreeJSON, "weight">;

/** hist_gradient_boosting's state.inputs. */
export interface TreeInputsState {
  keep: number[];
  blocks: number[][];
}

function bad(message: string): NetsecError {
  return new NetsecError("BUNDLE_INVALID", `ONNX export: ${message}`, {});
}

const inSet = (bits: readonly number[], o: number, v: number): boolean =>
  v <= 255 && ((bits[o + (v >>> 5)]! >>> (v & 31)) & 1) === 1;

/**
 * The trees over input features (F of them) and D derived ones; `derived` null when no tree has a
 * category split. Thresholds of the rewritten nodes are 0.5, their missing way irrelevant (d is never
 * NaN).
 */
export function categoryTrees(
  trees: readonly CategoryTreeState[],
  inputs: TreeInputsState | null,
  F: number,
): { trees: CategoryTreeState[]; derived: DerivedFeaturesIR | null } {
  const weights: number[][] = [];
  const bias: number[] = [];
  const seen = new Map<string, number>();
  const nKeep = inputs ? inputs.keep.length : F;
  const out = trees.map((t, ti) => {
    const feature = t.feature.slice();
    const threshold = t.threshold.slice();
    for (let i = 0; i < feature.length; i++) {
      const f = t.feature[i]!;
      if (f < 0) continue;
      const c = t.categorical ? t.categorical.node[i]! : -1;
      if (c < 0) {
        if (f >= nKeep) throw bad(`tree ${ti} node ${i}: a threshold split on one-hot block ${f - nKeep}`);
        feature[i] = inputs ? inputs.keep[f]! : f;
        continue;
      }
      if (!inputs || f < nKeep)
        throw bad(`tree ${ti} node ${i}: a category split on a column of codes (only one-hot blocks export)`);
      const block = inputs.blocks[f - nKeep]!;
      const o = c * CAT_WORDS;
      const bits = t.categorical!.bits;
      const ml = t.missingLeft[i]!;
      const u = ml ? 0 : 1;
      const row = new Array<number>(F).fill(0);
      block.forEach((col, j) => {
        const right = inSet(bits, o + 8, j) ? !inSet(bits, o, j) : !ml;
        row[col] = (right ? 1 : 0) - u;
      });
      const key = `${u}:${row.join(",")}`;
      let d = seen.get(key);
      if (d === undefined) {
        d = bias.length;
        seen.set(key, d);
        weights.push(row);
        bias.push(u);
      }
      feature[i] = F + d;
      threshold[i] = 0.5;
    }
    return { ...t, feature, threshold };
  });
  return { trees: out, derived: bias.length > 0 ? { weights, bias } : null };
}
