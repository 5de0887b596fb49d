/**
 * The task states the helper thread keeps between calls (helper-worker.ts), by id: a module of its
 * own so that a task can report on them.
 */
export const kept = new Map<number, object>();

/** A task: out[0] = how many states the helper keeps now (tests check that collected ones go). */
export function keptCountTask(a: { out: Int32Array }): null {
  a.out[0] = kept.size;
  return null;
}
