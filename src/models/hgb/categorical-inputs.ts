/**
 * Which input columns hist_gradient_boosting's trees read, and how, when `categorical_features` names
 * a categorical column that reaches the model one-hot encoded (the column transformer's block of
 * `name=value` columns, as every netsec pipeline gives it): such a block is read back as ONE category
 * feature, its code the position of the row's hot column in the block (NaN when none is hot: a
 * category unseen at fit, which then goes the missing-value way). So one training matrix serves every
 * model of a search, and the bundle's preprocessing (and its ONNX graph) stays the one-hot encoder.
 *
 * Tree features: first the input columns kept as they are (`keep`, ascending), then one per block.
 */
import { NetsecError } from "../../core/errors.ts";
import { allocMatrix, type Matrix } from "../../core/frame.ts";
import type { CategoricalFeatures } from "./categorical.ts";

export interface TreeInputs {
  /** Input columns read as they are, in tree-feature order. */
  keep: number[];
  /** One-hot blocks (input columns in code order), tree features keep.length, keep.length + 1, … */
  blocks: number[][];
  /** Block names (the categorical columns), for messages. */
  blockNames: string[];
}

/** A one-hot block's input columns: `name=…` columns, in input order. */
function blockOf(names: readonly string[], name: string): number[] {
  const prefix = `${name}=`;
  return names.flatMap((n, f) => (n.startsWith(prefix) ? [f] : []));
}

/**
 * The tree inputs and, per tree feature, whether it is categorical. A name in `spec` that is a
 * column of X marks that column (category codes); otherwise it names the one-hot block `name=…`.
 */
export function planTreeInputs(
  spec: CategoricalFeatures,
  X: Matrix,
  model: string,
): { inputs: TreeInputs | null; categorical: Uint8Array } {
  const p = X.nCols;
  const bad = (message: string, value: unknown): NetsecError =>
    new NetsecError("PARAM_INVALID", `${model}: categorical_features ${message}`, {
      param: "categorical_features",
      value,
    });
  const direct = new Uint8Array(p);
  const blocks: number[][] = [];
  const blockNames: string[] = [];
  if (spec !== null && spec.length > 0) {
    if (typeof spec[0] === "boolean") {
      if (spec.length !== p) throw bad(`is a mask of ${spec.length} entries for ${p} features`, spec.length);
      spec.forEach((b, f) => {
        direct[f] = b ? 1 : 0;
      });
    } else if (typeof spec[0] === "string") {
      const names = X.names ?? [];
      for (const name of spec as readonly string[]) {
        const f = names.indexOf(name);
        if (f >= 0) {
          direct[f] = 1;
          continue;
        }
        const block = blockOf(names, name);
        if (block.length === 0)
          throw bad(`names ${JSON.stringify(name)}: neither a feature nor a one-hot block ${name}=…`, name);
        blocks.push(block);
        blockNames.push(name);
      }
    } else {
      for (const f of spec as readonly number[]) {
        if (!(Number.isInteger(f) && f >= 0 && f < p)) throw bad(`index ${f} is not in 0..${p - 1}`, f);
        direct[f] = 1;
      }
    }
  }
  if (blocks.length === 0) return { inputs: null, categorical: direct };
  const inBlock = new Uint8Array(p);
  for (const b of blocks) for (const f of b) inBlock[f] = 1;
  const keep = Array.from({ length: p }, (_, f) => f).filter((f) => !inBlock[f]);
  const categorical = new Uint8Array(keep.length + blocks.length);
  keep.forEach((f, j) => {
    categorical[j] = direct[f]!;
  });
  categorical.fill(1, keep.length);
  return { inputs: { keep, blocks, blockNames }, categorical };
}

/**
 * The matrix the trees read: X itself, or its kept columns then each block's codes (in shared memory
 * when X is: a batch split with the helper thread is then read in place, walk-dispatch.ts).
 */
export function treeMatrix(inputs: TreeInputs | null, X: Matrix): Matrix {
  if (!inputs) return X;
  const n = X.nRows;
  const { keep, blocks } = inputs;
  const names = X.names ? [...keep.map((f) => X.names![f]!), ...inputs.blockNames] : undefined;
  const T = allocMatrix(n, keep.length + blocks.length, names, X.data.buffer instanceof SharedArrayBuffer);
  keep.forEach((f, j) => {
    T.data.set(X.data.subarray(f * n, (f + 1) * n), j * n);
  });
  blocks.forEach((block, b) => {
    const out = T.data.subarray((keep.length + b) * n, (keep.length + b + 1) * n);
    out.fill(Number.NaN);
    // the first hot column of the row's block (reverse order: the first one written last)
    for (let c = block.length - 1; c >= 0; c--) {
      const col = block[c]!;
      for (let r = 0; r < n; r++) if (X.data[col * n + r]! > 0.5) out[r] = c;
    }
  });
  return T;
}

/**
 * Contributions per tree feature → per input column: a kept column's its own; a block's to the row's
 * hot column (the block's first column when none is hot). `T`: treeMatrix(inputs, X); rows of
 * `perTree` (row-major, nTree per row) for rows rows[0..) of X.
 */
export function inputContributions(
  inputs: TreeInputs,
  T: Matrix,
  perTree: Float64Array,
  nInputs: number,
  rows: readonly number[] | null,
): Float64Array {
  const nTree = inputs.keep.length + inputs.blocks.length;
  const nOut = perTree.length / nTree;
  const out = new Float64Array(nOut * nInputs);
  for (let i = 0; i < nOut; i++) {
    const r = rows ? rows[i]! : i;
    const src = i * nTree;
    const dst = i * nInputs;
    inputs.keep.forEach((f, j) => {
      out[dst + f] = perTree[src + j]!;
    });
    inputs.blocks.forEach((block, b) => {
      const j = inputs.keep.length + b;
      const code = T.data[j * T.nRows + r]!;
      out[dst + block[Number.isNaN(code) ? 0 : code]!]! += perTree[src + j]!;
    });
  }
  return out;
}
