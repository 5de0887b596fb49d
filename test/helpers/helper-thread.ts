/** Test helpers for the helper thread (src/core/helper.ts). */
import { helperReady, runWithHelper } from "../../src/core/helper.ts";
import { task } from "../../src/core/tasks.ts";

/** Wait (up to 10 s) for the helper thread to be up and idle; returns whether it is. */
export async function waitForHelper(): Promise<boolean> {
  for (let i = 0; i < 400 && !helperReady(); i++) await new Promise((r) => setTimeout(r, 25));
  return helperReady();
}

/**
 * How many task states the helper keeps, asked with a task (`state`, when given, goes with it); null
 * when the helper did not run the task.
 */
export function keptCount(state?: object): number | null {
  const out = new Int32Array(new SharedArrayBuffer(4)).fill(-1);
  const ok = runWithHelper(task("core.keptCount", { out }), () => {}, state);
  return ok ? out[0]! : null;
}
