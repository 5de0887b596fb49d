/** What the stream's integration tests share: the global set-up's broker and phishing rows as JSON records. */
import { readFileSync } from "node:fs";
import { PHISHING_CSV } from "./env.ts";

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
