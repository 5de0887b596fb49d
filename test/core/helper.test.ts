/**
 * The helper thread's hand-off (core/helper.ts): task states sent once and dropped when collected,
 * a failing task leaves the caller to do the helper's share (then a new helper starts), and a stuck
 * helper is not waited for.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  closeHelper,
  HELPER_WAIT_MIN_MS,
  helperReady,
  MAX_WORDS,
  onThisThread,
  runWithHelper,
  runWithHelperWords,
} from "../../src/core/helper.ts";
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

  it("onThisThread: no helper while it runs (nested too, and after a throw it is back)", async () => {
    expect(await waitForHelper()).toBe(true);
    const seen: boolean[] = [];
    const r = onThisThread(() => {
      seen.push(helperReady());
      onThisThread(() => seen.push(helperReady()));
      // still inside the outer call after the inner one ended
      seen.push(helperReady());
      return 7;
    });
    expect(r).toBe(7);
    expect(seen).toEqual([false, false, false]);
    expect(helperReady()).toBe(true);
    expect(() =>
      onThisThread(() => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(helperReady()).toBe(true);
  });

  it("a stuck helper: the caller stops waiting, and the helper gets no task until it is free again", async () => {
    expect(await waitForHelper()).toBe(true);
    // the helper is held until gate[0] is set (or 10 s pass); gate[1] says how the hold ended
    const gate = new Int32Array(new SharedArrayBuffer(8));
    let mine = 0;
    const ok = runWithHelper(task("core.stall", { gate, ms: 10_000 }), () => {
      mine++;
    });
    expect(ok).toBe(false); // not done: the caller's share done, the helper's left to the caller
    expect(mine).toBe(1);
    // the caller came back while the helper was still held (it waited HELPER_WAIT_MIN_MS at most)
    expect(HELPER_WAIT_MIN_MS).toBeLessThan(10_000);
    expect(Atomics.load(gate, 1)).toBe(0);
    expect(helperReady()).toBe(false);
    // the event loop runs meanwhile
    await new Promise((r) => setImmediate(r));
    expect(Atomics.load(gate, 1)).toBe(0);
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    // the same helper, free again, serves the next task
    expect(await waitForHelper()).toBe(true);
    expect(Atomics.load(gate, 1)).toBe(1);
    expect(keptCount()).not.toBeNull();
  });

  it("a task sent as words: through the port until the helper keeps its state, then through shared memory", async () => {
    const state = { out: new Int32Array(new SharedArrayBuffer(12)) };
    let mine = 0;
    // the first call sends the state (a message: the words as an Int32Array of their own)
    expect(await waitForHelper()).toBe(true);
    expect(runWithHelperWords("core.words", [2, 3, -7], () => mine++, state)).toBe(true);
    expect(Array.from(state.out)).toEqual([5, -7, 3]);
    // then the words go through the control array (the task sees the mailbox's MAX_WORDS words)
    for (const [a, b, c] of [
      [40, 2, 9],
      [-1, -2, 2 ** 31 - 1],
    ] as const) {
      expect(await waitForHelper()).toBe(true);
      expect(runWithHelperWords("core.words", [a, b, c], () => mine++, state)).toBe(true);
      expect(Array.from(state.out)).toEqual([a + b, c, MAX_WORDS]);
    }
    expect(mine).toBe(3);
    // a task sent by message still runs after them (the state kept: sent once)
    expect(await waitForHelper()).toBe(true);
    expect(keptCount()).toBeGreaterThanOrEqual(1);
  });
});
