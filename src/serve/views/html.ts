/**
 * Server-side HTML with escaping by construction: the `html` tag escapes every interpolated value
 * unless it is already `SafeHtml` (the output of another `html` call). Nothing user-supplied can reach
 * the page unescaped, so a CSV cell `<script>` renders as text.
 */

export class SafeHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const ESC: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

const SPECIAL = /[&<>"'`]/;

export function escapeHtml(s: string): string {
  return SPECIAL.test(s) ? s.replace(/[&<>"'`]/g, (c) => ESC[c]!) : s;
}

function render(v: unknown): string {
  if (v === null || v === undefined || v === false) return "";
  if (typeof v === "number") return String(v); // digits, a sign, a point, e, Infinity, NaN: nothing to escape
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join("");
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Trusted markup (constants only). */
export function raw(s: string): SafeHtml {
  return new SafeHtml(s);
}

/** A number for display: fixed decimals, or an em dash when missing. */
export function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  return v.toFixed(digits);
}

export interface PageOptions {
  title: string;
  active?: "home" | "runs" | "models" | "docs";
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
  <nav>${nav("/", "home", "Score")}${nav("/runs", "runs", "Runs")}${nav("/models", "models", "Models")}${nav("/docs", "docs", "API docs")}</nav>
  <span class="model-pill">${opts.modelVersion ? html`model <code>${opts.modelVersion}</code>` : "no model loaded"}</span>
</header>
<main>
${body}
</main>
<footer>netsec · threat detection for network traffic · <a href="/metrics">metrics</a> · <a href="/health/ready">health</a></footer>
</body>
</html>`}`;
}
