/**
 * Drift report writers: `report.yaml` (the original project's layout: column → {p_value, drift_status}),
 * `drift.json` (the whole DriftReport), and `drift.html` — a self-contained page (inline SVG, no
 * scripts, so it renders under a strict CSP) with a summary, a table, and one chart per column
 * comparing reference and current, each saying which method decided, its score and threshold;
 * drifted columns first, the furthest past their threshold first. Every user-derived string is escaped.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { comparisonBars, renderSvg } from "../charts.ts";
import type { ColumnDrift, DriftMethod, DriftReport } from "../drift.ts";

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** The original project's report.yaml: {column: {p_value, drift_status}}. */
export function reportYaml(r: DriftReport): string {
  const doc: Record<string, { p_value: number; drift_status: boolean }> = {};
  for (const [name, c] of Object.entries(r.columns))
    doc[name] = { p_value: Number.isNaN(c.p_value) ? 1 : c.p_value, drift_status: c.drift_status };
  return stringify(doc);
}

function fmtEdge(x: number): string {
  const a = Math.abs(x);
  if (a !== 0 && (a < 0.01 || a >= 1e5)) return x.toExponential(1);
  return String(Math.round(x * 100) / 100);
}

export function chartRows(c: ColumnDrift): { bin: string; reference: number; current: number }[] {
  if (c.bins) {
    const e = c.bins.edges;
    return c.bins.reference.map((r, i) => ({
      bin:
        i === 0
          ? `≤${fmtEdge(e[0] ?? Number.POSITIVE_INFINITY)}`
          : i === e.length
            ? `>${fmtEdge(e[i - 1]!)}`
            : `${fmtEdge(e[i - 1]!)}–${fmtEdge(e[i]!)}`,
      reference: r,
      current: c.bins!.current[i]!,
    }));
  }
  return Object.entries(c.frequencies ?? {})
    .slice(0, 20)
    .map(([k, v]) => ({ bin: k, reference: v.reference, current: v.current }));
}

function fmtP(p: number): string {
  if (Number.isNaN(p)) return "—";
  if (p === 0) return "0";
  return p < 1e-4 ? p.toExponential(2) : p.toFixed(4);
}

const METHOD_NAMES: Record<DriftMethod, string> = {
  ks_statistic: "KS statistic",
  wasserstein: "Wasserstein (std)",
  jensen_shannon: "Jensen–Shannon",
  ks_test: "KS test p",
  chi2_test: "χ² test p",
};

function fmtNum(x: number | undefined, digits: number): string {
  return x === undefined || Number.isNaN(x) ? "—" : x === Number.POSITIVE_INFINITY ? "∞" : x.toFixed(digits);
}

/** What decided, e.g. "Jensen–Shannon 0.0213 < 0.1" or "KS test p 0.0012 < α 0.05". */
function decisionText(c: ColumnDrift): string {
  const name = METHOD_NAMES[c.method] ?? c.method;
  if (c.method === "ks_test" || c.method === "chi2_test")
    return `${name} = ${fmtP(c.drift_score)} ${c.drift_status ? "<" : "≥"} α ${c.drift_threshold}`;
  return `${name} = ${fmtNum(c.drift_score, 4)} ${c.drift_status ? "≥" : "<"} ${c.drift_threshold}`;
}

/** How far past its threshold a column is (1 = at the threshold), to list the worst first. */
function severity(c: ColumnDrift): number {
  if (Number.isNaN(c.drift_score)) return 0;
  if (c.method === "ks_test" || c.method === "chi2_test")
    return c.drift_score <= 0
      ? Number.POSITIVE_INFINITY
      : Math.log(c.drift_score) / Math.log(c.drift_threshold);
  return c.drift_score / c.drift_threshold;
}

export async function driftHtml(r: DriftReport, title = `Drift report — ${r.dataset}`): Promise<string> {
  const entries = Object.entries(r.columns).sort(
    (a, b) => Number(b[1].drift_status) - Number(a[1].drift_status) || severity(b[1]) - severity(a[1]),
  );
  const cards: string[] = [];
  for (const [name, c] of entries) {
    const svg = await renderSvg(comparisonBars(chartRows(c), { width: 300, height: 100 }));
    cards.push(`<section class="card${c.drift_status ? " drifted" : ""}">
<h3>${escapeHtml(name)} <span class="badge">${c.drift_status ? "drifted" : "stable"}</span></h3>
<p class="stats"><b>${escapeHtml(decisionText(c))}</b><br>${c.test === "ks" ? "KS" : "χ²"} = ${fmtNum(c.statistic, 4)}, p = ${fmtP(c.p_value)}${c.jensen_shannon !== undefined ? `, JS = ${fmtNum(c.jensen_shannon, 4)}` : ""}${c.wasserstein !== undefined ? `, W/σ = ${fmtNum(c.wasserstein, 4)}` : ""}, PSI = ${fmtNum(c.psi, 3)}${c.reference_sampled ? ", subsampled" : ""}</p>
${svg}
</section>`);
  }
  const rows = entries
    .map(
      ([n, c]) =>
        `<tr class="${c.drift_status ? "drifted" : ""}"><td>${escapeHtml(n)}</td><td>${METHOD_NAMES[c.method] ?? c.method}</td><td>${c.method.endsWith("_test") ? fmtP(c.drift_score) : fmtNum(c.drift_score, 4)}</td><td>${c.drift_threshold}</td><td>${c.test}</td><td>${fmtNum(c.statistic, 4)}</td><td>${fmtP(c.p_value)}</td><td>${fmtNum(c.psi, 3)}</td><td>${c.drift_status ? "yes" : "no"}</td><td>${c.n_reference}</td><td>${c.n_current}</td></tr>`,
    )
    .join("\n");
  const n = entries.length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#fff;border-bottom:1px solid #d0d7de;padding:16px 24px}
h1{font-size:20px;margin:0 0 6px}
.summary{display:flex;gap:24px;flex-wrap:wrap;margin-top:8px}
.summary div{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:8px 12px}
.summary b{display:block;font-size:18px}
.verdict.yes b{color:#d1242f}.verdict.no b{color:#1a7f37}
main{padding:16px 24px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(390px,1fr));gap:12px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px 12px}
.card.drifted{border-color:#d1242f;box-shadow:inset 3px 0 0 #d1242f}
.card h3{font-size:14px;margin:0 0 2px;word-break:break-all}
.badge{font-size:11px;font-weight:600;padding:1px 6px;border-radius:10px;background:#dafbe1;color:#1a7f37;vertical-align:middle}
.drifted .badge{background:#ffebe9;color:#d1242f}
.stats{margin:0 0 4px;color:#57606a;font-size:12px}
table{border-collapse:collapse;background:#fff;margin:16px 0;font-size:13px}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f6f8fa}tr.drifted td{background:#fff5f5}
svg{max-width:100%;height:auto}
</style></head><body>
<header><h1>${escapeHtml(title)}</h1>
<div class="summary">
<div class="verdict ${r.dataset_drift ? "yes" : "no"}"><b>${r.dataset_drift ? "Dataset drift" : "No dataset drift"}</b>${r.drifted_columns.length} of ${n} columns drifted (share ${(100 * r.share_drifted).toFixed(1)}%, threshold ${(100 * r.threshold).toFixed(0)}%)</div>
<div><b>${r.n_reference}</b>reference rows</div>
<div><b>${r.n_current}</b>current rows</div>
<div><b>α = ${r.alpha}</b>p-value test level (small samples)</div>
<div><b>${r.rules.numeric_method === "wasserstein" ? `W/σ ≥ ${r.rules.wasserstein_threshold}` : `KS D ≥ ${r.rules.ks_threshold}`}, JS ≥ ${r.rules.js_threshold}</b>effect-size thresholds (≥ ${r.rules.min_sample_size} values per sample)</div>
</div></header>
<main>
<p>Large samples are judged by effect size: numeric columns with many distinct values by the ${r.rules.numeric_method === "wasserstein" ? "Wasserstein distance in reference standard deviations" : "Kolmogorov–Smirnov statistic (largest gap between the two cumulative distributions)"}, categorical and few-valued columns by the Jensen–Shannon distance. Small samples (fewer than ${r.rules.min_sample_size} values, or ${r.rules.min_rows_per_category} per category, in either sample) by a p-value test: two-sample Kolmogorov–Smirnov or χ² homogeneity. Every column shows both, and PSI. Target excluded. Drifted columns first.</p>
<div class="grid">
${cards.join("\n")}
</div>
<h2>All columns</h2>
<table><thead><tr><th>column</th><th>decided by</th><th>score</th><th>threshold</th><th>test</th><th>statistic</th><th>p-value</th><th>PSI</th><th>drift</th><th>n ref</th><th>n cur</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</main></body></html>
`;
}

/** Write report.yaml, drift.json and drift.html into `dir`; returns the paths. */
export async function writeDriftReports(r: DriftReport, dir: string, title?: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const y = join(dir, "report.yaml");
  const j = join(dir, "drift.json");
  const h = join(dir, "drift.html");
  writeFileSync(y, reportYaml(r));
  writeFileSync(
    j,
    `${JSON.stringify(r, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2)}\n`,
  );
  writeFileSync(h, await driftHtml(r, title));
  return [y, j, h];
}
