/**
 * Memory a long run lets go of at a moment it chooses, instead of whenever the garbage collector would.
 *
 * SharedArrayBuffers (the binned training rows, the random forest's out-of-bag sums) cannot be
 * detached: only a garbage collection frees them, in every thread that holds one. A training run
 * makes little JS garbage (its big data are typed arrays), so V8 may not run a full collection for
 * the rest of the run, and hundreds of MB of unreachable buffers stay resident while, say, the ONNX
 * child process runs beside it.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { closePool } from "./pool.ts";

let fullGc: (() => void) | null = null;

/**
 * V8's `gc()`: the global one when the process was started with --expose-gc, else one taken from a
 * fresh context with the flag set for that moment only (V8 installs `gc` in the contexts it creates
 * while the flag is on; this process's own global object never gets it).
 */
function gcFunction(): () => void {
  if (fullGc) return fullGc;
  const global = (globalThis as { gc?: () => void }).gc;
  if (typeof global === "function") fullGc = global;
  else {
    setFlagsFromString("--expose-gc");
    try {
      fullGc = runInNewContext("gc") as () => void;
    } finally {
      setFlagsFromString("--no-expose-gc");
    }
  }
  return fullGc;
}

/**
 * A full garbage collection of this thread, its freed buffers returned to the system before this
 * returns. V8 frees a collection's dead ArrayBuffers on a background thread after it (about 50 ms
 * for 300 MB); the second collection first completes that sweep, so what was unreachable is gone
 * from the RSS when this returns. Costs a full mark of the live JS heap (tens of ms for a run's).
 */
export function collectGarbage(): void {
  const gc = gcFunction();
  gc();
  gc();
}

/**
 * Everything unreachable freed now, in every thread: the worker threads are stopped (their isolates,
 * and with them their references to shared buffers, are disposed; they start again when next
 * needed), then this thread collects its garbage.
 */
export async function releaseUnreachable(): Promise<void> {
  await closePool();
  collectGarbage();
}
