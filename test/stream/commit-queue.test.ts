/**
 * The stream's offset commits: in batch order, each batch only once it and every earlier batch are
 * durable, the batches that became durable during a commit committed together by the next; a failed
 * delivery stops every later commit, never an earlier one.
 */
import { describe, expect, it } from "vitest";
import { CommitQueue } from "../../src/stream/commit-queue.ts";

/** A consumer whose commits are answered only when the test says so. */
function gatedCommits() {
  const calls: { records: number[]; answer: () => void; refuse: (e: Error) => void }[] = [];
  const commit = (records: readonly number[]) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ records: [...records], answer: resolve, refuse: reject });
    });
  return { calls, commit };
}

const settled = () => new Promise((r) => setImmediate(r));

describe("CommitQueue", () => {
  it("commits in batch order, the batches durable during a commit together in the next", async () => {
    const c = gatedCommits();
    const q = new CommitQueue<number>(c.commit);
    const [a, b, d, e] = [[1, 2], [3], [4, 5], [6]].map((r) => q.enter(r));
    const done: string[] = [];
    // b is durable before a: nothing is committed until a is
    const pb = q.durable(b!).then(() => done.push("b"));
    await settled();
    expect(c.calls).toHaveLength(0);
    const pa = q.durable(a!).then(() => done.push("a"));
    await settled();
    expect(c.calls.map((x) => x.records)).toEqual([[1, 2, 3]]);
    // d and e become durable while that commit is under way: one commit for both, after it
    const pd = q.durable(d!).then(() => done.push("d"));
    const pe = q.durable(e!).then(() => done.push("e"));
    await settled();
    expect(c.calls).toHaveLength(1);
    c.calls[0]!.answer();
    await Promise.all([pa, pb]);
    await settled();
    expect(c.calls.map((x) => x.records)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(done).toEqual(["a", "b"]);
    c.calls[1]!.answer();
    await Promise.all([pd, pe]);
    expect(done).toEqual(["a", "b", "d", "e"]);
  });

  it("a refused commit rejects the batches it carried; later ones are committed", async () => {
    const c = gatedCommits();
    const q = new CommitQueue<number>(c.commit);
    const a = q.enter([1]);
    const b = q.enter([2]);
    const pa = q.durable(a);
    await settled();
    c.calls[0]!.refuse(new Error("rebalance in progress"));
    await expect(pa).rejects.toThrow("rebalance in progress");
    expect(q.failure).toBeNull();
    const pb = q.durable(b);
    await settled();
    expect(c.calls.map((x) => x.records)).toEqual([[1], [2]]);
    c.calls[1]!.answer();
    await pb;
  });

  it("an abandoned batch stops its own and every later commit, not an earlier one", async () => {
    const c = gatedCommits();
    const q = new CommitQueue<number>(c.commit);
    const [a, b, d] = [[1], [2], [3]].map((r) => q.enter(r));
    const pd = q.durable(d!);
    q.abandon(b!, new Error("broker gone"));
    await expect(pd).rejects.toThrow("broker gone");
    expect(q.failure?.error).toEqual(new Error("broker gone"));
    const pa = q.durable(a!);
    await settled();
    expect(c.calls.map((x) => x.records)).toEqual([[1]]);
    c.calls[0]!.answer();
    await pa;
    // a batch entering after the failure is never committed
    await expect(q.durable(q.enter([4]))).rejects.toThrow("broker gone");
    expect(c.calls).toHaveLength(1);
  });
});
