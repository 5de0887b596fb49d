/**
 * A data profile (`DataProfile`, the drift reference) of a DuckDB relation, equal to `profileFrame`
 * of the same rows loaded as a Frame: categorical columns counted by GROUP BY (ties in the order the
 * categories are first seen, as profileFrame's map has them); numeric columns read as Float64Arrays in
 * (source, row) order and profiled by profileFrame's own `numericProfile` — the mean and std are sums
 * in row order, and the seeded subsample of a column with many distinct values is profileFrame's,
 * so no SQL aggregate would match them to the last bit.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
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
        `SELECT ${numeric.map(({ i }) => `v${i}`).join(", ")} FROM (${typed.sql}) ORDER BY __src, __row`,
      );
      let at = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        for (let j = 0; j < arrays.length; j++) {
          const vector = chunk.getColumnVector(j);
          const out = arrays[j]!;
          for (let r = 0; r < chunk.rowCount; r++) {
            const v = vector.getItem(r);
            out[at + r] = v === null ? Number.NaN : (v as number);
          }
        }
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
