/**
 * Stream verdicts (`netsec stream`) in the record store, one row per consumed Kafka record, keyed by
 * (topic, partition, offset): writing a verdict whose key is already there adds nothing, so a record
 * redelivered after a crash or a rebalance never makes a second row (at-least-once delivery, idempotent
 * writes).
 *
 * DuckDB (`stream_alerts` table in the store file): DuckDB lets one process at a time open a file, so
 * each `write` opens the store, inserts in one transaction and closes it again: the lock is held for
 * one short write, and consumers in other processes on the same machine take turns through the record
 * store's bounded wait (NETSEC_STORE_WAIT_SECONDS). With `holdOpen` (one consumer process per file) the
 * store stays open between writes. Consumers on several machines share a MongoDB store instead
 * (collection `stream_alerts`, `_id` the key).
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { DuckDbStore } from "./duckdb/store.ts";
import { MongoStore } from "./mongodb.ts";
import { openStore } from "./open.ts";

export interface StreamAlert {
  topic: string;
  partition: number;
  offset: bigint;
  /** The consumed record's Kafka key, when it had one. */
  recordKey: string | null;
  /** "name:version" of the model that scored it. */
  model: string;
  label: string;
  labelName: string;
  threat: boolean;
  probability: number;
  /** ISO time of the write. */
  scoredAt: string;
}

export interface AlertStore {
  readonly location: string;
  /** Insert the alerts not stored yet (all or nothing); returns how many were new. */
  write(alerts: readonly StreamAlert[]): Promise<number>;
  close(): Promise<void>;
}

export const ALERTS_TABLE = "stream_alerts";

export interface AlertStoreOptions {
  /** DuckDB: how long a write waits for another process holding the file (seconds). */
  waitSeconds?: number;
  /** DuckDB: keep the file open between writes (a single consumer process). */
  holdOpen?: boolean;
  /** DuckDB: threads per query (NETSEC_DUCKDB_THREADS; default {@link ALERT_STORE_THREADS}). */
  threads?: number;
  onWait?: (message: string) => void;
}

/**
 * DuckDB threads of the alert store by default: one. Its writes are small (a stream's few hundred to
 * few thousand alerts, up to 10 times a second: run.ts's STORE_EVERY_MS), and a second thread made
 * them dearer, not faster, on a 2-core machine the stream shares with the broker: CPU of all threads
 * per write 4.9–5.2 against 6.7–6.9 ms (100 alerts), 11 against 17 ms (2,000 alerts), and the WAL
 * checkpoint every ≈ 195,000 alerts 120–190 against 140–420 ms (BENCHMARKS.md, "Lane S2").
 */
export const ALERT_STORE_THREADS = 1;

export function openAlertStore(uri: string, opts: AlertStoreOptions = {}): AlertStore {
  const store = openStore(uri, {
    threads: opts.threads ?? ALERT_STORE_THREADS,
    ...(opts.waitSeconds !== undefined ? { waitSeconds: opts.waitSeconds } : {}),
    ...(opts.onWait ? { onWait: opts.onWait } : {}),
  });
  if (store instanceof MongoStore) return new MongoAlertStore(store);
  return new DuckDbAlertStore(store as DuckDbStore, opts.holdOpen === true);
}

class DuckDbAlertStore implements AlertStore {
  readonly location: string;
  private readonly store: DuckDbStore;
  private readonly holdOpen: boolean;
  private open = false;
  private tableReady = false;

  constructor(store: DuckDbStore, holdOpen: boolean) {
    this.store = store;
    this.location = store.location;
    this.holdOpen = holdOpen;
  }

  async write(alerts: readonly StreamAlert[]): Promise<number> {
    if (alerts.length === 0) return 0;
    if (!this.open) {
      await this.store.open();
      this.open = true;
    }
    try {
      if (!this.tableReady) {
        await this.store.connection.run(`CREATE TABLE IF NOT EXISTS ${ALERTS_TABLE} (
            topic VARCHAR NOT NULL,
            "partition" INTEGER NOT NULL,
            "offset" BIGINT NOT NULL,
            record_key VARCHAR,
            model VARCHAR NOT NULL,
            label VARCHAR NOT NULL,
            label_name VARCHAR NOT NULL,
            threat BOOLEAN NOT NULL,
            probability DOUBLE NOT NULL,
            scored_at VARCHAR NOT NULL,
            PRIMARY KEY (topic, "partition", "offset"))`);
        this.tableReady = this.holdOpen;
      }
      // none stored yet (the usual case): a plain insert, half the time of one that looks each key up
      // to skip it; a redelivered record makes it fail, and the write is done again skipping those
      if (keysDistinct(alerts))
        try {
          return await this.store.transaction((c) => insertAlerts(c, alerts, false));
        } catch (e) {
          if (!/duplicate key/i.test((e as Error).message)) throw e;
        }
      return await this.store.transaction((c) => insertAlerts(c, alerts, true));
    } finally {
      if (!this.holdOpen) {
        await this.store.close();
        this.open = false;
      }
    }
  }

  async close(): Promise<void> {
    await this.store.close();
    this.open = false;
  }
}

/**
 * The strings an alert shares with most others of a write (its topic, model, label, label name and
 * write time: a handful of distinct tuples per write), staged once each in `alert_dict` and referred
 * to by number: an appended VARCHAR crosses into DuckDB's native code and is copied as UTF-8, and five
 * of them per row were most of a write's CPU on the stream's thread.
 */
class SharedStrings {
  readonly entries: Pick<StreamAlert, "topic" | "model" | "label" | "labelName" | "scoredAt">[] = [];
  private readonly index = new Map<string, number>();
  private last = -1;

  /** The number of `a`'s shared strings (consecutive alerts mostly share them: checked first). */
  of(a: StreamAlert): number {
    const l = this.entries[this.last];
    if (
      l !== undefined &&
      l.label === a.label &&
      l.topic === a.topic &&
      l.model === a.model &&
      l.scoredAt === a.scoredAt &&
      l.labelName === a.labelName
    )
      return this.last;
    const key = `${a.topic}\0${a.model}\0${a.label}\0${a.labelName}\0${a.scoredAt}`;
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.entries.length;
      this.entries.push({
        topic: a.topic,
        model: a.model,
        label: a.label,
        labelName: a.labelName,
        scoredAt: a.scoredAt,
      });
      this.index.set(key, i);
    }
    this.last = i;
    return i;
  }
}

/**
 * Whether no two of `alerts` have one key, known cheaply: one topic, and each partition's offsets
 * rising (as a consumer's batches are; false is "maybe not", for the write that skips repeats).
 */
function keysDistinct(alerts: readonly StreamAlert[]): boolean {
  const topic = alerts[0]!.topic;
  const last = new Map<number, bigint>();
  for (const a of alerts) {
    if (a.topic !== topic) return false;
    const prev = last.get(a.partition);
    if (prev !== undefined && a.offset <= prev) return false;
    last.set(a.partition, a.offset);
  }
  return true;
}

/**
 * Insert `alerts` in the open transaction; `skipStored`: skip the keys the table has and repeats
 * among them (else a key already there fails the insert). Returns how many rows were added.
 */
async function insertAlerts(
  c: DuckDBConnection,
  alerts: readonly StreamAlert[],
  skipStored: boolean,
): Promise<number> {
  // (one call for both: each call costs a hop to DuckDB's thread and back, and its parse)
  await c.run(`CREATE OR REPLACE TEMP TABLE alert_stage (
    "partition" INTEGER, "offset" BIGINT, record_key VARCHAR, shared INTEGER, threat BOOLEAN,
    probability DOUBLE);
    CREATE OR REPLACE TEMP TABLE alert_dict (
    shared INTEGER, topic VARCHAR, model VARCHAR, label VARCHAR, label_name VARCHAR, scored_at VARCHAR)`);
  const shared = new SharedStrings();
  const app = await c.createAppender("alert_stage", "main", "temp");
  try {
    for (const a of alerts) {
      app.appendInteger(a.partition);
      app.appendBigInt(a.offset);
      if (a.recordKey === null) app.appendNull();
      else app.appendVarchar(a.recordKey);
      app.appendInteger(shared.of(a));
      app.appendBoolean(a.threat);
      app.appendDouble(a.probability);
      app.endRow();
    }
    app.flushSync();
  } finally {
    app.closeSync();
  }
  const dict = await c.createAppender("alert_dict", "main", "temp");
  try {
    shared.entries.forEach((e, i) => {
      dict.appendInteger(i);
      dict.appendVarchar(e.topic);
      dict.appendVarchar(e.model);
      dict.appendVarchar(e.label);
      dict.appendVarchar(e.labelName);
      dict.appendVarchar(e.scoredAt);
      dict.endRow();
    });
    dict.flushSync();
  } finally {
    dict.closeSync();
  }
  const res = await c.run(
    `INSERT ${skipStored ? "OR IGNORE " : ""}INTO ${ALERTS_TABLE}
       (topic, "partition", "offset", record_key, model, label, label_name, threat, probability, scored_at)
     SELECT ${skipStored ? `DISTINCT ON (d.topic, s."partition", s."offset")` : ""}
       d.topic, s."partition", s."offset", s.record_key, d.model, d.label, d.label_name, s.threat,
       s.probability, d.scored_at
     FROM temp.alert_stage s JOIN temp.alert_dict d USING (shared)`,
  );
  await c.run("DROP TABLE temp.alert_stage; DROP TABLE temp.alert_dict");
  return res.rowsChanged;
}

class MongoAlertStore implements AlertStore {
  readonly location: string;
  private readonly store: MongoStore;
  private open = false;

  constructor(store: MongoStore) {
    this.store = store;
    this.location = store.location;
  }

  async write(alerts: readonly StreamAlert[]): Promise<number> {
    if (alerts.length === 0) return 0;
    if (!this.open) {
      await this.store.open();
      this.open = true;
    }
    return this.store.insertKeyed(
      ALERTS_TABLE,
      alerts.map((a) => ({
        _id: `${a.topic}/${a.partition}/${a.offset}`,
        topic: a.topic,
        partition: a.partition,
        offset: Number(a.offset),
        record_key: a.recordKey,
        model: a.model,
        label: a.label,
        label_name: a.labelName,
        threat: a.threat,
        probability: a.probability,
        scored_at: a.scoredAt,
      })),
    );
  }

  async close(): Promise<void> {
    await this.store.close();
    this.open = false;
  }
}
