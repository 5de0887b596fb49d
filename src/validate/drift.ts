/**
 * Drift between a reference (a training-data profile, or a Frame) and current data, per feature
 * column (the target is never included).
 *
 * Column kinds:
 * - numeric columns with at least `numericMinDistinct` (default 20) distinct values over both samples;
 * - categorical columns, and numeric columns with fewer distinct values (flags, the -1/0/1 codes of the
 *   phishing data), compared as categories.
 *
 * Why effect sizes: with thousands of rows a p-value test finds every tiny, harmless difference
 * significant (at a million rows per sample, a flag set on 51% of rows instead of 50% gives
 * p ≈ 2e-45), so large samples are judged by how far apart the distributions are, not by how sure we
 * are that they differ:
 * - numeric, `numericMethod` "ks_statistic" (default): the two-sample KS statistic D, the largest gap
 *   between the two ECDFs (a share of rows, in [0, 1]); drift when D ≥ `ksThreshold` (0.1). It does not
 *   change under any monotone rescaling, so the heavy-tailed byte and duration counts of traffic data
 *   are judged like rates;
 * - numeric, "wasserstein": the Wasserstein distance divided by the reference's standard deviation (all
 *   rows, population; the pooled one of both samples when the reference is constant), i.e. how far the
 *   mass moved in reference standard deviations, the same on every column whatever its unit; drift when
 *   ≥ `wassersteinThreshold` (0.1). A few huge values dominate the std of heavy-tailed columns, which
 *   then hides a shift of the bulk: why it is not the default. Always reported;
 * - categorical: the Jensen–Shannon distance (base 2, in [0, 1]) of the category frequencies; drift when
 *   ≥ `jsThreshold` (0.1).
 * The p-value test decides instead when a sample is small (the sample-size rule): fewer than
 * `minSampleSize` (1000) non-missing values in either sample (for a profiled numeric column with more
 * than 20,000 distinct values, its 20,000-row subsample counts), or, for categorical columns, fewer than
 * `minRowsPerCategory` (100) × the number of categories seen. Below these sizes, sampling noise alone
 * moves the distances close to the thresholds (two samples of 1000 from one distribution: D ≈ 0.06 at
 * the 95th percentile; with 70 categories and 1000 rows each the JS distance is ≈ 0.16 on average), so
 * the test (which accounts for n) is the sounder judge:
 * - numeric: two-sample Kolmogorov–Smirnov (scipy's ks_2samp, method "auto");
 * - categorical: chi-squared homogeneity on the value counts;
 * drift when p < `alpha` (0.05). Both p-values and PSI (deciles of the reference for numeric columns,
 * categories otherwise) are reported for every column, whatever decided.
 * Dataset drift when the share of drifted columns reaches `threshold` (default 0.5).
 */
import type { Frame } from "../core/frame.ts";
import type { DatasetSchema } from "../datasets/schema.ts";
import { DriftSettingsSchema, driftOptions } from "./drift-settings.ts";
import { type DataProfile, isProfile, type NumericProfile, parseProfile, profileFrame } from "./profile.ts";
import { chi2Homogeneity } from "./stats/chi2.ts";
import { jensenShannonDistance } from "./stats/jensen-shannon.ts";
import { ks2samp, type WeightedSample } from "./stats/ks.ts";
import { binCounts, decileEdges, psi } from "./stats/psi.ts";
import { wassersteinDistance } from "./stats/wasserstein.ts";

export type NumericDriftMethod = "ks_statistic" | "wasserstein";
/** What decided a column: an effect size (large samples) or a p-value test (small samples). */
export type DriftMethod = NumericDriftMethod | "jensen_shannon" | "ks_test" | "chi2_test";

export interface DriftOptions {
  threshold?: number;
  alpha?: number;
  numericMinDistinct?: number;
  numericMethod?: NumericDriftMethod;
  ksThreshold?: number;
  wassersteinThreshold?: number;
  jsThreshold?: number;
  minSampleSize?: number;
  minRowsPerCategory?: number;
}

/** The defaults: the settings schema's (README "Drift" explains each), plus the kind split. */
export const DRIFT_DEFAULTS: Required<DriftOptions> = {
  numericMinDistinct: 20,
  ...driftOptions(DriftSettingsSchema.parse({})),
};

export interface ColumnDrift {
  /** The p-value test run on the column (always run and reported, it decides for small samples). */
  test: "ks" | "chi2";
  /** Its statistic (KS D, or χ²) and p-value. */
  statistic: number;
  p_value: number;
  psi: number;
  drift_status: boolean;
  /** What decided `drift_status`, the value it compared and the threshold it compared with: a p-value
   * below `drift_threshold` (tests), or a distance at or above it (effect sizes). */
  method: DriftMethod;
  drift_score: number;
  drift_threshold: number;
  /** Numeric columns: Wasserstein distance in column units, and divided by `wasserstein_scale` (the
   * reference's standard deviation, or the pooled one when the reference is constant). */
  wasserstein?: number;
  wasserstein_raw?: number;
  wasserstein_scale?: number;
  /** Categorical columns: Jensen–Shannon distance (base 2) of the category frequencies. */
  jensen_shannon?: number;
  n_reference: number;
  n_current: number;
  missing_reference: number;
  missing_current: number;
  /** A numeric sample was a 20,000-value subsample (the profile kept a sample). */
  reference_sampled?: boolean;
  dof?: number;
  /** Relative frequencies per category/value (categorical columns), top 50 by reference frequency. */
  frequencies?: Record<string, { reference: number; current: number }>;
  /** Histogram on reference decile bins (numeric columns): edges and relative frequencies. */
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
  /** The per-column rules this report applied. */
  rules: {
    numeric_method: NumericDriftMethod;
    ks_threshold: number;
    wasserstein_threshold: number;
    js_threshold: number;
    min_sample_size: number;
    min_rows_per_category: number;
  };
  n_reference: number;
  n_current: number;
  drifted_columns: string[];
  columns: Record<string, ColumnDrift>;
}

type Counts = Pick<ColumnDrift, "n_reference" | "n_current" | "missing_reference" | "missing_current">;

export function detectDrift(
  reference: DataProfile | Frame,
  current: DataProfile | Frame,
  schema: DatasetSchema,
  opts: DriftOptions = {},
): DriftReport {
  // a profile may come from JSON (a bundle, a file): checked, not trusted
  const ref = isProfile(reference)
    ? parseProfile(reference, "reference profile")
    : profileFrame(reference, schema);
  const cur = isProfile(current) ? parseProfile(current, "current profile") : profileFrame(current, schema);
  return driftOfProfiles(ref, cur, schema, opts);
}

/**
 * detectDrift of two profiles this process made itself from checked data (monitoring's windows, made
 * several times a second under heavy traffic: checking them again cost 40% of their drift reports).
 */
export function driftOfProfiles(
  ref: DataProfile,
  cur: DataProfile,
  schema: DatasetSchema,
  opts: DriftOptions = {},
): DriftReport {
  const o: Required<DriftOptions> = { ...DRIFT_DEFAULTS, ...definedOnly(opts) };
  const columns: Record<string, ColumnDrift> = {};
  for (const spec of schema.features) {
    const r = ref.columns[spec.name];
    const c = cur.columns[spec.name];
    if (!r || !c) continue;
    const counts: Counts = {
      n_reference: r.n,
      n_current: c.n,
      missing_reference: r.missing,
      missing_current: c.missing,
    };
    if (r.kind === "numeric" && c.kind === "numeric") {
      const distinct = new Set([...r.values, ...c.values]).size;
      if (r.n === 0 || c.n === 0) columns[spec.name] = emptyColumn(counts, o.alpha);
      else if (distinct >= o.numericMinDistinct) columns[spec.name] = numericColumn(r, c, counts, o);
      else {
        // few distinct values: compared as categories, ascending value order kept for the chart
        const keys = [...new Set([...r.values, ...c.values])].sort((a, b) => a - b);
        const rm = new Map(r.values.map((v, i) => [v, r.counts[i]!]));
        const cm = new Map(c.values.map((v, i) => [v, c.counts[i]!]));
        columns[spec.name] = categoricalColumn(
          keys.map(String),
          keys.map((k) => rm.get(k) ?? 0),
          keys.map((k) => cm.get(k) ?? 0),
          counts,
          o,
          true,
        );
      }
    } else if (r.kind === "categorical" && c.kind === "categorical") {
      const rc = r.categories;
      const cc = c.categories;
      const keys = [...new Set([...Object.keys(rc), ...Object.keys(cc)])];
      columns[spec.name] = categoricalColumn(
        keys,
        keys.map((k) => rc[k] ?? 0),
        keys.map((k) => cc[k] ?? 0),
        counts,
        o,
      );
    }
  }
  const names = Object.keys(columns);
  const drifted = names.filter((n) => columns[n]!.drift_status);
  const share = names.length ? drifted.length / names.length : 0;
  return {
    dataset: schema.name,
    share_drifted: share,
    dataset_drift: names.length > 0 && share >= o.threshold,
    threshold: o.threshold,
    alpha: o.alpha,
    rules: {
      numeric_method: o.numericMethod,
      ks_threshold: o.ksThreshold,
      wasserstein_threshold: o.wassersteinThreshold,
      js_threshold: o.jsThreshold,
      min_sample_size: o.minSampleSize,
      min_rows_per_category: o.minRowsPerCategory,
    },
    n_reference: ref.rows,
    n_current: cur.rows,
    drifted_columns: drifted,
    columns,
  };
}

/** Options left undefined (e.g. an absent CLI flag) keep their default. */
function definedOnly(opts: DriftOptions): DriftOptions {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as DriftOptions;
}

function emptyColumn(counts: Counts, alpha: number): ColumnDrift {
  return {
    test: "ks",
    statistic: Number.NaN,
    p_value: Number.NaN,
    psi: Number.NaN,
    drift_status: false,
    method: "ks_test",
    drift_score: Number.NaN,
    drift_threshold: alpha,
    ...counts,
  };
}

function numericColumn(
  r: NumericProfile,
  c: NumericProfile,
  counts: Counts,
  o: Required<DriftOptions>,
): ColumnDrift {
  const rs: WeightedSample = { values: Float64Array.from(r.values), counts: Float64Array.from(r.counts) };
  const cs: WeightedSample = { values: Float64Array.from(c.values), counts: Float64Array.from(c.counts) };
  const ks = ks2samp(rs, cs);
  const raw = wassersteinDistance(rs, cs);
  const scale = r.std > 0 ? r.std : pooledStd(r, c);
  const wasserstein = raw === 0 ? 0 : raw / scale;
  const edges = decileEdges(rs.values, rs.counts);
  const rb = binCounts(rs.values, rs.counts, edges);
  const cb = binCounts(cs.values, cs.counts, edges);
  const rTotal = rb.reduce((a, b) => a + b, 0);
  const cTotal = cb.reduce((a, b) => a + b, 0);
  // the sample the distances were measured on: a sampled profile kept 20,000 values
  const large = Math.min(r.sampleSize, c.sampleSize) >= o.minSampleSize;
  const decision: Pick<ColumnDrift, "method" | "drift_score" | "drift_threshold" | "drift_status"> = !large
    ? {
        method: "ks_test",
        drift_score: ks.pValue,
        drift_threshold: o.alpha,
        drift_status: ks.pValue < o.alpha,
      }
    : o.numericMethod === "ks_statistic"
      ? {
          method: "ks_statistic",
          drift_score: ks.statistic,
          drift_threshold: o.ksThreshold,
          drift_status: ks.statistic >= o.ksThreshold,
        }
      : {
          method: "wasserstein",
          drift_score: wasserstein,
          drift_threshold: o.wassersteinThreshold,
          drift_status: wasserstein >= o.wassersteinThreshold,
        };
  return {
    test: "ks",
    statistic: ks.statistic,
    p_value: ks.pValue,
    psi: psi(rb, cb),
    ...decision,
    wasserstein,
    wasserstein_raw: raw,
    wasserstein_scale: scale,
    ...counts,
    ...(r.sampled || c.sampled ? { reference_sampled: true } : {}),
    bins: { edges, reference: rb.map((x) => x / rTotal), current: cb.map((x) => x / cTotal) },
    summary: {
      reference: { mean: r.mean, std: r.std, min: r.min, max: r.max },
      current: { mean: c.mean, std: c.std, min: c.min, max: c.max },
    },
  };
}

/** Population std of both samples together, from each one's exact n, mean and std. */
function pooledStd(r: NumericProfile, c: NumericProfile): number {
  const n = r.n + c.n;
  const mean = (r.n * r.mean + c.n * c.mean) / n;
  const ss = r.n * (r.std ** 2 + (r.mean - mean) ** 2) + c.n * (c.std ** 2 + (c.mean - mean) ** 2);
  return Math.sqrt(ss / n);
}

function categoricalColumn(
  keys: string[],
  rcnt: number[],
  ccnt: number[],
  counts: Counts,
  o: Required<DriftOptions>,
  /** Keep the given key order (numeric values ascending) instead of sorting by reference share. */
  keepOrder = false,
): ColumnDrift {
  const t = chi2Homogeneity(rcnt, ccnt);
  const js = jensenShannonDistance(rcnt, ccnt);
  const rs = rcnt.reduce((a, b) => a + b, 0);
  const cs = ccnt.reduce((a, b) => a + b, 0);
  const seen = rcnt.filter((x, i) => x + ccnt[i]! > 0).length;
  const large = Math.min(rs, cs) >= Math.max(o.minSampleSize, o.minRowsPerCategory * seen);
  const decision: Pick<ColumnDrift, "method" | "drift_score" | "drift_threshold" | "drift_status"> = large
    ? {
        method: "jensen_shannon",
        drift_score: js,
        drift_threshold: o.jsThreshold,
        drift_status: js >= o.jsThreshold,
      }
    : {
        method: "chi2_test",
        drift_score: t.pValue,
        drift_threshold: o.alpha,
        drift_status: t.pValue < o.alpha,
      };
  const order = keys
    .map((k, i) => ({ k, r: rcnt[i]! / (rs || 1), c: ccnt[i]! / (cs || 1) }))
    .sort((a, b) => (keepOrder ? 0 : b.r - a.r || b.c - a.c));
  const frequencies: Record<string, { reference: number; current: number }> = {};
  for (const x of order.slice(0, 50)) frequencies[x.k] = { reference: x.r, current: x.c };
  return {
    test: "chi2",
    statistic: t.statistic,
    p_value: t.pValue,
    psi: psi(rcnt, ccnt),
    ...decision,
    jensen_shannon: js,
    dof: t.dof,
    ...counts,
    frequencies,
  };
}
