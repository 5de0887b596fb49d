/**
 * Monitoring of what `netsec stream` scores (src/monitor/ does the work): every scored batch's counts
 * go into the champion's windows, as a batch of `POST /predict` does, so `netsec monitor`, the server's
 * `GET /monitoring` and its page show the stream's traffic.
 *
 * Counts are made next to the scoring (`count`, the CPU part) and kept pending; every `tickMs` (5 s by
 * default) and at stop, `tick` hands them on:
 * - when this process owns monitoring/ (`acquireMonitoring`: the first consumer on a NETSEC_HOME with
 *   no live server), into its in-memory windows, then the state is saved and the inboxes other
 *   processes left are added — the server's role;
 * - otherwise (a server, or another consumer, owns it), summed per model version into one inbox file
 *   for the owner to add. A consumer that is not the owner tries again at each tick, so when the owner
 *   stops, another consumer takes over.
 * Several consumers on one NETSEC_HOME therefore share one state per model, never writing it at once.
 * A server that starts while a consumer owns monitoring/ takes it over (`claimMonitoring`); the
 * consumer sees so at its next tick and sends from then on to the inbox (the counts of at most one
 * tick, saved by the consumer while the server read the state, can be lost in that hand-over).
 *
 * Each record is counted once, whichever member scored it: a rebalance hands a partition's records
 * that one member scored (and even committed: the client retries a refused commit after rejoining) to
 * another, which scores them again. The rows' offsets are claimed in the group's ledger
 * (offset-ledger.ts, shared by the members on this NETSEC_HOME) and only the rows claimed here are
 * counted. `count` only keeps the batch; every CLAIM_EVERY_MS (and at each tick) the batches kept
 * since are claimed together, one locked read and write of the ledger for them all, and counted:
 * claimed a batch at a time, the ledger's file cost about 1.8 ms of the stream thread per batch, more
 * than the rest of a small batch's delivery. Whichever member claims first still counts, as before;
 * a crash loses what a crash lost before (the counts since the last tick, 5 s), the ledger's claims
 * of those records being on disk as they were.
 */
import type { Prediction, Predictor } from "../bundle/predictor.ts";
import { homeLayout } from "../config/home.ts";
import type { Frame } from "../core/frame.ts";
import type { Logger } from "../core/log.ts";
import type { AlertSink } from "../monitor/alerts.ts";
import { addCounts, type WindowCounts } from "../monitor/counts.ts";
import {
  acquireMonitoring,
  Monitor,
  type MonitorSettings,
  monitoredName,
  monitoringOwner,
  releaseMonitoring,
  type ScoringModel,
  writeInbox,
} from "../monitor/monitor.ts";
import { OffsetLedger, type RowOffset } from "../monitor/offset-ledger.ts";
import { monitorReferenceFor } from "../monitor/reference.ts";
import { countBatch } from "../monitor/window-counter.ts";

/** How often the batches kept by `count` are claimed and counted (ms; also at each tick). */
const CLAIM_EVERY_MS = 250;

/** A scored batch kept by `count` until its rows are claimed. */
interface Unclaimed {
  predictor: Predictor;
  frame: Frame;
  prediction: Prediction;
  topic: string;
  rows: readonly RowOffset[];
}

interface Pending {
  model: ScoringModel;
  /** null: the bundle has no monitoring reference (the view then says "retrain"). */
  counts: WindowCounts | null;
}

export class StreamMonitoring {
  private monitor: Monitor;
  private readonly home: string;
  private readonly settings: Partial<MonitorSettings>;
  private readonly log: Logger;
  private readonly sink: AlertSink;
  private readonly tickMs: number;
  private pending: Pending[] = [];
  private owner = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly group: string;
  private readonly ledgers = new Map<string, OffsetLedger>();
  private unclaimed: Unclaimed[] = [];
  private claimTimer: NodeJS.Timeout | null = null;

  constructor(
    home: string,
    settings: Partial<MonitorSettings>,
    log: Logger,
    sink: AlertSink,
    /** group: the consumer group, whose members share one ledger of counted offsets per topic. */
    opts: { group: string; tickMs?: number },
  ) {
    this.home = home;
    this.settings = settings;
    this.log = log;
    this.sink = sink;
    this.tickMs = opts.tickMs ?? 5000;
    this.group = opts.group;
    this.monitor = new Monitor(home, settings, log, sink);
  }

  /** Whether this process owned monitoring/ at the last tick. */
  get owns(): boolean {
    return this.owner;
  }

  /**
   * Count a batch the predictor scored (its frame and prediction; `rows[i]` the record of frame row
   * i, all of `topic`): only the rows whose offsets no member counted before. Kept until the next
   * claim (CLAIM_EVERY_MS, or the next tick). Nothing for an in-memory model.
   */
  count(p: Predictor, frame: Frame, prediction: Prediction, topic: string, rows: readonly RowOffset[]): void {
    if (!p.dir) return;
    if (rows.length !== frame.nRows)
      throw new RangeError(`monitoring: ${rows.length} offsets for ${frame.nRows} scored rows`);
    this.unclaimed.push({ predictor: p, frame, prediction, topic, rows });
    if (this.claimTimer === null) {
      this.claimTimer = setTimeout(() => this.safeClaim(), CLAIM_EVERY_MS);
      this.claimTimer.unref();
    }
  }

  /** A claim whose failure is logged: monitoring never stops scoring. */
  private safeClaim(): void {
    try {
      this.claim();
    } catch (e) {
      this.log.error({ err: e }, "monitoring: claim failed");
    }
  }

  /**
   * Claim the kept batches' offsets, one ledger claim per topic for all of them (in batch order: a
   * row repeated in a later batch is that batch's loss, as when claimed one by one), and count the
   * rows claimed here into the pending counts.
   */
  private claim(): void {
    if (this.claimTimer !== null) clearTimeout(this.claimTimer);
    this.claimTimer = null;
    const batches = this.unclaimed;
    this.unclaimed = [];
    const byTopic = new Map<string, { batch: Unclaimed; ref: ReturnType<typeof monitorReferenceFor> }[]>();
    for (const batch of batches) {
      let ref: ReturnType<typeof monitorReferenceFor>;
      try {
        ref = monitorReferenceFor(batch.predictor.dir!);
      } catch (e) {
        // a damaged reference file costs this batch's monitoring, never its scoring
        this.log.error(
          { err: e, bundle: batch.predictor.dir },
          "monitoring: reference unreadable; batch not counted",
        );
        continue;
      }
      let list = byTopic.get(batch.topic);
      if (!list) byTopic.set(batch.topic, (list = []));
      list.push({ batch, ref });
    }
    for (const [topic, list] of byTopic) {
      let mine: Uint8Array;
      try {
        mine = this.ledger(topic).claim(
          list.length === 1 ? list[0]!.batch.rows : list.flatMap((x) => x.batch.rows),
        );
      } catch (e) {
        // a lock held past its wait (a member stuck mid-claim): these batches uncounted, the stream goes on
        this.log.error({ err: e }, "monitoring: offsets not claimed; batch not counted");
        continue;
      }
      let at = 0;
      for (const { batch, ref } of list) {
        this.countClaimed(batch, ref, mine.subarray(at, at + batch.rows.length));
        at += batch.rows.length;
      }
    }
  }

  /** Count the rows of `b` claimed here (`mine[i]` 1) into the pending counts. */
  private countClaimed(b: Unclaimed, ref: ReturnType<typeof monitorReferenceFor>, mine: Uint8Array): void {
    const { predictor: p, frame, prediction } = b;
    let kept = 0;
    for (let i = 0; i < mine.length; i++) kept += mine[i]!;
    if (kept === 0) return;
    let f = frame;
    let pred: Pick<Prediction, "isThreat" | "probability" | "labelNames"> = prediction;
    if (kept < frame.nRows) {
      // some rows were counted already (another member scored them before a rebalance)
      const take = new Uint32Array(kept);
      for (let i = 0, k = 0; i < mine.length; i++) if (mine[i]) take[k++] = i;
      f = frame.take(take);
      pred = {
        isThreat: Uint8Array.from(take, (i) => prediction.isThreat[i]!),
        probability: Float64Array.from(take, (i) => prediction.probability[i]!),
        labelNames: Array.from(take, (i) => prediction.labelNames[i]!),
      };
    }
    this.pending.push({
      model: {
        name: monitoredName(p.version, p.manifest.dataset),
        version: p.version,
        runId: p.manifest.run_id,
        dir: p.dir!,
      },
      counts: ref ? countBatch(ref, { frame: f, ...pred }) : null,
    });
  }

  private ledger(topic: string): OffsetLedger {
    let l = this.ledgers.get(topic);
    if (!l) {
      l = new OffsetLedger(homeLayout(this.home).streamOffsets(this.group, topic), this.log);
      this.ledgers.set(topic, l);
    }
    return l;
  }

  /** Hand the pending counts on: into the windows when this process owns monitoring/, else the inbox. */
  tick(now = new Date()): void {
    this.claim();
    const batches = this.pending;
    this.pending = [];
    const wasOwner = this.owner;
    this.owner = wasOwner ? monitoringOwner(this.home) === process.pid : acquireMonitoring(this.home);
    // becoming the owner: the state on disk is the truth (another process kept it meanwhile)
    if (this.owner && !wasOwner) this.monitor = new Monitor(this.home, this.settings, this.log, this.sink);
    if (this.owner !== wasOwner)
      this.log.info(
        { owner: this.owner },
        this.owner
          ? "monitoring: this stream consumer keeps the windows"
          : "monitoring: another process keeps the windows; counts go to its inbox",
      );
    if (this.owner) {
      for (const b of batches) this.monitor.record(b.model, b.counts, now);
      this.monitor.tick(now);
      return;
    }
    // one inbox file per model version and tick, however many batches
    const sums = new Map<string, Pending>();
    for (const b of batches) {
      if (!b.counts) continue;
      const k = `${b.model.name}\0${b.model.version}\0${b.model.runId}`;
      const s = sums.get(k);
      if (s?.counts) addCounts(s.counts, b.counts);
      else sums.set(k, { model: b.model, counts: b.counts });
    }
    for (const s of sums.values()) writeInbox(this.home, s.model, s.counts!);
  }

  start(): void {
    this.safeTick();
    this.timer = setInterval(() => this.safeTick(), this.tickMs);
    this.timer.unref();
  }

  /** A tick whose failure (a full disk, a damaged inbox folder) is logged: monitoring never stops scoring. */
  private safeTick(): void {
    try {
      this.tick();
    } catch (e) {
      this.log.error({ err: e }, "monitoring tick failed");
    }
  }

  /** Hand on what is pending, save, wait for alert deliveries, give monitoring/ up. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.tick();
    await this.monitor.shutdown();
    if (this.owner) releaseMonitoring(this.home);
    this.owner = false;
  }
}
