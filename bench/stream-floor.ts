/**
 * The floor of `netsec stream`'s record-to-alert latency (issue 18): the least a Kafka pipeline can
 * do, run by `bench/stream.ts --floor` in place of the `netsec stream` consumer. The same Kafka edge
 * (`src/stream/kafka.ts`: StreamConsumer with its fetch settings, StreamProducer with acks=all and
 * idempotence) and the same batching (`src/stream/batcher.ts`: batch size, linger, backpressure), but
 * no model and no store: consume → publish one small alert per threat record → commit the offsets
 * (in batch order, `src/stream/commit-queue.ts`). A threat is a record whose label column says so
 * (`"Result":"-1"`, phishing; about the share the random forest flags), found by a text search,
 * so no record is parsed. The alert carries `record_timestamp` as netsec's verdicts do, the latency the
 * bench measures is the same: the alert's Kafka timestamp minus the record's.
 *
 * It logs, per batch, a "batch committed" line (JSON, on stderr) with the stages of its first record
 * as `netsec stream` does at log level debug (fetch, batch, publish, commit; score and store 0), so
 * the bench prints the same stage table for both.
 *
 * Usage (as bench/stream.ts runs it): npx node bench/stream-floor.ts stream --brokers HOST:PORT
 * --topic T --group G --alerts-topic A [--linger-ms 5] [--batch-size 8000] [--max-in-flight 4]
 * (the word `stream` lets `bench/stream-diagnose.ts` report on it; other netsec stream options are
 * ignored). Stops on SIGTERM once the batches under way are committed.
 */
import { Batcher } from "../src/stream/batcher.ts";
import { CommitQueue } from "../src/stream/commit-queue.ts";
import {
  ensureTopic,
  type InRecord,
  type OutMessage,
  StreamConsumer,
  StreamProducer,
} from "../src/stream/kafka.ts";

const option = (name: string, dflt?: string): string => {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? process.argv[at + 1] : dflt;
  if (value === undefined) throw new Error(`bench/stream-floor.ts: --${name} is required`);
  return value;
};
const brokers = option("brokers").split(",");
const topic = option("topic");
const alertsTopic = option("alerts-topic");
const batchSize = Number(option("batch-size", "8000"));
const lingerMs = Number(option("linger-ms", "5"));
/** Batches fetched ahead before fetching pauses (netsec stream's --max-in-flight default). */
const cap = batchSize * Number(option("max-in-flight", "4"));
/** What marks a threat in a phishing JSON record (the label -1: phishing). */
const THREAT = '"Result":"-1"';

const log = (fields: Record<string, unknown>, msg: string): void => {
  process.stderr.write(`${JSON.stringify({ ...fields, msg })}\n`);
};

// (one partition, as netsec stream creates it)
await ensureTopic(brokers, alertsTopic, 1);
const producer = new StreamProducer(brokers, "netsec-floor-producer");
const consumer = new StreamConsumer({ brokers, group: option("group"), topic, clientId: "netsec-floor" });
const buffer = new Batcher<InRecord>(batchSize, lingerMs);
const commits = new CommitQueue<InRecord>((records) => consumer.commit(records));
let paused = false;
let stopping = false;
let wake: (() => void) | null = null;
const poke = (): void => {
  const w = wake;
  wake = null;
  w?.();
};
const resumeIfRoom = (): void => {
  if (paused && buffer.length <= cap - batchSize) {
    paused = false;
    consumer.resume();
  }
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
  (e) => log({ err: e.message }, "Kafka consumer error"),
  () => {
    buffer.retain((r) => consumer.isCurrent(r));
    resumeIfRoom();
  },
);
log({ topic }, "floor consumer joined");

/** Publish the batch's threats' alerts, then commit it in batch order; log its first record's stages. */
async function deliver(batch: InRecord[], arrived: number): Promise<void> {
  const t0 = performance.now();
  const ticket = commits.enter(batch);
  const out: OutMessage[] = [];
  for (const r of batch)
    if (r.value.includes(THREAT))
      out.push({
        topic: alertsTopic,
        partition: r.partition,
        value: `{"partition":${r.partition},"offset":${r.offset},"record_timestamp":${r.timestamp}}`,
      });
  try {
    await producer.send(out);
  } catch (e) {
    commits.abandon(ticket, e);
    throw e;
  } finally {
    if (buffer.settled()) poke();
  }
  const publishedAt = performance.now();
  await commits.durable(ticket);
  const first = batch[0]!;
  const ms = (x: number) => Math.round(x * 10) / 10;
  log(
    {
      records: batch.length,
      fetchMs: ms(performance.timeOrigin + arrived - first.timestamp),
      batchMs: ms(t0 - arrived),
      scoreMs: 0,
      publishMs: ms(publishedAt - t0),
      storeMs: 0,
      commitMs: ms(performance.now() - publishedAt),
    },
    "batch committed",
  );
}

const delivering = new Set<Promise<void>>();
process.once("SIGTERM", () => {
  stopping = true;
  poke();
});
while (!stopping) {
  for (let due = buffer.dueIn(performance.now()); !stopping && due > 0; ) {
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(poke, Math.min(due, 100)).unref();
    });
    due = buffer.dueIn(performance.now());
  }
  if (stopping) break;
  const arrived = buffer.firstArrival();
  const batch = buffer.take();
  resumeIfRoom();
  const done = deliver(batch, arrived).catch((e: unknown) => {
    log({ err: String(e) }, "delivery failed");
    process.exitCode = 1;
    stopping = true;
  });
  delivering.add(done);
  void done.finally(() => delivering.delete(done));
}
await Promise.all(delivering);
await consumer.close();
await producer.close();
