/**
 * The tune step's halving search (search.kind halving, the default preset's): every model's random
 * candidates (spaces.ts, the user's search.params fixed over them) raced by successive halving on the
 * worker pool within search.time_budget_s; the leaderboard row of each model says how its candidates
 * were raced and whether the budget stopped the launches.
 */
import { snakeKeys } from "../../models/params.ts";
import { createModel, getModelSpec } from "../../models/registry.ts";
import { type HalvingResult, raceCost, rungRows } from "../../selection/halving.ts";
import { halvingSearchCV } from "../../selection/halving-cv.ts";
import type { Fold } from "../../selection/kfold.ts";
import type { CandidateResult } from "../../selection/search.ts";
import { drawCandidate, searchSpace } from "../../selection/spaces.ts";
import { withNativeCategoricals } from "../native-categoricals.ts";
import type { PipelineRun } from "../runner.ts";
import { fitLine, type LeaderboardRow } from "../train.ts";
import type { Transformed } from "./transform.ts";
import type { Tuned } from "./tune.ts";

/** Per model, its space's candidates (distinct params, in draw order). */
export function halvingCandidates(
  models: readonly string[],
  seed: number,
  userParams: Record<string, Record<string, unknown>>,
): Map<string, { model: string; params: Record<string, unknown> }[]> {
  const out = new Map<string, { model: string; params: Record<string, unknown> }[]>();
  for (const model of models) {
    const fixed = snakeKeys(userParams[model] ?? {});
    if (!("random_state" in fixed) && "randomState" in (getModelSpec(model).paramSchema.parse({}) as object))
      fixed.random_state = seed;
    const seen = new Set<string>();
    const list: { model: string; params: Record<string, unknown> }[] = [];
    const want = searchSpace(model).candidates;
    // a small space can repeat a draw: skip repeats (and give up after 4x the draws wanted)
    for (let i = 0; list.length < want && i < 4 * want; i++) {
      const params = drawCandidate(model, i, seed, fixed);
      const key = JSON.stringify(params);
      if (seen.has(key)) continue;
      seen.add(key);
      list.push({ model, params });
    }
    out.set(model, list);
  }
  return out;
}

/** Fits of the whole race for `launched` first-rung candidates per model (raceCost at one row a rung). */
function plannedFits(launched: readonly number[], rungs: number): number {
  return raceCost(launched, new Array<number>(rungs).fill(1));
}

/** The leaderboard's note on one model's race. */
export function raceNote(h: HalvingResult<CandidateResult>, model: string, budgetSeconds: number): string {
  const rungs = h.rungs.get(model)!;
  const l = h.launched.get(model)!;
  const race = rungs
    .map(
      (r, k) =>
        `${k === 0 ? `${l.launched} of ${l.offered} candidates` : r.candidates.length} on ${r.rows} rows`,
    )
    .join(" → ");
  return (
    `successive halving: ${race}` +
    (h.budgetSpent
      ? `; time budget ${budgetSeconds} s spent (${h.secondsAtStop.toFixed(1)} s on the first rung, ${h.projectedSeconds.toFixed(1)} s projected for the race): no more candidates launched`
      : "")
  );
}

export async function halvingTune(run: PipelineRun, t: Transformed, folds: Fold[]): Promise<Tuned> {
  const { cfg } = run;
  const search = cfg.search;
  const candidates = halvingCandidates(
    cfg.models,
    cfg.seed,
    withNativeCategoricals(cfg.models, search.params, t.transformer),
  );
  // validate every candidate's params before spending any time
  for (const list of candidates.values()) for (const c of list) createModel(c.model, c.params);
  const nf = folds.length;
  const offered = [...candidates.values()].reduce((a, l) => a + l.length, 0);
  // the whole race if the budget lets every candidate out; the race of the launched ones once it stops
  let totalFits =
    plannedFits(
      [...candidates.values()].map((l) => l.length),
      rungRows(t.yTrain.y.length).length,
    ) * nf;
  let base = 0;
  let frac = 0;
  run.progress(
    "tune",
    frac,
    `search: successive halving of ${offered} candidate(s) x ${nf} folds within ${search.time_budget_s} s`,
  );
  const meter = run.meter("tune", "search", "fits", () => frac, undefined);
  const { searches, halving } = await halvingSearchCV(
    t.Xtr,
    t.yTrain.y,
    t.space.classes.length,
    t.threatClasses,
    candidates,
    folds,
    {
      scoring: search.scoring,
      targetFpr: search.target_fpr,
      budgetSeconds: search.time_budget_s,
      seed: cfg.seed,
      ...(search.threads ? { threads: search.threads } : {}),
      onProgress: (e) => {
        const done = base + e.done;
        if (e.done === e.total) base += e.total;
        const total = Math.max(totalFits, done);
        frac = done / total;
        if (meter) meter.update(done, total);
        else
          run.progress("tune", frac, `search: rung ${e.rung + 1}/${e.rungs} (${e.rows} rows): ${done} fits`);
      },
      onStop: (launched) => {
        totalFits = plannedFits([...launched.values()], rungRows(t.yTrain.y.length).length) * nf;
      },
      onFit: (e, rung, rows) =>
        fitLine(search.scoring, (line) =>
          run.progress("tune", frac, `rung ${rung + 1} (${rows} rows) ${line}`, true),
        )(e),
      ...(run.signal ? { signal: run.signal } : {}),
    },
  );
  meter?.finish();
  if (halving.budgetSpent)
    run.progress(
      "tune",
      frac,
      `time budget ${search.time_budget_s} s spent: ${[...halving.launched.values()].reduce((a, l) => a + l.launched, 0)} of ${offered} candidates launched; the launched ones were raced to the end`,
      true,
    );
  const leaderboard: LeaderboardRow[] = searches
    .map((s) => ({
      model: s.model,
      params: s.best.params,
      scoring: search.scoring,
      cv_mean: s.best.cv_mean,
      cv_std: s.best.cv_std,
      train_mean: s.best.train_mean,
      candidates: halving.launched.get(s.model)!.launched,
      search: raceNote(halving, s.model, search.time_budget_s),
    }))
    .sort((a, b) => b.cv_mean - a.cv_mean);
  const winner = searches.find((s) => s.model === leaderboard[0]!.model)!;
  return { searches, leaderboard, winner, earlyRefit: null };
}
