/**
 * The stream's store writes and publishing: one at a time, in order, the batches that queue behind a running write
 * carried together by the next; a batch resolves once the write holding it is done; a failure rejects
 * that write's batches and every later one. With `everyMs`, a write starts at least that long after
 * the one before started (the batches of the interval go together), and at once after a quiet spell.
 */
import { describe, expect, it, vi } from "vitest";
import { WriteQueue } from "../../src/stream/write-queue.ts";

/** A store whose writes finish only when the test says so. */
function gatedStore() {
  const writes: { items: number[]; finish: (added: number) => void; fail: (e: Error) => void }[] = [];
  let running = 0;
  let most = 0;
  const write = (items: readonly number[]) =>
    new Promise<number>((resolve, reject) => {
      running++;
      most = Math.max(most, running);
      writes.push({
        items: [...items],
        finish: (n) => {
          running--;
          resolve(n);
        },
        fail: (e) => {
          running--;
          reject(e);
        },
      });
    });
  return { writes, write, most: () => most };
}

const settled = () => new Promise((r) => setImmediate(r));

describe("WriteQueue", () => {
  it("writes the batches that queued behind a running write together, in order, one write at a time", async () => {
    const s = gatedStore();
    const q = new WriteQueue<number>(s.write);
    const done: string[] = [];
    const a = q.add([1, 2]).then((n) => done.push(`a${n}`));
    await settled();
    const b = q.add([3]).then((n) => done.push(`b${n}`));
    const c = q.add([4, 5]).then((n) => done.push(`c${n}`));
    await settled();
    // b and c wait for a's write, then go in one write
    expect(s.writes.map((w) => w.items)).toEqual([[1, 2]]);
    s.writes[0]!.finish(2);
    await a;
    await settled();
    expect(done).toEqual(["a2"]);
    expect(s.writes.map((w) => w.items)).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    // the write's count goes to its first batch: the sum stays the rows added
    s.writes[1]!.finish(3);
    await Promise.all([b, c]);
    expect(done).toEqual(["a2", "b3", "c0"]);
    expect(s.most()).toBe(1);
    // idle again: the next batch is written at once, alone
    const d = q.add([6]);
    await settled();
    expect(s.writes.at(-1)!.items).toEqual([6]);
    s.writes.at(-1)!.finish(1);
    expect(await d).toBe(1);
  });

  it("a failed write rejects its batches, those queued behind it and every later one", async () => {
    const s = gatedStore();
    const q = new WriteQueue<number>(s.write);
    const a = q.add([1]);
    await settled();
    const b = q.add([2]);
    s.writes[0]!.fail(new Error("disk full"));
    await expect(a).rejects.toThrow("disk full");
    await expect(b).rejects.toThrow("disk full");
    await expect(q.add([3])).rejects.toThrow("disk full");
    expect(s.writes).toHaveLength(1);
  });

  it("with everyMs, starts a write no sooner than everyMs after the last one started", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "performance"] });
    try {
      const s = gatedStore();
      const q = new WriteQueue<number>(s.write, { everyMs: 50 });
      const items = () => s.writes.map((w) => w.items);
      // the first batch: written at once
      const a = q.add([1]);
      await settled();
      expect(items()).toEqual([[1]]);
      await vi.advanceTimersByTimeAsync(10);
      s.writes[0]!.finish(1);
      expect(await a).toBe(1);
      // two batches 10 ms after that write started: they wait for the interval's end, then go together
      const b = q.add([2]);
      const c = q.add([3]);
      await vi.advanceTimersByTimeAsync(39);
      expect(items()).toEqual([[1]]);
      await vi.advanceTimersByTimeAsync(1);
      expect(items()).toEqual([[1], [2, 3]]);
      // a write that outlasts the interval: the batch queued behind it goes as soon as it is done
      const d = q.add([4]);
      await vi.advanceTimersByTimeAsync(70);
      expect(items()).toHaveLength(2);
      s.writes[1]!.finish(2);
      expect([await b, await c]).toEqual([2, 0]);
      await settled();
      expect(items()).toEqual([[1], [2, 3], [4]]);
      s.writes[2]!.finish(1);
      expect(await d).toBe(1);
      // after a quiet spell: at once
      await vi.advanceTimersByTimeAsync(200);
      const e = q.add([5]);
      await settled();
      expect(items().at(-1)).toEqual([5]);
      s.writes[3]!.finish(1);
      expect(await e).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
