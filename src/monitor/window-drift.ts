/**
 * Drift of a window of scored traffic against the model's reference, decided by `detectDrift` (the
 * code and settings `netsec validate` and the pipeline's drift step use) on both sides profiled on the
 * reference's bins (reference.ts, counts.ts). The outputs get the same treatment as two categorical
 * columns — the threat probability in 20 equal bins and the predicted class — plus the change of the
 * threat rate (share of rows at or above the model's threshold) in percentage points.
 */
import { DatasetSchema, SchemaFileSchema } from "../datasets/schema.ts";
import { type DriftOptions, type DriftReport, driftOfProfiles } from "../validate/drift.ts";
import type { DataProfile } from "../validate/profile.ts";
import { unseenShare, type WindowCounts, windowProfile } from "./counts.ts";
import { type MonitorReference, PROBABILITY_BINS, referenceProfile } from "./reference.ts";

export interface WindowDrift {
  inputs: DriftReport;
  outputs: DriftReport;
  threat_rate: { reference: number; current: number; change: number };
  /** Unseen categorical cells / non-missing categorical cells. */
  unseen_share: number;
  /** Missing cells / cells, per input. */
  missing_rate: Record<string, number>;
}

/** The two output "columns" as a schema, so detectDrift judges them as it judges inputs. */
const OUTPUT_SCHEMA = new DatasetSchema(
  SchemaFileSchema.parse({
    name: "model-outputs",
    title: "model outputs",
    target: "target",
    labels: { benign: ["0"] },
    columns: [
      { name: "threat_probability", type: "categorical" },
      { name: "predicted_class", type: "categorical" },
      { name: "target", type: "categorical", role: "target" },
    ],
  }),
  "(monitor outputs)",
);

function binName(i: number): string {
  const w = 1 / PROBABILITY_BINS;
  return `${(i * w).toFixed(2)}–${((i + 1) * w).toFixed(2)}`;
}

function outputProfile(
  dataset: string,
  probability: readonly number[],
  classes: Record<string, number>,
): DataProfile {
  const prob: Record<string, number> = {};
  probability.forEach((n, i) => {
    if (n > 0) prob[binName(i)] = n;
  });
  const np = probability.reduce((a, b) => a + b, 0);
  const nc = Object.values(classes).reduce((a, b) => a + b, 0);
  return {
    format: "netsec-profile",
    version: 1,
    dataset,
    rows: Math.max(np, nc),
    columns: {
      threat_probability: {
        kind: "categorical",
        n: np,
        missing: 0,
        distinct: Object.keys(prob).length,
        categories: prob,
      },
      predicted_class: {
        kind: "categorical",
        n: nc,
        missing: 0,
        distinct: Object.keys(classes).length,
        categories: { ...classes },
      },
    },
  };
}

/** The reference's side of both drift reports, made once per reference. */
const referenceSideCache = new WeakMap<MonitorReference, { inputs: DataProfile; outputs: DataProfile }>();
function referenceSides(ref: MonitorReference): { inputs: DataProfile; outputs: DataProfile } {
  let sides = referenceSideCache.get(ref);
  if (!sides) {
    sides = {
      inputs: referenceProfile(ref),
      outputs: outputProfile(ref.dataset, ref.outputs.probability, ref.outputs.classes),
    };
    referenceSideCache.set(ref, sides);
  }
  return sides;
}

export function windowDrift(
  ref: MonitorReference,
  c: WindowCounts,
  schema: DatasetSchema,
  opts: DriftOptions = {},
): WindowDrift {
  // both sides made here from checked data (the reference parsed when read, the counts ours): the
  // decisions of detectDrift without checking the profiles again
  const refSide = referenceSides(ref);
  const inputs = driftOfProfiles(refSide.inputs, windowProfile(ref, c), schema, opts);
  const outputs = driftOfProfiles(
    refSide.outputs,
    outputProfile(ref.dataset, c.outputs.probability, c.outputs.classes),
    OUTPUT_SCHEMA,
    opts,
  );
  const current = c.rows ? c.outputs.threats / c.rows : 0;
  const missing_rate: Record<string, number> = {};
  for (const [name, x] of Object.entries(c.inputs)) missing_rate[name] = c.rows ? x.missing / c.rows : 0;
  return {
    inputs,
    outputs,
    threat_rate: {
      reference: ref.outputs.threat_rate,
      current,
      change: current - ref.outputs.threat_rate,
    },
    unseen_share: unseenShare(c),
    missing_rate,
  };
}
