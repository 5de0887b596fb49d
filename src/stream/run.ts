/**
 * `netsec stream`: one member of a consumer group scoring records in batches.
 *
 * Per batch, in this order: decode and score (`score.ts`; on the scoring thread, `score-thread.ts`,
 * while this thread fetches and delivers earlier batches: up to MAX_SCORING batches are handed to it,
 * and handed on to delivery in batch order, none after one whose scoring failed); publish the verdicts (threats only unless
 * `all`) to the alerts topic and the malformed records, with their reason, to the dead-letter topic
 * (acks=all), and at the same time write the verdicts to the record store keyed by
 * topic/partition/offset (`store/alerts.ts`); once both are durable and every earlier batch is
 * committed, commit the batch's offsets. Up to MAX_DELIVERING full batches' records are in that I/O
 * at once, of them up to MAX_PUBLISHING not yet published (a batch publishes while earlier ones still
 * wait on the store or the commit, so a slow store write holds up commits, not alerts; publishing and
 * store writes each run one at a time, in batch order, the batches that queued behind one going
 * together into the next: `write-queue.ts`; commits likewise, the batches that became durable during
 * a commit committed together by the next: `commit-queue.ts`). A crash anywhere before the commit redelivers the batch: the store adds nothing for the records it already has (no second alert row), the alerts topic may carry
 * a verdict twice (its messages are keyed by topic/partition/offset for consumers to drop repeats).
 *
 * Batches (`batcher.ts`): full ones while there is a backlog; when caught up, a partial one once the
 * batches taken before it have been scored and their verdicts published (until then the records pile
 * up into it: batches grow with the load, and their fixed costs are paid once per trip through
 * scoring and publishing; the store writes and commits group batches on their own) and its oldest
 * record has waited `lingerMs`. Backpressure: records are fetched into memory while a batch
 * is scored, up to `maxInFlight` batches; then fetching pauses until the scorer catches up. Stopping (`stop()`, SIGTERM in the CLI) finishes
 * the batches being handled (scored or delivered), commits them, and leaves the group; records fetched but not yet handled are
 * not committed, so the group hands them to another member.
 *
 * Each delivered batch's counts feed the champion's monitoring windows (`monitoring.ts`), as a batch of
 * `POST /predict` does.
 *
 * The model is `holder.current()` read once per batch: a new champion (the holder polls the registry)
 * scores from the next batch on, and every verdict names the version that made it.
 */
import type { Predictor } from "../bundle/predictor.ts";
import { NetsecError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import type { ModelHolder } from "../serve/model-holder.ts";
import type { AlertStore, StreamAlert } from "../store/alerts.ts";
import { Batcher } from "./batcher.ts";
import { CommitQueue, type CommitTicket } from "./commit-queue.ts";
import type { FastFrame } from "./fast-frame.ts";
import { type InRecord, type OutMessage, StreamConsumer, StreamProducer } from "./kafka.ts";
import type { StreamMetrics } from "./metrics.ts";
import type { StreamMonitoring } from "./monitoring.ts";
import type { Decoded } from "./records.ts";
import { recordKey, releaseTexts, scoreBatchOn } from "./score.ts";
import type { ScoringThread } from "./score-thread.ts";
import { VerdictJson } from "./verdict-json.ts";
import { WriteQueue } from "./write-queue.ts";

export interface StreamSettings {
  brokers: readonly string[];
  topic: string;
  group: string;
  /** Where verdicts go; null: store only. */
  alertsTopic: string | null;
  deadLetterTopic: string;
  /** Publish and store every verdict, not only threats. */
  all: boolean;
  batchSize: number;
  /** How long a partial batch waits for more records (ms). */
  lingerMs: number;
  maxInFlight: number;
  clientId: string;
  sessionTimeoutMs?: number;
}

export interface StreamDeps {
  holder: ModelHolder;
  decode: (text: string) => Decoded;
  /** The whole-batch fast path of the record format (`fast-frame.ts`); the general path without. */
  fast?: FastFrame;
  /**
   * The scoring thread (`score-thread.ts`): batches are scanned and scored there while this thread
   * runs the Kafka client and delivers earlier batches. The stream closes it when it stops. Without
   * (or for an in-memory model): scored on this thread.
   */
  scoring?: ScoringThread | null;
  alerts: AlertStore;
  /**
   * `n` records in the stream's format that `p` can score (`sampleRecords`): scored, and thrown away,
   * before the member joins its group, so its first batches run compiled code. Without: not warmed.
   */
  sample?: (p: Predictor, n: number) => readonly string[];
  log: Logger;
  metrics: StreamMetrics;
  /** The champion's monitoring windows, fed every delivered batch (null: NETSEC_MONITOR=off). */
  monitoring?: StreamMonitoring | null;
  /** Called after each committed batch (progress lines). */
  onBatch?: (b: { records: number; verdicts: number; dead: number; model: string }) => void;
}

export interface StreamTotals {
  records: number;
  scored: number;
  threats: number;
  published: number;
  stored: number;
  deadLetters: number;
  batches: number;
}

export interface StreamHandle {
  /** Finish the current batch, commit, leave the group; resolves with the totals. */
  stop(): Promise<StreamTotals>;
  /** Resolves when the member stops (after `stop()` or on a fatal error, which it rejects with). */
  done: Promise<StreamTotals>;
}

/** Backoff between attempts to reach an unreachable broker (ms): doubling from the first to the last. */
const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 5000;

/**
 * Run `fn` until it succeeds: a broker that is down (restarting, a network split) is waited for, never
 * a reason to stop scoring. Gives up only when the member is stopping (the batch is then not
 * committed: the group reads it again). Errors other than an unreachable broker are thrown at once.
 */
async function untilDone<T>(
  fn: () => Promise<T>,
  doing: string,
  log: Logger,
  stopping: () => boolean,
): Promise<T> {
  let wait = RETRY_FIRST_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof NetsecError) || e.code !== "SERVICE_UNAVAILABLE" || stopping()) throw e;
      log.warn({ err: e, attempt }, `${doing} failed; retrying in ${wait} ms`);
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(RETRY_MAX_MS, wait * 2);
    }
  }
}

/**
 * Records scored and not yet published, in full batches: MAX_PUBLISHING × the batch size. This is the
 * record-to-alert path's only room after scoring: a batch is handed to delivery once the verdicts of
 * the batches before it leave this bound, whatever their store writes and commits are doing.
 */
const MAX_PUBLISHING = 4;

/**
 * Records in delivery at once (published or not, not yet stored and committed), in full batches:
 * MAX_DELIVERING × the batch size. Larger than MAX_PUBLISHING so that a slow store write (DuckDB's WAL
 * checkpoint, a busy file) holds up commits, not the alerts: at 50,000 records/s 12 batches of 8,000
 * are ≈ 1.9 s of records, several of the store's slowest writes. Their records stay uncommitted until
 * then, so this bounds what a crash makes the group read again (with the fetched batches of
 * `maxInFlight`) and the memory held for them (the records, their verdicts and frames: an estimated
 * 1–2 kB a record, 100–200 MB at the bound with the default batch of 8,000). Small batches (a consumer
 * caught up) may be more in number, up to MAX_DELIVERING_BATCHES: a bound by batches made scoring wait
 * for the store and the commits of a few batches of tens of records each.
 */
const MAX_DELIVERING = 12;
const MAX_DELIVERING_BATCHES = 256;

/**
 * Least time between the starts of two alert-store writes (ms). A write's fixed cost (DuckDB: a
 * transaction, staging tables, the insert; about 5 ms of CPU for 100 alerts, 11 for 2,000) paid per
 * small batch of a caught-up stream (one every few ms) was the largest part of its CPU per record:
 * written a group per interval, it is paid 10 times a second at most (at 10,000 records/s in batches
 * of 100: 15–20 µs of CPU a record at 100 ms, 20–25 at 50 ms, 26–32 at 25 ms; bench/stream-delivery.ts).
 * The alerts topic does not wait for the store (publishing runs beside it); the commit waits for
 * both, so at most this much longer.
 */
const STORE_EVERY_MS = 100;

/**
 * Batches at the scoring thread at once: the one it scores and the next, ready for it the moment it
 * is done (their records are fetched and uncommitted, as the delivering ones are).
 */
const MAX_SCORING = 2;

/** How often the lag gauge is refreshed (ms). */
const LAG_EVERY_MS = 5000;

export async function startStream(s: StreamSettings, d: StreamDeps): Promise<StreamHandle> {
  const totals: StreamTotals = {
    records: 0,
    scored: 0,
    threats: 0,
    published: 0,
    stored: 0,
    deadLetters: 0,
    batches: 0,
  };
  if (!d.holder.current()) await d.holder.refresh(true);
  if (!d.holder.current())
    throw new NetsecError(
      "MODEL_NOT_FOUND",
      `no model to score with: ${d.holder.error ?? "the registry has no champion"}; train one first (netsec train)`,
      {},
    );
  const producer = new StreamProducer(s.brokers, `${s.clientId}-producer`);
  // ready to publish and to store before joining the group: cold, the first batch waited 0.3–0.4 s
  // for each (the producer's id, the topics' leaders, the store file and its table), and every record
  // fetched meanwhile with it; a broker or store that cannot be used stops the member here. The
  // scorer warms meanwhile (this thread's CPU while those wait on the broker and the store's thread).
  try {
    const ready = Promise.all([
      // (the dead-letter topic's first send, rare, may pay for itself)
      producer.ready(s.alertsTopic !== null ? [s.alertsTopic] : []),
      d.alerts.open(),
    ]);
    // (its failure is awaited below, after the warm-up)
    ready.catch(() => {});
    await warmScoring(d);
    await ready;
  } catch (e) {
    await producer.close();
    await d.alerts.close().catch(() => {});
    throw e;
  }
  const consumer = new StreamConsumer({
    brokers: s.brokers,
    group: s.group,
    topic: s.topic,
    clientId: s.clientId,
    ...(s.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: s.sessionTimeoutMs } : {}),
  });
  const buffer = new Batcher<InRecord>(s.batchSize, s.lingerMs);
  const cap = s.batchSize * s.maxInFlight;
  let paused = false;
  let stopping = false;
  let fatal: Error | null = null;
  /** The first failure of a batch's scoring or delivery: the loop stops at its next turn. */
  const failure: { error?: unknown } = {};
  let wake: (() => void) | null = null;
  const poke = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  await consumer.start(
    (r) => {
      const dueChanged = buffer.add(r, performance.now());
      if (!paused && buffer.length >= cap) {
        paused = true;
        consumer.pause();
      }
      if (dueChanged) poke();
    },
    (e) => {
      d.log.error({ err: e }, "Kafka consumer error");
    },
    // a rebalance took partitions away: their buffered records are the new owner's to score
    () => {
      const dropped = buffer.retain((r) => consumer.isCurrent(r));
      if (dropped > 0) d.log.info({ dropped }, "partitions reassigned; their buffered records dropped");
      if (paused && buffer.length <= cap - s.batchSize) {
        paused = false;
        consumer.resume();
      }
    },
  );
  d.log.info(
    { topic: s.topic, group: s.group, model: d.holder.current()?.version },
    "stream consumer joined",
  );

  d.monitoring?.start();
  const lagTimer = setInterval(() => {
    consumer
      .lag()
      .then((n) => d.metrics.lag.set({}, n))
      .catch(() => {});
  }, LAG_EVERY_MS);
  lagTimer.unref();

  /**
   * Wait until a batch is due (full, or the pipeline is free and its oldest record has lingered), or a
   * stop. A record's arrival wakes the wait when it changes when a batch is due: the first record of
   * an empty buffer (else it waited for the 100 ms look at an empty buffer, not `lingerMs`: p50 58 ms
   * at 1,000 records/s) and the record that fills a batch; so does the last batch in the pipeline
   * settling (`settle`).
   */
  const nextBatch = async (): Promise<{ batch: InRecord[]; arrived: number }> => {
    for (let due = buffer.dueIn(performance.now()); !stopping && !("error" in failure) && due > 0; ) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(poke, Math.min(due, 100)).unref();
      });
      due = buffer.dueIn(performance.now());
    }
    if (stopping || "error" in failure) return { batch: [], arrived: Number.NaN };
    const arrived = buffer.firstArrival();
    const batch = buffer.take();
    // room for another batch again: fetch (with one batch in flight, once the buffer is empty)
    if (paused && buffer.length <= cap - s.batchSize) {
      paused = false;
      consumer.resume();
    }
    d.metrics.inFlight.set({}, Math.ceil(buffer.length / s.batchSize));
    return { batch, arrived };
  };

  /**
   * Decode and score a batch (the CPU part: on the scoring thread when there is one); `arrived`: when
   * its first record came.
   */
  const score = async (batch: InRecord[], arrived: number) => {
    const t0 = performance.now();
    const predictor: Predictor = d.holder.current()!;
    const scored = await scoreBatchOn(d.scoring ?? null, batch, d.decode, predictor, d.fast);
    releaseTexts(batch, scored.dead);
    return { batch, arrived, t0, t1: performance.now(), predictor, ...scored };
  };
  type Scored = Awaited<ReturnType<typeof score>>;

  /** Verdicts' JSON texts for the alerts topic. */
  const verdictJson = new VerdictJson();

  /**
   * Store writes: one at a time, in batch order, the batches queued behind one written together, and
   * at most one started every STORE_EVERY_MS.
   */
  const store = new WriteQueue<StreamAlert>((alerts) => d.alerts.write(alerts), { everyMs: STORE_EVERY_MS });
  /** Publishing, likewise: the batches queued behind a send go in the next one. */
  const publisher = new WriteQueue<OutMessage>((messages) =>
    untilDone(
      () => producer.send(messages),
      "publishing verdicts",
      d.log,
      () => stopping,
    ).then(() => messages.length),
  );

  /**
   * Offset commits: in batch order, the batches that became durable during a commit committed
   * together by the next (`commit-queue.ts`).
   */
  const commits = new CommitQueue<InRecord>((records) => consumer.commit(records));

  /**
   * Publish and store (the I/O part), then commit and count: batches publish and store while earlier
   * ones still wait on the broker or the store, and their offsets are committed in order, each only
   * after its own verdicts and every earlier batch's are durable. Called in batch order; `onPublished`
   * is called once the batch's verdicts are on the alerts topic or their publishing failed.
   */
  const deliver = async (b: Scored, onPublished: () => void): Promise<void> => {
    const ticket = commits.enter(b.batch);
    try {
      await deliverWith(ticket, b, onPublished);
    } catch (e) {
      // whatever failed (no-op once the batch is committed): no later batch may be committed
      commits.abandon(ticket, e);
      throw e;
    }
  };

  const deliverWith = async (
    ticket: CommitTicket,
    { batch, arrived, t0, t1, predictor, verdicts, dead, scored }: Scored,
    onPublished: () => void,
  ): Promise<void> => {
    const kept = s.all ? verdicts : verdicts.filter((v) => v.threat);
    // each on the partition numbered as its record's, modulo the topic's count: a record's verdict
    // lands where a redelivery's does, in its partition's order, and the client skips hashing keys
    const out: OutMessage[] = [];
    if (s.alertsTopic !== null)
      for (const v of kept) {
        const key = v.key;
        out.push({ topic: s.alertsTopic, key, value: verdictJson.text(v, key), partition: v.partition });
      }
    for (const x of dead)
      out.push({
        topic: s.deadLetterTopic,
        partition: x.record.partition,
        key: recordKey(x.record),
        value: JSON.stringify({
          source: recordKey(x.record),
          record_key: x.record.key,
          reason: x.reason,
          value: x.record.value,
        }),
        headers: { "netsec-reason": x.reason.slice(0, 500), "netsec-source": recordKey(x.record) },
      });
    const scoredAt = new Date().toISOString();
    // publishing and storing wait on different servers (the broker, DuckDB's threads or MongoDB): run
    // them together; the offsets are committed once both are durable
    const writing = store.add(
      kept.map((v) => ({
        topic: v.topic,
        partition: v.partition,
        offset: v.offset,
        recordKey: v.recordKey,
        model: v.model,
        label: v.label,
        labelName: v.labelName,
        threat: v.threat,
        probability: v.probability,
        scoredAt,
      })),
    );
    // (when each became durable: the batch's stage timings below)
    let publishedAt = Number.NaN;
    let storedAt = Number.NaN;
    const [published, written] = await Promise.allSettled([
      publisher
        .add(out)
        .then(() => {
          publishedAt = performance.now();
        })
        .finally(onPublished),
      writing.then((n) => {
        storedAt = performance.now();
        return n;
      }),
    ]);
    // (settled both before throwing: a failure must not close the clients under the other's request)
    if (published.status === "rejected" || written.status === "rejected") {
      const failure =
        published.status === "rejected" ? published.reason : (written as PromiseRejectedResult).reason;
      // neither this batch nor any later one is committed: the group reads them again
      commits.abandon(ticket, failure);
      throw failure;
    }
    const stored = written.value;
    try {
      await commits.durable(ticket);
    } catch (e) {
      // an earlier batch's delivery failed: the stream stops, this batch uncommitted
      if (commits.failure !== null) throw commits.failure.error;
      // the partition moved to another member (rebalance): it reads these records again, and the
      // store's keys keep that from adding rows
      d.metrics.commitFailures.inc();
      d.log.warn(
        { err: e },
        "offset commit refused; the batch will be read again by the partition's new owner",
      );
    }
    // counted once its verdicts are published and stored, committed or not: a record scored again
    // after a rebalance is counted once, by whichever member claims its offset first (monitoring.ts)
    if (scored) d.monitoring?.count(predictor, scored.frame, scored.prediction, s.topic, verdicts);
    const now = Date.now();
    const waited = new Float64Array(batch.length);
    for (let i = 0; i < batch.length; i++) waited[i] = Math.max(0, now - batch[i]!.timestamp) / 1000;
    d.metrics.recordToAlertSeconds.observeAll({}, waited);
    const committedAt = performance.now();
    d.metrics.batchSeconds.observe({}, (committedAt - t0) / 1000);
    observeStages(d, batch[0]!, { arrived, t0, t1, publishedAt, storedAt, committedAt }, batch.length);
    d.metrics.records.inc({ outcome: "scored" }, verdicts.length);
    if (dead.length) {
      d.metrics.records.inc({ outcome: "dead_letter" }, dead.length);
      d.metrics.deadLetters.inc({}, dead.length);
    }
    const threats = verdicts.reduce((n, v) => n + (v.threat ? 1 : 0), 0);
    if (s.alertsTopic !== null) {
      d.metrics.alerts.inc({ threat: "true" }, kept.filter((v) => v.threat).length);
      if (s.all) d.metrics.alerts.inc({ threat: "false" }, kept.length - threats);
    }
    d.metrics.tick(performance.now(), batch.length);
    d.metrics.model.reset();
    d.metrics.model.set({ version: predictor.version }, 1);
    totals.records += batch.length;
    totals.scored += verdicts.length;
    totals.threats += threats;
    totals.published += s.alertsTopic !== null ? kept.length : 0;
    totals.stored += stored;
    totals.deadLetters += dead.length;
    totals.batches++;
    d.onBatch?.({
      records: batch.length,
      verdicts: verdicts.length,
      dead: dead.length,
      model: predictor.version,
    });
  };

  /** Deliveries not yet stored and committed, oldest first, and their records. */
  const delivering: { done: Promise<void>; records: number }[] = [];
  let deliveringRecords = 0;
  /** Deliveries whose verdicts are not known published yet, oldest first, and their records. */
  const publishing: { published: Promise<void>; records: number }[] = [];
  let publishingRecords = 0;
  /** Batches handed to scoring and not yet to delivery; the loop waits while MAX_SCORING are. */
  let scoring = 0;
  let scoredOne: (() => void) | null = null;
  const wakeLoop = (): void => {
    const w = scoredOne;
    scoredOne = null;
    w?.();
  };
  /**
   * The settle of one batch, for the batcher (`batcher.ts`) and the publishing bound: `settle` is
   * called when its verdicts are published, or it failed; the first call counts (and resolves
   * `settled`). A partial batch held for it may be due then.
   */
  const settlerOf = (): { settle: () => void; settled: Promise<void> } => {
    let settled = false;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    return {
      settle: () => {
        if (settled) return;
        settled = true;
        resolve();
        if (buffer.settled()) poke();
      },
      settled: promise,
    };
  };
  const fail = (error: unknown): void => {
    if (!("error" in failure)) failure.error = error;
    wakeLoop();
    poke();
  };
  /**
   * Hands scored batches to delivery, one at a time in batch order: batch k is delivered once it is
   * scored and batch k-1 was handed over. After a failure (a batch's scoring), no later batch is
   * handed over, so none is committed past a batch without verdicts.
   */
  let handOver: Promise<void> = Promise.resolve();
  const loop = async (): Promise<StreamTotals> => {
    try {
      // under a backlog (full batches; a partial one waits until the batches before it are
      // published, batcher.ts),
      // scoring batch k+1 (on the scoring thread) overlaps delivering batches k, k-1, … (their
      // publish, store and commit are mostly waiting on the broker and the store): at most
      // MAX_PUBLISHING full batches' records not yet published, and MAX_DELIVERING full batches'
      // records (and MAX_DELIVERING_BATCHES batches) not yet stored and committed; this thread
      // meanwhile fetches the next batches; commits stay in order
      for (;;) {
        if ("error" in failure) throw failure.error;
        const { batch, arrived } = await nextBatch();
        if (batch.length === 0) break;
        while (scoring >= MAX_SCORING && !("error" in failure))
          await new Promise<void>((resolve) => {
            scoredOne = resolve;
          });
        if ("error" in failure) throw failure.error;
        scoring++;
        // the batch is in the pipeline (batcher.ts) until its verdicts are published: the alerts
        // are what a record waits for; the store and the commits group batches on their own
        const { settle, settled } = settlerOf();
        const scored = score(batch, arrived);
        // (its failure is the hand-over's, below)
        scored.catch(() => {});
        handOver = handOver.then(async () => {
          let b: Scored;
          try {
            b = await scored;
          } catch (e) {
            settle();
            throw e;
          } finally {
            scoring--;
            wakeLoop();
          }
          // the alerts' room first: the batches before it published (or failed)
          while (
            publishing.length >= MAX_DELIVERING_BATCHES ||
            (publishing.length > 0 && publishingRecords + batch.length > MAX_PUBLISHING * s.batchSize)
          ) {
            const oldest = publishing.shift()!;
            publishingRecords -= oldest.records;
            await oldest.published;
          }
          // then the store's and the commits' (larger) room
          while (
            delivering.length >= MAX_DELIVERING_BATCHES ||
            (delivering.length > 0 && deliveringRecords + batch.length > MAX_DELIVERING * s.batchSize)
          ) {
            const oldest = delivering.shift()!;
            deliveringRecords -= oldest.records;
            await oldest.done;
          }
          const done = deliver(b, settle);
          // (a delivery that failed before publishing)
          done.then(settle, settle);
          // a failure surfaces at the loop's next turn, not as an unhandled rejection meanwhile
          done.catch(fail);
          delivering.push({ done, records: batch.length });
          deliveringRecords += batch.length;
          publishing.push({ published: settled, records: batch.length });
          publishingRecords += batch.length;
        });
        handOver.catch(fail);
      }
      // stopping: the batches being scored are delivered and committed before the member leaves
      await handOver;
      await Promise.all(delivering.map((x) => x.done));
      if ("error" in failure) throw failure.error;
    } catch (e) {
      fatal = e as Error;
    } finally {
      // every delivery settled before the clients close under its requests
      await handOver.catch(() => {});
      await Promise.allSettled(delivering.map((x) => x.done));
      await d.scoring?.close().catch((e) => d.log.error({ err: e }, "scoring thread: close failed"));
      clearInterval(lagTimer);
      await consumer.close();
      await producer.close();
      await d.alerts.close().catch(() => {});
      await d.monitoring?.stop().catch((e) => d.log.error({ err: e }, "monitoring: final save failed"));
    }
    if (fatal) throw fatal;
    d.log.info({ ...totals }, "stream consumer left the group");
    return totals;
  };
  const done = loop();
  // an unhandled rejection must not be raised before the caller awaits `done`
  done.catch(() => {});
  return {
    done,
    async stop() {
      stopping = true;
      poke();
      return done;
    },
  };
}

/**
 * Sample batches scored to warm the scorer, records each: full-size ones (split with the helper
 * thread, SPLIT_MIN_RECORDS) and small ones (this thread alone), as a stream's are. 0.17–0.26 s for
 * the phishing forest of 100 trees on a 2-core machine; stopped after WARM_MAX_MS for a dearer model.
 */
const WARM_BATCHES = [4096, 512, 4096, 512, 4096];
const WARM_MAX_MS = 1000;

/** Score sample records with the champion, their verdicts thrown away (see StreamDeps.sample). */
async function warmScoring(d: StreamDeps): Promise<void> {
  const predictor = d.holder.current();
  if (!d.sample || !predictor) return;
  const texts = d.sample(predictor, Math.max(...WARM_BATCHES));
  const t0 = performance.now();
  for (const n of WARM_BATCHES) {
    const batch: InRecord[] = texts.slice(0, n).map((value, i) => ({
      topic: "netsec-warm-up",
      partition: 0,
      offset: BigInt(i),
      key: null,
      value,
      timestamp: 0,
      ownership: 0,
    }));
    await scoreBatchOn(d.scoring ?? null, batch, d.decode, predictor, d.fast);
    if (performance.now() - t0 > WARM_MAX_MS) break;
  }
  d.log.debug({ ms: Math.round(performance.now() - t0) }, "scorer warmed");
}

/** Milliseconds (performance.now()) at which a batch passed each stage. */
interface BatchTimes {
  /** Its first (oldest) record came from the Kafka client. */
  arrived: number;
  /** Scoring started (the batch was taken from the buffer) and ended. */
  t0: number;
  t1: number;
  /** Its verdicts were acknowledged by the broker, written to the store, and its offsets committed. */
  publishedAt: number;
  storedAt: number;
  committedAt: number;
}

/**
 * Where a batch's first record spent its time, the record of the batch that waited longest (so the
 * slow tail of record-to-alert latency shows in these): `netsec_stream_stage_seconds{stage}` and, at
 * log level debug, one line per batch. Stages: `fetch` (from the record's Kafka timestamp to the
 * Kafka client handing it over: the producer, the broker, the fetch), `batch` (waiting for its batch
 * to be due and for the scorer), `score`, `publish` and `store` (from the end of scoring until the
 * broker acknowledged the verdicts / the store wrote them; they run together), `commit` (from both
 * being durable to the commit answered, waiting for earlier batches included).
 */
function observeStages(d: StreamDeps, first: InRecord, t: BatchTimes, records: number): void {
  const durable = Math.max(t.publishedAt, t.storedAt);
  const ms = {
    fetch: performance.timeOrigin + t.arrived - first.timestamp,
    batch: t.t0 - t.arrived,
    score: t.t1 - t.t0,
    publish: t.publishedAt - t.t1,
    store: t.storedAt - t.t1,
    commit: t.committedAt - durable,
  };
  for (const [stage, v] of Object.entries(ms))
    if (Number.isFinite(v)) d.metrics.stageSeconds.observe({ stage }, Math.max(0, v) / 1000);
  if (d.log.isLevelEnabled("debug"))
    d.log.debug(
      {
        records,
        ...Object.fromEntries(Object.entries(ms).map(([k, v]) => [`${k}Ms`, Math.round(v * 10) / 10])),
      },
      "batch committed",
    );
}
