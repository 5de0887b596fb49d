/**
 * The monitoring page of a model: where it stands (open window, latest verdict, alerts), charts over
 * time (share of inputs drifted, threat rate vs the training reference, the drifted inputs' scores),
 * the latest window's inputs and outputs, and every kept window, newest first.
 */
import { html, raw, type SafeHtml } from "../../core/html.ts";
import { featureScoreChart, shareDriftedChart, threatRateChart } from "../../monitor/charts.ts";
import type { MonitoringView } from "../../monitor/monitor.ts";
import { renderSvg } from "../../validate/charts.ts";
import { page } from "./html.ts";

const int = (n: number): string => n.toLocaleString("en-US");
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const score = (x: number | null): string =>
  x === null ? "—" : x < 1e-4 && x > 0 ? x.toExponential(2) : x.toFixed(4);

export async function monitoringPage(v: MonitoringView, version: string | null): Promise<string> {
  const windows = v.windows;
  const threshold = v.latest?.inputs.threshold ?? 0.5;
  const charts: SafeHtml[] = [];
  if (windows.length > 0) {
    const specs = [
      ["Share of inputs drifted", shareDriftedChart(windows, threshold)],
      ["Threat rate", threatRateChart(windows)],
      ["Drifted inputs (score ÷ threshold)", featureScoreChart(windows)],
    ] as const;
    for (const [title, spec] of specs)
      if (spec)
        charts.push(html`<figure><figcaption>${title}</figcaption>${raw(await renderSvg(spec))}</figure>`);
  }
  const l = v.latest;
  const body = html`<section class="card">
  <h1>Monitoring — ${v.model}</h1>
  ${v.message ? html`<p class="error">${v.message}</p>` : ""}
  <p>Windows close at ${int(v.settings.window_rows)} rows once at least ${int(v.settings.window_min_seconds)} s old, or after ${int(v.settings.window_seconds)} s whatever their rows; the last ${int(v.settings.retention)} are kept.
  ${v.open ? html`Open window: <code>${v.open.version}</code>, ${int(v.open.rows)} rows since ${v.open.start}.` : "No open window."}</p>
  ${
    l
      ? html`<p><b>${l.summary.dataset_drift ? "Dataset drift" : "No dataset drift"}</b> in the latest window (${l.summary.start} – ${l.summary.end}, ${int(l.summary.rows)} rows, <code>${l.summary.version}</code>):
  ${l.summary.drifted.length} of ${Object.keys(l.summary.features).length} inputs drifted (${pct(l.summary.share_drifted)}); threat rate ${pct(l.summary.outputs.threat_rate)} vs ${pct(l.summary.outputs.reference_threat_rate)} in training; unseen categories ${pct(l.summary.unseen_share)}.
  ${l.summary.alerts.length ? html`Alerts: <b>${l.summary.alerts.join(", ")}</b>.` : "No alert."}
  <a href="/monitoring/report?model=${v.model}">The latest window's drift report</a> · <a href="/monitoring?model=${v.model}&amp;format=json">JSON</a></p>`
      : html`<p>No window has closed yet.</p>`
  }
</section>
${charts.length ? html`<section class="card">${charts}</section>` : ""}
${
  l
    ? html`<section class="card"><h2>Latest window: inputs</h2>
<div class="table-wrap"><table class="results sortable"><thead><tr><th>input</th><th>decided by</th><th data-type="num">score</th><th data-type="num">threshold</th><th data-type="num">PSI</th><th data-type="num">missing</th><th>drift</th></tr></thead>
<tbody>${Object.entries(l.summary.features).map(
        ([n, f]) =>
          html`<tr${f.drifted ? raw(' class="threat"') : ""}><td>${n}</td><td>${f.method}</td><td>${score(f.score)}</td><td>${f.threshold}</td><td>${score(f.psi)}</td><td>${pct(f.missing_rate)}</td><td>${f.drifted ? "yes" : "no"}</td></tr>`,
      )}</tbody></table></div>
<h2>Latest window: outputs</h2>
<table class="results"><thead><tr><th>output</th><th>decided by</th><th>score</th><th>drift</th></tr></thead><tbody>
${(["probability", "predicted_class"] as const).map((k) => {
  const o = l.summary.outputs[k];
  return html`<tr><td>${k === "probability" ? "threat probability" : "predicted class"}</td><td>${o.method}</td><td>${score(o.score)}</td><td>${o.drifted ? "yes" : "no"}</td></tr>`;
})}</tbody></table></section>`
    : ""
}
${
  windows.length
    ? html`<section class="card"><h2>Windows</h2><div class="table-wrap"><table class="results sortable"><thead><tr><th>end</th><th>version</th><th data-type="num">rows</th><th data-type="num">inputs drifted</th><th data-type="num">threat rate</th><th data-type="num">unseen</th><th>alerts</th></tr></thead>
<tbody>${[...windows]
        .reverse()
        .map(
          (w) =>
            html`<tr><td data-sort="${w.end}">${w.end}</td><td><code>${w.version}</code></td><td>${int(w.rows)}</td><td data-sort="${w.share_drifted}">${w.drifted.length} (${pct(w.share_drifted)})</td><td data-sort="${w.outputs.threat_rate}">${pct(w.outputs.threat_rate)}</td><td data-sort="${w.unseen_share}">${pct(w.unseen_share)}</td><td>${w.alerts.join(", ") || "—"}</td></tr>`,
        )}</tbody></table></div></section>`
    : ""
}`;
  return page({ title: `Monitoring — ${v.model}`, active: "monitoring", modelVersion: version }, body);
}
