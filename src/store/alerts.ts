/**
 * Stream verdicts (`netsec stream`) in the record store, one row per consumed Kafka record, keyed by
 * (topic, partition, offset): writing a verdict whose key is already there adds nothing, so a record
 * redelivered after a crash or a rebalance never makes a second row (at-least-once delivery, idempotent
 * writes).
 *
 * DuckDB (`stream_alerts` table in the store file): the writes run on a thread of their own
 * (`alert-thread.ts`), which owns the store (`duckdb/alert-writer.ts`). DuckDB lets one process at a
 * time open a file, so each write opens the store, inserts in one transaction and closes it again:
 * the lock is held for one short write, and consumers in other processes on the same machine take
 * turns through the record store's bounded wait (NETSEC_STORE_WAIT_SECONDS). With `holdOpen` (one
 * consumer process per file) the store stays open between writes. Consumers on several machines share
 * a MongoDB store instead (collection `stream_alerts`, `_id` the key; the driver is asynchronous).
 */
import { ThreadedAlertStore } from "./alert-thread.ts";
import { ALERTS_TABLE } from "./duckdb/alert-writer.ts";
import { DuckDbStore } from "./duckdb/store.ts";
import { MongoStore } from "./mongodb.ts";
import { openStore } from "./open.ts";

export { ALERTS_TABLE };

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
  /**
   * Reach the store and make its alerts table ready, before the first write (a write does it too when
   * needed): the stream does this before it joins its group, so a store it cannot use stops it there,
   * and its first batch does not wait for the store's opening.
   */
  open(): Promise<void>;
  /** Insert the alerts not stored yet (all or nothing); returns how many were new. */
  write(alerts: readonly StreamAlert[]): Promise<number>;
  close(): Promise<void>;
}

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
  if (!(store instanceof DuckDbStore)) throw new Error(`no alert store for ${store.location}`);
  // (not opened here: the writer thread opens its own DuckDbStore on the same file)
  return new ThreadedAlertStore(store.path, {
    holdOpen: opts.holdOpen === true,
    threads: opts.threads ?? ALERT_STORE_THREADS,
    ...(opts.waitSeconds !== undefined ? { waitSeconds: opts.waitSeconds } : {}),
    ...(opts.onWait ? { onWait: opts.onWait } : {}),
  });
}

class MongoAlertStore implements AlertStore {
  readonly location: string;
  private readonly store: MongoStore;
  private opened = false;

  constructor(store: MongoStore) {
    this.store = store;
    this.location = store.location;
  }

  async open(): Promise<void> {
    if (!this.opened) {
      await this.store.open();
      this.opened = true;
    }
  }

  async write(alerts: readonly StreamAlert[]): Promise<number> {
    if (alerts.length === 0) return 0;
    await this.open();
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
    this.opened = false;
  }
}
