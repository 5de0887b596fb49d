/**
 * Successive halving under a time budget (scikit-learn's HalvingRandomSearchCV idea): every model's
 * random candidates are first scored by CV on a small stratified sample of the training rows; the best
 * third (ceil, ties → earlier candidate) of each model is promoted to a three times larger sample, and
 * so on until the last rung, which uses all rows. The rungs' row counts are n / 3^(R-1), …, n / 3, n,
 * with R as large as keeps the first rung at MIN_RUNG_ROWS rows or more (at most MAX_RUNGS).
 *
 * The time budget only limits how many candidates are launched: the first rung's candidates go out in
 * batches (a few per model, models interleaved), and no new batch starts once the projected time of
 * the race of the candidates launched so far reaches the budget: the time spent on the first rung
 * scaled by raceCost / first-rung cost (a fit's cost taken as proportional to its rows; with many
 * candidates every rung costs about what the first did, with few the later ones cost more, as
 * ceil(k/3) keeps at least one). Candidates already launched are always promoted to the end, so the
 * winner is scored on all rows; the first batch always goes out. The scorer is injected (the tune step runs CV on the worker pool),
 * and so is the clock: the promotion rule and the budget are tested without timing anything.
 */
import type { Clock } from "../core/progress.ts";

export const HALVING_FACTOR = 3;
export const MIN_RUNG_ROWS = 500;
export const MAX_RUNGS = 3;
/** New first-rung candidates per model in one batch. */
export const BATCH_PER_MODEL = 3;

export interface HalvingCandidate {
  model: string;
  params: Record<string, unknown>;
}

/** A scorer's result for one candidate: its mean CV score (higher is better). */
export interface Scored {
  cv_mean: number;
}

export interface Rung<R extends Scored> {
  rows: number;
  /** The candidates scored at this rung (in launch order) and their results. */
  candidates: HalvingCandidate[];
  results: R[];
}

export interface HalvingResult<R extends Scored> {
  /** Per model, its rungs; the last one's best candidate is the model's best. */
  rungs: Map<string, Rung<R>[]>;
  /** First-rung candidates launched per model, and how many the space offered. */
  launched: Map<string, { launched: number; offered: number }>;
  /** True when the budget stopped the launches before every offered candidate was tried. */
  budgetSpent: boolean;
  /** Seconds spent when the last batch was launched or the budget stopped the launches. */
  secondsAtStop: number;
  /** The race's projected seconds at that point (what the budget was compared with). */
  projectedSeconds: number;
}

/** Row counts of the rungs for n training rows: ascending, the last n. */
export function rungRows(n: number): number[] {
  let r = 1;
  while (r < MAX_RUNGS && Math.floor(n / HALVING_FACTOR ** r) >= MIN_RUNG_ROWS) r++;
  return Array.from({ length: r }, (_, i) => Math.floor(n / HALVING_FACTOR ** (r - 1 - i)));
}

/**
 * Candidate-rows of the race of `launched` first-rung candidates per model over rungs of `rows` rows:
 * Σ over models and rungs of the candidates scored there times its rows (the cost unit of the budget).
 */
export function raceCost(launched: readonly number[], rows: readonly number[]): number {
  let cost = 0;
  for (let c of launched)
    for (const r of rows) {
      cost += c * r;
      c = Math.ceil(c / HALVING_FACTOR);
    }
  return cost;
}

/** Indices of the candidates to promote: the best ceil(k / 3) by score, ties → lower index; ascending. */
export function promote(scores: readonly number[]): number[] {
  const keep = Math.ceil(scores.length / HALVING_FACTOR);
  return scores
    .map((s, i) => ({ s, i }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .slice(0, keep)
    .map((x) => x.i)
    .sort((a, b) => a - b);
}

export interface HalvingOptions<R extends Scored> {
  /** Per model, its candidates in launch order (the budget takes a prefix). */
  candidates: Map<string, HalvingCandidate[]>;
  /** Rung row counts (rungRows). */
  rows: number[];
  budgetSeconds: number;
  /** Milliseconds (injected for tests). */
  now: Clock;
  /**
   * Score candidates by CV on the rung's first `rows` rows (a nested sample: a rung's rows include
   * the previous rung's); results in the candidates' order.
   */
  score: (candidates: HalvingCandidate[], rung: number, rows: number) => Promise<R[]>;
  /** After the budget check, before each batch: the first-rung candidates launched so far. */
  onBatch?: (launched: number, offered: number) => void;
  /** When the budget stops the launches: the first-rung candidates launched per model. */
  onStop?: (launched: Map<string, number>) => void;
}

export async function successiveHalving<R extends Scored>(o: HalvingOptions<R>): Promise<HalvingResult<R>> {
  const t0 = o.now();
  const R = o.rows.length;
  const models = [...o.candidates.keys()];
  const rungs = new Map<string, Rung<R>[]>(
    models.map((m) => [m, [{ rows: o.rows[0]!, candidates: [], results: [] }]]),
  );
  const next = new Map(models.map((m) => [m, 0]));
  const offered = models.reduce((a, m) => a + o.candidates.get(m)!.length, 0);
  let launched = 0;
  let budgetSpent = false;
  let secondsAtStop = 0;
  let projectedSeconds = 0;
  for (;;) {
    const batch: HalvingCandidate[] = [];
    for (const m of models) {
      const list = o.candidates.get(m)!;
      const from = next.get(m)!;
      batch.push(...list.slice(from, from + BATCH_PER_MODEL));
      next.set(m, Math.min(list.length, from + BATCH_PER_MODEL));
    }
    if (batch.length === 0) break;
    const spent = (o.now() - t0) / 1000;
    secondsAtStop = spent;
    const firstRung = models.map((m) => rungs.get(m)![0]!.candidates.length);
    const projected =
      launched > 0 ? (spent * raceCost(firstRung, o.rows)) / raceCost(firstRung, o.rows.slice(0, 1)) : 0;
    projectedSeconds = projected;
    if (launched > 0 && projected >= o.budgetSeconds) {
      budgetSpent = true;
      o.onStop?.(new Map(models.map((m) => [m, rungs.get(m)![0]!.candidates.length])));
      break;
    }
    o.onBatch?.(launched, offered);
    launched += batch.length;
    const results = await o.score(batch, 0, o.rows[0]!);
    batch.forEach((c, i) => {
      const r = rungs.get(c.model)![0]!;
      r.candidates.push(c);
      r.results.push(results[i]!);
    });
  }
  for (let k = 1; k < R; k++) {
    const promoted: HalvingCandidate[] = [];
    for (const m of models) {
      const prev = rungs.get(m)!.at(-1)!;
      promoted.push(...promote(prev.results.map((r) => r.cv_mean)).map((i) => prev.candidates[i]!));
    }
    const results = await o.score(promoted, k, o.rows[k]!);
    for (const m of models) rungs.get(m)!.push({ rows: o.rows[k]!, candidates: [], results: [] });
    promoted.forEach((c, i) => {
      const r = rungs.get(c.model)!.at(-1)!;
      r.candidates.push(c);
      r.results.push(results[i]!);
    });
  }
  const launchedOf = new Map(
    models.map((m) => [
      m,
      { launched: rungs.get(m)![0]!.candidates.length, offered: o.candidates.get(m)!.length },
    ]),
  );
  return { rungs, launched: launchedOf, budgetSpent, secondsAtStop, projectedSeconds };
}
