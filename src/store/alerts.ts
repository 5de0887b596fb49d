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
  onWait?: (message: string) => void;
}

export function openAlertStore(uri: string, opts: AlertStoreOptions = {}): AlertStore {
  const store = openStore(uri, {
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
      return await this.store.transaction(async (c) => {
        if (!this.tableReady) {
          await c.run(`CREATE TABLE IF NOT EXISTS ${ALERTS_TABLE} (
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
        return await insertAlerts(c, alerts);
      });
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

async function insertAlerts(c: DuckDBConnection, alerts: readonly StreamAlert[]): Promise<number> {
  await c.run(`CREATE OR REPLACE TEMP TABLE alert_stage (
    topic VARCHAR, "partition" INTEGER, "offset" BIGINT, record_key VARCHAR, model VARCHAR,
    label VARCHAR, label_name VARCHAR, threat BOOLEAN, probability DOUBLE, scored_at VARCHAR)`);
  const app = await c.createAppender("alert_stage", "main", "temp");
  try {
    for (const a of alerts) {
      app.appendVarchar(a.topic);
      app.appendInteger(a.partition);
      app.appendBigInt(a.offset);
      if (a.recordKey === null) app.appendNull();
      else app.appendVarchar(a.recordKey);
      app.appendVarchar(a.model);
      app.appendVarchar(a.label);
      app.appendVarchar(a.labelName);
      app.appendBoolean(a.threat);
      app.appendDouble(a.probability);
      app.appendVarchar(a.scoredAt);
      app.endRow();
    }
    app.flushSync();
  } finally {
    app.closeSync();
  }
  const res = await c.run(
    `INSERT OR IGNORE INTO ${ALERTS_TABLE} SELECT DISTINCT ON (topic, "partition", "offset") * FROM temp.alert_stage`,
  );
  await c.run("DROP TABLE temp.alert_stage");
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
