/**
 * The gate step: the winner must reach `gates.min_score` on the test split (in the run's scoring) and
 * its train score may exceed its CV score by at most `gates.max_train_cv_gap`; a failed gate ends the
 * run FAILED with the reason, the champion unchanged (the bundle and reports are kept for a look).
 */
import { type PipelineRun, RunStopped } from "../runner.ts";
import { scoreName, scoreOf } from "../train.ts";
import type { Evaluated } from "./evaluate.ts";
import type { Tuned } from "./tune.ts";

/** The run's score on its test split (the one number the gate and the champion decision use). */
export function testScore(run: PipelineRun, ev: Evaluated): { score: number; label: string } {
  const s = run.cfg.search;
  return { score: scoreOf(ev.test, s.scoring), label: scoreName(s.scoring, s.target_fpr) };
}

export function gateStep(run: PipelineRun, tuned: Tuned, ev: Evaluated): void {
  const { gates } = run.cfg;
  const { score, label } = testScore(run, ev);
  if (score < gates.min_score)
    throw new RunStopped(
      `gate: test ${label} ${againstLimit(score, gates.min_score)} is below min_score ${gates.min_score}`,
    );
  if (ev.trainCvGap > gates.max_train_cv_gap) {
    const best = tuned.leaderboard[0]!;
    throw new RunStopped(
      `gate: train–CV gap ${againstLimit(ev.trainCvGap, gates.max_train_cv_gap)} in ${label} (${best.model}: train ${label} ${best.train_mean.toFixed(4)} vs CV ${label} ${best.cv_mean.toFixed(4)}) exceeds max_train_cv_gap ${gates.max_train_cv_gap}`,
    );
  }
}

/**
 * `x` to 4 decimals, or to as many more as it takes not to read as the limit it is compared with: a
 * gap of 0.050004 against 0.05 shows as 0.050004, not as "0.0500 exceeds 0.05".
 */
export function againstLimit(x: number, limit: number): string {
  for (let d = 4; d <= 12; d++) {
    const s = x.toFixed(d);
    if (Number(s) !== limit) return s;
  }
  return String(x);
}
