import { describe, expect, it } from "vitest";
import { loadPredictor } from "../../src/bundle/bundle.ts";
import { ModelRegistry } from "../../src/bundle/registry.ts";
import { silentLogger } from "../../src/core/log.ts";
import { ModelHolder, registryModelSource } from "../../src/serve/model-holder.ts";
import type { AlertStore, StreamAlert } from "../../src/store/alerts.ts";
import { fastFrame } from "../../src/stream/fast-frame.ts";
import { ensureTopic, type OutMessage, StreamConsumer, StreamProducer } from "../../src/stream/kafka.ts";
import { createStreamMetrics } from "../../src/stream/metrics.ts";
import { decoder } from "../../src/stream/records.ts";
import { startStream } from "../../src/stream/run.ts";
import { committedCount, quickForestStream, testKafkaBrokers, untilCommitted } from "../helpers/stream.ts";

const brokers = testKafkaBrokers();
/** 12 batches of 500: three times the 4 batches' records that once bounded all of delivery. */
const N = 6000;
const BATCH = 500;
const fx = quickForestStream(N);

/** A store whose writes return only once `release()` was called; it keeps the offsets it was given. */
class GatedStore implements AlertStore {
  readonly location = "memory";
  readonly offsets: number[] = [];
  writes = 0;
  private gate: Promise<void>;
  release!: () => void;
  constructor() {
    this.gate = new Promise((r) => {
      this.release = r;
    });
  }
  async open(): Promise<void> {}
  async write(alerts: readonly StreamAlert[]): Promise<number> {
    this.writes++;
    await this.gate;
    for (const a of alerts) this.offsets.push(Number(a.offset));
    return alerts.length;
  }
  async close(): Promise<void> {}
}

describe("netsec stream's delivery", { timeout: 120_000 }, () => {
  it("a store write that does not return holds the commits, not the alerts", async () => {
    const topic = `delivery-${fx.run}`;
    const alertsTopic = `${topic}.alerts`;
    await ensureTopic([brokers], topic, 1);
    await ensureTopic([brokers], alertsTopic, 1);
    const p = new StreamProducer([brokers], "netsec-test-delivery");
    await p.send(fx.records.map((value, i): OutMessage => ({ topic, key: String(i), value })));
    await p.close();

    const published = new Set<string>();
    const reader = new StreamConsumer({
      brokers: [brokers],
      group: `reader-${topic}`,
      topic: alertsTopic,
      clientId: "netsec-test-delivery-reader",
    });
    await reader.start(
      (r) => {
        published.add(r.key ?? "");
      },
      () => {},
    );

    const store = new GatedStore();
    const holder = new ModelHolder(
      registryModelSource(new ModelRegistry(fx.home), loadPredictor),
      silentLogger,
    );
    const handle = await startStream(
      {
        brokers: [brokers],
        topic,
        group: `g-${topic}`,
        alertsTopic,
        deadLetterTopic: `${topic}.dead-letter`,
        all: true,
        batchSize: BATCH,
        lingerMs: 5,
        maxInFlight: 4,
        clientId: "netsec-test-delivery",
      },
      {
        holder,
        decode: decoder("json", fx.header),
        fast: fastFrame("json", fx.header),
        alerts: store,
        log: silentLogger,
        metrics: createStreamMetrics(),
      },
    );
    try {
      // every record's verdict on the alerts topic, the store's first write still held
      const deadline = Date.now() + 60_000;
      while (published.size < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(published.size).toBe(N);
      expect(store.offsets).toEqual([]);
      expect(await committedCount(brokers, `g-${topic}`, topic)).toBe(0);
    } finally {
      store.release();
    }
    await untilCommitted(brokers, `g-${topic}`, topic, N);
    const totals = await handle.stop();
    await reader.close();
    expect(totals.records).toBe(N);
    expect(totals.published).toBe(N);
    expect(totals.stored).toBe(N);
    expect([...store.offsets].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
  });
});
