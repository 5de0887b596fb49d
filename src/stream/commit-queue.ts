/**
 * The stream's offset commits, in batch order: a batch is committed once its verdicts are durable and
 * every earlier batch has been committed; the batches that became durable while a commit was under way
 * are committed together by the next one (the consumer commits the highest offset per partition of the
 * records it is given). One commit per batch, each waiting for the one before, let a round trip to the
 * group coordinator per batch hold up the batches behind it (run.ts delivers at most MAX_DELIVERING at
 * once, and scoring waits for a free place).
 *
 * Each batch takes its place when its delivery starts (`enter`, in batch order), says when its verdicts
 * are durable (`durable`, which resolves once a commit covering it is answered, or rejects with that
 * commit's error: refused in a rebalance, for the caller to log), or that its delivery failed
 * (`abandon`): then neither it nor any later batch is committed (their `durable` rejects with the
 * failure), as the stream stops; the earlier ones still are.
 */
export interface CommitTicket {
  readonly id: number;
}

interface Entry<R> extends CommitTicket {
  records: readonly R[];
  ready: boolean;
  done: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class CommitQueue<R> {
  private readonly commitRecords: (records: readonly R[]) => Promise<void>;
  /** Batches not committed yet, in batch order. */
  private entries: Entry<R>[] = [];
  private next = 0;
  private running = false;
  private failed: { error: unknown } | null = null;

  /** The first failed delivery's error, once one was abandoned (the stream is stopping). */
  get failure(): { error: unknown } | null {
    return this.failed;
  }

  constructor(commit: (records: readonly R[]) => Promise<void>) {
    this.commitRecords = commit;
  }

  /** Take the next place in the order for a batch of `records` (call in batch order). */
  enter(records: readonly R[]): CommitTicket {
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // (awaited by `durable`; a rejection before that must not count as unhandled)
    done.catch(() => {});
    const e: Entry<R> = { id: this.next++, records, ready: false, done, resolve, reject };
    if (this.failed) e.reject(this.failed.error);
    else this.entries.push(e);
    return e;
  }

  /** The batch's verdicts are durable: resolves once a commit covering it is answered. */
  durable(t: CommitTicket): Promise<void> {
    const e = t as Entry<R>;
    e.ready = true;
    void this.drain();
    return e.done;
  }

  /** The batch's delivery failed: it and every later batch will not be committed. */
  abandon(t: CommitTicket, error: unknown): void {
    this.failed ??= { error };
    const at = this.entries.findIndex((x) => x.id === t.id);
    if (at < 0) return;
    for (const e of this.entries.splice(at)) e.reject(error);
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    for (;;) {
      let n = 0;
      while (n < this.entries.length && this.entries[n]!.ready) n++;
      if (n === 0) break;
      const group = this.entries.splice(0, n);
      const records = n === 1 ? group[0]!.records : group.flatMap((e) => e.records);
      try {
        await this.commitRecords(records);
        for (const e of group) e.resolve();
      } catch (err) {
        for (const e of group) e.reject(err);
      }
    }
    this.running = false;
  }
}
