/**
 * `netsec stream` with its DuckDB alert store on a writer thread (`src/store/alert-thread.ts`), on the
 * real broker of the global set-up, a real champion (random forest on phishing) and the group's real
 * committed offsets: a writer thread that dies stops the stream with the store's error and no offset
 * is committed whose verdict is not in the store file; a store it cannot open stops it before it
 * joins its group; a stop closes the store after the last write, every committed record's verdict
 * in the file once.
 */

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPredictor } from "../../src/bundle/bundle.ts";
import { ModelRegistry } from "../../src/bundle/registry.ts";
import { silentLogger } from "../../src/core/log.ts";
import { ModelHolder, registryModelSource } from "../../src/serve/model-holder.ts";
import type { ThreadedAlertStore } from "../../src/store/alert-thread.ts";
import { ALERTS_TABLE, type AlertStore, openAlertStore, type StreamAlert } from "../../src/store/alerts.ts";
import { openDuckDb } from "../../src/store/duckdb/connection.ts";
import { fastFrame } from "../../src/stream/fast-frame.ts";
import { ensureTopic, type OutMessage, StreamProducer } from "../../src/stream/kafka.ts";
import { createStreamMetrics } from "../../src/stream/metrics.ts";
import { decoder } from "../../src/stream/records.ts";
import { startStream } from "../../src/stream/run.ts";
import { committedCount, quickForestStream, testKafkaBrokers, untilCommitted } from "../helpers/stream.ts";

const brokers = testKafkaBrokers();
const N = 3000;
const BATCH = 500;
const fx = quickForestStream(N);

/**
 * The threaded store, its writer thread stopped (as a crash would) once its k-th write is stored: the
 * stream's later writes fail. (Stopped between writes, not during one: a worker terminated inside a
 * DuckDB native call aborts the whole process, the test runner with it.)
 */
class Crashing implements AlertStore {
  readonly location: string;
  private readonly inner: ThreadedAlertStore;
  private readonly crashAt: number;
  private writes = 0;
  constructor(inner: ThreadedAlertStore, crashAt: number) {
    this.inner = inner;
    this.location = inner.location;
    this.crashAt = crashAt;
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  async write(alerts: readonly StreamAlert[]): Promise<number> {
    const added = await this.inner.write(alerts);
    if (++this.writes === this.crashAt) await this.inner.threads[0]!.terminate();
    return added;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

async function fill(topic: string): Promise<void> {
  await ensureTopic([brokers!], topic, 1);
  const p = new StreamProducer([brokers!], "netsec-test-store-thread");
  await p.send(fx.records.map((value, i): OutMessage => ({ topic, key: String(i), value })));
  await p.close();
}

async function start(topic: string, store: AlertStore) {
  const holder = new ModelHolder(
    registryModelSource(new ModelRegistry(fx.home), loadPredictor),
    silentLogger,
  );
  return startStream(
    {
      brokers: [brokers!],
      topic,
      group: `g-${topic}`,
      alertsTopic: null,
      deadLetterTopic: `${topic}.dead-letter`,
      all: true,
      batchSize: BATCH,
      lingerMs: 5,
      maxInFlight: 4,
      clientId: "netsec-test-store-thread",
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
}

/** Each stored offset and how many rows it has. */
async function stored(file: string): Promise<Map<number, number>> {
  const db = await openDuckDb({ path: file, readOnly: true });
  try {
    const r = await db.connection.runAndReadAll(
      `SELECT "offset", count(*) AS n FROM ${ALERTS_TABLE} GROUP BY 1`,
    );
    return new Map(r.getRows().map((x) => [Number(x[0]), Number(x[1])]));
  } finally {
    db.close();
  }
}

describe("netsec stream's alert store on its writer thread", { timeout: 120_000 }, () => {
  it("a writer thread that dies stops the stream; nothing is committed without its verdict stored", async () => {
    const topic = `store-crash-${fx.run}`;
    await fill(topic);
    const file = join(fx.dir, "crash.duckdb");
    const threaded = openAlertStore(`duckdb:${file}`, { holdOpen: true }) as ThreadedAlertStore;
    // (after the first write, one batch: a later write takes every batch queued meanwhile, and the
    // second may already hold all the rest, leaving no write to fail)
    const handle = await start(topic, new Crashing(threaded, 1));
    await expect(handle.done).rejects.toThrow(/writer thread failed/);
    const upTo = await committedCount(brokers!, `g-${topic}`, topic);
    expect(upTo).toBeLessThan(N);
    const rows = await stored(file);
    for (let o = 0; o < upTo; o++) expect(rows.get(o), `offset ${o}`).toBe(1);
  });

  it("a store it cannot open stops the stream before it joins its group", async () => {
    const topic = `store-bad-${fx.run}`;
    await fill(topic);
    // a directory where the store file should be
    const store = openAlertStore(`duckdb:${fx.dir}`, { holdOpen: true });
    await expect(start(topic, store)).rejects.toThrow(/cannot open record store/);
    expect(await committedCount(brokers!, `g-${topic}`, topic)).toBe(0);
  });

  it("a stop closes the store after the last write: every committed record's verdict is in the file once", async () => {
    const topic = `store-stop-${fx.run}`;
    await fill(topic);
    const file = join(fx.dir, "stop.duckdb");
    const store = openAlertStore(`duckdb:${file}`, { holdOpen: true });
    const handle = await start(topic, store);
    await untilCommitted(brokers!, `g-${topic}`, topic, N);
    const totals = await handle.stop();
    expect(totals.records).toBe(N);
    expect(totals.stored).toBe(N);
    // (the file opens here: the writer thread closed it)
    const rows = await stored(file);
    expect([...rows.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect([...rows.values()].every((n) => n === 1)).toBe(true);
  });
});
