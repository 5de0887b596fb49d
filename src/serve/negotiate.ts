/**
 * Response format from `?format=` (wins) or the Accept header (q-values honoured; ties go to the
 * order of `offered`). `*\/*` alone (curl, fetch) picks the first offered type.
 */
export type Format = "html" | "json" | "csv";

const MIME: Record<Format, string> = { html: "text/html", json: "application/json", csv: "text/csv" };

interface Range {
  type: string;
  sub: string;
  q: number;
  order: number;
}

function parseAccept(header: string | undefined): Range[] {
  if (!header) return [];
  const out: Range[] = [];
  header.split(",").forEach((part, order) => {
    const [mt, ...params] = part.trim().split(";");
    const [type, sub] = (mt ?? "").trim().toLowerCase().split("/");
    if (!type || !sub) return;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Math.max(0, Math.min(1, Number(m[1]) || 0));
    }
    out.push({ type, sub, q, order });
  });
  return out;
}

function quality(ranges: Range[], mime: string): { q: number; specificity: number; order: number } {
  const [type, sub] = mime.split("/") as [string, string];
  let best = { q: -1, specificity: -1, order: Number.MAX_SAFE_INTEGER };
  for (const r of ranges) {
    const specificity =
      r.type === type && r.sub === sub ? 2 : r.type === type && r.sub === "*" ? 1 : r.type === "*" ? 0 : -1;
    if (specificity < 0) continue;
    if (specificity > best.specificity) best = { q: r.q, specificity, order: r.order };
  }
  return best;
}

export function negotiate(
  accept: string | undefined,
  formatParam: Format | undefined,
  offered: readonly Format[],
): Format {
  if (formatParam && offered.includes(formatParam)) return formatParam;
  const ranges = parseAccept(accept);
  if (ranges.length === 0) return offered[0]!;
  let chosen: Format | null = null;
  let bestQ = 0;
  let bestSpec = -1;
  let bestOrder = Number.MAX_SAFE_INTEGER;
  for (const f of offered) {
    const { q, specificity, order } = quality(ranges, MIME[f]);
    if (q <= 0) continue;
    // explicit mention beats a wildcard at the same q; then the client's order
    if (
      q > bestQ ||
      (q === bestQ && (specificity > bestSpec || (specificity === bestSpec && order < bestOrder)))
    ) {
      chosen = f;
      bestQ = q;
      bestSpec = specificity;
      bestOrder = order;
    }
  }
  return chosen ?? offered[0]!;
}

/** Whether an error for this request should be an HTML page (a browser navigating). */
export function wantsHtml(accept: string | undefined, formatParam: unknown): boolean {
  if (formatParam === "html") return true;
  if (formatParam === "json" || formatParam === "csv") return false;
  return negotiate(accept, undefined, ["json", "html"]) === "html";
}
