import { describe, expect, it } from "vitest";
import { loadPredictor } from "../../src/bundle/bundle.ts";
import type { Predictor } from "../../src/bundle/predictor.ts";
import { ModelRegistry } from "../../src/bundle/registry.ts";
import { silentLogger } from "../../src/core/log.ts";
import { ModelHolder, registryModelSource } from "../../src/serve/model-holder.ts";
import type { AlertStore, StreamAlert } from "../../src/store/alerts.ts";
import { fastFrame } from "../../src/stream/fast-frame.ts";
import { ensureTopic, type OutMessage, StreamProducer } from "../../src/stream/kafka.ts";
import { createStreamMetrics } from "../../src/stream/metrics.ts";
import { decoder } from "../../src/stream/records.ts";
import { type StreamHandle, startStream } from "../../src/stream/run.ts";
import { ScoringThread, type ThreadScored } from "../../src/stream/score-thread.ts";
import { committedCount, quickForestStream, testKafkaBrokers } from "../helpers/stream.ts";

const brokers = testKafkaBrokers();
const N = 3000;
const BATCH = 500;
const fx = quickForestStream(N);

/** A store that keeps the offsets it was given (every verdict: the stream runs with `all`). */
class RecordingStore implements AlertStore {
  readonly location = "memory";
  readonly offsets: number[] = [];
  async open(): Promise<void> {}
  async write(alerts: readonly StreamAlert[]): Promise<number> {
    for (const a of alerts) this.offsets.push(Number(a.offset));
    return alerts.length;
  }
  async close(): Promise<void> {}
}

/** A scoring thread that runs `before(k)` as its k-th batch (from 1) is handed over. */
class Instrumented extends ScoringThread {
  calls = 0;
  private readonly before: (k: number, t: ScoringThread) => Promise<void> | void;
  constructor(before: (k: number, t: ScoringThread) => Promise<void> | void) {
    super("json", fx.header);
    this.before = before;
  }
  override async score(
    p: Predictor & Required<Pick<Predictor, "dir" | "fromScores">>,
    values: readonly string[],
  ): Promise<ThreadScored | null> {
    const k = ++this.calls;
    const scoring = super.score(p, values);
    await this.before(k, this);
    return scoring;
  }
}

async function fill(topic: string): Promise<void> {
  await ensureTopic([brokers!], topic, 1);
  const p = new StreamProducer([brokers!], "netsec-test-scoring-thread");
  await p.send(fx.records.map((value, i): OutMessage => ({ topic, key: String(i), value })));
  await p.close();
}

async function start(topic: string, group: string, store: AlertStore, scoring: ScoringThread) {
  const holder = new ModelHolder(
    registryModelSource(new ModelRegistry(fx.home), loadPredictor),
    silentLogger,
  );
  return startStream(
    {
      brokers: [brokers!],
      topic,
      group,
      alertsTopic: null,
      deadLetterTopic: `${topic}.dead-letter`,
      all: true,
      batchSize: BATCH,
      lingerMs: 5,
      maxInFlight: 4,
      clientId: "netsec-test-scoring-thread",
    },
    {
      holder,
      decode: decoder("json", fx.header),
      fast: fastFrame("json", fx.header),
      scoring,
      alerts: store,
      log: silentLogger,
      metrics: createStreamMetrics(),
    },
  );
}

describe("netsec stream's scoring thread", { timeout: 120_000 }, () => {
  it("a scoring thread that dies stops the stream; nothing is committed past the unscored batch", async () => {
    const topic = `scoring-crash-${fx.run}`;
    await fill(topic);
    const store = new RecordingStore();
    // the 3rd batch's thread is stopped as a crash would stop it, while it holds that batch
    const thread = new Instrumented(async (k, t) => {
      if (k === 3) await t.threads[0]!.terminate();
    });
    const handle: StreamHandle = await start(topic, `g-${topic}`, store, thread);
    await expect(handle.done).rejects.toThrow();
    const upTo = await committedCount(brokers!, `g-${topic}`, topic);
    // batches 1 and 2 (offsets 0–999) may be committed; nothing of batch 3 or later
    expect(upTo).toBeLessThanOrEqual(2 * BATCH);
    expect(Math.max(...store.offsets)).toBeLessThan(2 * BATCH);
    // and whatever is committed has its verdict
    const stored = new Set(store.offsets);
    for (let o = 0; o < upTo; o++) expect(stored.has(o)).toBe(true);
  });

  it("a stop while batches are at the scoring thread delivers and commits them before leaving", async () => {
    const topic = `scoring-stop-${fx.run}`;
    await fill(topic);
    const store = new RecordingStore();
    let atThread!: () => void;
    const second = new Promise<void>((r) => {
      atThread = r;
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    // the 2nd batch waits at the thread until the stop has begun
    const thread = new Instrumented(async (k) => {
      if (k === 2) {
        atThread();
        await gate;
      }
    });
    const handle = await start(topic, `g-${topic}`, store, thread);
    await second;
    const stopped = handle.stop();
    release();
    const totals = await stopped;
    expect(totals.records).toBeGreaterThanOrEqual(2 * BATCH);
    expect(totals.records % BATCH).toBe(0);
    // every batch handled was committed, each record once in the store, in offset order
    expect(await committedCount(brokers!, `g-${topic}`, topic)).toBe(totals.records);
    expect(store.offsets).toEqual(Array.from({ length: totals.records }, (_, i) => i));
  });
});
