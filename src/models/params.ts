/**
 * Hyperparameter parsing shared by every model: snake_case names (as scikit-learn and the original
 * project's grids use) are accepted and normalised to camelCase; unknown names, NaN/Infinity and values
 * outside their range are errors naming the parameter, the value and what is allowed.
 */
import { z } from "zod";
import { NetsecError, showValue } from "../core/errors.ts";

/** `random_state`: a seed as scikit-learn takes it (a uint32), default 0. */
export const randomStateSchema = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1)
  .default(0);

export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Hyperparameters as a user reads and writes them (configs, grids, leaderboards, MLflow, bundles):
 * snake_case keys, as scikit-learn spells them. The estimators' own objects stay camelCase.
 */
export function snakeKeys(p: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [snakeCase(k), v]));
}

/** Normalise keys to camelCase; two spellings of one parameter are an error. */
export function normaliseKeys(raw: Record<string, unknown>, model: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    const c = camelCase(k);
    if (c in out) {
      throw new NetsecError("PARAM_INVALID", `${model}: parameter ${from[c]} given twice (also as ${k})`, {
        parameter: k,
      });
    }
    if (typeof v === "number" && !Number.isFinite(v)) {
      throw new NetsecError("PARAM_INVALID", `${model}: parameter ${k} = ${v} is not a finite number`, {
        parameter: k,
        value: String(v),
      });
    }
    out[c] = v;
    from[c] = k;
  }
  return out;
}

export function parseParams<P>(schema: z.ZodType<P>, raw: unknown, model: string): P {
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new NetsecError(
      "PARAM_INVALID",
      `${model}: parameters must be an object, got ${showValue(JSON.stringify(raw))}`,
      {},
    );
  }
  const r = schema.safeParse(normaliseKeys(raw as Record<string, unknown>, model));
  if (!r.success) {
    const problems = r.error.issues.map((i) => {
      if (i.code === "unrecognized_keys") {
        return `unknown parameter(s) ${i.keys.map((k) => JSON.stringify(snakeCase(k))).join(", ")}`;
      }
      const name = snakeCase(String(i.path[0] ?? "(params)"));
      const given =
        (raw as Record<string, unknown>)[name] ?? (raw as Record<string, unknown>)[camelCase(name)];
      return `${name} = ${typeof given === "object" && given !== null ? showValue(JSON.stringify(given)) : showValue(given)}: ${i.message}`;
    });
    throw new NetsecError("PARAM_INVALID", `${model}: ${problems.join("; ")}`, { problems });
  }
  return r.data;
}

/** Resolve scikit-learn's max_features to a count. */
export function resolveMaxFeatures(mf: null | "sqrt" | "log2" | number, nFeatures: number): number {
  if (mf === null) return nFeatures;
  if (mf === "sqrt") return Math.max(1, Math.floor(Math.sqrt(nFeatures)));
  if (mf === "log2") return Math.max(1, Math.floor(Math.log2(nFeatures)));
  if (Number.isInteger(mf) && mf >= 1) return Math.min(nFeatures, mf);
  return Math.max(1, Math.floor(mf * nFeatures));
}
