/**
 * The records fetched but not yet scored, and when the next batch is due:
 * - as soon as `batchSize` are buffered (a backlog: full batches, for throughput, whatever else is
 *   under way);
 * - else, while an earlier batch is still in the pipeline (taken and not yet `settled`: in run.ts,
 *   being scored or published), not at all: the records pile up into one larger batch that goes the
 *   moment the pipeline is free, so a batch's fixed costs (the model's set-up, a produce request, its
 *   delivery's bookkeeping) are paid once per trip through the pipeline rather than once per linger
 *   time — a batch grows with the load;
 * - else (the pipeline idle) once the oldest buffered record has waited `lingerMs` (a partial batch, so
 *   a record waits at most `lingerMs` for company when the stream is quiet).
 * Times are milliseconds from one monotonic clock (performance.now() in `run.ts`; the tests pass their
 * own).
 */
export class Batcher<T> {
  private readonly items: T[] = [];
  /** Each buffered item's arrival time, in `items`' order. */
  private readonly arrived: number[] = [];
  private readonly batchSize: number;
  private readonly lingerMs: number;
  /** Batches taken and not settled yet: in the pipeline. */
  private pending = 0;

  constructor(batchSize: number, lingerMs: number) {
    this.batchSize = batchSize;
    this.lingerMs = lingerMs;
  }

  get length(): number {
    return this.items.length;
  }

  /** Batches taken and not yet settled (in the pipeline). */
  get inPipeline(): number {
    return this.pending;
  }

  /**
   * Buffer `item`, arrived at `now`. Returns whether the time a batch is due just changed, so a wait
   * for it must look again: the first item of an empty buffer with the pipeline idle (due now in
   * `lingerMs`, where nothing was due before) or the item that fills a batch (due at once).
   */
  add(item: T, now: number): boolean {
    this.items.push(item);
    this.arrived.push(now);
    return (this.items.length === 1 && this.pending === 0) || this.items.length === this.batchSize;
  }

  /**
   * Milliseconds until a batch is due (0: now); Infinity when nothing is buffered, or only a partial
   * batch while an earlier batch is in the pipeline (it becomes due when that one settles).
   */
  dueIn(now: number): number {
    if (this.items.length === 0) return Number.POSITIVE_INFINITY;
    if (this.items.length >= this.batchSize) return 0;
    if (this.pending > 0) return Number.POSITIVE_INFINITY;
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

  /**
   * The next batch: the oldest `batchSize` items (fewer when fewer are buffered), in the pipeline from
   * now until `settled` is called for it (an empty batch is not).
   */
  take(): T[] {
    this.arrived.splice(0, this.batchSize);
    const batch = this.items.splice(0, this.batchSize);
    if (batch.length > 0) this.pending++;
    return batch;
  }

  /**
   * A batch taken earlier left the pipeline (run.ts: its verdicts published, or it failed). Returns whether the
   * time a batch is due just changed (the pipeline is idle now and records are buffered), so a wait
   * for it must look again.
   */
  settled(): boolean {
    if (this.pending === 0) throw new RangeError("Batcher.settled: no batch in the pipeline");
    this.pending--;
    return this.pending === 0 && this.items.length > 0;
  }
}
