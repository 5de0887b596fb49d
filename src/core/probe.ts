/**
 * A task that reports where it ran (the thread and whether it counts as a pool worker): for checking
 * that parallel work really spreads over worker threads (test/core/pool.test.ts), and for diagnosing a
 * deployment (`runTasks` of a few probes shows the threads a machine gives).
 */
import { threadId } from "node:worker_threads";
import { inWorker } from "./pool.ts";

export function where(): { threadId: number; inWorker: boolean } {
  return { threadId, inWorker: inWorker() };
}

declare module "./tasks.ts" {
  interface TaskFns {
    "core.where": typeof where;
  }
}
