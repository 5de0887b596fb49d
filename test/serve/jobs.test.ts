/**
 * Training jobs in a process of their own (`src/serve/jobs.ts`): a job stopped while its runner is
 * inside a DuckDB call (a server shutting down) ends "cancelled", its process gone, and this process
 * lives on. A worker thread terminated there aborted the whole process ("terminate called after
 * throwing an instance of 'Napi::Error'"), so this file's own process is the test.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/log.ts";
import { JobManager } from "../../src/serve/jobs.ts";

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("a training job's process", { timeout: 60_000 }, () => {
  it("is stopped inside a DuckDB call without harm, its job cancelled, three times over", async () => {
    const jobs = new JobManager({
      runner: {
        module: fileURLToPath(new URL("./fixtures/duckdb-job.ts", import.meta.url)),
        export: "queryForever",
      },
      log: silentLogger,
    });
    for (let round = 0; round < 3; round++) {
      const job = jobs.start({});
      while (jobs.get(job.id)!.step !== "querying") await new Promise((r) => setTimeout(r, 20));
      const pid = Number(/pid (\d+)/.exec(jobs.get(job.id)!.message)![1]);
      expect(pid).not.toBe(process.pid);
      expect(alive(pid)).toBe(true);
      // (mid-query: each query takes tens of ms, back to back)
      await new Promise((r) => setTimeout(r, 30 + round * 17));
      await jobs.cancel();
      expect(jobs.get(job.id)!.state).toBe("cancelled");
      expect(jobs.active).toBeNull();
      expect(alive(pid)).toBe(false);
    }
  });
});
