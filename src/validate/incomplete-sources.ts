/**
 * Which sources of a store validation did not arrive whole: shared by the row-by-row and the
 * set-query validation of a store (`store-validate.ts`, `sql-validate.ts`).
 */
import type { SourceInfo } from "../store/types.ts";

/** Sources in scope whose ingest did not finish, with what to do about each. */
export function incompleteSources(
  sources: readonly SourceInfo[],
  seen: ReadonlyMap<string, number>,
  only: readonly string[] | undefined,
): { label: string; stored: number; missing: number; message: string }[] {
  const out: { label: string; stored: number; missing: number; message: string }[] = [];
  const known = new Set(sources.map((s) => s.source));
  for (const s of sources) {
    if (only && !only.includes(s.source)) continue;
    const stored = seen.get(s.source) ?? 0;
    if (s.status === "complete" && stored >= s.rows) continue;
    const why =
      s.status === "ingesting"
        ? `its ingest started ${s.ingestedAt} did not finish`
        : "records are missing although its ingest finished";
    out.push({
      label: s.location,
      stored,
      missing: Math.max(0, s.rows - stored),
      message: `source ${s.location} (${s.name}): ${why}: ${stored} of ${s.rows} rows stored; run the same \`netsec ingest\` again to complete it (it adds only what is missing)`,
    });
  }
  for (const [src, stored] of seen) {
    if (known.has(src)) continue;
    out.push({
      label: src,
      stored,
      missing: 0,
      message: `source ${src}: ${stored} record(s) but no finished ingest (an ingest interrupted before it was recorded); ingest that file again to complete it`,
    });
  }
  return out;
}
