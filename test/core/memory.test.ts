/**
 * Memory let go of at a chosen moment: an unreachable SharedArrayBuffer (which cannot be detached) is
 * collected by collectGarbage, here and now, whether or not the process was started with --expose-gc;
 * a random forest fitted on a binned matrix keeps no reference to its bins; releaseUnreachable stops
 * the worker threads (the next parallel call gets new ones).
 */
import { setImmediate as tick } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { allocMatrix } from "../../src/core/frame.ts";
import { collectGarbage, releaseUnreachable } from "../../src/core/memory.ts";
import { closePool, runTasks } from "../../src/core/pool.ts";
import { task } from "../../src/core/tasks.ts";
import { RandomForestClassifier } from "../../src/models/random-forest.ts";
import { binnedMatrix } from "../../src/models/tree/binned-matrix.ts";

afterAll(closePool);

/** A WeakRef to a fresh shared buffer nothing else holds. */
function unreachableShared(bytes: number): WeakRef<SharedArrayBuffer> {
  const sab = new SharedArrayBuffer(bytes);
  new Uint8Array(sab).fill(1);
  return new WeakRef(sab);
}

describe("collectGarbage", () => {
  it("collects an unreachable SharedArrayBuffer now, and keeps a reachable one", async () => {
    const kept = new SharedArrayBuffer(1024);
    const keptRef = new WeakRef(kept);
    const gone = unreachableShared(8 << 20);
    // a WeakRef's target is held to the end of the job that made (or dereferenced) it
    await tick();
    collectGarbage();
    expect(gone.deref()).toBeUndefined();
    expect(keptRef.deref()).toBe(kept);
    // the global gc() stays hidden: the function is taken from a context of its own
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    // and a second call works as the first
    const again = unreachableShared(1 << 20);
    await tick();
    collectGarbage();
    expect(again.deref()).toBeUndefined();
  });

  it("a random forest fitted on binned rows (out of bag, two threads) holds none of their buffers", async () => {
    const n = 600;
    const X = allocMatrix(n, 3);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      X.data[i] = i % 17;
      X.data[n + i] = (i * 7) % 5;
      X.data[2 * n + i] = i / n;
      y[i] = i % 17 > 8 ? 1 : 0;
    }
    const model = new RandomForestClassifier({ nEstimators: 8, randomState: 3 });
    const refs = await (async () => {
      const B = binnedMatrix(X);
      const rep = await model.fitBinned!(B, y, 2, { outOfBag: true, threads: 2 });
      expect(rep.outOfBag).toBeDefined(); // the out-of-bag pass's shared sums were made
      return [new WeakRef(B.bins.buffer), new WeakRef(B.values.buffer)];
    })();
    await tick();
    collectGarbage();
    expect(refs.map((r) => r.deref())).toEqual([undefined, undefined]);
    expect(model.predictProba(X).length).toBe(2 * n); // the model itself is alive and whole
  });
});

describe("releaseUnreachable", () => {
  it("stops the worker threads: the next parallel call runs on new ones", async () => {
    const probes = () => Array.from({ length: 4 }, () => task("core.where", null));
    const before = new Set((await runTasks(probes(), { threads: 2 })).map((r) => r.threadId));
    await releaseUnreachable();
    const after = new Set((await runTasks(probes(), { threads: 2 })).map((r) => r.threadId));
    expect([...after].some((id) => before.has(id))).toBe(false);
  });
});
