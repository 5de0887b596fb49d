/**
 * Child-process entry for training jobs (`jobs.ts`). Its first IPC message names the runner module,
 * the export and the job's config; it calls the export as `fn(config, progress)` and sends back
 * `{type: "progress", step, progress, message}` messages, then one `{type: "result", result}` or
 * `{type: "error", error}`, and exits. A process of its own keeps the server's event loop free while the
 * pipeline works for minutes, and lets the server stop a job at any moment: a thread stopped inside a
 * DuckDB call (the pipeline reads its data through one) aborts the whole process it is in.
 */

import { setPriority } from "node:os";
import { pathToFileURL } from "node:url";
import { z } from "zod";

/** The training process's nice value (0 normal, 19 lowest). */
const TRAINING_NICE = 10;

const JobInputSchema = z.object({ module: z.string(), export: z.string(), config: z.unknown() });

/** Send to the server, if it still listens (a server gone means nobody is left to tell). */
function tell(message: Record<string, unknown>): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) resolve();
    else process.send(message, undefined, undefined, () => resolve());
  });
}

// Training yields the cores to serving: on Linux the nice value is per thread, and the threads this one
// starts (the pipeline's worker pool) inherit it, so a job uses idle CPU at full speed but the server's
// event loop and scoring threads come first while requests arrive. Where the OS refuses, nothing changes.
try {
  setPriority(0, TRAINING_NICE);
} catch {
  // e.g. a platform without per-thread priorities: train at normal priority
}

// a server that goes away (killed, crashed) takes its jobs with it
process.on("disconnect", () => process.exit(1));

function toUrl(m: string): string {
  return /^(file|data|node):/.test(m) ? m : pathToFileURL(m).href;
}

const first = await new Promise<unknown>((resolve) => process.once("message", resolve));
try {
  const input = JobInputSchema.parse(first);
  const mod = (await import(toUrl(input.module))) as Record<string, unknown>;
  const fn = mod[input.export];
  if (typeof fn !== "function") throw new Error(`${input.module} has no exported function ${input.export}`);
  const progress = (p: { step: string; progress: number; message?: string }): void => {
    void tell({
      type: "progress",
      step: String(p.step),
      progress: Number(p.progress),
      message: p.message ?? "",
    });
  };
  const result = await fn(input.config, progress);
  await tell({ type: "result", result: JSON.parse(JSON.stringify(result ?? null)) });
} catch (e) {
  const err = e as Error & { code?: unknown; status?: unknown; details?: unknown };
  await tell({
    type: "error",
    error: {
      code: typeof err.code === "string" ? err.code : "INTERNAL",
      status: typeof err.status === "number" ? err.status : 500,
      message: err?.message ?? String(e),
      details: err?.details && typeof err.details === "object" ? JSON.parse(JSON.stringify(err.details)) : {},
    },
  });
}
// (the pipeline's pools and timers must not keep a finished job's process alive)
process.exit(0);
