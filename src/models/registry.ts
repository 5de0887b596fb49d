/**
 * The model registry: every classifier is declared once (name, parameter schema, default grid,
 * capabilities, factory); shared code reads these declarations instead of branching on names.
 */
import { NetsecError } from "../core/errors.ts";
import { adaBoostSpec } from "./adaboost.ts";
import { decisionTreeSpec } from "./decision-tree.ts";
import { gradientBoostingSpec } from "./gradient-boosting.ts";
import { histGradientBoostingSpec } from "./hist-gradient-boosting.ts";
import { logisticRegressionSpec } from "./logistic-regression.ts";
import { parseParams } from "./params.ts";
import { randomForestSpec } from "./random-forest.ts";
import { softVotingSpec } from "./soft-voting.ts";
import {
  type Classifier,
  MODEL_NAMES,
  type ModelName,
  type ModelSpec,
  type SerializedModel,
} from "./types.ts";

const SPECS = new Map<string, ModelSpec<never>>(
  [
    randomForestSpec,
    decisionTreeSpec,
    gradientBoostingSpec,
    logisticRegressionSpec,
    adaBoostSpec,
    histGradientBoostingSpec,
    // built by the tune step from other models' candidates, never searched (not in MODEL_NAMES)
    softVotingSpec({ create: (m, p) => createModel(m, p), fromJSON: (s) => modelFromJSON(s) }),
  ].map((s) => [s.name, s as unknown as ModelSpec<never>]),
);

/** The models a run can be asked to train (--models, config `models`): soft_voting is not one. */
export function modelNames(): ModelName[] {
  return [...SPECS.keys()].filter((m) => (MODEL_NAMES as readonly string[]).includes(m)) as ModelName[];
}

export function getModelSpec(name: string): ModelSpec {
  const s = SPECS.get(name);
  if (!s) {
    throw new NetsecError(
      "PARAM_INVALID",
      `unknown model ${JSON.stringify(name)}; models are ${[...SPECS.keys()].join(", ")}`,
      {
        value: name,
      },
    );
  }
  return s as unknown as ModelSpec;
}

/** Validate raw (snake_case or camelCase) params and build an unfitted model. */
export function createModel(name: string, rawParams: unknown = {}): Classifier {
  const spec = getModelSpec(name);
  return spec.create(parseParams(spec.paramSchema, rawParams, name));
}

/** Rebuild a fitted model from its JSON state (no code is executed from the data). */
export function modelFromJSON(s: SerializedModel): Classifier {
  if (typeof s !== "object" || s === null || typeof s.model !== "string") {
    throw new NetsecError("BUNDLE_INVALID", "model state is not a serialized netsec model", {});
  }
  try {
    return getModelSpec(s.model).fromJSON(s);
  } catch (e) {
    throw new NetsecError(
      "BUNDLE_INVALID",
      `model state of ${s.model} is invalid: ${(e as Error).message}`,
      {},
      { cause: e },
    );
  }
}
