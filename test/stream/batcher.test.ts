/**
 * When a batch is due: full batches under a backlog, whatever is under way; when caught up, a partial
 * batch once its oldest record has waited the linger time, even while records keep arriving (a steady
 * trickle must not hold a record until a whole batch has filled) — but only while no earlier batch is
 * still in the pipeline: until that one settles, the records pile up into one batch that goes the
 * moment it does. Times are the test's own clock (milliseconds).
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
    // a full batch is due with another in the pipeline (a backlog goes in full batches, pipelined)
    expect(b.dueIn(0)).toBe(0);
    expect(b.take()).toEqual([3, 4, 5]);
    expect(b.length).toBe(1);
    expect(b.inPipeline).toBe(2);
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
    expect(b.settled()).toBe(false); // nothing buffered: no batch due
    // the next batch's clock starts with its own oldest record
    b.add(6, 6);
    b.add(7, 9);
    expect(b.dueIn(9)).toBe(2);
  });

  it("holds a partial batch while an earlier one is in the pipeline, and lets it go when that settles", () => {
    const b = new Batcher<number>(1000, 5);
    b.add(0, 0);
    expect(b.dueIn(5)).toBe(0);
    expect(b.take()).toEqual([0]);
    // one record a millisecond while batch [0] takes 12 ms to score, publish, store and commit
    for (let t = 1; t <= 12; t++) {
      expect(b.add(t, t)).toBe(false); // nothing can be due before the pipeline is free
      expect(b.dueIn(t)).toBe(Number.POSITIVE_INFINITY);
    }
    // settled at 12: record 1 has waited 11 ms, past the linger: due at once, with all 12
    expect(b.settled()).toBe(true);
    expect(b.dueIn(12)).toBe(0);
    expect(b.take()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // settled 1 ms after a record came: that record still waits out the rest of its linger (4 ms)
    b.add(13, 13);
    expect(b.settled()).toBe(true);
    expect(b.dueIn(14)).toBe(4);
  });

  it("lets a batch fill while the pipeline is busy: full is due at once, the rest waits", () => {
    const b = new Batcher<number>(4, 5);
    b.add(0, 0);
    b.take();
    for (let i = 1; i <= 3; i++) expect(b.add(i, i)).toBe(false);
    expect(b.add(4, 4)).toBe(true); // the fourth fills a batch
    expect(b.dueIn(4)).toBe(0);
    b.add(5, 5);
    expect(b.take()).toEqual([1, 2, 3, 4]);
    expect(b.inPipeline).toBe(2);
    // [5] waits for both batches ahead of it
    expect(b.dueIn(50)).toBe(Number.POSITIVE_INFINITY);
    expect(b.settled()).toBe(false);
    expect(b.dueIn(50)).toBe(Number.POSITIVE_INFINITY);
    expect(b.settled()).toBe(true);
    expect(b.dueIn(50)).toBe(0);
    expect(b.take()).toEqual([5]);
  });

  it("says when a batch's due time changed: the first record of an empty, idle buffer, and a full batch", () => {
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
    // two batches in the pipeline: a first record is not due before they settle
    expect(b.add(5, 10)).toBe(false);
    expect(b.settled()).toBe(false);
    expect(b.settled()).toBe(true);
    expect(b.dueIn(10)).toBe(5);
    b.take();
    b.settled();
    expect(b.add(6, 20)).toBe(true);
  });

  it("keeps the arrival times of what a take leaves behind", () => {
    const b = new Batcher<string>(2, 10);
    b.add("a", 0);
    b.add("b", 1);
    b.add("c", 4);
    expect(b.take()).toEqual(["a", "b"]);
    b.settled();
    expect(b.dueIn(6)).toBe(8); // "c" came at 4: due at 14
  });

  it("does not count an empty take, and refuses a settle with nothing in the pipeline", () => {
    const b = new Batcher<number>(2, 10);
    expect(b.take()).toEqual([]);
    expect(b.inPipeline).toBe(0);
    expect(() => b.settled()).toThrow(RangeError);
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
