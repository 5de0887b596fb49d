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

  it("keeps the arrival times of what a take leaves behind", () => {
    const b = new Batcher<string>(2, 10);
    b.add("a", 0);
    b.add("b", 1);
    b.add("c", 4);
    expect(b.take()).toEqual(["a", "b"]);
    expect(b.dueIn(6)).toBe(8); // "c" came at 4: due at 14
  });
});
