import type { Command } from "commander";
import { loadPredictor } from "../../bundle/bundle.ts";
import { ModelRegistry } from "../../bundle/registry.ts";
import { NetsecError } from "../../core/errors.ts";
import { AlertSink } from "../../monitor/alerts.ts";
import { monitorSettingsFrom } from "../../monitor/monitor.ts";
import { ModelHolder, registryModelSource } from "../../serve/model-holder.ts";
import { openAlertStore } from "../../store/alerts.ts";
import { alertChannelsFrom } from "../../stream/alert-topic.ts";
import { fastFrame } from "../../stream/fast-frame.ts";
import { ensureTopic, parseBrokers } from "../../stream/kafka.ts";
import { createStreamMetrics, serveMetrics } from "../../stream/metrics.ts";
import { StreamMonitoring } from "../../stream/monitoring.ts";
import { decoder, type RecordFormat, sampleRecords } from "../../stream/records.ts";
import { startStream } from "../../stream/run.ts";
import { ScoringThread } from "../../stream/score-thread.ts";
import { runCommand } from "../context.ts";
import { intOption } from "../int-option.ts";

interface StreamOptions {
  brokers: string;
  topic: string;
  group: string;
  alertsTopic: string;
  deadLetterTopic?: string;
  model: string;
  all?: boolean;
  format: string;
  csvHeader?: string;
  batchSize: string;
  lingerMs: string;
  maxInFlight: string;
  pollMs: string;
  metricsPort?: string;
  metricsHost: string;
  holdStore?: boolean;
  scoringThread?: boolean;
  sessionTimeoutMs: string;
  json?: boolean;
}

/** `champion` → any model's champion; `NAME` or `NAME@champion` → that model's champion. */
function championOf(model: string): string | undefined {
  if (model === "champion") return undefined;
  const m = /^([A-Za-z0-9_.-]+)(@champion)?$/.exec(model);
  if (!m)
    throw new NetsecError(
      "CONFIG_INVALID",
      `--model must be champion, NAME or NAME@champion (the stream follows the champion), got ${JSON.stringify(model)}`,
      { value: model },
    );
  return m[1];
}

export function registerStream(program: Command): void {
  program
    .command("stream")
    .description(
      "score records from a Kafka topic as a consumer-group member: verdicts to an alerts topic and the record store, malformed records to a dead-letter topic",
    )
    .requiredOption("--brokers <host:port,…>", "Kafka bootstrap brokers")
    .requiredOption("--topic <name>", "topic of records to score")
    .option("--group <id>", "consumer group: members share the topic's partitions", "netsec")
    .option("--alerts-topic <name>", "topic for verdicts (created when missing)", "alerts")
    .option(
      "--dead-letter-topic <name>",
      "topic for malformed records, with the reason (default: <topic>.dead-letter)",
    )
    .option(
      "--model <champion|NAME[@champion]>",
      "score with the registry's champion (of NAME); a new champion is picked up without a restart",
      "champion",
    )
    .option("--all", "publish and store a verdict for every record, not only threats")
    .option("--format <json|csv>", "records are JSON objects, or CSV lines (see --csv-header)", "json")
    .option(
      "--csv-header <col,col,…>",
      "the columns of CSV records, in order (default: the model's dataset schema's column order)",
    )
    .option(
      "--batch-size <n>",
      "records scored together under a backlog (when caught up, batches close after --linger-ms)",
      "8000",
    )
    .option(
      "--linger-ms <ms>",
      "when caught up, how long a partial batch waits for more records (once the batches before it are published) before it is scored",
      "20",
    )
    .option("--max-in-flight <n>", "batches fetched ahead of the scorer before fetching pauses", "4")
    .option("--poll-ms <ms>", "how often the registry is checked for a new champion (0: never)", "5000")
    .option(
      "--session-timeout-ms <ms>",
      "how long the group waits for a silent member (a crashed process) before handing its partitions to the others (brokers accept 6000 to 1800000 by default)",
      "10000",
    )
    .option("--metrics-port <port>", "serve Prometheus metrics on GET /metrics at this port")
    .option("--metrics-host <host>", "address the metrics endpoint listens on", "127.0.0.1")
    .option(
      "--hold-store",
      "keep a DuckDB record store open between batches (one consumer process per store file); by default each batch opens and closes it so several consumers can share it",
    )
    .option(
      "--scoring-thread",
      "read and score batches on a second thread while the main thread runs the Kafka client (pays where a core is free for it)",
    )
    .option("--json", "print a machine-readable summary as the last line when the consumer stops")
    .action((o: StreamOptions) =>
      runCommand(o, async (ctx) => {
        const brokers = parseBrokers(o.brokers);
        const format: RecordFormat | undefined =
          o.format === "json" || o.format === "csv" ? o.format : undefined;
        if (format === undefined)
          throw new NetsecError(
            "CONFIG_INVALID",
            `--format must be json or csv, got ${JSON.stringify(o.format)}`,
            {
              value: o.format,
            },
          );
        const batchSize = intOption("--batch-size", o.batchSize, 1, 1_000_000);
        const lingerMs = intOption("--linger-ms", o.lingerMs, 0, 60_000);
        const maxInFlight = intOption("--max-in-flight", o.maxInFlight, 1, 1000);
        const pollMs = intOption("--poll-ms", o.pollMs, 0, 86_400_000);
        const sessionTimeoutMs = intOption("--session-timeout-ms", o.sessionTimeoutMs, 6000, 3_600_000);
        const metricsPort =
          o.metricsPort === undefined ? null : intOption("--metrics-port", o.metricsPort, 0, 65_535);
        const name = championOf(o.model);
        const holder = new ModelHolder(
          registryModelSource(new ModelRegistry(ctx.config.home), loadPredictor, name ? { name } : {}),
          ctx.log,
        );
        await holder.refresh(true);
        const first = holder.current();
        if (!first)
          throw new NetsecError(
            "MODEL_NOT_FOUND",
            `no champion to score with${name ? ` for model ${name}` : ""}: ${holder.error ?? "the registry has none"}; train one first (netsec train)`,
            { value: o.model },
          );
        const header = o.csvHeader ? o.csvHeader.split(",").map((c) => c.trim()) : first.schema.columnNames;
        const alertsTopic = o.alertsTopic;
        const deadLetterTopic = o.deadLetterTopic ?? `${o.topic}.dead-letter`;
        await ensureTopic(brokers, alertsTopic, 1);
        await ensureTopic(brokers, deadLetterTopic, 1);
        const metrics = createStreamMetrics();
        const server = metricsPort === null ? null : await serveMetrics(metrics, o.metricsHost, metricsPort);
        if (server) {
          const a = server.address();
          ctx.note(
            `metrics on http://${o.metricsHost}:${typeof a === "object" && a ? a.port : metricsPort}/metrics`,
          );
        }
        const alerts = openAlertStore(ctx.config.storeUri, {
          waitSeconds: ctx.config.NETSEC_STORE_WAIT_SECONDS,
          holdOpen: o.holdStore === true,
          ...(ctx.config.NETSEC_DUCKDB_THREADS !== undefined
            ? { threads: ctx.config.NETSEC_DUCKDB_THREADS }
            : {}),
          onWait: (m) => ctx.log.warn(m),
        });
        const c = ctx.config;
        // every scored batch feeds the champion's monitoring windows (README "Monitoring")
        const monitoring =
          c.NETSEC_MONITOR === "off"
            ? null
            : new StreamMonitoring(
                c.home,
                monitorSettingsFrom(c),
                ctx.log,
                new AlertSink(
                  ctx.log,
                  c.NETSEC_ALERT_WEBHOOK_URL
                    ? { url: c.NETSEC_ALERT_WEBHOOK_URL, secret: c.NETSEC_ALERT_WEBHOOK_SECRET }
                    : null,
                  alertChannelsFrom(c),
                ),
                { group: o.group },
              );
        const meter = ctx.meter(`stream ${o.topic}`, "records");
        let seen = 0;
        const handle = await startStream(
          {
            brokers,
            topic: o.topic,
            group: o.group,
            alertsTopic,
            deadLetterTopic,
            all: o.all === true,
            batchSize,
            lingerMs,
            maxInFlight,
            clientId: `netsec-stream-${process.pid}`,
            sessionTimeoutMs,
          },
          {
            holder,
            decode: decoder(format, header),
            fast: fastFrame(format, header),
            scoring: o.scoringThread === true ? new ScoringThread(format, header) : null,
            alerts,
            sample: (p, n) => sampleRecords(format, header, p.schema.columns, p.manifest.input_columns, n),
            log: ctx.log,
            metrics,
            monitoring,
            onBatch: (b) => {
              seen += b.records;
              meter?.update(seen);
            },
          },
        );
        holder.startPolling(pollMs);
        ctx.note(
          `consuming ${o.topic} in group ${o.group} with ${first.version}; verdicts → ${alertsTopic} and ${alerts.location}; malformed → ${deadLetterTopic}`,
        );
        const stop = (): void => {
          ctx.note("stopping: finishing the batch, committing, leaving the group");
          void handle.stop();
        };
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
        try {
          const t = await handle.done;
          meter?.finish();
          ctx.say(
            `${t.records} records: ${t.scored} scored (${t.threats} threat(s)), ${t.deadLetters} dead-lettered, ${t.published} verdicts published, ${t.stored} stored`,
          );
          ctx.result({ ok: true, ...t });
          return 0;
        } finally {
          holder.stopPolling();
          process.off("SIGTERM", stop);
          process.off("SIGINT", stop);
          server?.close();
        }
      }),
    );
}
