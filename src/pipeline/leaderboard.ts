/**
 * The model trainer's leaderboard as CSV and as a self-contained HTML page (inline CSS, no scripts, so
 * it opens from disk or under the server's strict CSP): one row per model, its best candidate. The page
 * is built with the `html` tag, which escapes every interpolated value: model names and hyperparameter
 * values come from user config and must render as text.
 */

import { fmt, html, raw } from "../core/html.ts";
import { safeCsv } from "../core/spreadsheet-safe.ts";
import type { ModelSearchResult } from "../selection/search.ts";
import type { LeaderboardRow } from "./train.ts";

export interface LeaderboardEntry {
  rank: number;
  model: string;
  params: Record<string, unknown>;
  /** The metric of cv_mean, cv_std and train_mean (the search's scoring). */
  scoring: string;
  cv_mean: number;
  cv_std: number;
  train_mean: number;
  /** The best candidate's fit time summed over folds (null when its search is not at hand). */
  fit_seconds: number | null;
  candidates: number;
  /** How the model's candidates were raced (search kind halving: rungs, time budget); else absent. */
  search?: string;
}

/** Leaderboard rows (sorted by CV mean, best first) with rank and the best candidate's fit time. */
export function leaderboardEntries(
  leaderboard: readonly LeaderboardRow[],
  searches: readonly ModelSearchResult[],
): LeaderboardEntry[] {
  const rows = [...leaderboard].sort((a, b) => b.cv_mean - a.cv_mean);
  let rank = 0;
  return rows.map((r, i) => {
    // equal CV means share a rank (1, 2, 2, 4): selection takes the first, but neither is better
    if (i === 0 || r.cv_mean !== rows[i - 1]!.cv_mean) rank = i + 1;
    return {
      rank,
      model: r.model,
      params: r.params,
      scoring: r.scoring,
      cv_mean: r.cv_mean,
      cv_std: r.cv_std,
      train_mean: r.train_mean,
      fit_seconds: searches.find((s) => s.model === r.model)?.best.fit_seconds ?? null,
      candidates: r.candidates,
      ...(r.search ? { search: r.search } : {}),
    };
  });
}

const CSV_COLUMNS = [
  "model",
  "params",
  "scoring",
  "cv_mean",
  "cv_std",
  "train_mean",
  "fit_seconds",
  "rank",
  "candidates",
  "search",
] as const;

/** One CSV row per model; params as JSON (quoted by the CSV writer when needed; formula-like cells neutralised). */
export function leaderboardCsv(entries: readonly LeaderboardEntry[]): string {
  return safeCsv(
    entries.map((e) => [
      e.model,
      JSON.stringify(e.params),
      e.scoring,
      e.cv_mean,
      e.cv_std,
      e.train_mean,
      e.fit_seconds ?? "",
      e.rank,
      e.candidates,
      e.search ?? "",
    ]),
    CSV_COLUMNS,
  );
}

function paramText(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

const STYLE = raw(`body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1f2328}
table{border-collapse:collapse}th,td{border-bottom:1px solid #d0d7de;padding:.35rem .7rem;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;color:#57606a;padding-bottom:.5rem}
ul.params{margin:0;padding:0;list-style:none}code{font-size:12px}`);

/** The leaderboard as a whole HTML document. */
export function leaderboardHtml(
  entries: readonly LeaderboardEntry[],
  meta: { title: string; scoring: string; folds: number },
): string {
  return `<!doctype html>\n${html`<html lang="en">
<head>
<meta charset="utf-8">
<title>${meta.title}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${meta.title}</h1>
<table>
<caption>Best candidate per model, ranked by mean ${meta.scoring} over ${meta.folds} CV folds (the test split is never used to select).</caption>
<thead><tr><th>rank</th><th>model</th><th>best params</th><th>CV mean ${meta.scoring}</th><th>CV std</th><th>train mean ${meta.scoring}</th><th>fit seconds</th><th>candidates</th></tr></thead>
<tbody>
${entries.map(
  (e) => html`<tr><td class="num">${e.rank}</td><td>${e.model}</td><td><ul class="params">${Object.entries(
    e.params,
  ).map(
    ([k, v]) => html`<li><code>${k}</code> = <code>${paramText(v)}</code></li>`,
  )}</ul></td><td class="num">${fmt(e.cv_mean, 4)}</td><td class="num">${fmt(e.cv_std, 4)}</td><td class="num">${fmt(e.train_mean, 4)}</td><td class="num">${fmt(e.fit_seconds, 2)}</td><td class="num">${e.candidates}</td></tr>
`,
)}</tbody>
</table>
${
  entries.some((e) => e.search)
    ? html`<h2>How each model was searched</h2>
<ul>${entries.filter((e) => e.search).map((e) => html`<li><b>${e.model}</b>: ${e.search ?? ""}</li>`)}</ul>
`
    : ""
}</body>
</html>`}\n`;
}
