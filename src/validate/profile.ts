/**
 * A data profile: per feature column, what drift detection needs later without keeping the data —
 * value → count tables (the exact empirical distribution) for numeric columns with up to 20,000
 * distinct values, else a seeded 20,000-value subsample plus exact summary statistics; category →
 * count for categorical columns. A model bundle stores its training data's profile as the drift
 * reference. Target and non-feature columns are excluded.
 */
import type { Frame } from "../core/frame.ts";
import { Rng } from "../core/rng.ts";
import type { DatasetSchema } from "../datasets/schema.ts";

export const PROFILE_MAX_DISTINCT = 20_000;

export interface NumericProfile {
  kind: "numeric";
  n: number;
  missing: number;
  distinct: number;
  /** Distinct values ascending and their counts; exact unless `sampled`. */
  values: number[];
  counts: number[];
  /** True when values/counts describe a uniform subsample of `sampleSize` rows. */
  sampled: boolean;
  sampleSize: number;
  min: number;
  max: number;
  mean: number;
  std: number;
}

export interface CategoricalProfile {
  kind: "categorical";
  n: number;
  missing: number;
  distinct: number;
  categories: Record<string, number>;
}

export type ColumnProfile = NumericProfile | CategoricalProfile;

export interface DataProfile {
  format: "netsec-profile";
  version: 1;
  dataset: string;
  rows: number;
  columns: Record<string, ColumnProfile>;
}

/** The profile of a numeric column (NaN = missing), its values in row order (the mean and std sum in it). */
export function numericProfile(v: Float64Array, seed: number): NumericProfile {
  const vals: number[] = [];
  let missing = 0;
  let sum = 0;
  let sumsq = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const x of v) {
    if (Number.isNaN(x)) {
      missing++;
      continue;
    }
    vals.push(x);
    sum += x;
    sumsq += x * x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const n = vals.length;
  const sorted = Float64Array.from(vals).sort();
  const table = (a: Float64Array): [number[], number[]] => {
    const values: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < a.length; i++) {
      if (i > 0 && a[i] === a[i - 1]) counts[counts.length - 1]!++;
      else {
        values.push(a[i]!);
        counts.push(1);
      }
    }
    return [values, counts];
  };
  let [values, counts] = table(sorted);
  const distinct = values.length;
  let sampled = false;
  let sampleSize = n;
  if (distinct > PROFILE_MAX_DISTINCT) {
    const idx = Uint32Array.from({ length: n }, (_, i) => i);
    new Rng(seed).shuffle(idx);
    const sub = Float64Array.from(idx.subarray(0, PROFILE_MAX_DISTINCT), (i) => sorted[i]!).sort();
    [values, counts] = table(sub);
    sampled = true;
    sampleSize = sub.length;
  }
  const mean = n ? sum / n : Number.NaN;
  const variance = n ? Math.max(0, sumsq / n - mean * mean) : Number.NaN;
  return {
    kind: "numeric",
    n,
    missing,
    distinct,
    values,
    counts,
    sampled,
    sampleSize,
    min: n ? min : Number.NaN,
    max: n ? max : Number.NaN,
    mean,
    std: Math.sqrt(variance),
  };
}

export function profileFrame(frame: Frame, schema: DatasetSchema, seed = 0): DataProfile {
  const columns: Record<string, ColumnProfile> = {};
  for (const spec of schema.features) {
    if (!frame.has(spec.name)) continue;
    const c = frame.column(spec.name);
    if (c.kind === "numeric") {
      columns[spec.name] = numericProfile(c.values, seed);
    } else {
      const counts = new Map<string, number>();
      let missing = 0;
      for (const code of c.codes) {
        if (code < 0) missing++;
        else {
          const k = c.categories[code]!;
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
      }
      columns[spec.name] = {
        kind: "categorical",
        n: c.codes.length - missing,
        missing,
        distinct: counts.size,
        categories: Object.fromEntries([...counts.entries()].sort((a, b) => b[1] - a[1])),
      };
    }
  }
  return { format: "netsec-profile", version: 1, dataset: schema.name, rows: frame.nRows, columns };
}

export function isProfile(x: unknown): x is DataProfile {
  return typeof x === "object" && x !== null && (x as { format?: unknown }).format === "netsec-profile";
}
