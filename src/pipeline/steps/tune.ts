/**
 * The tune step: every model's candidates (its grid, a random sample of it, the fixed params, or
 * random draws from its documented ranges raced by successive halving within the time budget) scored
 * by k-fold CV on the training rows (duplicate-aware folds: identical feature vectors never straddle
 * train and validation) on the worker pool; the leaderboard holds each model's best candidate, best
 * first. A single candidate of a bagged model is scored out of bag instead (tune-oob.ts). Then a soft
 * vote of the best models, selected when it beats them on CV (tune-ensemble.ts).
 */
import { snakeKeys } from "../../models/params.ts";
import { createModel, getModelSpec } from "../../models/registry.ts";
import { stratifiedKFold } from "../../selection/kfold.ts";
import {
  expandGrid,
  type ModelSearchResult,
  planSearch,
  sampleGrid,
  searchCV,
} from "../../selection/search.ts";
import type { PipelineConfig } from "../config.ts";
import { withNativeCategoricals } from "../native-categoricals.ts";
import type { PipelineRun } from "../runner.ts";
import { bestLine, fitLine, type LeaderboardRow } from "../train.ts";
import { type Refitted, refitOnAllRows } from "./evaluate.ts";
import type { Transformed } from "./transform.ts";
import { withSoftVote } from "./tune-ensemble.ts";
import { halvingTune } from "./tune-halving.ts";
import { outOfBagInstead, outOfBagTune } from "./tune-oob.ts";

export interface Tuned {
  searches: ModelSearchResult[];
  /** Each model's best candidate, best CV mean first. */
  leaderboard: LeaderboardRow[];
  /** The winning model's search (its best candidate, out-of-fold scores). */
  winner: ModelSearchResult;
  /**
   * With a single candidate, the winner is known before any fold is scored: its refit on all rows
   * ran on the pool beside the folds (3 folds on 2 threads would otherwise leave a core idle for the
   * last); null otherwise.
   */
  earlyRefit: Promise<Refitted> | null;
}

/**
 * The candidates of search kinds grid, random and none, in the order the search scores them (ties in
 * CV go to the first): per model, its grid (search.grids or the original's), n_iter draws of it, or
 * the fixed params; random_state the run's seed unless search.params sets it.
 */
export function gridCandidates(cfg: PipelineConfig): { model: string; params: Record<string, unknown> }[] {
  const search = cfg.search;
  return cfg.models.flatMap((name) => {
    const spec = getModelSpec(name);
    const fixed = snakeKeys(search.params[name] ?? {});
    if (!("random_state" in fixed) && "randomState" in (spec.paramSchema.parse({}) as object))
      fixed.random_state = cfg.seed;
    if (search.kind === "none") return [{ model: name, params: fixed }];
    const grid = search.grids[name] ?? spec.defaultGrid;
    const list =
      search.kind === "random"
        ? sampleGrid(grid, search.n_iter ?? 20, cfg.seed, fixed)
        : expandGrid(grid, fixed);
    return list.map((params) => ({ model: name, params }));
  });
}

/**
 * `duplicates`: the training rows' groups of identical feature values (duplicateGroupsOfFrame), taken
 * before the training frame was freed.
 */
export async function tuneStep(
  run: PipelineRun,
  duplicates: { groups: Int32Array; nGroups: number },
  t: Transformed,
): Promise<Tuned> {
  const { cfg } = run;
  const search = cfg.search;
  // HGB splits the schema's categorical columns natively unless the user's params say otherwise
  const params = withNativeCategoricals(cfg.models, search.params, t.transformer);
  const candidates =
    search.kind === "halving" ? [] : gridCandidates({ ...cfg, search: { ...search, params } });
  // validate every candidate's params before spending any time
  const parsed = candidates.map((c) => createModel(c.model, c.params).params as Record<string, unknown>);
  // one candidate of a bagged model: its out-of-bag scores, no folds (tune-oob.ts)
  const { groups, nGroups } = duplicates;
  let oobRefit: Refitted | null = null;
  if (outOfBagInstead(run, candidates, parsed[0] ?? {})) {
    const r = await outOfBagTune(run, t, candidates[0]!, { groups, nGroups });
    if ("tuned" in r) return r.tuned;
    oobRefit = r.refit;
  }
  const folds = stratifiedKFold(t.yTrain.y, search.cv, cfg.seed, nGroups < t.Xtr.nRows ? groups : undefined);
  if (search.kind === "halving") return withSoftVote(run, t, folds, await halvingTune(run, t, folds));
  const fits = planSearch(candidates).fits.length;
  const total = fits * folds.length;
  let frac = 0;
  run.progress(
    "tune",
    frac,
    `search: ${candidates.length} candidate(s) x ${folds.length} folds` +
      (fits < candidates.length
        ? ` in ${total} fits (candidates that differ only in n_estimators or max_iter share one fit, scored at each n)`
        : ` = ${total} fits`) +
      `: 0/${total} fits`,
  );
  const meter = run.meter("tune", "search", "fits", () => frac, total);
  // a failed search stops a refit running beside it
  const stop = new AbortController();
  const signal = run.signal ? AbortSignal.any([run.signal, stop.signal]) : stop.signal;
  const only = candidates.length === 1 ? candidates[0]! : null;
  const earlyRefit = oobRefit
    ? Promise.resolve(oobRefit)
    : only
      ? refitOnAllRows(run, t, only.model, only.params, signal, "tune")
      : null;
  earlyRefit?.catch(() => {}); // (awaited by the evaluate step; a failed search must not leave it unhandled)
  const searches = await searchCV(
    t.Xtr,
    t.yTrain.y,
    t.space.classes.length,
    t.threatClasses,
    candidates,
    folds,
    {
      scoring: search.scoring,
      targetFpr: search.target_fpr,
      ...(search.threads ? { threads: search.threads } : {}),
      onProgress: (d, n) => {
        frac = d / n;
        if (meter) meter.update(d, n);
        else run.progress("tune", frac, `search: ${d}/${n} fits`);
      },
      onFit: fitLine(search.scoring, (line) => run.progress("tune", frac, line, true)),
      onModelDone: bestLine(search.scoring, (line) => run.progress("tune", frac, line, true)),
      ...(run.signal ? { signal: run.signal } : {}),
    },
  ).catch((e: unknown) => {
    stop.abort();
    throw e;
  });
  meter?.finish();
  const leaderboard: LeaderboardRow[] = searches
    .map((s) => ({
      model: s.model,
      params: s.best.params,
      scoring: search.scoring,
      cv_mean: s.best.cv_mean,
      cv_std: s.best.cv_std,
      train_mean: s.best.train_mean,
      candidates: s.candidates.length,
    }))
    .sort((a, b) => b.cv_mean - a.cv_mean);
  const winner = searches.find((s) => s.model === leaderboard[0]!.model)!;
  return withSoftVote(run, t, folds, { searches, leaderboard, winner, earlyRefit });
}
