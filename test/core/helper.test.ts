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
  helperHandOffs,
  helperHas,
  helperReady,
  MAX_WORDS,
  onThisThread,
  runWithHelper,
  runWithHelperWords,
} from "../../src/core/helper.ts";
import { STALL_HOLDING } from "../../src/core/helper-kept.ts";
import { type HelperTaskName, task } from "../../src/core/tasks.ts";
import { taskFunction } from "../../src/core/worker.ts";
import { keptCount, slowToRead, spinWhile, waitForHelper } from "../helpers/helper-thread.ts";

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
    // (the caller's share lasts until the helper has claimed the task: one not claimed is taken back)
    const gate = new Int32Array(new SharedArrayBuffer(8));
    const ok = runWithHelper(task("core.stall", { gate, ms: 1, fail: true }), () => {
      spinWhile(gate, 1, 0);
      mine++;
    });
    expect(Atomics.load(gate, 1)).toBe(STALL_HOLDING);
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
    const late0 = helperHandOffs().get("core.stall")?.late ?? 0;
    const ok = runWithHelper(task("core.stall", { gate, ms: 10_000 }), () => {
      spinWhile(gate, 1, 0); // until the helper holds (it claimed the task)
      mine++;
    });
    expect(ok).toBe(false); // not done: the caller's share done, the helper's left to the caller
    expect(mine).toBe(1);
    expect(helperHandOffs().get("core.stall")?.late).toBe(late0 + 1);
    // the caller came back while the helper was still held (it waited HELPER_WAIT_MIN_MS at most)
    expect(HELPER_WAIT_MIN_MS).toBeLessThan(10_000);
    expect(Atomics.load(gate, 1)).toBe(STALL_HOLDING);
    expect(helperReady()).toBe(false);
    // the event loop runs meanwhile
    await new Promise((r) => setImmediate(r));
    expect(Atomics.load(gate, 1)).toBe(STALL_HOLDING);
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
    // (each share here lasts until the helper has written out[2], the words it was handed)
    const untilRun = () => {
      spinWhile(state.out, 2, 0);
      mine++;
    };
    // the first call sends the state (a message: the words as an Int32Array of their own)
    expect(await waitForHelper()).toBe(true);
    expect(runWithHelperWords("core.words", [2, 3, -7], untilRun, state)).toBe("helper");
    expect(Array.from(state.out)).toEqual([5, -7, 3]);
    // then the words go through the control array (the task sees the mailbox's MAX_WORDS words)
    for (const [a, b, c] of [
      [40, 2, 9],
      [-1, -2, 2 ** 31 - 1],
    ] as const) {
      state.out.fill(0);
      expect(await waitForHelper()).toBe(true);
      expect(runWithHelperWords("core.words", [a, b, c], untilRun, state)).toBe("helper");
      expect(Array.from(state.out)).toEqual([a + b, c, MAX_WORDS]);
    }
    expect(mine).toBe(3);
    // a task sent by message still runs after them (the state kept: sent once)
    expect(await waitForHelper()).toBe(true);
    expect(keptCount()).toBeGreaterThanOrEqual(1);
  });
  it("a helper that has not claimed its task: the caller takes it back and does it at once, the helper never runs it", async () => {
    expect(await waitForHelper()).toBe(true);
    // the helper reads this state's clone for tens of ms before it can claim the task that came with it
    const slow = slowToRead();
    const out = new Int32Array(new SharedArrayBuffer(4)).fill(-1);
    const before = helperHandOffs().get("core.keptCount")?.caller ?? 0;
    let mine = 0;
    let returned = 0;
    const ok = runWithHelper(
      task("core.keptCount", { out }),
      () => {
        mine++;
        returned = performance.now();
      },
      slow,
    );
    const back = performance.now() - returned;
    expect(ok).toBe(false);
    expect(mine).toBe(1);
    expect(helperHandOffs().get("core.keptCount")?.caller).toBe(before + 1);
    // no wait: back well within the bounded wait for a helper that did claim
    expect(back).toBeLessThan(HELPER_WAIT_MIN_MS / 2);
    // nothing left running: the helper can take the next task at once
    expect(helperReady()).toBe(true);
    // the next task (posted while the helper may still be reading the first message) is the one it
    // runs; the first is skipped; the state that came with it is kept (sent once)
    expect(helperHas(slow)).toBe(true);
    const n = keptCount(slow);
    expect(n).toBeGreaterThanOrEqual(1);
    expect(Atomics.load(out, 0)).toBe(-1);
  });

  it("a task sent as words after a taken-back message that carried its state: run with that state", async () => {
    expect(await waitForHelper()).toBe(true);
    const state = { out: new Int32Array(new SharedArrayBuffer(12)), ...slowToRead() };
    // the state goes with a message; the helper is still reading it when the caller takes the task back
    expect(runWithHelperWords("core.words", [1, 1, 1], () => {}, state)).not.toBe("helper");
    expect(helperReady()).toBe(true);
    expect(helperHas(state)).toBe(true);
    // then words through the control array: the helper needs the state of the message not yet read
    const by = runWithHelperWords("core.words", [20, 22, 5], () => spinWhile(state.out, 2, 0), state);
    expect(by).toBe("helper");
    expect(Array.from(state.out)).toEqual([42, 5, MAX_WORDS]);
    expect(await waitForHelper()).toBe(true);
  });
});
