/**
 * The worker pool: tasks spread over worker threads, which count as workers (nested parallel work runs
 * inline there); running tasks inline in this thread first (threads 1, a single task) must not make
 * this thread count as a worker, or every later parallel call would quietly run on one core.
 */
import { threadId } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { closePool, inWorker, runTasks } from "../../src/core/pool.ts";
import { task } from "../../src/core/tasks.ts";

afterAll(closePool);

const probes = (n: number) => Array.from({ length: n }, () => task("core.where", null));

describe("runTasks", () => {
  it("inline first, then on worker threads: the inline run does not mark this thread", async () => {
    const inline = await runTasks(probes(3), { threads: 1 });
    expect(inline.every((r) => r.threadId === threadId && !r.inWorker)).toBe(true);
    expect(inWorker()).toBe(false);
    const spread = await runTasks(probes(6), { threads: 2 });
    expect(spread.every((r) => r.threadId !== threadId && r.inWorker)).toBe(true);
    // a single task runs inline too, and still leaves this thread a non-worker
    const one = await runTasks(probes(1), { threads: 2 });
    expect(one[0]!.threadId).toBe(threadId);
    expect(inWorker()).toBe(false);
    const again = await runTasks(probes(4), { threads: 2 });
    expect(again.every((r) => r.threadId !== threadId)).toBe(true);
  });
});
