/**
 * The worker tasks, by name: the pool (pool.ts), the helper thread (helper.ts) and the serving threads
 * run a task named here, never a module path a caller spells. Two halves, both checked by tsc:
 * - TASK_MODULES: each name's module (under src/) and export — the one table the threads read;
 * - TaskFns: each name's function type (its arguments, the state a helper keeps, its result), declared
 *   beside the function by the module that defines it (`declare module "…/core/tasks.ts"`), because
 *   core/ imports no folder above it (DEVELOPERS.md's module map), not even for types.
 * A name missing from either half, an unknown name, or arguments of the wrong type are compile errors;
 * test/core/tasks.test.ts checks that each module really exports its function.
 */

/** Task name → the task's function type; each task's module adds its entries. */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in the task modules
export interface TaskFns {}

export type TaskName = keyof TaskFns;

/** The task's argument (what the thread receives, structured-cloned: shared memory stays shared). */
export type TaskArgs<N extends TaskName> = TaskFns[N] extends (a: infer A, ...rest: never[]) => unknown
  ? A
  : never;

/** The state a helper task is called with (kept by the helper between calls), when it takes one. */
export type TaskState<N extends TaskName> = TaskFns[N] extends (a: never, state: infer S) => unknown
  ? S
  : undefined;

/** What the task returns (a promise's value for an async task). */
export type TaskResult<N extends TaskName> = TaskFns[N] extends (...a: never[]) => infer R
  ? Awaited<R>
  : never;

/** A task for a worker thread: a registered name and its arguments. */
export interface Task<N extends TaskName = TaskName> {
  name: N;
  args: TaskArgs<N>;
}

/** A task for a worker thread, its arguments checked against the named function. */
export function task<N extends TaskName>(name: N, args: TaskArgs<N>): Task<N> {
  return { name, args };
}

/** Each task's module (relative to src/) and the name of the function it exports. */
export const TASK_MODULES: { readonly [N in TaskName]: readonly [module: string, fn: string] } = {
  "bundle.load": ["bundle/score-task.ts", "loadBundle"],
  "bundle.score": ["bundle/score-task.ts", "scoreBatch"],
  "core.keptCount": ["core/helper-kept.ts", "keptCountTask"],
  "core.stall": ["core/helper-kept.ts", "stallTask"],
  "core.words": ["core/helper-kept.ts", "wordsTask"],
  "core.where": ["core/probe.ts", "where"],
  "forest.build": ["models/tree/forest-task.ts", "buildTrees"],
  "forest.ready": ["models/tree/forest-task.ts", "ready"],
  "hgb.binColumns": ["models/hgb/fit-input.ts", "binColumnsTask"],
  "hgb.boostRows": ["models/hgb/boost-rows.ts", "boostRowsTask"],
  "hgb.histHalf": ["models/hgb/wasm-kernels.ts", "histHalfTask"],
  "hgb.histWhole": ["models/hgb/wasm-kernels.ts", "histWholeTask"],
  "hgb.partHalf": ["models/hgb/wasm-kernels.ts", "partHalfTask"],
  "hgb.sparseRows": ["models/hgb/fit-input.ts", "sparseRowsTask"],
  "logistic.binaryScores": ["models/logistic-regression.ts", "binaryScoresTask"],
  "selection.cv": ["selection/cv-task.ts", "runCvTask"],
  "serve.scoreCsv": ["serve/score-csv.ts", "scoreCsvTask"],
  "store.closeAlerts": ["store/alert-task.ts", "closeAlertsTask"],
  "store.openAlerts": ["store/alert-task.ts", "openAlertsTask"],
  "store.writeAlerts": ["store/alert-task.ts", "writeAlertsTask"],
  "stream.scoreRecords": ["stream/score-task.ts", "scoreRecordsTask"],
  "tree.packedRows": ["models/tree/walk-dispatch.ts", "packedRowsTask"],
  "tree.singleRows": ["models/tree/walk-dispatch.ts", "singleRowsTask"],
};

/**
 * The tasks the helper thread runs (helper.ts: synchronous hand-offs only take these); it imports
 * their modules before it reports ready, so no hand-off waits for a module to load.
 */
export const HELPER_TASKS = [
  "core.keptCount",
  "core.stall",
  "core.words",
  "hgb.binColumns",
  "hgb.boostRows",
  "hgb.histHalf",
  "hgb.histWhole",
  "hgb.partHalf",
  "hgb.sparseRows",
  "logistic.binaryScores",
  "tree.packedRows",
  "tree.singleRows",
] as const satisfies readonly TaskName[];

export type HelperTaskName = (typeof HELPER_TASKS)[number];
