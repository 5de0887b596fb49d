/**
 * The server-rendered pages. Every value goes through the `html` tag (escaped); no inline scripts or
 * styles (the CSP forbids them): tables are made sortable by /static/table-sort.js through
 * `data-sort` attributes, and probabilities are drawn with native <meter> elements.
 */
import type { LabelMetrics } from "../../bundle/label-metrics.ts";
import type { Contribution, Predictor } from "../../bundle/predictor.ts";
import type { RunPaths } from "../../config/home.ts";
import { escapeHtml, fmt, html, raw, type SafeHtml } from "../../core/html.ts";
import type { ModelListing } from "../model-holder.ts";
import type { RunDetail, RunSummary } from "../types.ts";
import { page } from "./html.ts";

const METRIC_ORDER = [
  "f1",
  "precision",
  "recall",
  "accuracy",
  "roc_auc",
  "pr_auc",
  "tpr_at_fpr_1pct",
  "tpr_at_fpr_0.1pct",
];

function orderedMetrics(m: Record<string, number | null>): [string, number | null][] {
  const keys = Object.keys(m);
  const known = METRIC_ORDER.filter((k) => keys.includes(k));
  return [...known, ...keys.filter((k) => !known.includes(k)).sort()].map((k) => [k, m[k] ?? null]);
}

function shortDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, " UTC");
}

export function championCard(p: Predictor | null, loadError: string | null): SafeHtml {
  if (!p) {
    return html`<section class="card champion empty">
  <h2>Champion model</h2>
  <p>No model is loaded yet. Train one with <code>netsec train</code> or <code>POST /train</code>; the server picks up a new champion by itself.</p>
  ${loadError ? html`<p class="warn">Last load attempt failed: ${loadError}</p>` : ""}
</section>`;
  }
  const m = p.manifest;
  const metrics = orderedMetrics(m.metrics.test);
  return html`<section class="card champion">
  <h2>Champion model <span class="tag">${p.version}</span></h2>
  <dl class="facts">
    <dt>Model</dt><dd>${m.model}</dd>
    <dt>Dataset</dt><dd>${m.dataset} <span class="muted">(${m.schema.title})</span></dd>
    <dt>Trained</dt><dd>${shortDate(m.created)} · run <a href="/runs/${m.run_id}">${m.run_id}</a></dd>
    <dt>Training data</dt><dd>${m.data.train_rows.toLocaleString("en-US")} rows <span class="muted">sha256 ${m.data.train_sha256.slice(0, 12)}…</span></dd>
    <dt>Test data</dt><dd>${m.data.test_rows.toLocaleString("en-US")} rows <span class="muted">sha256 ${m.data.test_sha256.slice(0, 12)}…</span></dd>
    <dt>Threshold</dt><dd>${fmt(m.threshold, 3)} <span class="muted">(${m.threshold_strategy})</span></dd>
  </dl>
  <table class="metrics"><caption>Test metrics (threat = positive class)</caption>
    <tbody>${metrics.map(([k, v]) => html`<tr><th scope="row">${k}</th><td class="num">${fmt(v, 4)}</td></tr>`)}</tbody>
  </table>
</section>`;
}

export function homePage(
  p: Predictor | null,
  loadError: string | null,
  limits: { maxUploadBytes: number; maxUploadRows: number },
): string {
  const cols = p ? p.manifest.input_columns : [];
  return page(
    { title: "Score traffic", active: "home", modelVersion: p?.version ?? null },
    html`<div class="grid">
<section class="card upload">
  <h1>Score a CSV of traffic records</h1>
  <p>Upload a CSV with a header row naming the model's input columns${p ? html` (${cols.length} columns of the <code>${p.manifest.dataset}</code> schema)` : ""}. Each row is scored; threats are marked and you can download the results as CSV.</p>
  <form method="post" action="/predict?format=html" enctype="multipart/form-data" class="upload-form">
    <label for="file" class="file-label">CSV file</label>
    <input type="file" id="file" name="file" accept=".csv,text/csv" required>
    <button type="submit"${p ? "" : raw(" disabled")}>Score file</button>
  </form>
  <p class="muted small">Limits: ${(limits.maxUploadBytes / 1024 / 1024).toFixed(0)} MiB and ${limits.maxUploadRows.toLocaleString("en-US")} rows per file. The API also takes JSON records at <code>POST /predict/records</code>.</p>
  ${p ? html`<details><summary>Expected columns</summary><p class="columns">${cols.map((c) => html`<code>${c}</code> `)}</p></details>` : ""}
</section>
${championCard(p, loadError)}
<section class="card links">
  <h2>More</h2>
  <ul>
    <li><a href="/runs">Pipeline runs</a> — leaderboards, curves, drift reports</li>
    <li><a href="/models">Registered models</a> — versions and the champion alias</li>
    <li><a href="/docs">API documentation</a> (OpenAPI)</li>
    <li><a href="/metrics">Prometheus metrics</a> · <a href="/health/ready">readiness</a></li>
  </ul>
</section>
</div>`,
  );
}

export interface ResultRow {
  row: number;
  labelName: string;
  isThreat: boolean;
  probability: number;
  inputs: (string | number | null)[];
  why: Contribution[] | null;
}

export function resultsPage(opts: {
  id: string;
  fileName: string;
  version: string;
  threshold: number;
  rows: number;
  threats: number;
  columns: string[];
  shown: ResultRow[];
  /** Metrics against the upload's own label column, when it has one. */
  labelMetrics?: LabelMetrics | null;
}): string {
  const share = opts.rows ? (100 * opts.threats) / opts.rows : 0;
  const truncated = opts.shown.length < opts.rows;
  return page(
    { title: `Results · ${opts.fileName}`, modelVersion: opts.version },
    html`<section class="card">
  <div class="results-head">
    <div>
      <h1>Results for <span class="filename">${opts.fileName}</span></h1>
      <p class="muted">Scored by <code>${opts.version}</code> at threshold ${fmt(opts.threshold, 3)} · prediction <code>${opts.id}</code></p>
    </div>
    <div class="actions">
      <a class="button" href="/predictions/${opts.id}.csv" download>Download CSV</a>
      <a class="button secondary" href="/">Score another file</a>
    </div>
  </div>
  <div class="tiles">
    <div class="tile"><span class="tile-value" id="row-count">${opts.rows.toLocaleString("en-US")}</span><span class="tile-label">rows scored</span></div>
    <div class="tile threat"><span class="tile-value" id="threat-count">${opts.threats.toLocaleString("en-US")}</span><span class="tile-label">threats</span></div>
    <div class="tile"><span class="tile-value">${share.toFixed(1)}%</span><span class="tile-label">threat share</span></div>
    <div class="tile"><span class="tile-value">${(opts.rows - opts.threats).toLocaleString("en-US")}</span><span class="tile-label">benign</span></div>
  </div>
  ${opts.labelMetrics ? html`<p class="note" id="label-metrics">Measured against the upload's own ${opts.labelMetrics.column} column (${opts.labelMetrics.labelled_rows.toLocaleString("en-US")} labelled rows): accuracy ${fmt(opts.labelMetrics.accuracy, 4)}, precision ${fmt(opts.labelMetrics.precision, 4)}, recall ${fmt(opts.labelMetrics.recall, 4)}, F1 ${fmt(opts.labelMetrics.f1, 4)} (threat class).</p>` : ""}
  ${truncated ? html`<p class="note">Showing the first ${opts.shown.length.toLocaleString("en-US")} of ${opts.rows.toLocaleString("en-US")} rows; the CSV has all of them.</p>` : ""}
  <div class="table-wrap">
  <table class="results sortable" id="results">
    <thead><tr>
      <th data-type="num" aria-sort="ascending">#</th><th>Verdict</th><th data-type="num">Threat probability</th><th>Top factors</th>
      ${opts.columns.map((c) => html`<th data-type="num">${c}</th>`)}
    </tr></thead>
    <tbody>${opts.shown.map(
      (r) => html`<tr class="${r.isThreat ? "threat" : "benign"}">
      <td class="num" data-sort="${r.row}">${r.row}</td>
      <td><span class="badge ${r.isThreat ? "badge-threat" : "badge-ok"}">${r.isThreat ? "⚠ " : ""}${r.labelName}</span></td>
      <td class="num prob" data-sort="${r.probability}"><meter min="0" max="1" low="${opts.threshold}" high="${opts.threshold}" optimum="0" value="${r.probability}"></meter> ${fmt(r.probability, 3)}</td>
      <td class="why">${r.why ? r.why.map((c) => html`<span class="factor ${c.contribution >= 0 ? "up" : "down"}" title="${c.contribution >= 0 ? "+" : ""}${fmt(c.contribution, 3)}">${c.feature}=${c.value ?? "∅"}</span>`) : ""}</td>
      ${raw(r.inputs.map((v) => `<td class="num">${v === null ? "" : escapeHtml(String(v))}</td>`).join(""))}
    </tr>`,
    )}</tbody>
  </table>
  </div>
</section>`,
  );
}

export function errorPage(
  status: number,
  code: string,
  message: string,
  details: Record<string, unknown>,
  version: string | null,
): string {
  const problems = Array.isArray(details.problems) ? (details.problems as Record<string, unknown>[]) : [];
  const loc = ["row", "column", "value"].filter((k) => details[k] !== undefined);
  return page(
    { title: `Error ${status}`, modelVersion: version },
    html`<section class="card error-card">
  <h1>${status === 404 ? "Not found" : status >= 500 ? "Something went wrong on our side" : "The request could not be processed"}</h1>
  <p class="error-message"><span class="tag error">${code}</span> ${message}</p>
  ${loc.length ? html`<dl class="facts">${loc.map((k) => html`<dt>${k}</dt><dd><code>${typeof details[k] === "string" ? details[k] : JSON.stringify(details[k])}</code></dd>`)}</dl>` : ""}
  ${
    problems.length
      ? html`<table class="results"><thead><tr><th>Row</th><th>Column</th><th>Value</th><th>Problem</th></tr></thead><tbody>${problems.map(
          (p) =>
            html`<tr><td class="num">${String(p.row ?? "")}</td><td>${String(p.column ?? "")}</td><td><code>${p.value === undefined ? "(missing)" : JSON.stringify(p.value)}</code></td><td>${String(p.message ?? "")}</td></tr>`,
        )}</tbody></table>`
      : ""
  }
  <p><a class="button secondary" href="/">Back to the start page</a></p>
</section>`,
  );
}

function metricCell(v: unknown): SafeHtml {
  return typeof v === "number"
    ? html`<td class="num" data-sort="${v}">${fmt(v, 4)}</td>`
    : html`<td>${v === undefined || v === null ? "—" : String(v)}</td>`;
}

export function runsPage(runs: RunSummary[], version: string | null): string {
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics ?? {})))]
    .sort((a, b) => (METRIC_ORDER.indexOf(a) + 1 || 99) - (METRIC_ORDER.indexOf(b) + 1 || 99))
    .slice(0, 5);
  return page(
    { title: "Runs", active: "runs", modelVersion: version },
    html`<section class="card">
  <h1>Pipeline runs</h1>
  ${
    runs.length === 0
      ? html`<p>No runs yet. Start one with <code>netsec train</code> or <code>POST /train</code>.</p>`
      : html`<div class="table-wrap"><table class="results sortable"><thead><tr><th>Run</th><th>Status</th><th>Started</th><th>Dataset</th><th>Best model</th>${metricKeys.map((k) => html`<th data-type="num">${k}</th>`)}</tr></thead>
  <tbody>${runs.map(
    (r) =>
      html`<tr><td><a href="/runs/${r.id}">${r.id}</a></td><td><span class="tag ${r.status}">${r.status}</span></td><td data-sort="${r.started ?? ""}">${shortDate(r.started)}</td><td>${r.dataset ?? "—"}</td><td>${r.best_model ?? "—"}</td>${metricKeys.map((k) => metricCell(r.metrics?.[k]))}</tr>`,
  )}</tbody></table></div>`
  }
</section>`,
  );
}

/** Artifact files the run page links to: each file's name → the run folder it is in (RunPaths). */
export const RUN_FILES = {
  "drift.html": "driftReport",
  "report.yaml": "driftReport",
  "drift.json": "driftReport",
  "validation.json": "validation",
  "leaderboard.html": "trainer",
  "leaderboard.csv": "trainer",
  "test_metrics.json": "trainer",
  "roc.svg": "trainer",
  "pr.svg": "trainer",
  "confusion_matrix.svg": "trainer",
  "model_card.html": "bundle",
  "model_card.md": "bundle",
} as const satisfies Record<string, keyof RunPaths>;

export type RunFileName = keyof typeof RUN_FILES;

export function runPage(run: RunDetail, available: RunFileName[], version: string | null): string {
  const lb = run.leaderboard ?? [];
  const lbKeys = [...new Set(lb.flatMap((r) => Object.keys(r)))].filter((k) => k !== "params");
  const curves = (["roc.svg", "pr.svg", "confusion_matrix.svg"] as const).filter((f) =>
    available.includes(f),
  );
  const reports = available.filter((f) => !curves.includes(f as (typeof curves)[number]));
  const summary = Object.entries(run).filter(
    ([k, v]) =>
      !["leaderboard", "params", "metrics", "id"].includes(k) && (typeof v !== "object" || v === null),
  );
  return page(
    { title: `Run ${run.id}`, active: "runs", modelVersion: version },
    html`<section class="card">
  <h1>Run <code>${run.id}</code> <span class="tag ${run.status}">${run.status}</span></h1>
  <dl class="facts">${summary.map(([k, v]) => html`<dt>${k}</dt><dd>${v === null ? "—" : String(v)}</dd>`)}</dl>
  ${run.metrics ? html`<table class="metrics"><caption>Test metrics</caption><tbody>${orderedMetrics(run.metrics).map(([k, v]) => html`<tr><th scope="row">${k}</th><td class="num">${fmt(v, 4)}</td></tr>`)}</tbody></table>` : ""}
</section>
<section class="card">
  <h2>Leaderboard</h2>
  ${
    lb.length
      ? html`<div class="table-wrap"><table class="results sortable"><thead><tr>${lbKeys.map((k) => html`<th>${k}</th>`)}</tr></thead><tbody>${lb.map(
          (r) => html`<tr>${lbKeys.map((k) => metricCell(r[k]))}</tr>`,
        )}</tbody></table></div>`
      : html`<p class="muted">No leaderboard recorded for this run.</p>`
  }
</section>
${
  curves.length
    ? html`<section class="card"><h2>Curves</h2><div class="curves">${curves.map((f) => html`<figure><img src="/runs/${run.id}/files/${f}" alt="${f}"><figcaption>${f.replace(".svg", "")}</figcaption></figure>`)}</div></section>`
    : ""
}
<section class="card"><h2>Reports</h2>
  ${reports.length ? html`<ul>${reports.map((f) => html`<li><a href="/runs/${run.id}/files/${f}">${f}</a></li>`)}</ul>` : html`<p class="muted">No report files found for this run.</p>`}
</section>`,
  );
}

export function modelsPage(models: ModelListing[], current: Predictor | null): string {
  return page(
    { title: "Models", active: "models", modelVersion: current?.version ?? null },
    html`<section class="card"><h1>Registered models</h1>
${
  models.length === 0
    ? html`<p>No model is registered yet.</p>`
    : models.map(
        (m) => html`<h2>${m.name}</h2>
<div class="table-wrap"><table class="results sortable"><thead><tr><th data-type="num">Version</th><th>Aliases</th><th>Model</th><th>Created</th><th>Run</th><th data-type="num">Score</th></tr></thead><tbody>${m.versions.map(
          (v) =>
            html`<tr${current?.version === `${m.name}:${v.version}` ? raw(' class="serving"') : ""}><td class="num">${v.version}</td><td>${Object.entries(
              m.aliases,
            )
              .filter(([, n]) => n === v.version)
              .map(
                ([a]) => html`<span class="tag">${a}</span> `,
              )}</td><td>${v.model}</td><td>${shortDate(v.created)}</td><td><a href="/runs/${v.run_id}">${v.run_id}</a></td><td class="num">${v.score_name} ${fmt(v.score, 4)}</td></tr>`,
        )}</tbody></table></div>`,
      )
}
</section>`,
  );
}
