/** Test helpers for the helper thread (src/core/helper.ts). */
import { helperReady, runWithHelper } from "../../src/core/helper.ts";
import { task } from "../../src/core/tasks.ts";

/** Wait (up to 10 s) for the helper thread to be up and idle; returns whether it is. */
export async function waitForHelper(): Promise<boolean> {
  for (let i = 0; i < 400 && !helperReady(); i++) await new Promise((r) => setTimeout(r, 25));
  return helperReady();
}

/**
 * Spin (up to `ms`) while a[i] is `value`: a caller's share that lasts until the helper has claimed
 * its task and shown it (a caller whose share ends first takes the task back).
 */
export function spinWhile(a: Int32Array, i: number, value: number, ms = 5_000): void {
  const until = performance.now() + ms;
  while (Atomics.load(a, i) === value && performance.now() < until) Atomics.pause();
}

/**
 * How many task states the helper keeps, asked with a task (`state`, when given, goes with it); null
 * when the helper did not run the task.
 */
export function keptCount(state?: object): number | null {
  const out = new Int32Array(new SharedArrayBuffer(4)).fill(-1);
  const ok = runWithHelper(task("core.keptCount", { out }), () => spinWhile(out, 0, -1), state);
  return ok ? out[0]! : null;
}

/**
 * A task state whose clone keeps the helper busy reading its port for tens of milliseconds (300,000
 * small objects: about 40 ms to send, 90 to read, near idle): a helper that cannot claim a task in
 * that time, as one descheduled.
 */
export function slowToRead(): { pad: { i: number }[] } {
  return { pad: Array.from({ length: 300_000 }, (_, i) => ({ i })) };
}

/**
 * Wait for the helper to be idle, then have it run a task: it is awake (spinning for a next task,
 * HELPER_SPIN_MS) when this returns, so a hand-off made right after finds it there to claim it (a
 * sleeping helper woken on a busy machine may not claim it before the caller's share is done, and
 * the caller then does the whole). Returns whether the helper ran the task.
 */
export async function wakeHelper(): Promise<boolean> {
  return (await waitForHelper()) && keptCount() !== null;
}
