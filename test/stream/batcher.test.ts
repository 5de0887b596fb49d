/**
 * When a batch is due: full batches under a backlog; when caught up, a partial batch once its oldest
 * record has waited the linger time, even while records keep arriving (a steady trickle must not hold
 * a record until a whole batch has filled). Times are the test's own clock (milliseconds).
 */
import { describe, expect, it } from "vitest";
import { Batcher } from "../../src/stream/batcher.ts";

describe("Batcher", () => {
  it("is due at once with a full batch, and takes the oldest batchSize records", () => {
    const b = new Batcher<number>(3, 20);
    expect(b.dueIn(0)).toBe(Number.POSITIVE_INFINITY);
    for (let i = 0; i < 7; i++) b.add(i, 0);
    expect(b.dueIn(0)).toBe(0);
    expect(b.take()).toEqual([0, 1, 2]);
    expect(b.take()).toEqual([3, 4, 5]);
    expect(b.length).toBe(1);
  });

  it("bounds a record's wait by the linger time while records trickle in", () => {
    const b = new Batcher<number>(1000, 5);
    // one record a millisecond: the first is due 5 ms after it arrived, not when 1,000 have come
    for (let t = 0; t <= 4; t++) {
      b.add(t, t);
      expect(b.dueIn(t)).toBe(5 - t);
    }
    b.add(5, 5);
    expect(b.dueIn(5)).toBe(0);
    expect(b.take()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(b.dueIn(5)).toBe(Number.POSITIVE_INFINITY);
    // the next batch's clock starts with its own oldest record
    b.add(6, 6);
    b.add(7, 9);
    expect(b.dueIn(9)).toBe(2);
  });

  it("says when a batch's due time changed: the first record of an empty buffer, and a full batch", () => {
    const b = new Batcher<number>(3, 5);
    // empty → one record: due in 5 ms where nothing was due (a waiter must look again)
    expect(b.add(0, 0)).toBe(true);
    expect(b.add(1, 1)).toBe(false);
    // the third fills the batch: due at once
    expect(b.add(2, 2)).toBe(true);
    expect(b.add(3, 2)).toBe(false);
    b.take();
    // one record left behind: its due time did not change with the take, and a new one adds nothing
    expect(b.add(4, 3)).toBe(false);
    b.take();
    expect(b.length).toBe(0);
    expect(b.add(5, 10)).toBe(true);
    expect(b.dueIn(10)).toBe(5);
  });

  it("keeps the arrival times of what a take leaves behind", () => {
    const b = new Batcher<string>(2, 10);
    b.add("a", 0);
    b.add("b", 1);
    b.add("c", 4);
    expect(b.take()).toEqual(["a", "b"]);
    expect(b.dueIn(6)).toBe(8); // "c" came at 4: due at 14
  });

  it("retain drops the rejected items with their arrival times, keeping the others' order", () => {
    const b = new Batcher<number>(10, 20);
    for (let i = 0; i < 6; i++) b.add(i, i * 10);
    // the odd ones were another member's partition: the oldest kept (0, at t=0) still sets the linger
    expect(b.retain((x) => x % 2 === 0)).toBe(3);
    expect(b.length).toBe(3);
    expect(b.dueIn(15)).toBe(5);
    // now the oldest kept is 2, which arrived at t=20: due 20 ms later, at t=40
    expect(b.retain((x) => x !== 0)).toBe(1);
    expect(b.dueIn(25)).toBe(15);
    expect(b.take()).toEqual([2, 4]);
  });
});
