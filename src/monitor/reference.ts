/**
 * The monitoring reference of a model (`monitor_reference.json` in its bundle, written at training
 * time): for each model input, the fixed bins scored traffic is counted on and the training rows'
 * counts in them, and for the outputs the training reference (threat rate and probability histogram
 * of the cross-validated (out-of-fold) predictions on the training rows, the class mix of the training
 * labels, and the most important features).
 *
 * Bins (numeric inputs): the reference profile's own distinct values when it has at most
 * `MAX_VALUE_BINS` (256) of them — every value its own bin, so the binned ECDF is the exact one at every
 * reference value — else 256 quantile bins of the training rows (each ≤ 1/256 of them, so a KS
 * statistic measured on the bins is within 1/256 of the exact one's gap at the edges). Two more bins,
 * below the smallest and above the largest edge, count values the training rows never reached. The
 * categorical inputs: the training categories, plus the unseen ones counted by name.
 *
 * Drift is then decided by `detectDrift` (src/validate/drift.ts) on two profiles built on the same
 * bins (`referenceProfile` here, the window's in window-profile.ts), so a window is judged by exactly
 * the rules and thresholds of `netsec validate`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { NetsecError } from "../core/errors.ts";
import type { ColumnProfile, DataProfile, NumericProfile } from "../validate/profile.ts";

export const MONITOR_REFERENCE_FILE = "monitor_reference.json";
/** Most bins of a numeric input (besides the two outside ones). */
export const MAX_VALUE_BINS = 256;
/** Equal-width bins of the threat probability on [0, 1]. */
export const PROBABILITY_BINS = 20;

const NumericRef = z.object({
  kind: z.literal("numeric"),
  /** Upper edges of the inner bins, ascending: bin i holds (edges[i-1], edges[i]], bin 0 [edges[0], edges[0]]. */
  edges: z.array(z.number()),
  /** Training rows per inner bin (the sample's when the profile was sampled). */
  counts: z.array(z.number().min(0)),
  /** The exact profile's figures the drift measures use (Wasserstein scale, summaries, sample size). */
  n: z.number().int().min(0),
  missing: z.number().int().min(0),
  sampled: z.boolean(),
  sample_size: z.number().int().min(0),
  mean: z.number().nullable(),
  std: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
});

const CategoricalRef = z.object({
  kind: z.literal("categorical"),
  categories: z.array(z.string()),
  counts: z.array(z.number().min(0)),
  n: z.number().int().min(0),
  missing: z.number().int().min(0),
});

export const MonitorReferenceSchema = z.object({
  format: z.literal("netsec-monitor-reference"),
  version: z.literal(1),
  dataset: z.string(),
  rows: z.number().int().min(0),
  inputs: z.record(z.string(), z.discriminatedUnion("kind", [NumericRef, CategoricalRef])),
  outputs: z.object({
    /** What the output reference was measured on (see the file's comment). */
    source: z.string(),
    threshold: z.number(),
    threat_rate: z.number().min(0).max(1),
    /** Rows per threat-probability bin (PROBABILITY_BINS equal bins on [0, 1]). */
    probability: z.array(z.number().min(0)),
    /** Rows per class name. */
    classes: z.record(z.string(), z.number().min(0)),
  }),
  /** Input columns by importance (most first); the alert on a single important feature watches these. */
  important_features: z.array(z.string()),
});

export type MonitorReference = z.infer<typeof MonitorReferenceSchema>;
export type NumericReference = z.infer<typeof NumericRef>;
export type CategoricalReference = z.infer<typeof CategoricalRef>;

/** The bins of a numeric profile and the training rows in each. */
export function numericReference(p: NumericProfile): NumericReference {
  let edges: number[];
  let counts: number[];
  if (p.values.length <= MAX_VALUE_BINS) {
    edges = [...p.values];
    counts = [...p.counts];
  } else {
    edges = [];
    counts = [];
    const total = p.counts.reduce((a, b) => a + b, 0);
    let cum = 0;
    let inBin = 0;
    let q = 1;
    for (let i = 0; i < p.values.length; i++) {
      cum += p.counts[i]!;
      inBin += p.counts[i]!;
      // close a bin at the first value reaching the next quantile (the last value closes the last)
      if (cum >= (q * total) / MAX_VALUE_BINS || i === p.values.length - 1) {
        edges.push(p.values[i]!);
        counts.push(inBin);
        inBin = 0;
        while (q <= MAX_VALUE_BINS && cum >= (q * total) / MAX_VALUE_BINS) q++;
      }
    }
  }
  const num = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return {
    kind: "numeric",
    edges,
    counts,
    n: p.n,
    missing: p.missing,
    sampled: p.sampled,
    sample_size: p.sampleSize,
    mean: num(p.mean),
    std: num(p.std),
    min: num(p.min),
    max: num(p.max),
  };
}

function columnReference(c: ColumnProfile): NumericReference | CategoricalReference {
  if (c.kind === "numeric") return numericReference(c);
  const entries = Object.entries(c.categories);
  return {
    kind: "categorical",
    categories: entries.map(([k]) => k),
    counts: entries.map(([, v]) => v),
    n: c.n,
    missing: c.missing,
  };
}

export interface OutputReferenceInput {
  /** Out-of-fold threat probabilities of the training rows. */
  oofThreat: ArrayLike<number>;
  threshold: number;
  /** Each training row's class name. */
  classNames: readonly string[];
  source: string;
}

/** Rows per equal-width probability bin on [0, 1] (1.0 in the last bin). */
export function probabilityBin(p: number): number {
  const b = Math.floor(p * PROBABILITY_BINS);
  return b < 0 ? 0 : b >= PROBABILITY_BINS ? PROBABILITY_BINS - 1 : b;
}

export function buildMonitorReference(
  profile: DataProfile,
  out: OutputReferenceInput,
  importantFeatures: readonly string[],
): MonitorReference {
  const inputs: MonitorReference["inputs"] = {};
  for (const [name, c] of Object.entries(profile.columns)) inputs[name] = columnReference(c);
  const probability = new Array<number>(PROBABILITY_BINS).fill(0);
  let threats = 0;
  for (let i = 0; i < out.oofThreat.length; i++) {
    const p = out.oofThreat[i]!;
    if (Number.isNaN(p)) continue;
    probability[probabilityBin(p)]!++;
    if (p >= out.threshold) threats++;
  }
  const scored = probability.reduce((a, b) => a + b, 0);
  const classes: Record<string, number> = {};
  for (const c of out.classNames) classes[c] = (classes[c] ?? 0) + 1;
  return {
    format: "netsec-monitor-reference",
    version: 1,
    dataset: profile.dataset,
    rows: profile.rows,
    inputs,
    outputs: {
      source: out.source,
      threshold: out.threshold,
      threat_rate: scored ? threats / scored : 0,
      probability,
      classes,
    },
    important_features: [...importantFeatures],
  };
}

export function writeMonitorReference(bundleDir: string, ref: MonitorReference): void {
  writeFileSync(join(bundleDir, MONITOR_REFERENCE_FILE), JSON.stringify(MonitorReferenceSchema.parse(ref)));
}

/**
 * A bundle's monitoring reference, or null when the bundle predates it (monitoring then says "no
 * reference profile; retrain"). A damaged file is a BUNDLE_INVALID naming it.
 */
export function readMonitorReference(bundleDir: string): MonitorReference | null {
  const file = join(bundleDir, MONITOR_REFERENCE_FILE);
  if (!existsSync(file)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new NetsecError("BUNDLE_INVALID", `${file} is not valid JSON: ${(e as Error).message}`, { file });
  }
  const r = MonitorReferenceSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new NetsecError("BUNDLE_INVALID", `${file}: ${i.path.join(".")}: ${i.message}`, {
      file,
      field: i.path.join("."),
    });
  }
  return r.data;
}

const kept = new Map<string, MonitorReference | null>();

/** readMonitorReference, kept per bundle directory (scoring threads call it on every batch). */
export function monitorReferenceFor(bundleDir: string): MonitorReference | null {
  if (kept.has(bundleDir)) return kept.get(bundleDir)!;
  const r = readMonitorReference(bundleDir);
  kept.set(bundleDir, r);
  while (kept.size > 4) kept.delete(kept.keys().next().value!);
  return r;
}

/**
 * The reference as a profile on its own bins (each inner bin's upper edge standing for its rows), the
 * other side of `detectDrift` for a window profiled on the same bins.
 */
export function referenceProfile(ref: MonitorReference): DataProfile {
  const columns: Record<string, ColumnProfile> = {};
  for (const [name, c] of Object.entries(ref.inputs)) {
    if (c.kind === "categorical") {
      const categories: Record<string, number> = {};
      c.categories.forEach((k, i) => {
        categories[k] = c.counts[i]!;
      });
      columns[name] = {
        kind: "categorical",
        n: c.n,
        missing: c.missing,
        distinct: c.categories.length,
        categories,
      };
      continue;
    }
    const values: number[] = [];
    const counts: number[] = [];
    c.edges.forEach((e, i) => {
      if (c.counts[i]! > 0) {
        values.push(e);
        counts.push(c.counts[i]!);
      }
    });
    columns[name] = {
      kind: "numeric",
      n: c.n,
      missing: c.missing,
      distinct: values.length,
      values,
      counts,
      sampled: c.sampled,
      sampleSize: c.sample_size,
      min: c.min ?? Number.NaN,
      max: c.max ?? Number.NaN,
      mean: c.mean ?? Number.NaN,
      std: c.std ?? Number.NaN,
    };
  }
  return { format: "netsec-profile", version: 1, dataset: ref.dataset, rows: ref.rows, columns };
}
