/**
 * Drift between a reference (a training-data profile, or a Frame) and current data, per feature
 * column (the target is never included):
 * - numeric columns with at least `numericMinDistinct` (default 20) distinct values over both samples:
 *   two-sample Kolmogorov–Smirnov (scipy's ks_2samp, method "auto");
 * - categorical columns and numeric columns with fewer distinct values (flags, the -1/0/1 codes of the
 *   phishing data): chi-squared homogeneity on the value counts;
 * - PSI for every column (deciles of the reference for KS columns, categories otherwise).
 * A column has drifted when p < alpha (default 0.05). Dataset drift when the share of drifted columns
 * reaches `threshold` (default 0.5).
 */
import type { Frame } from "../core/frame.ts";
import type { DatasetSchema } from "../datasets/schema.ts";
import { type DataProfile, isProfile, profileFrame } from "./profile.ts";
import { chi2Homogeneity } from "./stats/chi2.ts";
import { ks2samp } from "./stats/ks.ts";
import { binCounts, decileEdges, psi } from "./stats/psi.ts";

export interface DriftOptions {
  threshold?: number;
  alpha?: number;
  numericMinDistinct?: number;
}

export interface ColumnDrift {
  test: "ks" | "chi2";
  statistic: number;
  p_value: number;
  psi: number;
  drift_status: boolean;
  n_reference: number;
  n_current: number;
  missing_reference: number;
  missing_current: number;
  /** KS on a subsample of the reference (the profile kept a sample). */
  reference_sampled?: boolean;
  dof?: number;
  /** Relative frequencies per category/value (chi2 columns), top 50 by reference frequency. */
  frequencies?: Record<string, { reference: number; current: number }>;
  /** Histogram on reference decile bins (KS columns): edges and relative frequencies. */
  bins?: { edges: number[]; reference: number[]; current: number[] };
  summary?: {
    reference: { mean: number; std: number; min: number; max: number };
    current: { mean: number; std: number; min: number; max: number };
  };
}

export interface DriftReport {
  dataset: string;
  share_drifted: number;
  dataset_drift: boolean;
  threshold: number;
  alpha: number;
  n_reference: number;
  n_current: number;
  drifted_columns: string[];
  columns: Record<string, ColumnDrift>;
}

function numKey(v: number): string {
  return String(v);
}

export function detectDrift(
  reference: DataProfile | Frame,
  current: DataProfile | Frame,
  schema: DatasetSchema,
  opts: DriftOptions = {},
): DriftReport {
  const threshold = opts.threshold ?? 0.5;
  const alpha = opts.alpha ?? 0.05;
  const minDistinct = opts.numericMinDistinct ?? 20;
  const ref = isProfile(reference) ? reference : profileFrame(reference, schema);
  const cur = isProfile(current) ? current : profileFrame(current, schema);
  const columns: Record<string, ColumnDrift> = {};
  for (const spec of schema.features) {
    const r = ref.columns[spec.name];
    const c = cur.columns[spec.name];
    if (!r || !c) continue;
    if (r.kind === "numeric" && c.kind === "numeric") {
      const distinct = new Set([...r.values, ...c.values]).size;
      const base = {
        n_reference: r.n,
        n_current: c.n,
        missing_reference: r.missing,
        missing_current: c.missing,
      };
      if (r.n === 0 || c.n === 0) {
        columns[spec.name] = {
          test: "ks",
          statistic: Number.NaN,
          p_value: Number.NaN,
          psi: Number.NaN,
          drift_status: false,
          ...base,
        };
        continue;
      }
      const rv = Float64Array.from(r.values);
      const rc = Float64Array.from(r.counts);
      const cv = Float64Array.from(c.values);
      const cc = Float64Array.from(c.counts);
      if (distinct >= minDistinct) {
        const ks = ks2samp({ values: rv, counts: rc }, { values: cv, counts: cc });
        const edges = decileEdges(rv, rc);
        const rb = binCounts(rv, rc, edges);
        const cb = binCounts(cv, cc, edges);
        const rs = rb.reduce((a, b) => a + b, 0);
        const cs = cb.reduce((a, b) => a + b, 0);
        columns[spec.name] = {
          test: "ks",
          statistic: ks.statistic,
          p_value: ks.pValue,
          psi: psi(rb, cb),
          drift_status: ks.pValue < alpha,
          ...base,
          ...(r.sampled || c.sampled ? { reference_sampled: true } : {}),
          bins: { edges, reference: rb.map((x) => x / rs), current: cb.map((x) => x / cs) },
          summary: {
            reference: { mean: r.mean, std: r.std, min: r.min, max: r.max },
            current: { mean: c.mean, std: c.std, min: c.min, max: c.max },
          },
        };
      } else {
        const keys = [...new Set([...r.values, ...c.values])].sort((a, b) => a - b);
        const rm = new Map(r.values.map((v, i) => [v, r.counts[i]!]));
        const cm = new Map(c.values.map((v, i) => [v, c.counts[i]!]));
        const rcnt = keys.map((k) => rm.get(k) ?? 0);
        const ccnt = keys.map((k) => cm.get(k) ?? 0);
        columns[spec.name] = chi2Column(keys.map(numKey), rcnt, ccnt, alpha, base, true);
      }
    } else if (r.kind === "categorical" && c.kind === "categorical") {
      const keys = [...new Set([...Object.keys(r.categories), ...Object.keys(c.categories)])];
      const rcnt = keys.map((k) => r.categories[k] ?? 0);
      const ccnt = keys.map((k) => c.categories[k] ?? 0);
      columns[spec.name] = chi2Column(keys, rcnt, ccnt, alpha, {
        n_reference: r.n,
        n_current: c.n,
        missing_reference: r.missing,
        missing_current: c.missing,
      });
    }
  }
  const names = Object.keys(columns);
  const drifted = names.filter((n) => columns[n]!.drift_status);
  const share = names.length ? drifted.length / names.length : 0;
  return {
    dataset: schema.name,
    share_drifted: share,
    dataset_drift: names.length > 0 && share >= threshold,
    threshold,
    alpha,
    n_reference: ref.rows,
    n_current: cur.rows,
    drifted_columns: drifted,
    columns,
  };
}

function chi2Column(
  keys: string[],
  rcnt: number[],
  ccnt: number[],
  alpha: number,
  base: Pick<ColumnDrift, "n_reference" | "n_current" | "missing_reference" | "missing_current">,
  /** Keep the given key order (numeric values ascending) instead of sorting by reference share. */
  keepOrder = false,
): ColumnDrift {
  const t = chi2Homogeneity(rcnt, ccnt);
  const rs = rcnt.reduce((a, b) => a + b, 0) || 1;
  const cs = ccnt.reduce((a, b) => a + b, 0) || 1;
  const order = keys
    .map((k, i) => ({ k, r: rcnt[i]! / rs, c: ccnt[i]! / cs }))
    .sort((a, b) => (keepOrder ? 0 : b.r - a.r || b.c - a.c));
  const frequencies: Record<string, { reference: number; current: number }> = {};
  for (const o of order.slice(0, 50)) frequencies[o.k] = { reference: o.r, current: o.c };
  return {
    test: "chi2",
    statistic: t.statistic,
    p_value: t.pValue,
    psi: psi(rcnt, ccnt),
    drift_status: t.pValue < alpha,
    dof: t.dof,
    ...base,
    frequencies,
  };
}
