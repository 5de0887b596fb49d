/**
 * A process-wide pool of worker threads (piscina) running the tasks of `src/core/tasks.ts`. Large inputs go
 * in SharedArrayBuffers (zero copy); results come back structured-cloned. Deterministic work splits
 * its randomness by task index (Rng.fork), so results do not depend on the thread count.
 */
import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import { closeHelper } from "./helper.ts";
import type { Task, TaskName, TaskResult } from "./tasks.ts";

let pool: Piscina | null = null;
let poolThreads = 0;

/** True inside a pool worker: nested parallel work must run inline. */
export function inWorker(): boolean {
  return process.env.NETSEC_IN_WORKER === "1";
}

export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

function getPool(threads: number): Piscina {
  if (pool && poolThreads >= threads) return pool;
  if (pool) void pool.destroy();
  poolThreads = threads;
  pool = new Piscina({
    filename: new URL("./worker.ts", import.meta.url).href,
    minThreads: 0,
    maxThreads: threads,
    idleTimeout: 2_000,
    // every task is CPU-bound: one at a time per worker
    concurrentTasksPerWorker: 1,
    // marks these threads as pool workers (inWorker): nested parallel work runs inline there
    env: { ...process.env, NETSEC_IN_WORKER: "1" },
  });
  return pool;
}

/**
 * One worker thread of its own, running the tasks of `src/core/tasks.ts` one at a time for its owner's
 * life (the stream's scoring thread, the alert store's writer). Marked as a pool worker (inWorker), so
 * it starts no pool or helper thread of its own: the work it is given runs on it alone.
 */
export function dedicatedThread(): Piscina {
  return new Piscina({
    filename: new URL("./worker.ts", import.meta.url).href,
    minThreads: 1,
    maxThreads: 1,
    idleTimeout: Number.POSITIVE_INFINITY,
    concurrentTasksPerWorker: 1,
    env: { ...process.env, NETSEC_IN_WORKER: "1" },
  });
}

/**
 * Run tasks on up to `threads` workers; results in task order. With threads <= 1, or inside a worker,
 * tasks run inline in this thread (same code path, same results).
 */
export async function runTasks<N extends TaskName>(
  tasks: readonly Task<N>[],
  opts: {
    threads?: number;
    /** After each task: the count done so far, and which task (its index in `tasks`) with its result. */
    onDone?: (done: number, total: number, index: number, result: TaskResult<N>) => void;
    signal?: AbortSignal;
  } = {},
): Promise<TaskResult<N>[]> {
  const threads = Math.min(opts.threads ?? defaultThreads(), tasks.length);
  let done = 0;
  if (threads <= 1 || inWorker()) {
    const { default: run } = await import("./worker.ts");
    const out: TaskResult<N>[] = [];
    for (const [i, t] of tasks.entries()) {
      opts.signal?.throwIfAborted();
      const r = (await run(t)) as TaskResult<N>;
      out.push(r);
      opts.onDone?.(++done, tasks.length, i, r);
    }
    return out;
  }
  const p = getPool(threads);
  return Promise.all(
    tasks.map(async (t, i) => {
      const r = (await p.run(t, opts.signal ? { signal: opts.signal } : {})) as TaskResult<N>;
      opts.onDone?.(++done, tasks.length, i, r);
      return r;
    }),
  );
}

/**
 * Start `threads` workers and have each run `warm` (a task whose work is loading its module) now,
 * without waiting: a caller that has serial work to do first (binning) overlaps the workers' start-up
 * with it. No-op where tasks run inline.
 */
export function warmPool(threads: number, warm: Task): void {
  if (threads <= 1 || inWorker()) return;
  const p = getPool(threads);
  for (let i = 0; i < threads; i++) {
    p.run(warm).catch(() => {
      // a failed warm-up only loses the head start; the real task reports any error
    });
  }
}

/** Stop the workers and the helper thread (CLI commands call this before exiting). */
export async function closePool(): Promise<void> {
  const p = pool;
  pool = null;
  poolThreads = 0;
  await closeHelper();
  if (p) await p.destroy();
}
