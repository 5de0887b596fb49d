/**
 * Monitoring in the server (src/monitor/ does the work): every scored batch's counts — made on the
 * scoring thread for CSV uploads (score-csv.ts), here for `POST /predict/records` — go into the served
 * model's open window; a tick (every `tickMs`, 5 s by default) closes the windows that are due (past
 * their time, or full and now `windowMinSeconds` old: with no more traffic they close there), adds
 * what `netsec predict` left in the inboxes and saves. Each closed window sets the Prometheus gauges.
 * The server owns NETSEC_HOME/monitoring/ while it runs (monitoring/server.json).
 */
import type { Prediction, Predictor } from "../bundle/predictor.ts";
import type { Frame } from "../core/frame.ts";
import type { Logger } from "../core/log.ts";
import { type AlertChannel, AlertSink, type WebhookSettings } from "../monitor/alerts.ts";
import {
  claimMonitoring,
  Monitor,
  type MonitorSettings,
  monitoredName,
  releaseMonitoring,
  type ScoringModel,
  type WindowSummary,
} from "../monitor/monitor.ts";
import type { FlatCounts } from "../monitor/window-counter.ts";
import type { ServeMetrics } from "./metrics.ts";

export interface MonitoringOptions {
  settings?: Partial<MonitorSettings>;
  /** Where alerts are POSTed (NETSEC_ALERT_WEBHOOK_URL); null/unset: the log only. */
  webhook?: WebhookSettings | null;
  /** Other places alerts go (the Kafka topic the CLI composes: src/stream/alert-topic.ts). */
  channels?: readonly AlertChannel[];
  /** How often windows are closed by time and the state saved, ms. Default 5,000. */
  tickMs?: number;
}

export class ServeMonitoring {
  readonly monitor: Monitor;
  private readonly home: string;
  private readonly metrics: ServeMetrics;
  private readonly tickMs: number;
  private timer: NodeJS.Timeout | null = null;
  /** Each served model's monitored identity, made once (not at every scored request). */
  private readonly models = new WeakMap<Predictor, ScoringModel | null>();

  constructor(home: string, opts: MonitoringOptions, log: Logger, metrics: ServeMetrics) {
    this.home = home;
    this.metrics = metrics;
    this.tickMs = opts.tickMs ?? 5000;
    this.monitor = new Monitor(
      home,
      opts.settings ?? {},
      log,
      new AlertSink(log, opts.webhook ?? null, opts.channels ?? []),
      (m, w) => this.gauges(m, w),
    );
  }

  /** The monitored identity of a served model; null for an in-memory model (no bundle directory). */
  modelOf(p: Predictor): ScoringModel | null {
    let m = this.models.get(p);
    if (m === undefined) {
      m = p.dir
        ? {
            name: monitoredName(p.version, p.manifest.dataset),
            version: p.version,
            runId: p.manifest.run_id,
            dir: p.dir,
          }
        : null;
      this.models.set(p, m);
    }
    return m;
  }

  /** Counts made on a scoring thread (null: the bundle has no monitoring reference). */
  record(p: Predictor, counts: FlatCounts | null): void {
    const m = this.modelOf(p);
    if (m) this.monitor.record(m, counts);
  }

  /** Counts a batch scored on this thread (`POST /predict/records`). */
  recordFrame(p: Predictor, frame: Frame, pred: Prediction): void {
    const m = this.modelOf(p);
    if (m) this.monitor.recordScored(m, { frame, ...pred });
  }

  start(): void {
    claimMonitoring(this.home);
    for (const name of this.monitor.models()) {
      const latest = this.monitor.latest(name);
      if (latest) this.gauges(name, latest.summary, false);
    }
    this.timer = setInterval(() => this.monitor.tick(), this.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.monitor.tick();
    await this.monitor.shutdown();
    releaseMonitoring(this.home);
  }

  private gauges(model: string, w: WindowSummary, count = true): void {
    const m = this.metrics;
    for (const [feature, f] of Object.entries(w.features)) {
      m.monitorFeatureScore.set({ model, feature }, f.score ?? Number.NaN);
      m.monitorFeatureDrifted.set({ model, feature }, f.drifted ? 1 : 0);
    }
    m.monitorShareDrifted.set({ model }, w.share_drifted);
    m.monitorThreatRate.set({ model, sample: "window" }, w.outputs.threat_rate);
    m.monitorThreatRate.set({ model, sample: "reference" }, w.outputs.reference_threat_rate);
    for (const output of ["probability", "predicted_class"] as const) {
      const o = w.outputs[output];
      const name = output === "probability" ? "threat_probability" : output;
      m.monitorOutputScore.set({ model, output: name }, o.score ?? Number.NaN);
      m.monitorOutputDrifted.set({ model, output: name }, o.drifted ? 1 : 0);
    }
    m.monitorUnseenShare.set({ model }, w.unseen_share);
    if (!count) return;
    m.monitorWindows.inc({ model });
    for (const rule of w.alerts) m.monitorAlerts.inc({ model, rule });
  }
}
