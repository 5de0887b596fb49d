/**
 * The DuckDB half of the stream's alert store (`../alerts.ts`): a write's verdicts, as columns
 * (`../alert-columns.ts`), into the `stream_alerts` table of a store file in one transaction, keyed by
 * (topic, partition, offset) so a key already there adds nothing. Runs on the alert store's writer
 * thread (`../alert-task.ts`), never on the stream's own: every call here is a DuckDB call.
 *
 * Without `holdOpen` each write opens the store, inserts and closes it again: the file's lock is held
 * for one short write, and consumers in other processes on the same machine take turns through the
 * record store's bounded wait (NETSEC_STORE_WAIT_SECONDS). With `holdOpen` it stays open.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { type AlertColumns, keysDistinct } from "../alert-columns.ts";
import type { DuckDbStore } from "./store.ts";

export const ALERTS_TABLE = "stream_alerts";

export class DuckDbAlertWriter {
  private readonly store: DuckDbStore;
  private readonly holdOpen: boolean;
  private open = false;
  private tableReady = false;

  constructor(store: DuckDbStore, holdOpen: boolean) {
    this.store = store;
    this.holdOpen = holdOpen;
  }

  /** Open the store and create the table unless it exists (closed again unless `holdOpen`). */
  async prepare(): Promise<void> {
    await this.opened(async () => {});
  }

  /** Insert the rows of `c` not stored yet (all or nothing); returns how many were new. */
  async write(c: AlertColumns): Promise<number> {
    if (c.length === 0) return 0;
    return this.opened(async () => {
      // none stored yet (the usual case): a plain insert, half the time of one that looks each key up
      // to skip it; a redelivered record makes it fail, and the write is done again skipping those
      if (keysDistinct(c))
        try {
          return await this.store.transaction((conn) => insertAlerts(conn, c, false));
        } catch (e) {
          if (!/duplicate key/i.test((e as Error).message)) throw e;
        }
      return await this.store.transaction((conn) => insertAlerts(conn, c, true));
    });
  }

  /** Run `fn` with the store open and the table there; closes the store after unless `holdOpen`. */
  private async opened<T>(fn: () => Promise<T>): Promise<T> {
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
      return await fn();
    } finally {
      if (!this.holdOpen) await this.close();
    }
  }

  async close(): Promise<void> {
    await this.store.close();
    this.open = false;
  }
}

/**
 * Insert the rows of `c` in the open transaction; `skipStored`: skip the keys the table has and
 * repeats among them (else a key already there fails the insert). Returns how many rows were added.
 * The shared strings are staged once each in `alert_dict` and joined in by number: an appended
 * VARCHAR crosses into DuckDB's native code and is copied as UTF-8.
 */
async function insertAlerts(conn: DuckDBConnection, c: AlertColumns, skipStored: boolean): Promise<number> {
  // (one call for both: each call costs a hop to DuckDB's thread and back, and its parse)
  await conn.run(`CREATE OR REPLACE TEMP TABLE alert_stage (
    "partition" INTEGER, "offset" BIGINT, record_key VARCHAR, shared INTEGER, threat BOOLEAN,
    probability DOUBLE);
    CREATE OR REPLACE TEMP TABLE alert_dict (
    shared INTEGER, topic VARCHAR, model VARCHAR, label VARCHAR, label_name VARCHAR, scored_at VARCHAR)`);
  const app = await conn.createAppender("alert_stage", "main", "temp");
  try {
    for (let i = 0; i < c.length; i++) {
      app.appendInteger(c.partition[i]!);
      app.appendBigInt(c.offset[i]!);
      const key = c.recordKey[i];
      if (key === null || key === undefined) app.appendNull();
      else app.appendVarchar(key);
      app.appendInteger(c.sharedIndex[i]!);
      app.appendBoolean(c.threat[i] === 1);
      app.appendDouble(c.probability[i]!);
      app.endRow();
    }
    app.flushSync();
  } finally {
    app.closeSync();
  }
  const dict = await conn.createAppender("alert_dict", "main", "temp");
  try {
    c.shared.forEach((e, i) => {
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
  const res = await conn.run(
    `INSERT ${skipStored ? "OR IGNORE " : ""}INTO ${ALERTS_TABLE}
       (topic, "partition", "offset", record_key, model, label, label_name, threat, probability, scored_at)
     SELECT ${skipStored ? `DISTINCT ON (d.topic, s."partition", s."offset")` : ""}
       d.topic, s."partition", s."offset", s.record_key, d.model, d.label, d.label_name, s.threat,
       s.probability, d.scored_at
     FROM temp.alert_stage s JOIN temp.alert_dict d USING (shared)`,
  );
  await conn.run("DROP TABLE temp.alert_stage; DROP TABLE temp.alert_dict");
  return res.rowsChanged;
}
