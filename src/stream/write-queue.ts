/**
 * Writes that must go one at a time and in order (the stream's alert-store writes, its verdict
 * publishing), coalesced: the items of every batch that comes while a write runs go together into the
 * next write (a group commit).
 * - Store: a DuckDB write costs milliseconds whatever its size (a transaction, a staging table, the
 *   insert), tens of them on a busy 2-core machine: one write per batch fell behind at a few thousand
 *   records/s in small batches (a batch's store write waited 225 ms at the median behind earlier ones
 *   at 4,000 records/s, load 15), and the batches waiting on it held up scoring.
 * - Publishing: the idempotent producer sends one request at a time per broker anyway, so a request
 *   per small batch queued the batches' verdicts one round trip each.
 *
 * `everyMs` spaces the writes out: one starts at least that long after the one before started, so a
 * caught-up stream's small batches (one every few ms) are written a group per interval instead of
 * about one each, each write's fixed cost paid once for them all. A batch after a quiet spell is
 * written at once.
 *
 * A batch's promise resolves once its items are written (the write holding them is done). The count a
 * write returns goes to the first batch it carries (0 for the others): the sum over batches is exact.
 * A failed write rejects every batch it carries and every later one (as a chain of writes would): the
 * stream stops without committing them.
 */
export interface WriteQueueOptions {
  /** Least time from one write's start to the next one's (ms; default 0: as soon as the last is done). */
  everyMs?: number;
}

export class WriteQueue<T> {
  private readonly write: (items: readonly T[]) => Promise<number>;
  private readonly everyMs: number;
  private queued: { items: readonly T[]; resolve: (n: number) => void; reject: (e: unknown) => void }[] = [];
  private running = false;
  private failed: { error: unknown } | null = null;
  /** performance.now() when the last write started. */
  private lastStart = Number.NEGATIVE_INFINITY;

  constructor(write: (items: readonly T[]) => Promise<number>, opts: WriteQueueOptions = {}) {
    this.write = write;
    this.everyMs = opts.everyMs ?? 0;
  }

  /** Queue `items` for the next write; resolves with the rows added (see above) once they are written. */
  add(items: readonly T[]): Promise<number> {
    if (this.failed) return Promise.reject(this.failed.error);
    const p = new Promise<number>((resolve, reject) => {
      this.queued.push({ items, resolve, reject });
    });
    if (!this.running) void this.drain();
    return p;
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queued.length > 0) {
      const early = this.lastStart + this.everyMs - performance.now();
      // (the batches that come meanwhile join this write)
      if (early > 0) await new Promise((r) => setTimeout(r, early));
      const group = this.queued;
      this.queued = [];
      const items = group.length === 1 ? group[0]!.items : group.flatMap((g) => g.items);
      this.lastStart = performance.now();
      try {
        const added = await this.write(items);
        group.forEach((g, i) => {
          g.resolve(i === 0 ? added : 0);
        });
      } catch (e) {
        this.failed = { error: e };
        for (const g of [...group, ...this.queued]) g.reject(e);
        this.queued = [];
      }
    }
    this.running = false;
  }
}
