/**
 * Worker-thread entry for training jobs. It imports the runner module named in workerData, calls the
 * named export as `fn(config, progress)` and posts back `{type: "progress", step, progress, message}`
 * messages, then one `{type: "result", result}` or `{type: "error", error}`. Running in a worker keeps
 * the server's event loop free while the pipeline works for minutes.
 */

import { setPriority } from "node:os";
import { pathToFileURL } from "node:url";
import { parentPort, workerData } from "node:worker_threads";

/** The training thread's nice value (0 normal, 19 lowest). */
const TRAINING_NICE = 10;

interface WorkerInput {
  module: string;
  export: string;
  config: unknown;
}

const input = workerData as WorkerInput;
const port = parentPort!;

// Training yields the cores to serving: on Linux the nice value is per thread, and the threads this one
// starts (the pipeline's worker pool) inherit it, so a job uses idle CPU at full speed but the event
// loop and the scoring threads come first while requests arrive. Where the OS refuses, nothing changes.
try {
  setPriority(0, TRAINING_NICE);
} catch {
  // e.g. a platform without per-thread priorities: train at normal priority
}

function toUrl(m: string): string {
  return /^(file|data|node):/.test(m) ? m : pathToFileURL(m).href;
}

try {
  const mod = (await import(toUrl(input.module))) as Record<string, unknown>;
  const fn = mod[input.export];
  if (typeof fn !== "function") throw new Error(`${input.module} has no exported function ${input.export}`);
  const progress = (p: { step: string; progress: number; message?: string }): void => {
    port.postMessage({
      type: "progress",
      step: String(p.step),
      progress: Number(p.progress),
      message: p.message ?? "",
    });
  };
  const result = await fn(input.config, progress);
  port.postMessage({ type: "result", result: JSON.parse(JSON.stringify(result ?? null)) });
} catch (e) {
  const err = e as Error & { code?: unknown; status?: unknown; details?: unknown };
  port.postMessage({
    type: "error",
    error: {
      code: typeof err.code === "string" ? err.code : "INTERNAL",
      status: typeof err.status === "number" ? err.status : 500,
      message: err?.message ?? String(e),
      details: err?.details && typeof err.details === "object" ? JSON.parse(JSON.stringify(err.details)) : {},
    },
  });
}
