/**
 * `netsec stream`'s Prometheus metrics (the server's small registry, `serve/metrics.ts`) and the
 * optional HTTP endpoint that exposes them (`--metrics-port`: GET /metrics, text format 0.0.4).
 */
import { createServer, type Server } from "node:http";
import { RateWindow } from "../core/progress.ts";
import { type Counter, type Gauge, type Histogram, MetricsRegistry } from "../serve/metrics.ts";

/** Batch and record-to-alert latency buckets, seconds. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface StreamMetrics {
  registry: MetricsRegistry;
  /** Records consumed, by outcome: `scored` or `dead_letter`. */
  records: Counter;
  /** Verdicts published to the alerts topic, by `threat` ("true"/"false"). */
  alerts: Counter;
  deadLetters: Counter;
  /** Records per second over the last 10 s. */
  rate: Gauge;
  /** One batch: decode, score, publish, store, commit. */
  batchSeconds: Histogram;
  /** From the record's Kafka timestamp to its verdict being durable (published and stored). */
  recordToAlertSeconds: Histogram;
  /** Per batch, the time its first (longest-waiting) record spent in each stage (run.ts). */
  stageSeconds: Histogram;
  /** Records behind the log end on this member's partitions. */
  lag: Gauge;
  /** Batches waiting in memory (bounded by --max-in-flight). */
  inFlight: Gauge;
  /** 1 for the model version scoring now. */
  model: Gauge;
  commitFailures: Counter;
  /** Count `n` more records at time `t` (ms) into the rate window. */
  tick(t: number, n: number): void;
}

export function createStreamMetrics(): StreamMetrics {
  const registry = new MetricsRegistry();
  const window = new RateWindow(10_000);
  let total = 0;
  const rate = registry.gauge("netsec_stream_records_per_second", "records consumed per second, last 10 s");
  return {
    registry,
    records: registry.counter("netsec_stream_records_total", "records consumed, by outcome", ["outcome"]),
    alerts: registry.counter("netsec_stream_alerts_total", "verdicts published to the alerts topic", [
      "threat",
    ]),
    deadLetters: registry.counter(
      "netsec_stream_dead_letters_total",
      "malformed records sent to the dead-letter topic",
    ),
    rate,
    batchSeconds: registry.histogram(
      "netsec_stream_batch_seconds",
      "time to decode, score, publish, store and commit one batch",
      [],
      LATENCY_BUCKETS,
    ),
    recordToAlertSeconds: registry.histogram(
      "netsec_stream_record_to_alert_seconds",
      "from a record's Kafka timestamp to its verdict being published and stored",
      [],
      LATENCY_BUCKETS,
    ),
    stageSeconds: registry.histogram(
      "netsec_stream_stage_seconds",
      "per batch, the time its first record spent in each stage: fetch (record timestamp to consumer), batch (waiting for the batch and the scorer), score, publish, store, commit",
      ["stage"],
      LATENCY_BUCKETS,
    ),
    lag: registry.gauge(
      "netsec_stream_consumer_lag",
      "records behind the log end on this member's partitions",
    ),
    inFlight: registry.gauge("netsec_stream_in_flight_batches", "batches consumed and not yet committed"),
    model: registry.gauge("netsec_stream_model_info", "the model version scoring records", ["version"]),
    commitFailures: registry.counter(
      "netsec_stream_commit_failures_total",
      "offset commits refused (the partition moved to another member in a rebalance)",
    ),
    tick(t, n) {
      total += n;
      window.add(t, total);
      rate.set({}, window.rate() ?? 0);
    },
  };
}

/** Serve GET /metrics on host:port; resolves once listening. */
export async function serveMetrics(m: StreamMetrics, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === "GET" && (req.url === "/metrics" || req.url?.startsWith("/metrics?"))) {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(m.registry.render());
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found: GET /metrics\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  server.unref();
  return server;
}
