/** What the stream's integration tests share: the global set-up's broker and phishing rows as JSON records. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { GroupProgress } from "../../src/stream/kafka.ts";
import { trainQuickForest } from "./cli.ts";
import { PHISHING_CSV, tempDir } from "./env.ts";

/** The broker the integration global set-up started (`host:port`). */
export function testKafkaBrokers(): string {
  const brokers = process.env.NETSEC_TEST_KAFKA_BROKERS;
  if (!brokers)
    throw new Error("NETSEC_TEST_KAFKA_BROKERS is not set: the integration global set-up starts Kafka");
  return brokers;
}

/** The first `n` rows of the phishing CSV as JSON objects' texts, and the CSV's header. */
export function phishingJsonRecords(n: number): { header: string[]; records: string[] } {
  const lines = readFileSync(PHISHING_CSV, "utf8").trim().split(/\r?\n/);
  const header = lines[0]!.replace(/"/g, "").split(",");
  const records = lines
    .slice(1, n + 1)
    .map((l) => JSON.stringify(Object.fromEntries(l.split(",").map((v, i) => [header[i]!, v]))));
  return { header, records };
}

/** A file's stream set-up: a quick phishing forest registered in a temporary home, and its records. */
export interface QuickForestStream {
  /** The temporary directory (removed after the file's tests); the home is `home` under it. */
  readonly dir: string;
  readonly home: string;
  /** A suffix that keeps this run's topics and groups apart from earlier runs' on the same broker. */
  readonly run: string;
  /** Filled before the file's tests (beforeAll). */
  header: string[];
  records: string[];
}

/** Trains the forest and makes `n` JSON records before the calling file's tests; cleans up after. */
export function quickForestStream(n: number): QuickForestStream {
  const tmp = tempDir();
  const fx: QuickForestStream = {
    dir: tmp.dir,
    home: join(tmp.dir, "home"),
    run: Date.now().toString(36),
    header: [],
    records: [],
  };
  beforeAll(() => {
    const t = trainQuickForest({ NETSEC_HOME: fx.home, NETSEC_STORE_URI: "" });
    expect(t.code, t.stderr).toBe(0);
    Object.assign(fx, phishingJsonRecords(n));
  }, 120_000);
  afterAll(() => tmp.cleanup());
  return fx;
}

/** The records of `topic` whose offsets `group` has committed, summed over its partitions. */
export async function committedCount(brokers: string, group: string, topic: string): Promise<number> {
  const g = new GroupProgress([brokers]);
  try {
    return await g.committed(group, topic);
  } finally {
    await g.close();
  }
}

/** Wait until `group` has committed `n` records of `topic` (looking every 100 ms). */
export async function untilCommitted(
  brokers: string,
  group: string,
  topic: string,
  n: number,
): Promise<void> {
  const g = new GroupProgress([brokers]);
  try {
    while ((await g.committed(group, topic)) < n) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await g.close();
  }
}
