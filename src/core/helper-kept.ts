/**
 * The task states the helper thread keeps between calls (helper-worker.ts), by id: a module of its
 * own so that a task can report on them. Also the helper's diagnostic tasks, which tests use.
 */
export const kept = new Map<number, object>();

/** A task: out[0] = how many states the helper keeps now (tests check that collected ones go). */
export function keptCountTask(a: { out: Int32Array }): null {
  a.out[0] = kept.size;
  return null;
}

/** gate[1] of a stall task while it holds the helper (the caller may then stop waiting for its claim). */
export const STALL_HOLDING = 3;

/**
 * A task that holds the helper (a stuck or descheduled helper, for tests of the callers' bounded
 * wait): sets gate[1] to STALL_HOLDING, blocks until gate[0] becomes non-zero or `ms` pass, then
 * records how it ended in gate[1] (1 released, 2 timed out); with `fail`, throws instead of blocking.
 */
export function stallTask(a: { gate: Int32Array; ms: number; fail?: boolean }): null {
  Atomics.store(a.gate, 1, STALL_HOLDING);
  if (a.fail) throw new Error("a failing task (tests)");
  const ended = Atomics.wait(a.gate, 0, 0, a.ms);
  Atomics.store(a.gate, 1, ended === "timed-out" ? 2 : 1);
  return null;
}

/**
 * A task for runWithHelperWords (tests): state.out gets words[0] + words[1], words[2], and how many
 * words the task was handed (the words it was sent through the port; the mailbox's through shared memory).
 */
export function wordsTask(w: Int32Array, state: { out: Int32Array }): null {
  state.out[0] = w[0]! + w[1]!;
  state.out[1] = w[2]!;
  state.out[2] = w.length;
  return null;
}

declare module "./tasks.ts" {
  interface TaskFns {
    "core.words": typeof wordsTask;
    "core.keptCount": typeof keptCountTask;
    "core.stall": typeof stallTask;
  }
}
