/**
 * A data profile (`DataProfile`, the drift reference) of a DuckDB relation, equal to `profileFrame`
 * of the same rows loaded as a Frame: categorical columns counted by GROUP BY (ties in the order the
 * categories are first seen, as profileFrame's map has them); numeric columns read as Float64Arrays in
 * (source, row) order and profiled by profileFrame's own `numericProfile` — the mean and std are sums
 * in row order, and the seeded subsample of a column with many distinct values is profileFrame's,
 * so no SQL aggregate would match them to the last bit.
 */
import type { DuckDBConnection, DuckDBVector } from "@duckdb/node-api";
import type { DatasetSchema } from "../datasets/schema.ts";
import { type ColumnProfile, type DataProfile, numericProfile } from "./profile.ts";
import { type Provenance, typedRelation } from "./typed-relation.ts";

export async function profileRelation(
  conn: DuckDBConnection,
  relation: string,
  schema: DatasetSchema,
  prov: Provenance,
  seed = 0,
): Promise<DataProfile> {
  const typed = await typedRelation(conn, relation, schema, prov);
  try {
    const rows = Number((await conn.runAndReadAll(`SELECT count(*) FROM (${typed.sql})`)).getRowsJS()[0]![0]);
    const feats = new Set(schema.featureNames);
    const present = typed.columns.map((c, i) => ({ c, i })).filter(({ c }) => feats.has(c.spec.name));
    const numeric = present.filter(({ c }) => c.numeric);
    const arrays = numeric.map(() => new Float64Array(rows));
    if (numeric.length > 0) {
      const result = await conn.stream(
        // NaN for missing: no NULLs, so a chunk's vector is its Float64Array as it is
        `SELECT ${numeric.map(({ i }) => `coalesce(v${i}, 'NaN'::DOUBLE)`).join(", ")} FROM (${typed.sql}) ORDER BY __src, __row`,
      );
      let at = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        for (let j = 0; j < arrays.length; j++)
          copyDoubles(chunk.getColumnVector(j), arrays[j]!, at, chunk.rowCount);
        at += chunk.rowCount;
      }
    }
    const columns: Record<string, ColumnProfile> = {};
    for (const { c, i } of present) {
      if (c.numeric) {
        columns[c.spec.name] = numericProfile(arrays[numeric.findIndex((x) => x.i === i)]!, seed);
        continue;
      }
      const r = await conn.runAndReadAll(
        `SELECT v${i}, count(*) AS n, min(__src::BIGINT * 1099511627776 + __row) AS first FROM (${typed.sql}) WHERE v${i} IS NOT NULL GROUP BY 1 ORDER BY n DESC, first`,
      );
      const counts = r.getRowsJS().map(([v, n]) => [String(v), Number(n)] as const);
      const n = counts.reduce((a, [, k]) => a + k, 0);
      columns[c.spec.name] = {
        kind: "categorical",
        n,
        missing: rows - n,
        distinct: counts.length,
        categories: Object.fromEntries(counts),
      };
    }
    // the schema's column order, as profileFrame (which walks schema.features)
    const ordered: Record<string, ColumnProfile> = {};
    for (const f of schema.featureNames) if (columns[f]) ordered[f] = columns[f];
    return { format: "netsec-profile", version: 1, dataset: schema.name, rows, columns: ordered };
  } finally {
    await typed.dispose();
  }
}

/**
 * Copy a DOUBLE vector without NULLs into `out` at `at`: its Float64Array at once when the vector
 * exposes it (the pinned @duckdb/node-api keeps it as `items`), else value by value.
 */
function copyDoubles(vector: DuckDBVector, out: Float64Array, at: number, rows: number): void {
  const items = (vector as unknown as { items?: unknown }).items;
  if (items instanceof Float64Array && items.length >= rows) {
    out.set(items.subarray(0, rows), at);
    return;
  }
  for (let r = 0; r < rows; r++) out[at + r] = (vector.getItem(r) as number | null) ?? Number.NaN;
}
