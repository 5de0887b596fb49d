/**
 * A tiny Prometheus registry (prom-client is not a dependency): counters, gauges and histograms with
 * labels, rendered in the text exposition format 0.0.4. Label sets are kept in a Map keyed by the
 * joined label values, so the cost of an observation is one Map lookup plus (histograms) a bucket scan.
 * Label values must come from bounded sets (route patterns, status codes, label names), never from
 * raw user input, or the series count grows without bound.
 */

type Labels = Readonly<Record<string, string>>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

function labelText(names: readonly string[], values: readonly string[], extra = ""): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

abstract class Metric {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  abstract readonly type: "counter" | "gauge" | "histogram";

  constructor(name: string, help: string, labelNames: readonly string[]) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new RangeError(`invalid metric name ${name}`);
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  protected key(labels: Labels): string[] {
    return this.labelNames.map((n) => labels[n] ?? "");
  }

  abstract lines(): string[];

  render(): string {
    return [
      `# HELP ${this.name} ${this.help.replace(/\n/g, " ")}`,
      `# TYPE ${this.name} ${this.type}`,
      ...this.lines(),
    ].join("\n");
  }
}

export class Counter extends Metric {
  readonly type = "counter" as const;
  private readonly values = new Map<string, { labels: string[]; value: number }>();

  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new RangeError("a counter only goes up");
    const k = this.key(labels);
    const id = k.join("\u0000");
    const cur = this.values.get(id);
    if (cur) cur.value += by;
    else this.values.set(id, { labels: k, value: by });
  }

  get(labels: Labels = {}): number {
    return this.values.get(this.key(labels).join("\u0000"))?.value ?? 0;
  }

  lines(): string[] {
    return [...this.values.values()].map(
      (v) => `${this.name}${labelText(this.labelNames, v.labels)} ${formatNumber(v.value)}`,
    );
  }
}

export class Gauge extends Metric {
  readonly type = "gauge" as const;
  private readonly values = new Map<string, { labels: string[]; value: number }>();

  set(labels: Labels, value: number): void {
    const k = this.key(labels);
    this.values.set(k.join("\u0000"), { labels: k, value });
  }

  get(labels: Labels = {}): number | undefined {
    return this.values.get(this.key(labels).join("\u0000"))?.value;
  }

  /** Drop every series (e.g. the model info gauge when the version changes). */
  reset(): void {
    this.values.clear();
  }

  lines(): string[] {
    return [...this.values.values()].map(
      (v) => `${this.name}${labelText(this.labelNames, v.labels)} ${formatNumber(v.value)}`,
    );
  }
}

export class Histogram extends Metric {
  readonly type = "histogram" as const;
  readonly buckets: readonly number[];
  private readonly values = new Map<
    string,
    { labels: string[]; counts: number[]; sum: number; count: number }
  >();

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.length === 0) throw new RangeError("a histogram needs buckets");
    this.buckets = sorted;
  }

  observe(labels: Labels, value: number): void {
    const k = this.key(labels);
    const id = k.join("\u0000");
    let cur = this.values.get(id);
    if (!cur) {
      cur = { labels: k, counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.values.set(id, cur);
    }
    // counts are per bucket (not cumulative) here; render() accumulates
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) cur.counts[i]!++;
    cur.sum += value;
    cur.count++;
  }

  /**
   * Observe every value of `values` under one label set: one lookup for the lot (a stream batch's
   * thousands of record latencies), the same counts as `observe` once per value.
   */
  observeAll(labels: Labels, values: ArrayLike<number>): void {
    if (values.length === 0) return;
    const k = this.key(labels);
    const id = k.join("\u0000");
    let cur = this.values.get(id);
    if (!cur) {
      cur = { labels: k, counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.values.set(id, cur);
    }
    const b = this.buckets;
    for (let j = 0; j < values.length; j++) {
      const v = values[j]!;
      let i = 0;
      while (i < b.length && !(v <= b[i]!)) i++;
      if (i < b.length) cur.counts[i]!++;
      cur.sum += v;
    }
    cur.count += values.length;
  }

  /** Observations so far for a label set (tests). */
  count(labels: Labels = {}): number {
    return this.values.get(this.key(labels).join("\u0000"))?.count ?? 0;
  }

  lines(): string[] {
    const out: string[] = [];
    for (const v of this.values.values()) {
      let acc = 0;
      this.buckets.forEach((b, i) => {
        acc += v.counts[i]!;
        out.push(
          `${this.name}_bucket${labelText(this.labelNames, v.labels, `le="${formatNumber(b)}"`)} ${acc}`,
        );
      });
      out.push(`${this.name}_bucket${labelText(this.labelNames, v.labels, 'le="+Inf"')} ${v.count}`);
      out.push(`${this.name}_sum${labelText(this.labelNames, v.labels)} ${formatNumber(v.sum)}`);
      out.push(`${this.name}_count${labelText(this.labelNames, v.labels)} ${v.count}`);
    }
    return out;
  }
}

export class MetricsRegistry {
  private readonly metrics: Metric[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  private add<M extends Metric>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name))
      throw new RangeError(`metric ${m.name} registered twice`);
    this.metrics.push(m);
    return m;
  }

  /** The exposition text (content type `text/plain; version=0.0.4`). */
  render(): string {
    return `${this.metrics.map((m) => m.render()).join("\n")}\n`;
  }
}

/** The metrics netsec's server exposes. */
export interface ServeMetrics {
  registry: MetricsRegistry;
  requests: Counter;
  latency: Histogram;
  predictions: Counter;
  predictedRows: Counter;
  modelInfo: Gauge;
  modelLoaded: Gauge;
  modelReloads: Counter;
  trainingJobs: Gauge;
  uploadBytes: Counter;
  monitorFeatureScore: Gauge;
  monitorFeatureDrifted: Gauge;
  monitorShareDrifted: Gauge;
  monitorThreatRate: Gauge;
  monitorOutputScore: Gauge;
  monitorOutputDrifted: Gauge;
  monitorUnseenShare: Gauge;
  monitorWindows: Counter;
  monitorAlerts: Counter;
}

export function createServeMetrics(): ServeMetrics {
  const registry = new MetricsRegistry();
  return {
    registry,
    requests: registry.counter(
      "netsec_http_requests_total",
      "HTTP requests by method, route pattern and status.",
      ["method", "route", "status"],
    ),
    latency: registry.histogram(
      "netsec_http_request_duration_seconds",
      "HTTP request latency in seconds by method, route pattern and status.",
      ["method", "route", "status"],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    predictions: registry.counter("netsec_predictions_total", "Scored rows by predicted label name.", [
      "label",
    ]),
    predictedRows: registry.counter(
      "netsec_predicted_threats_total",
      "Scored rows predicted as threats.",
      [],
    ),
    modelInfo: registry.gauge(
      "netsec_model_info",
      "The model being served (value 1, version in the label).",
      ["version"],
    ),
    modelLoaded: registry.gauge("netsec_model_loaded", "1 when a model is loaded and serving, else 0.", []),
    modelReloads: registry.counter("netsec_model_reloads_total", "Champion reload attempts by result.", [
      "result",
    ]),
    trainingJobs: registry.gauge("netsec_training_jobs", "Training jobs known to this server by state.", [
      "state",
    ]),
    uploadBytes: registry.counter("netsec_upload_bytes_total", "Bytes of CSV uploads read.", []),
    // monitoring of scored traffic: the latest closed window of each model (src/monitor/)
    monitorFeatureScore: registry.gauge(
      "netsec_monitor_feature_drift_score",
      "Latest closed window: the drift score of each model input (what decided it: the KS statistic or Jensen-Shannon distance, or for small windows a p-value; GET /monitoring names the method).",
      ["model", "feature"],
    ),
    monitorFeatureDrifted: registry.gauge(
      "netsec_monitor_feature_drifted",
      "Latest closed window: 1 when the input drifted from the training reference, else 0.",
      ["model", "feature"],
    ),
    monitorShareDrifted: registry.gauge(
      "netsec_monitor_share_drifted",
      "Latest closed window: share of the model's inputs that drifted.",
      ["model"],
    ),
    monitorThreatRate: registry.gauge(
      "netsec_monitor_threat_rate",
      "Latest closed window: share of rows predicted as threats (window) and in training (reference).",
      ["model", "sample"],
    ),
    monitorOutputScore: registry.gauge(
      "netsec_monitor_output_drift_score",
      "Latest closed window: drift score of the outputs (threat_probability histogram, predicted_class mix).",
      ["model", "output"],
    ),
    monitorOutputDrifted: registry.gauge(
      "netsec_monitor_output_drifted",
      "Latest closed window: 1 when the output's distribution drifted, else 0.",
      ["model", "output"],
    ),
    monitorUnseenShare: registry.gauge(
      "netsec_monitor_unseen_category_share",
      "Latest closed window: share of categorical values never seen in training.",
      ["model"],
    ),
    monitorWindows: registry.counter("netsec_monitor_windows_total", "Monitoring windows closed.", ["model"]),
    monitorAlerts: registry.counter("netsec_monitor_alerts_total", "Monitoring alerts fired, by rule.", [
      "model",
      "rule",
    ]),
  };
}
