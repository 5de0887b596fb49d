/**
 * Successive halving (halving.ts) scored by the k-fold search (searchCV): a rung on m rows scores its
 * candidates on the same folds restricted to a nested, stratified sample of m training rows (so
 * duplicate-aware folds stay duplicate-aware), the matrix binned once for every rung.
 */
import type { Matrix } from "../core/frame.ts";
import type { Clock } from "../core/progress.ts";
import { Rng } from "../core/rng.ts";
import { type BinnedMatrix, binnedMatrix } from "../models/tree/binned-matrix.ts";
import { type HalvingCandidate, type HalvingResult, rungRows, successiveHalving } from "./halving.ts";
import type { Fold } from "./kfold.ts";
import {
  type CandidateResult,
  type FitDone,
  type ModelSearchResult,
  type SearchOptions,
  searchCV,
} from "./search.ts";

export interface HalvingSearchOptions extends Omit<SearchOptions, "onProgress" | "onFit" | "onModelDone"> {
  budgetSeconds: number;
  seed: number;
  now?: Clock;
  /** Fits x folds done in the current rung's batch, and that batch's total, with the rung's rows. */
  onProgress?: (e: {
    done: number;
    total: number;
    rung: number;
    rungs: number;
    rows: number;
    launched: number;
    offered: number;
  }) => void;
  onFit?: (e: FitDone, rung: number, rows: number) => void;
  /** When the time budget stops the launches: the first-rung candidates launched per model. */
  onStop?: (launched: Map<string, number>) => void;
}

export interface HalvingSearch {
  searches: ModelSearchResult[];
  halving: HalvingResult<CandidateResult>;
}

/**
 * Row order whose every prefix holds each class in proportion: each class's rows shuffled (seeded),
 * then all rows sorted by their position within their class as a share of the class.
 */
export function stratifiedOrder(y: Int32Array, seed: number): Uint32Array {
  const byClass = new Map<number, number[]>();
  y.forEach((c, i) => {
    let l = byClass.get(c);
    if (!l) byClass.set(c, (l = []));
    l.push(i);
  });
  const rng = new Rng(seed);
  const key = new Float64Array(y.length);
  for (const rows of byClass.values()) {
    rng.shuffle(rows);
    rows.forEach((r, j) => {
      key[r] = (j + 0.5) / rows.length;
    });
  }
  return Uint32Array.from(
    Array.from({ length: y.length }, (_, i) => i).sort((a, b) => key[a]! - key[b]! || a - b),
  );
}

/** The folds restricted to the rows `keep` marks (ascending order kept). */
export function subsetFolds(folds: readonly Fold[], keep: Uint8Array): Fold[] {
  return folds.map((f) => ({
    train: f.train.filter((r) => keep[r] === 1),
    test: f.test.filter((r) => keep[r] === 1),
  }));
}

export async function halvingSearchCV(
  X: Matrix | BinnedMatrix,
  y: Int32Array,
  nClasses: number,
  threatClasses: number[],
  candidates: Map<string, HalvingCandidate[]>,
  folds: Fold[],
  opts: HalvingSearchOptions,
): Promise<HalvingSearch> {
  const B = "bins" in X ? X : binnedMatrix(X, { seed: opts.binSeed ?? 0 });
  const n = y.length;
  const rows = rungRows(n);
  const order = stratifiedOrder(y, opts.seed);
  const foldsAt = rows.map((m) => {
    if (m >= n) return folds;
    const keep = new Uint8Array(n);
    for (let i = 0; i < m; i++) keep[order[i]!] = 1;
    return subsetFolds(folds, keep);
  });
  // each candidate result's out-of-fold scores when it was its model's best of a searchCV call: the
  // final best always was (the first-best of its last rung, which one call scored, or of its batch)
  const oofOf = new Map<CandidateResult, Float64Array>();
  let launched = 0;
  let offered = 0;
  const halving = await successiveHalving<CandidateResult>({
    candidates,
    rows,
    budgetSeconds: opts.budgetSeconds,
    now: opts.now ?? (() => performance.now()),
    ...(opts.onStop ? { onStop: opts.onStop } : {}),
    onBatch: (l, o) => {
      launched = l;
      offered = o;
    },
    score: async (batch, rung, m) => {
      if (rung === 0) launched += batch.length;
      const res = await searchCV(B, y, nClasses, threatClasses, batch, foldsAt[rung]!, {
        scoring: opts.scoring,
        targetFpr: opts.targetFpr,
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        onProgress: (done, total) =>
          opts.onProgress?.({ done, total, rung, rungs: rows.length, rows: m, launched, offered }),
        ...(opts.onFit ? { onFit: (e: FitDone) => opts.onFit!(e, rung, m) } : {}),
      });
      for (const s of res) oofOf.set(s.best, s.oof);
      // back in the batch's order
      const queue = new Map(res.map((s) => [s.model, [...s.candidates]]));
      return batch.map((c) => queue.get(c.model)!.shift()!);
    },
  });
  const searches: ModelSearchResult[] = [];
  for (const [model, rungs] of halving.rungs) {
    const last = rungs.at(-1)!;
    let bi = 0;
    last.results.forEach((r, i) => {
      if (r.cv_mean > last.results[bi]!.cv_mean) bi = i;
    });
    const best = last.results[bi]!;
    searches.push({ model, candidates: last.results, best, oof: oofOf.get(best)! });
  }
  return { searches, halving };
}
