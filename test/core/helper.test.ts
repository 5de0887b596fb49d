/**
 * The helper thread's hand-off (core/helper.ts): task states sent once and dropped when collected,
 * and a failing task leaves the caller to do the helper's share (then a new helper starts).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { closeHelper, helperReady, runWithHelper } from "../../src/core/helper.ts";
import { type HelperTaskName, task } from "../../src/core/tasks.ts";
import { taskFunction } from "../../src/core/worker.ts";
import { keptCount, waitForHelper } from "../helpers/helper-thread.ts";

describe("the helper thread", () => {
  afterAll(() => closeHelper());

  it("keeps a task's state while the caller holds it, and drops it once collected", () => {
    const line = execFileSync(
      process.execPath,
      ["--expose-gc", join(import.meta.dirname, "fixtures/helper-gc.ts")],
      {
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    // kept: none, then A (sent once: the second call finds it), then A and B; A collected: only B
    expect(JSON.parse(line)).toEqual({ before: 0, withA: 1, again: 1, withB: 2, afterGc: 1 });
  });

  it("a task that fails: false, the caller's share done, and a new helper serves later calls", async () => {
    expect(await waitForHelper()).toBe(true);
    let mine = 0;
    // a gate not in shared memory: Atomics.wait throws on the helper
    const ok = runWithHelper(task("core.stall", { gate: new Int32Array(2), ms: 1 }), () => {
      mine++;
    });
    expect(ok).toBe(false);
    expect(mine).toBe(1);
    expect(await waitForHelper()).toBe(true);
    expect(keptCount()).toBe(0); // the helper ran the task: nothing kept
  });

  it("arguments that cannot be cloned: false, the caller's share done, the helper still idle and usable", async () => {
    expect(await waitForHelper()).toBe(true);
    let mine = 0;
    const args = { out: new Int32Array(new SharedArrayBuffer(4)), f: () => 1 };
    expect(runWithHelper(task("core.keptCount", args), () => mine++)).toBe(false);
    expect(mine).toBe(1);
    expect(helperReady()).toBe(true);
    expect(keptCount()).toBe(0); // the helper ran the task: nothing kept
  });

  it("a task name not in the registry: a compile error, and refused at run time by workers and the helper", async () => {
    // @ts-expect-error: not a registered task (a module path is not a task name)
    const unknown = task("core/helper-kept.ts", {});
    await expect(taskFunction(unknown.name)).rejects.toThrow(/not registered/);
    // a pool task is not a helper task either (the helper loads only HELPER_TASKS)
    // @ts-expect-error: "core.where" is a pool task
    const poolTask: HelperTaskName = "core.where";
    expect(await waitForHelper()).toBe(true);
    expect(runWithHelper({ name: poolTask, args: null } as never, () => {})).toBe(false);
    expect(runWithHelper(unknown as never, () => {})).toBe(false);
  });
});
