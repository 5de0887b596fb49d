/**
 * Stream verdicts in the DuckDB record store: keyed by topic/partition/offset, so a redelivered record
 * adds no second row; and two consumer processes writing to one store file at once take turns through
 * the store's bounded wait (each write holds the file only for itself), losing nothing.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { alertColumns } from "../../src/store/alert-columns.ts";
import {
  ALERT_STORE_THREADS,
  ALERTS_TABLE,
  type AlertStore,
  openAlertStore,
  type StreamAlert,
} from "../../src/store/alerts.ts";
import { DuckDbAlertWriter } from "../../src/store/duckdb/alert-writer.ts";
import { openDuckDb } from "../../src/store/duckdb/connection.ts";
import { DuckDbStore } from "../../src/store/duckdb/store.ts";
import { ROOT, tempDir } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);

const alert = (partition: number, offset: number, threat = true): StreamAlert => ({
  topic: "flows",
  partition,
  offset: BigInt(offset),
  recordKey: offset % 2 === 0 ? `k${offset}` : null,
  model: "phishing-rf:3",
  label: threat ? "-1" : "1",
  labelName: threat ? "phishing" : "legitimate",
  threat,
  probability: threat ? 0.9 : 0.1,
  scoredAt: "2026-12-06T10:00:00.000Z",
});

async function rows(file: string): Promise<{ partition: number; offset: bigint; n: bigint }[]> {
  const db = await openDuckDb({ path: file, readOnly: true });
  try {
    const r = await db.connection.runAndReadAll(
      `SELECT "partition", "offset", count(*) OVER (PARTITION BY "partition", "offset") AS n FROM ${ALERTS_TABLE} ORDER BY 1, 2`,
    );
    return r.getRowObjects() as { partition: number; offset: bigint; n: bigint }[];
  } finally {
    db.close();
  }
}

describe("alert store (DuckDB)", () => {
  it("adds a verdict once: a redelivered batch, or a repeat inside a batch, adds nothing", async () => {
    const file = join(tmp.dir, "once.duckdb");
    const s = openAlertStore(`duckdb:${file}`);
    expect(await s.write([alert(0, 1), alert(0, 2), alert(1, 1)])).toBe(3);
    // redelivery after a crash before the commit: the same records again, plus new ones
    expect(await s.write([alert(0, 2), alert(1, 1), alert(1, 2), alert(1, 2)])).toBe(1);
    await s.close();
    const got = await rows(file);
    expect(got.map((r) => [r.partition, Number(r.offset), Number(r.n)])).toEqual([
      [0, 1, 1],
      [0, 2, 1],
      [1, 1, 1],
      [1, 2, 1],
    ]);
    const db = await openDuckDb({ path: file, readOnly: true });
    const one = (
      await db.connection.runAndReadAll(
        `SELECT topic, record_key, model, label, label_name, threat, probability FROM ${ALERTS_TABLE} WHERE "partition" = 0 AND "offset" = 2`,
      )
    ).getRowObjects();
    db.close();
    expect(one).toEqual([
      {
        topic: "flows",
        record_key: "k2",
        model: "phishing-rf:3",
        label: "-1",
        label_name: "phishing",
        threat: true,
        probability: 0.9,
      },
    ]);
  });

  it("a write of new keys beside ones already stored adds only the new ones", async () => {
    // distinct keys within the write (the plain insert is tried first), two of them stored before
    const file = join(tmp.dir, "redelivered.duckdb");
    const s = openAlertStore(`duckdb:${file}`, { holdOpen: true });
    expect(await s.write([alert(0, 1), alert(0, 2), alert(1, 5)])).toBe(3);
    expect(await s.write([alert(0, 2), alert(0, 3), alert(1, 5), alert(1, 6)])).toBe(2);
    // and the store goes on taking plain writes afterwards
    expect(await s.write([alert(0, 4), alert(1, 7)])).toBe(2);
    await s.close();
    expect((await rows(file)).map((r) => [r.partition, Number(r.offset), Number(r.n)])).toEqual([
      [0, 1, 1],
      [0, 2, 1],
      [0, 3, 1],
      [0, 4, 1],
      [1, 5, 1],
      [1, 6, 1],
      [1, 7, 1],
    ]);
  });

  it("writes on one DuckDB thread unless told otherwise (NETSEC_DUCKDB_THREADS)", async () => {
    // (the settings the writer thread opens its store with)
    const threadsOf = (s: AlertStore): number =>
      (s as unknown as { settings: { threads: number } }).settings.threads;
    const one = openAlertStore(`duckdb:${join(tmp.dir, "threads-1.duckdb")}`, { holdOpen: true });
    expect(threadsOf(one)).toBe(ALERT_STORE_THREADS);
    expect(ALERT_STORE_THREADS).toBe(1);
    await one.close();
    const three = openAlertStore(`duckdb:${join(tmp.dir, "threads-3.duckdb")}`, {
      holdOpen: true,
      threads: 3,
    });
    expect(threadsOf(three)).toBe(3);
    await three.close();
    // and the writer's store runs with what it is given
    const store = new DuckDbStore(join(tmp.dir, "threads-w.duckdb"), { threads: 3 });
    const w = new DuckDbAlertWriter(store, true);
    expect(await w.write(alertColumns([alert(0, 1)]))).toBe(1);
    const r = await store.connection.runAndReadAll("SELECT current_setting('threads') AS n");
    expect(Number((r.getRowObjects()[0] as { n: bigint }).n)).toBe(3);
    await w.close();
  });

  it("keeps every field of every row, with topics, models, labels and times mixed in one write", async () => {
    const file = join(tmp.dir, "fields.duckdb");
    const s = openAlertStore(`duckdb:${file}`);
    const mixed: StreamAlert[] = Array.from({ length: 40 }, (_, i) => ({
      topic: i % 5 === 0 ? "flows-b" : "flows",
      partition: i % 3,
      offset: BigInt(1000 + i),
      recordKey: i % 4 === 0 ? null : `key-${i}`,
      model: i < 20 ? "phishing-rf:3" : "phishing-rf:4",
      label: i % 2 === 0 ? "-1" : "1",
      labelName: i % 2 === 0 ? "phishing" : "legitimate",
      threat: i % 2 === 0,
      probability: i / 40,
      scoredAt: i % 7 === 0 ? "2026-12-06T10:00:01.000Z" : "2026-12-06T10:00:00.000Z",
    }));
    expect(await s.write(mixed)).toBe(40);
    await s.close();
    const db = await openDuckDb({ path: file, readOnly: true });
    const got = (
      await db.connection.runAndReadAll(
        `SELECT topic, "partition", "offset", record_key, model, label, label_name, threat, probability, scored_at FROM ${ALERTS_TABLE} ORDER BY "offset"`,
      )
    ).getRowObjects();
    db.close();
    expect(got).toEqual(
      mixed.map((a) => ({
        topic: a.topic,
        partition: a.partition,
        offset: a.offset,
        record_key: a.recordKey,
        model: a.model,
        label: a.label,
        label_name: a.labelName,
        threat: a.threat,
        probability: a.probability,
        scored_at: a.scoredAt,
      })),
    );
  });

  it("two processes writing to one file at once lose nothing and double nothing", async () => {
    const file = join(tmp.dir, "shared.duckdb");
    // each writer: 40 batches of 50 verdicts on its own partition, plus every batch repeating the
    // other writer's first offsets (redeliveries after a rebalance)
    const writer = (partition: number, other: number) => `
      const { openAlertStore } = await import(${JSON.stringify(join(ROOT, "src/store/alerts.ts"))});
      const s = openAlertStore(${JSON.stringify(`duckdb:${file}`)}, { waitSeconds: 60 });
      const a = (p, o) => ({ topic: "flows", partition: p, offset: BigInt(o), recordKey: null, model: "m:1",
        label: "-1", labelName: "phishing", threat: true, probability: 0.5, scoredAt: "t" });
      for (let b = 0; b < 40; b++) {
        const batch = [];
        for (let i = 0; i < 50; i++) batch.push(a(${partition}, b * 50 + i));
        batch.push(a(${other}, b % 5));
        await s.write(batch);
      }
      await s.close();`;
    const run = (code: string) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, ["--input-type=module", "-e", code], {
          stdio: ["ignore", "ignore", "pipe"],
        });
        let stderr = "";
        c.stderr.on("data", (d: Buffer) => {
          stderr += d.toString();
        });
        c.on("close", (code) => resolve({ code, stderr }));
      });
    const [a, b] = await Promise.all([run(writer(0, 1)), run(writer(1, 0))]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const got = await rows(file);
    expect(got.length).toBe(4000);
    expect(got.every((r) => r.n === 1n)).toBe(true);
    for (const p of [0, 1])
      expect(got.filter((r) => r.partition === p).map((r) => Number(r.offset))).toEqual(
        Array.from({ length: 2000 }, (_, i) => i),
      );
  });
});
