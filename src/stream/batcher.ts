/**
 * The records fetched but not yet scored, and when the next batch is due: as soon as `batchSize` are
 * buffered (a backlog: full batches, for throughput), else once the oldest buffered record has waited
 * `lingerMs` (caught up: a partial batch, so a record waits at most `lingerMs` for company). Times are
 * milliseconds from one monotonic clock (performance.now() in `run.ts`; the tests pass their own).
 */
export class Batcher<T> {
  private readonly items: T[] = [];
  /** Each buffered item's arrival time, in `items`' order. */
  private readonly arrived: number[] = [];
  private readonly batchSize: number;
  private readonly lingerMs: number;

  constructor(batchSize: number, lingerMs: number) {
    this.batchSize = batchSize;
    this.lingerMs = lingerMs;
  }

  get length(): number {
    return this.items.length;
  }

  /**
   * Buffer `item`, arrived at `now`. Returns whether the time a batch is due just changed, so a wait
   * for it must look again: the first item of an empty buffer (due now in `lingerMs`, where nothing
   * was due before) or the item that fills a batch (due at once).
   */
  add(item: T, now: number): boolean {
    this.items.push(item);
    this.arrived.push(now);
    return this.items.length === 1 || this.items.length === this.batchSize;
  }

  /** Milliseconds until a batch is due (0: now); Infinity when nothing is buffered. */
  dueIn(now: number): number {
    if (this.items.length === 0) return Number.POSITIVE_INFINITY;
    if (this.items.length >= this.batchSize) return 0;
    return Math.max(0, this.arrived[0]! + this.lingerMs - now);
  }

  /** Keep only the items `keep` accepts (in order); returns how many were dropped. */
  retain(keep: (item: T) => boolean): number {
    let n = 0;
    for (let i = 0; i < this.items.length; i++)
      if (keep(this.items[i]!)) {
        this.items[n] = this.items[i]!;
        this.arrived[n] = this.arrived[i]!;
        n++;
      }
    const dropped = this.items.length - n;
    this.items.length = n;
    this.arrived.length = n;
    return dropped;
  }

  /** When the oldest buffered item arrived (NaN when nothing is buffered): the next batch's first. */
  firstArrival(): number {
    return this.items.length === 0 ? Number.NaN : this.arrived[0]!;
  }

  /** The next batch: the oldest `batchSize` items (fewer when fewer are buffered). */
  take(): T[] {
    this.arrived.splice(0, this.batchSize);
    return this.items.splice(0, this.batchSize);
  }
}
