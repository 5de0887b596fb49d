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
  ListOffsetTimestamps,
  type Message,
  type MessagesStream,
  type MessageToProduce,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from "@platformatic/kafka";
import { NetsecError } from "../core/errors.ts";

/**
 * Bytes of keys, values and headers in one produce request, with RECORD_OVERHEAD each (see
 * StreamProducer.send): under the broker's message.max.bytes (1 MiB by default) for the record batch
 * of one partition, which a request's records for one partition form.
 */
const REQUEST_BYTES = 900 * 1024;
/** A record's bytes besides its key, value and headers, at most (length, attributes, deltas, counts). */
const RECORD_OVERHEAD = 64;

/** A consumed record: where it came from and its text. */
export interface InRecord {
  topic: string;
  partition: number;
  offset: bigint;
  key: string | null;
  /**
   * Its text. Emptied once its batch is scored unless it is a dead letter (`releaseTexts` in
   * score.ts): delivery and the commit read only where the record came from.
   */
  value: string;
  /** The record's Kafka timestamp (ms since the epoch; the producer's create time by default). */
  timestamp: number;
  /**
   * Which ownership of its partition delivered it (see StreamConsumer.isCurrent): a member that loses
   * a partition and later gets it back holds it under a new number.
   */
  ownership: number;
}

export interface OutMessage {
  topic: string;
  key?: string;
  value: string;
  headers?: Record<string, string>;
  /**
   * Where it goes: this number modulo the topic's partition count. Without: the client's default
   * partitioner (murmur2 of the key, as Kafka's Java client; round robin without a key).
   */
  partition?: number;
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

/** `work`, or a rejection with `message` once `ms` have passed without it (the work is not stopped). */
async function within<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Create `topic` with `partitions` partitions unless it exists (replication 1 unless told). */
export async function ensureTopic(
  brokers: readonly string[],
  topic: string,
  partitions: number,
  replicas = 1,
): Promise<void> {
  const admin = new Admin({ clientId: "netsec-admin", bootstrapBrokers: [...brokers] });
  onClientError(admin, () => {}); // (its failures reject the calls below)
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

/** The broker's topic names. */
export async function listTopics(brokers: readonly string[]): Promise<string[]> {
  const admin = new Admin({ clientId: "netsec-admin", bootstrapBrokers: [...brokers] });
  onClientError(admin, () => {}); // (its failures reject the call below)
  try {
    return await admin.listTopics();
  } catch (e) {
    throw unreachable(brokers, "listing topics", e);
  } finally {
    await admin.close().catch(() => {});
  }
}

/**
 * Delete every topic whose name contains `part` (a benchmark's run id: its records, alerts and dead
 * letters, ≈ 65 MB per 100,000 records, would otherwise stay on the broker's disk until the topic's
 * retention, 7 days by default). Returns the names deleted.
 */
export async function deleteTopicsNamed(brokers: readonly string[], part: string): Promise<string[]> {
  if (part === "")
    throw new RangeError("deleteTopicsNamed needs a part of the names: it would delete every topic");
  const admin = new Admin({ clientId: "netsec-admin", bootstrapBrokers: [...brokers] });
  onClientError(admin, () => {}); // (its failures reject the calls below)
  try {
    const topics = (await admin.listTopics()).filter((t) => t.includes(part));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    return topics;
  } catch (e) {
    throw unreachable(brokers, `deleting the topics named *${part}*`, e);
  } finally {
    await admin.close().catch(() => {});
  }
}

/**
 * How many records of `topic` the consumer group `group` has committed: the sum over partitions of the
 * committed offset (the next to read; none committed: 0), so, on a topic whose offsets start at 0,
 * the records handled end to end, each once however many members scored it (bench/stream.ts).
 */
export class GroupProgress {
  private readonly admin: Admin;

  constructor(brokers: readonly string[]) {
    this.admin = new Admin({ clientId: "netsec-progress", bootstrapBrokers: [...brokers] });
    onClientError(this.admin, () => {}); // (its failures reject the calls below)
  }

  async committed(group: string, topic: string): Promise<number> {
    const [g] = await this.admin.listConsumerGroupOffsets({ groups: [group] });
    let n = 0;
    for (const t of g?.topics ?? [])
      if (t.name === topic)
        for (const p of t.partitions) if (p.committedOffset > 0n) n += Number(p.committedOffset);
    return n;
  }

  async close(): Promise<void> {
    await this.admin.close().catch(() => {});
  }
}

/**
 * How long `StreamProducer.ready` waits (ms): the client's producer retries a broker it cannot reach
 * without end (its metadata and id requests did not fail in 2 minutes against a closed port), where
 * a stream starting up must say so.
 */
const READY_TIMEOUT_MS = 30_000;

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
    // a failed send rejects its promise (retried by the caller); the event must not end the process
    onClientError(this.producer, () => {});
  }

  /**
   * Be ready to publish to `topics` (which must exist: the client waits for a missing one) before the
   * first send: the idempotent producer's id from the broker, the topics' partition leaders and a
   * connection to each broker (the first send otherwise waits for all three: 0.2–0.4 s on a busy
   * 2-core machine, which the records fetched meanwhile wait for too).
   */
  async ready(topics: readonly string[], timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const doing = `preparing to publish${topics.length > 0 ? ` to ${topics.join(", ")}` : ""}`;
    try {
      await within(
        (async () => {
          await this.producer.initIdempotentProducer({});
          if (topics.length > 0) await this.producer.metadata({ topics: [...topics] });
          await this.producer.connectToBrokers(null);
        })(),
        timeoutMs,
        `no answer in ${timeoutMs / 1000} s`,
      );
    } catch (e) {
      throw unreachable(this.brokers, doing, e);
    }
  }

  /**
   * Publish `messages`, resolving once all are acknowledged. Split into requests of at most
   * REQUEST_BYTES (UTF-8 bytes of keys, values and headers; a broker refuses a record batch over its
   * message.max.bytes, 1 MiB by default), queued at once: the idempotent producer sends one request at
   * a time per broker (the client's rule), so fewer, larger requests wait for fewer round trips (the
   * limit was 256 K UTF-16 units, a quarter of it, while sizes were counted in units), and keeps each
   * partition's order.
   */
  async send(messages: readonly OutMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const chunks: OutMessage[][] = [[]];
    let bytes = 0;
    for (const m of messages) {
      let size =
        Buffer.byteLength(m.value) + (m.key === undefined ? 0 : Buffer.byteLength(m.key)) + RECORD_OVERHEAD;
      if (m.headers)
        for (const h in m.headers) size += Buffer.byteLength(h) + Buffer.byteLength(m.headers[h]!) + 10;
      if (bytes + size > REQUEST_BYTES && chunks.at(-1)!.length > 0) {
        chunks.push([]);
        bytes = 0;
      }
      chunks.at(-1)!.push(m);
      bytes += size;
    }
    try {
      await Promise.all(chunks.map((chunk) => this.producer.send({ messages: chunk.map(clientMessage) })));
    } catch (e) {
      throw unreachable(this.brokers, `producing to ${messages[0]!.topic}`, e);
    }
  }

  async close(): Promise<void> {
    await this.producer.close().catch(() => {});
  }
}

/**
 * The client's message for `m`: only the fields it has (the client refuses `undefined` ones), built
 * by assignment (object spreads per message showed in the publishing profile).
 */
function clientMessage(m: OutMessage): MessageToProduce<string, string, string, string> {
  const out: MessageToProduce<string, string, string, string> = { topic: m.topic, value: m.value };
  if (m.key !== undefined) out.key = m.key;
  if (m.headers) out.headers = m.headers;
  // (the client takes it modulo the topic's partition count, and skips its partitioner)
  if (m.partition !== undefined) out.partition = m.partition;
  return out;
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
 * An `error` listener on a Kafka client (Node's EventEmitter rule: an `error` event nobody listens to
 * throws and ends the process). The client emits one when it gives up, e.g. "Connection closed" while
 * it rejoins its group as the broker goes away or the member stops: the process must then go on (to
 * rejoin, or to finish stopping), never crash with the batch uncommitted.
 */
export function onClientError(client: NodeJS.EventEmitter, handle: (e: Error) => void): void {
  client.on("error", (e: unknown) => handle(e instanceof Error ? e : new Error(String(e))));
}

/** One partition's offset in a commit, as the client takes it (it refuses any other field). */
interface CommitOffset {
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
}

/** A commit under way: its offsets and, index for index, the ownership each was read under. */
interface Committing {
  offsets: CommitOffset[];
  ownership: number[];
}

/** How long a commit may take before it counts as failed (a broker restarting can leave it hanging). */
const COMMIT_TIMEOUT_MS = 15_000;
/** Backoff between attempts to rejoin after the stream failed (ms), doubling up to the maximum. */
const REJOIN_FIRST_MS = 500;
const REJOIN_MAX_MS = 5000;

/**
 * A group member reading `topic` from its committed offsets (the earliest offset where the group has
 * none). Nothing is committed until `commit` says so. `pause`/`resume` stop and restart fetching
 * (backpressure); `onRecord` is called for every record in partition order.
 *
 * Rebalances: the client keeps handing out records it fetched before the group took a partition away
 * (one fetch holds megabytes of every partition), and on every join it reads each partition it keeps
 * again from the committed offset, so records already delivered would come a second time. Left alone,
 * a member scored (and committed) whole partitions another member was scoring too: with two members
 * the work doubled and the DuckDB store's lock was fought over (2026-12-06's 2-consumer outlier).
 * So this edge tracks what the member owns: each newly assigned partition gets an ownership number;
 * records of partitions not owned, and records at or below the last offset delivered for an owned
 * one, are dropped; `onAssigned` tells the caller to drop what it buffered for partitions it lost
 * (`isCurrent`); `commit` commits only offsets read under the partition's current ownership, also
 * when the client retries a refused commit after rejoining the group.
 *
 * When the stream fails (the broker went away and the client gave up: "metadata failed 4 times"), the
 * member drops that client and joins the group again with a new one, retrying until the broker is
 * back: it reads on from the group's committed offsets, so records handled but not committed are read
 * again (at-least-once) and nothing is skipped.
 */
export class StreamConsumer {
  private consumer: Consumer<string, string, string, string> | null = null;
  private stream: MessagesStream<string, string, string, string> | null = null;
  private readonly opts: ConsumerOptions;
  /** The last message seen per partition, for commit (it carries the leader epoch). */
  private readonly last = new Map<number, Message<string, string, string, string>>();
  /** Partition → its ownership number, for the partitions this member holds now. */
  private readonly owned = new Map<number, number>();
  private ownerships = 0;
  /** The offsets of commits under way, pruned in place when a partition is lost (see `assigned`). */
  private readonly committing = new Set<Committing>();
  private paused = false;
  private closed = false;
  private rejoining: Promise<void> | null = null;
  /** The last `seedCommitted` started: commits wait for it, so a seed never lands after them. */
  private seeding: Promise<void> = Promise.resolve();
  private onRecord: (r: InRecord) => void = () => {};
  private onError: (e: Error) => void = () => {};
  private onAssigned: () => void = () => {};

  constructor(opts: ConsumerOptions) {
    this.opts = opts;
  }

  private newConsumer(): Consumer<string, string, string, string> {
    const session = this.opts.sessionTimeoutMs ?? 10_000;
    return new Consumer({
      groupId: this.opts.group,
      clientId: this.opts.clientId,
      bootstrapBrokers: [...this.opts.brokers],
      deserializers: stringDeserializers,
      sessionTimeout: session,
      heartbeatInterval: this.opts.heartbeatIntervalMs ?? Math.min(1000, Math.floor(session / 3)),
      rebalanceTimeout: session * 2,
    });
  }

  /**
   * Join the group and start fetching; `onRecord` runs for each record, `onError` on a stream error,
   * `onAssigned` after the member's partitions changed (records not `isCurrent` any more are another
   * member's now).
   */
  async start(
    onRecord: (r: InRecord) => void,
    onError: (e: Error) => void,
    onAssigned: () => void = () => {},
  ): Promise<void> {
    this.onRecord = onRecord;
    this.onError = onError;
    this.onAssigned = onAssigned;
    await this.join();
  }

  /** Whether `r` was read under its partition's current ownership (else another member has it). */
  isCurrent(r: Pick<InRecord, "partition" | "ownership">): boolean {
    return this.owned.get(r.partition) === r.ownership;
  }

  /**
   * The group gave this member `partitions` (of its topic). `fresh`: a new client (a rejoin after a
   * stream failure), which reads every partition again from its committed offset, so nothing read by
   * the old one is current.
   */
  private assigned(partitions: readonly number[], fresh: boolean): number[] {
    const now = new Set(partitions);
    let lost = false;
    const gained: number[] = [];
    for (const p of [...this.owned.keys()])
      if (fresh || !now.has(p)) {
        this.owned.delete(p);
        this.last.delete(p);
        lost = true;
      }
    for (const p of now)
      if (!this.owned.has(p)) {
        this.owned.set(p, ++this.ownerships);
        gained.push(p);
      }
    // a commit waiting on the client's rejoin is retried with these same objects: keep it to what is
    // still ours (offsets of a lost partition would move its new owner's committed position)
    for (const c of this.committing)
      for (let i = c.offsets.length - 1; i >= 0; i--)
        if (this.owned.get(c.offsets[i]!.partition) !== c.ownership[i]) {
          c.offsets.splice(i, 1);
          c.ownership.splice(i, 1);
        }
    if (lost) this.onAssigned();
    return gained;
  }

  /** Queue `seedCommitted` (bounded by COMMIT_TIMEOUT_MS: a broker that does not answer holds no commit). */
  private seed(consumer: Consumer<string, string, string, string>, partitions: readonly number[]): void {
    if (partitions.length === 0) return;
    this.seeding = this.seeding.then(
      () =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, COMMIT_TIMEOUT_MS);
          void this.seedCommitted(consumer, partitions).finally(() => {
            clearTimeout(timer);
            resolve();
          });
        }),
    );
  }

  /**
   * Commit, for each of `partitions` (just given to this member) that the group has no committed
   * offset for, the partition's first offset: where the group starts it anyway (earliest), now on
   * record. The client (2.12) sets a partition's fetch position on a join to the group's committed
   * offset only when there is one: a partition without one that this member lost and later got back
   * was read on from where this client's fetches of it had got to, skipping what the member that held
   * it meanwhile had read without committing (a kill -9 mid-stream: 170 of 3,000 records without a
   * verdict in 2 runs of 5). A failure is logged and left: the group then starts the partition at its
   * earliest offset as before.
   */
  private async seedCommitted(
    consumer: Consumer<string, string, string, string>,
    partitions: readonly number[],
  ): Promise<void> {
    if (partitions.length === 0) return;
    const topic = this.opts.topic;
    try {
      const committed = await consumer.listCommittedOffsets({
        topics: [{ topic, partitions: [...partitions] }],
      });
      const missing = partitions.filter((p) => (committed.get(topic)?.[p] ?? -1n) < 0n);
      if (missing.length === 0 || this.consumer !== consumer) return;
      const first = await consumer.listOffsets({
        topics: [topic],
        partitions: { [topic]: missing },
        timestamp: ListOffsetTimestamps.EARLIEST,
      });
      // (only partitions still owned under this client; should a batch of one be committed first,
      // this moves the group back to the start of the partition: records scored again, none skipped)
      const offsets = missing
        .filter((p) => this.consumer === consumer && this.owned.has(p))
        .map((p) => ({ topic, partition: p, offset: first.get(topic)?.[p] ?? 0n, leaderEpoch: -1 }));
      if (offsets.length > 0) await consumer.commit({ offsets });
    } catch (e) {
      this.onError(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private partitionsOf(consumer: Consumer<string, string, string, string>): number[] {
    return (consumer.assignments ?? [])
      .filter((a) => a.topic === this.opts.topic)
      .flatMap((a) => a.partitions);
  }

  private async join(): Promise<void> {
    const consumer = this.newConsumer();
    onClientError(consumer, (e) => {
      this.onError(e);
      // the current member's client gave up: join again with a new one (as on a stream error)
      if (this.consumer === consumer && !this.closed) void this.rejoin();
    });
    let stream: MessagesStream<string, string, string, string>;
    try {
      stream = await consumer.consume({
        topics: [this.opts.topic],
        autocommit: false,
        mode: "committed",
        fallbackMode: "earliest",
      });
    } catch (e) {
      await consumer.close(true).catch(() => {});
      throw unreachable(this.opts.brokers, `joining group ${this.opts.group} on ${this.opts.topic}`, e);
    }
    this.consumer = consumer;
    this.stream = stream;
    // (the first join happened inside consume(); later ones, each rebalance, come as events)
    this.seed(consumer, this.assigned(this.partitionsOf(consumer), true));
    consumer.on("consumer:group:join", () => {
      if (this.consumer === consumer) this.seed(consumer, this.assigned(this.partitionsOf(consumer), false));
    });
    if (this.paused) stream.pause();
    stream.on("data", (m: Message<string, string, string, string>) => {
      const ownership = this.owned.get(m.partition);
      // fetched before the partition went to another member
      if (ownership === undefined) return;
      const prev = this.last.get(m.partition);
      // read again from the committed offset after a join: delivered already
      if (prev && prev.offset >= m.offset) return;
      this.last.set(m.partition, m);
      this.onRecord({
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        key: m.key === undefined || m.key === null || m.key === "" ? null : m.key,
        value: m.value ?? "",
        timestamp: Number(m.timestamp),
        ownership,
      });
    });
    stream.on("error", (e: Error) => {
      this.onError(e);
      if (this.stream === stream) void this.rejoin();
    });
  }

  /** Drop the failed client and join again, until it works or the member closes. */
  private rejoin(): Promise<void> {
    this.rejoining ??= (async () => {
      const old = { consumer: this.consumer, stream: this.stream };
      this.consumer = null;
      this.stream = null;
      await old.stream?.close().catch(() => {});
      await old.consumer?.close(true).catch(() => {});
      let wait = REJOIN_FIRST_MS;
      while (!this.closed) {
        try {
          await this.join();
          return;
        } catch (e) {
          this.onError(e as Error);
          await new Promise((r) => setTimeout(r, wait));
          wait = Math.min(REJOIN_MAX_MS, wait * 2);
        }
      }
    })().finally(() => {
      this.rejoining = null;
    });
    return this.rejoining;
  }

  pause(): void {
    this.paused = true;
    this.stream?.pause();
  }

  resume(): void {
    this.paused = false;
    this.stream?.resume();
  }

  /**
   * Commit, per partition, the offset after the highest of `records` handled, for the partitions this
   * member still owns under the ownership the records were read with (the others are another member's
   * now: it reads those records again). Fails (rejects) when the group refuses the commit, or the broker
   * does not answer within COMMIT_TIMEOUT_MS.
   */
  async commit(records: readonly InRecord[]): Promise<void> {
    const upTo = new Map<number, InRecord>();
    for (const r of records) {
      if (!this.isCurrent(r)) continue;
      const cur = upTo.get(r.partition);
      if (cur === undefined || cur.offset < r.offset) upTo.set(r.partition, r);
    }
    const handled = [...upTo.values()];
    const offsets: CommitOffset[] = handled.map((r) => ({
      topic: this.opts.topic,
      partition: r.partition,
      offset: r.offset + 1n,
      leaderEpoch: this.last.get(r.partition)?.leaderEpoch ?? -1,
    }));
    if (offsets.length === 0) return;
    await this.seeding;
    if (!this.consumer) throw new Error("not in the group (rejoining after a broker failure)");
    const under: Committing = { offsets, ownership: handled.map((r) => r.ownership) };
    this.committing.add(under);
    try {
      await within(
        this.consumer.commit({ offsets }),
        COMMIT_TIMEOUT_MS,
        `commit not answered in ${COMMIT_TIMEOUT_MS} ms`,
      );
    } finally {
      this.committing.delete(under);
    }
  }

  /** Records behind the end of the log, over the partitions this member holds (0 when none). */
  async lag(): Promise<number> {
    if (!this.consumer) return 0;
    const lag = await this.consumer.getLag({ topics: [this.opts.topic] });
    let total = 0;
    for (const v of lag.get(this.opts.topic) ?? []) if (v > 0n) total += Number(v);
    return total;
  }

  /** Stop fetching, leave the group (a rebalance hands the partitions to the others) and disconnect. */
  async close(): Promise<void> {
    this.closed = true;
    await this.rejoining?.catch(() => {});
    try {
      if (this.stream) await this.stream.close();
    } catch {
      // closing a stream whose connection is already gone is not an error here
    }
    await this.consumer?.close(true).catch(() => {});
  }
}
