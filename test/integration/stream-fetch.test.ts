/**
 * StreamConsumer's fetches on the real broker of the global set-up: a backlog is read a bounded
 * response at a time (FETCH_MAX_BYTES), so the records one fetch hands over in one synchronous pass
 * of the client, which nothing else on the thread can interrupt, stay about a mebibyte; with the
 * client's default (50 MB) a 12 MB backlog came in one pass. Every record still arrives, in order.
 */
import { describe, expect, it } from "vitest";
import {
  ensureTopic,
  FETCH_MAX_BYTES,
  type OutMessage,
  StreamConsumer,
  StreamProducer,
} from "../../src/stream/kafka.ts";

const brokers = process.env.NETSEC_TEST_KAFKA_BROKERS;
if (!brokers)
  throw new Error("NETSEC_TEST_KAFKA_BROKERS is not set: the integration global set-up starts Kafka");
const run = Date.now().toString(36);

describe("StreamConsumer fetches", { timeout: 120_000 }, () => {
  it("hands a 12 MB backlog over about a mebibyte per turn of the event loop, all of it in order", async () => {
    const topic = `fetch-${run}`;
    await ensureTopic([brokers!], topic, 1);
    // 12,000 records of 1,000 bytes, published 500 at a time: record batches of ≈ 500 KB
    const n = 12_000;
    const perSend = 500;
    const valueBytes = 1000;
    const value = (i: number) => String(i).padStart(valueBytes, "0");
    const p = new StreamProducer([brokers!], "netsec-test-fetch");
    try {
      for (let i = 0; i < n; i += perSend) {
        const batch: OutMessage[] = [];
        for (let j = i; j < i + perSend; j++) batch.push({ topic, value: value(j) });
        await p.send(batch);
      }
    } finally {
      await p.close();
    }
    const got: string[] = [];
    // records handed over per turn of the event loop: a check-phase callback closes each turn's count
    const perTurn: number[] = [0];
    let turning = true;
    const turn = (): void => {
      if (!turning) return;
      if (perTurn.at(-1)! > 0) perTurn.push(0);
      setImmediate(turn);
    };
    setImmediate(turn);
    const c = new StreamConsumer({
      brokers: [brokers!],
      group: `fetch-${run}`,
      topic,
      clientId: "netsec-test",
    });
    try {
      await c.start(
        (r) => {
          got.push(r.value);
          perTurn[perTurn.length - 1]!++;
        },
        () => {},
      );
      const deadline = Date.now() + 60_000;
      while (got.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      turning = false;
      await c.close();
    }
    expect(got).toHaveLength(n);
    expect(got.every((v, i) => v === value(i))).toBe(true);
    // a response fills up to FETCH_MAX_BYTES with whole record batches (≈ 1,048 records), and the
    // broker sends a first batch whole even past it: at most one send's batch more
    const most = Math.max(...perTurn);
    expect(most).toBeLessThanOrEqual(Math.ceil(FETCH_MAX_BYTES / valueBytes) + perSend);
    expect(perTurn.filter((k) => k > 0).length).toBeGreaterThanOrEqual(
      Math.floor((n * valueBytes) / FETCH_MAX_BYTES),
    );
  });
});
