/**
 * Stratified k-fold: each class's rows are shuffled (seeded) and dealt to folds in turn, so every fold
 * holds each class in proportion (fold sizes differ by at most one per class). With `groups`, rows of
 * one group (identical feature vectors) always land in the same fold: groups are dealt whole, ordered by
 * their majority class, so duplicates never straddle train and validation.
 */
import { NetsecError } from "../core/errors.ts";
import { Rng } from "../core/rng.ts";

export interface Fold {
  train: Uint32Array;
  test: Uint32Array;
}

export function stratifiedKFold(y: Int32Array, k: number, seed: number, groups?: Int32Array): Fold[] {
  const n = y.length;
  if (!Number.isInteger(k) || k < 2)
    throw new NetsecError("CONFIG_INVALID", `cv must be an integer >= 2, got ${k}`, { value: k });
  if (n < k) throw new NetsecError("DATA_INVALID", `${n} rows cannot be split into ${k} folds`, {});
  const rng = new Rng(seed);
  const foldOf = new Int32Array(n);
  if (!groups) {
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      let a = byClass.get(y[i]!);
      if (!a) byClass.set(y[i]!, (a = []));
      a.push(i);
    }
    let offset = 0;
    for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
      const rows = Uint32Array.from(byClass.get(c)!);
      rng.shuffle(rows);
      for (let j = 0; j < rows.length; j++) foldOf[rows[j]!] = (offset + j) % k;
      offset += rows.length;
    }
  } else {
    const members = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      let a = members.get(groups[i]!);
      if (!a) members.set(groups[i]!, (a = []));
      a.push(i);
    }
    const gs = [...members.keys()];
    const major = new Map<number, number>();
    for (const g of gs) {
      const cnt = new Map<number, number>();
      for (const i of members.get(g)!) cnt.set(y[i]!, (cnt.get(y[i]!) ?? 0) + 1);
      major.set(g, [...cnt.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0]);
    }
    const order = Int32Array.from(gs);
    rng.shuffle(order);
    // per class, deal groups to the fold with the fewest rows of that class so far
    const load = new Map<number, Float64Array>();
    for (const g of order) {
      const c = major.get(g)!;
      let l = load.get(c);
      if (!l) load.set(c, (l = new Float64Array(k)));
      let f = 0;
      for (let q = 1; q < k; q++) if (l[q]! < l[f]!) f = q;
      const rows = members.get(g)!;
      l[f]! += rows.length;
      for (const i of rows) foldOf[i] = f;
    }
  }
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < n; i++) (foldOf[i] === f ? test : train).push(i);
    if (test.length === 0) throw new NetsecError("DATA_INVALID", `fold ${f + 1} of ${k} is empty`, {});
    folds.push({ train: Uint32Array.from(train), test: Uint32Array.from(test) });
  }
  return folds;
}
