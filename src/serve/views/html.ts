/**
 * The server's page frame; the escaping `html` tag it is built with is src/core/html.ts (the pipeline's
 * leaderboard page uses it too).
 */
import { html, raw, type SafeHtml } from "../../core/html.ts";

export interface PageOptions {
  title: string;
  active?: "home" | "runs" | "models" | "monitoring" | "docs";
  modelVersion?: string | null;
}

/** The common page frame: header with navigation, main content, footer. Only local CSS/JS. */
export function page(opts: PageOptions, body: SafeHtml): string {
  const nav = (href: string, key: PageOptions["active"], label: string): SafeHtml =>
    html`<a href="${href}"${opts.active === key ? raw(' aria-current="page" class="active"') : ""}>${label}</a>`;
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · netsec</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/table-sort.js" defer></script>
</head>
<body>
<header class="topbar">
  <a class="brand" href="/"><span class="logo" aria-hidden="true">◆</span> netsec</a>
  <nav>${nav("/", "home", "Score")}${nav("/runs", "runs", "Runs")}${nav("/models", "models", "Models")}${nav("/monitoring", "monitoring", "Monitoring")}${nav("/docs", "docs", "API docs")}</nav>
  <span class="model-pill">${opts.modelVersion ? html`model <code>${opts.modelVersion}</code>` : "no model loaded"}</span>
</header>
<main>
${body}
</main>
<footer>netsec · threat detection for network traffic · <a href="/metrics">metrics</a> · <a href="/health/ready">health</a></footer>
</body>
</html>`}`;
}
