/**
 * The Kafka edge: the only file importing the client library (`@platformatic/kafka`, pure JavaScript,
 * installed from the npm registry alone; see DEVELOPERS.md for why this one). Everything else in netsec
 * sees three small things: a producer that waits for every in-sync replica (acks=all, idempotent), a
 * consumer in a group that never commits on its own, and topic creation for `produce` and the tests.
 *
 * Brokers are "host:port" strings. Keys and values travel as UTF-8 text (JSON or CSV lines); a key is
 * optional. Offsets are bigint (Kafka's int64); a committed offset is the NEXT offset to read, so a
 * message is committed as `offset + 1`.
 */
import {
  Admin,
  Consumer,
  type Message,
  type MessagesStream,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from "@platformatic/kafka";
import { NetsecError } from "../core/errors.ts";

/** Bytes of keys and values in one produce request (see StreamProducer.send). */
const REQUEST_BYTES = 256 * 1024;

/** A consumed record: where it came from and its text. */
export interface InRecord {
  topic: string;
  partition: number;
  offset: bigint;
  key: string | null;
  value: string;
  /** The record's Kafka timestamp (ms since the epoch; the producer's create time by default). */
  timestamp: number;
}

export interface OutMessage {
  topic: string;
  key?: string;
  value: string;
  headers?: Record<string, string>;
}

/** Parse `--brokers a:1,b:2`: each a host and a port. */
export function parseBrokers(text: string): string[] {
  const list = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (list.length === 0 || list.some((b) => !/^[^\s:]+:\d{1,5}$/.test(b)))
    throw new NetsecError(
      "CONFIG_INVALID",
      `--brokers must be HOST:PORT[,HOST:PORT…], got ${JSON.stringify(text)}`,
      { value: text },
    );
  return list;
}

function unreachable(brokers: readonly string[], doing: string, e: unknown): NetsecError {
  if (e instanceof NetsecError) return e;
  const err = e as Error & { errors?: Error[] };
  const why = [err.message, ...(err.errors ?? []).map((x) => x.message)].join("; ");
  return new NetsecError(
    "SERVICE_UNAVAILABLE",
    `Kafka at ${brokers.join(",")}: ${doing} failed: ${why}`,
    { uri: brokers.join(",") },
    { cause: e },
  );
}

/** Create `topic` with `partitions` partitions unless it exists (replication 1 unless told). */
export async function ensureTopic(
  brokers: readonly string[],
  topic: string,
  partitions: number,
  replicas = 1,
): Promise<void> {
  const admin = new Admin({ clientId: "netsec-admin", bootstrapBrokers: [...brokers] });
  try {
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) await admin.createTopics({ topics: [topic], partitions, replicas });
  } catch (e) {
    // two processes creating the same topic: the loser's "already exists" is success
    if (
      !/already exists/i.test(
        `${(e as Error).message} ${JSON.stringify((e as { errors?: unknown }).errors ?? "")}`,
      )
    )
      throw unreachable(brokers, `creating topic ${topic}`, e);
  } finally {
    await admin.close().catch(() => {});
  }
}

/** A producer that returns only once every in-sync replica has the messages (acks=all, idempotent). */
export class StreamProducer {
  private readonly producer: Producer<string, string, string, string>;
  private readonly brokers: readonly string[];

  constructor(brokers: readonly string[], clientId: string) {
    this.brokers = brokers;
    this.producer = new Producer({
      clientId,
      bootstrapBrokers: [...brokers],
      serializers: stringSerializers,
      acks: ProduceAcks.ALL,
      idempotent: true,
      autocreateTopics: false,
    });
  }

  /**
   * Publish `messages`, resolving once all are acknowledged. Split into requests of at most
   * REQUEST_BYTES of values (a broker refuses a record batch over its message.max.bytes, 1 MiB by
   * default), sent concurrently: the idempotent producer keeps each partition's order.
   */
  async send(messages: readonly OutMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const chunks: OutMessage[][] = [[]];
    let bytes = 0;
    for (const m of messages) {
      const size = m.value.length + (m.key?.length ?? 0) + 64;
      if (bytes + size > REQUEST_BYTES && chunks.at(-1)!.length > 0) {
        chunks.push([]);
        bytes = 0;
      }
      chunks.at(-1)!.push(m);
      bytes += size;
    }
    try {
      await Promise.all(
        chunks.map((chunk) =>
          this.producer.send({
            messages: chunk.map((m) => ({
              topic: m.topic,
              value: m.value,
              ...(m.key !== undefined ? { key: m.key } : {}),
              ...(m.headers ? { headers: m.headers } : {}),
            })),
          }),
        ),
      );
    } catch (e) {
      throw unreachable(this.brokers, `producing to ${messages[0]!.topic}`, e);
    }
  }

  async close(): Promise<void> {
    await this.producer.close().catch(() => {});
  }
}

export interface ConsumerOptions {
  brokers: readonly string[];
  group: string;
  topic: string;
  clientId: string;
  /** How long the group waits for a silent member before giving its partitions away (ms). */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
}

/**
 * A group member reading `topic` from its committed offsets (the earliest offset where the group has
 * none). Nothing is committed until `commit` says so. `pause`/`resume` stop and restart fetching
 * (backpressure); `records` is called for every record in partition order.
 */
export class StreamConsumer {
  private readonly consumer: Consumer<string, string, string, string>;
  private stream: MessagesStream<string, string, string, string> | null = null;
  private readonly opts: ConsumerOptions;
  /** The last message seen per "partition", for commit (it carries the leader epoch). */
  private readonly last = new Map<number, Message<string, string, string, string>>();

  constructor(opts: ConsumerOptions) {
    this.opts = opts;
    this.consumer = new Consumer({
      groupId: opts.group,
      clientId: opts.clientId,
      bootstrapBrokers: [...opts.brokers],
      deserializers: stringDeserializers,
      sessionTimeout: opts.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: opts.heartbeatIntervalMs ?? 1000,
      rebalanceTimeout: (opts.sessionTimeoutMs ?? 10_000) * 2,
    });
  }

  /** Join the group and start fetching; `onRecord` runs for each record, `onError` on a stream error. */
  async start(onRecord: (r: InRecord) => void, onError: (e: Error) => void): Promise<void> {
    try {
      this.stream = await this.consumer.consume({
        topics: [this.opts.topic],
        autocommit: false,
        mode: "committed",
        fallbackMode: "earliest",
        sessionTimeout: this.opts.sessionTimeoutMs ?? 10_000,
        heartbeatInterval: this.opts.heartbeatIntervalMs ?? 1000,
      });
    } catch (e) {
      throw unreachable(this.opts.brokers, `joining group ${this.opts.group} on ${this.opts.topic}`, e);
    }
    this.stream.on("data", (m: Message<string, string, string, string>) => {
      const prev = this.last.get(m.partition);
      if (!prev || prev.offset < m.offset) this.last.set(m.partition, m);
      onRecord({
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        key: m.key === undefined || m.key === null || m.key === "" ? null : m.key,
        value: m.value ?? "",
        timestamp: Number(m.timestamp),
      });
    });
    this.stream.on("error", onError);
  }

  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    this.stream?.resume();
  }

  /**
   * Commit, per partition, the offset after `upTo` (the highest offset handled). Fails (rejects) when
   * the member no longer owns the partition; the next owner then reads it again.
   */
  async commit(upTo: ReadonlyMap<number, bigint>): Promise<void> {
    const offsets = [...upTo].map(([partition, offset]) => ({
      topic: this.opts.topic,
      partition,
      offset: offset + 1n,
      leaderEpoch: this.last.get(partition)?.leaderEpoch ?? -1,
    }));
    if (offsets.length === 0) return;
    await this.consumer.commit({ offsets });
  }

  /** Records behind the end of the log, over the partitions this member holds (0 when none). */
  async lag(): Promise<number> {
    const lag = await this.consumer.getLag({ topics: [this.opts.topic] });
    let total = 0;
    for (const v of lag.get(this.opts.topic) ?? []) if (v > 0n) total += Number(v);
    return total;
  }

  /** Stop fetching, leave the group (a rebalance hands the partitions to the others) and disconnect. */
  async close(): Promise<void> {
    try {
      if (this.stream) await this.stream.close();
    } catch {
      // closing a stream whose connection is already gone is not an error here
    }
    await this.consumer.close(true).catch(() => {});
  }
}
