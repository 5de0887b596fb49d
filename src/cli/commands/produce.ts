import { resolve } from "node:path";
import type { Command } from "commander";
import { NetsecError } from "../../core/errors.ts";
import { readTable } from "../../datasets/readers.ts";
import { ensureTopic, type OutMessage, parseBrokers, StreamProducer } from "../../stream/kafka.ts";
import { runCommand } from "../context.ts";
import { intOption } from "../int-option.ts";

interface ProduceOptions {
  brokers: string;
  topic: string;
  file: string;
  key?: string;
  partitions: string;
  batch: string;
  json?: boolean;
}

export function registerProduce(program: Command): void {
  program
    .command("produce")
    .description(
      "publish a file's records to a Kafka topic, one JSON object per record (replay, tests, benchmarks)",
    )
    .requiredOption("--brokers <host:port,…>", "Kafka bootstrap brokers")
    .requiredOption("--topic <name>", "topic to publish to (created when missing, see --partitions)")
    .requiredOption(
      "--file <path>",
      "records to publish: CSV/TSV (cells as text), JSONL or Parquet (typed values), as `netsec predict` reads them",
    )
    .option("--key <column>", "use this column's value as each message's key (default: no key)")
    .option("--partitions <n>", "partitions of the topic when it has to be created", "1")
    .option("--batch <n>", "records per produce request (each acknowledged by all in-sync replicas)", "5000")
    .option("--json", "print a machine-readable summary as the last line")
    .action((o: ProduceOptions) =>
      runCommand(o, async (ctx) => {
        const brokers = parseBrokers(o.brokers);
        const partitions = intOption("--partitions", o.partitions, 1, 100_000);
        const batchSize = intOption("--batch", o.batch, 1, 1_000_000);
        const path = resolve(o.file);
        const table = await readTable({ path }, { batchSize });
        const keyAt = o.key === undefined ? -1 : table.header.indexOf(o.key);
        if (o.key !== undefined && keyAt < 0)
          throw new NetsecError(
            "SCHEMA_MISMATCH",
            `${table.label}: --key ${o.key} is not a column (columns: ${table.header.join(", ")})`,
            { file: table.label, column: o.key },
          );
        await ensureTopic(brokers, o.topic, partitions);
        const producer = new StreamProducer(brokers, "netsec-produce");
        const meter = ctx.meter(`produce ${o.topic}`, "records");
        const t0 = performance.now();
        let sent = 0;
        try {
          for await (const b of table.batches) {
            const messages: OutMessage[] = b.rows.map((row) => {
              const obj: Record<string, unknown> = {};
              for (const [j, name] of table.header.entries()) obj[name] = row[j] ?? null;
              const v = keyAt >= 0 ? row[keyAt] : null;
              return {
                topic: o.topic,
                value: JSON.stringify(obj),
                ...(v !== null && v !== undefined ? { key: String(v) } : {}),
              };
            });
            await producer.send(messages);
            sent += messages.length;
            meter?.update(sent);
          }
        } finally {
          await producer.close();
        }
        meter?.finish();
        const secs = (performance.now() - t0) / 1000;
        const rate = secs > 0 ? Math.round(sent / secs) : sent;
        ctx.say(
          `${sent} records from ${table.label} → ${o.topic} in ${secs.toFixed(1)} s (${rate} records/s)`,
        );
        ctx.result({ ok: true, topic: o.topic, records: sent, seconds: secs, records_per_second: rate });
        return 0;
      }),
    );
}
