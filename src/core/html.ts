/**
 * HTML with escaping by construction: the `html` tag escapes every interpolated value
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
