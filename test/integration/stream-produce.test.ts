/**
 * StreamProducer's requests on the real broker of the global set-up: a send is split into requests
 * sized in UTF-8 bytes (keys, values and headers) under the broker's message.max.bytes (1 MiB by
 * default), so multi-byte text and long headers, which a count of UTF-16 units would take for a third
 * of their size, are all published and none is refused as too large.
 */
import { describe, expect, it } from "vitest";
import { NetsecError } from "../../src/core/errors.ts";
import {
  deleteTopicsNamed,
  ensureTopic,
  type InRecord,
  listTopics,
  StreamConsumer,
  StreamProducer,
} from "../../src/stream/kafka.ts";

const brokers = process.env.NETSEC_TEST_KAFKA_BROKERS;
if (!brokers)
  throw new Error("NETSEC_TEST_KAFKA_BROKERS is not set: the integration global set-up starts Kafka");
const run = Date.now().toString(36);

describe("StreamProducer", { timeout: 120_000 }, () => {
  it("publishes 7.5 MB of 3-byte characters with headers in requests the broker accepts", async () => {
    const topic = `produce-${run}`;
    await ensureTopic([brokers!], topic, 1);
    // 1,000 messages of 2,000 "€" (6,000 UTF-8 bytes each) and a 1,500-byte header: 7.5 MB in all,
    // 2.5 MB as UTF-16 units
    const n = 1000;
    const value = (i: number) => `${i}:${"€".repeat(2000)}`;
    const p = new StreamProducer([brokers!], "netsec-test-produce");
    try {
      await p.send(
        Array.from({ length: n }, (_, i) => ({
          topic,
          key: `k${i}`,
          value: value(i),
          headers: { "netsec-reason": "é".repeat(750) },
        })),
      );
    } finally {
      await p.close();
    }
    const got: InRecord[] = [];
    const c = new StreamConsumer({
      brokers: [brokers!],
      group: `produce-${run}`,
      topic,
      clientId: "netsec-test",
    });
    await c.start(
      (r) => got.push(r),
      () => {},
    );
    const deadline = Date.now() + 60_000;
    while (got.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await c.close();
    expect(got).toHaveLength(n);
    // in order, intact
    expect(got.map((r) => r.value)).toEqual(Array.from({ length: n }, (_, i) => value(i)));
  });

  it("puts a message with a partition number on that partition modulo the topic's count", async () => {
    const topic = `produce-part-${run}`;
    await ensureTopic([brokers!], topic, 3);
    const p = new StreamProducer([brokers!], "netsec-test-produce");
    try {
      // 40 messages numbered for partitions 0..7 (a source topic of 8): on 3 partitions, p % 3
      await p.send(
        Array.from({ length: 40 }, (_, i) => ({ topic, key: `k${i}`, value: String(i), partition: i % 8 })),
      );
    } finally {
      await p.close();
    }
    const got: InRecord[] = [];
    const c = new StreamConsumer({ brokers: [brokers!], group: `produce-part-${run}`, topic, clientId: "t" });
    await c.start(
      (r) => got.push(r),
      () => {},
    );
    const deadline = Date.now() + 60_000;
    while (got.length < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await c.close();
    expect(got).toHaveLength(40);
    for (const r of got) expect(r.partition).toBe((Number(r.value) % 8) % 3);
    // each partition's messages in the order they were sent
    for (let q = 0; q < 3; q++) {
      const values = got.filter((r) => r.partition === q).map((r) => Number(r.value));
      expect(values).toEqual([...values].sort((a, b) => a - b));
    }
  });

  it("ready() answers once the producer can publish, and fails naming a broker it cannot reach", async () => {
    const topic = `ready-${run}`;
    await ensureTopic([brokers!], topic, 1);
    const p = new StreamProducer([brokers!], "netsec-test-ready");
    try {
      await p.ready([topic]);
      await p.send([{ topic, value: "after ready" }]);
    } finally {
      await p.close();
    }
    // (port 9, discard: nothing listens; the client would retry it for minutes)
    const gone = new StreamProducer(["127.0.0.1:9"], "netsec-test-ready");
    try {
      const e = await gone.ready([topic], 1000).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NetsecError);
      expect((e as NetsecError).code).toBe("SERVICE_UNAVAILABLE");
      expect((e as NetsecError).message).toMatch(
        /Kafka at 127\.0\.0\.1:9: preparing to publish to ready-.* failed: no answer in 1 s/,
      );
    } finally {
      await gone.close();
    }
  });

  it("deleteTopicsNamed deletes the topics whose names contain the part, and only those", async () => {
    const mine = [`gone-${run}-a`, `gone-${run}-b`];
    const kept = `kept-${run}`;
    for (const t of [...mine, kept]) await ensureTopic([brokers!], t, 1);
    expect((await deleteTopicsNamed([brokers!], `gone-${run}`)).sort()).toEqual(mine);
    // deletion is asynchronous on the broker: the names leave its list within seconds
    let left: string[] = [];
    for (let i = 0; i < 50; i++) {
      left = (await listTopics([brokers!])).filter((t) => t.includes(run));
      if (!left.some((t) => t.startsWith("gone-"))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(left).toContain(kept);
    expect(left.filter((t) => t.startsWith("gone-"))).toEqual([]);
    await expect(deleteTopicsNamed([brokers!], "")).rejects.toThrow(/would delete every topic/);
  });
});
