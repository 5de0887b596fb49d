/**
 * soft_voting: the class probabilities of several classifiers averaged with equal weights
 * (scikit-learn's VotingClassifier(voting="soft")). The tune step builds one from the best
 * candidates of different models when the average of their out-of-fold probabilities beats the best
 * single candidate on CV (src/selection/ensemble.ts); it is not a model a search draws candidates
 * of (not in MODEL_NAMES).
 *
 * Params: `estimators`, the members as the search named them ({ model, params }, params in
 * snake_case). Fitting fits each member in turn on the same rows, as each would be fitted alone
 * (fitOnBinned: on the bins where the member can). State: each member's own SerializedModel, so a
 * bundle holds data only and loads through the registry like any other model.
 * Contributions: the members' contributions averaged with the same weights, each in its own raw-score
 * units (a forest's in probability, boosting's and logistic regression's in log-odds).
 */
import { z } from "zod";
import type { Matrix } from "../core/frame.ts";
import { type BinnedMatrix, fitOnBinned } from "./tree/binned-matrix.ts";
import type {
  BinnedFitOptions,
  Classifier,
  FitOptions,
  FitReport,
  ModelSpec,
  SerializedModel,
} from "./types.ts";

const MemberSchema = z
  .object({
    model: z.string(),
    params: z.record(z.string(), z.unknown()),
  })
  .strict();

export const SoftVotingParamsSchema = z
  .object({
    /** The members, in the order their probabilities are added (at least two). */
    estimators: z.array(MemberSchema).min(2),
  })
  .strict();
export type SoftVotingParams = z.infer<typeof SoftVotingParamsSchema>;

/**
 * How members are made: the registry's createModel and modelFromJSON (passed in by the registry,
 * which declares this model, so this file does not import it back).
 */
export interface MemberFactory {
  create(model: string, params: Record<string, unknown>): Classifier;
  fromJSON(s: SerializedModel): Classifier;
}

export class SoftVotingClassifier implements Classifier {
  readonly name = "soft_voting" as const;
  readonly params: SoftVotingParams;
  nClasses = 0;
  nFeatures = 0;
  /** Unfitted members until fit (or the fitted ones fromJSON). */
  members: Classifier[];

  constructor(params: SoftVotingParams, factory: MemberFactory) {
    this.params = params;
    for (const e of params.estimators)
      if (e.model === "soft_voting") throw new RangeError("soft_voting: a member cannot be soft_voting");
    this.members = params.estimators.map((e) => factory.create(e.model, e.params));
  }

  /** Fit every member on the same rows, one after the other; the report sums their seconds. */
  private async fitEach(fitOne: (m: Classifier) => Promise<FitReport>): Promise<FitReport> {
    let fitSeconds = 0;
    const counters: Record<string, number | boolean> = {};
    for (const [i, m] of this.members.entries()) {
      const rep = await fitOne(m);
      fitSeconds += rep.fitSeconds;
      for (const [k, v] of Object.entries(rep.counters ?? {})) counters[`${i}.${m.name}.${k}`] = v;
    }
    this.nClasses = this.members[0]!.nClasses;
    this.nFeatures = this.members[0]!.nFeatures;
    return { fitSeconds, counters };
  }

  fit(X: Matrix, y: Int32Array, nClasses: number, opts: FitOptions = {}): Promise<FitReport> {
    const { outOfBag: _o, oobGroups: _g, ...rest } = opts;
    return this.fitEach((m) => m.fit(X, y, nClasses, rest));
  }

  fitBinned(
    B: BinnedMatrix,
    y: Int32Array,
    nClasses: number,
    opts: BinnedFitOptions = {},
  ): Promise<FitReport> {
    const { outOfBag: _o, oobGroups: _g, ...rest } = opts;
    return this.fitEach((m) => fitOnBinned(m, B, y, nClasses, rest));
  }

  /** The members' probabilities added in member order, then divided by their number. */
  predictProba(X: Matrix): Float64Array {
    return this.averaged((m) => m.predictProba(X));
  }

  predict(X: Matrix): Int32Array {
    const p = this.predictProba(X);
    const K = this.nClasses;
    const out = new Int32Array(X.nRows);
    for (let r = 0; r < X.nRows; r++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (p[r * K + k]! > p[r * K + best]!) best = k;
      out[r] = best;
    }
    return out;
  }

  /** Each member's array (same length), added in member order, then divided by their number. */
  private averaged(each: (m: Classifier) => Float64Array): Float64Array {
    let sum: Float64Array | null = null;
    for (const m of this.members) {
      const c = each(m);
      if (!sum) sum = c.slice();
      else for (let i = 0; i < c.length; i++) sum[i]! += c[i]!;
    }
    const n = this.members.length;
    for (let i = 0; i < sum!.length; i++) sum![i]! /= n;
    return sum!;
  }

  /** Every netsec model explains its predictions; a member that would not is a programming error. */
  private explainer(m: Classifier): NonNullable<Classifier["contributions"]> {
    if (!m.contributions) throw new TypeError(`soft_voting: member ${m.name} gives no contributions`);
    return m.contributions.bind(m);
  }

  contributions(X: Matrix, row: number, cls: number): Float64Array {
    return this.averaged((m) => this.explainer(m)(X, row, cls));
  }

  contributionsAll(X: Matrix, cls: number): Float64Array {
    return this.averaged((m) => {
      if (m.contributionsAll) return m.contributionsAll(X, cls);
      const one = this.explainer(m);
      const p = this.nFeatures;
      const all = new Float64Array(X.nRows * p);
      for (let r = 0; r < X.nRows; r++) all.set(one(X, r, cls), r * p);
      return all;
    });
  }

  toJSON(): SerializedModel {
    return {
      model: "soft_voting",
      formatVersion: 1,
      params: { estimators: this.params.estimators },
      nClasses: this.nClasses,
      nFeatures: this.nFeatures,
      state: { members: this.members.map((m) => m.toJSON()) },
    };
  }

  static fromJSON(s: SerializedModel, factory: MemberFactory): SoftVotingClassifier {
    const params = SoftVotingParamsSchema.parse(s.params);
    const st = z.object({ members: z.array(z.unknown()) }).parse(s.state);
    if (st.members.length !== params.estimators.length)
      throw new RangeError(`${st.members.length} member states for ${params.estimators.length} estimators`);
    const m = new SoftVotingClassifier(params, factory);
    m.members = st.members.map((ms, i) => {
      const member = factory.fromJSON(ms as SerializedModel);
      if (member.name !== params.estimators[i]!.model)
        throw new RangeError(`member ${i} is ${member.name}, expected ${params.estimators[i]!.model}`);
      if (member.nClasses !== s.nClasses || member.nFeatures !== s.nFeatures)
        throw new RangeError(
          `member ${i} has ${member.nClasses} classes and ${member.nFeatures} features, the ensemble ${s.nClasses} and ${s.nFeatures}`,
        );
      return member;
    });
    m.nClasses = s.nClasses;
    m.nFeatures = s.nFeatures;
    return m;
  }
}

/** The model's declaration, given how members are made (the registry passes its own functions). */
export function softVotingSpec(factory: MemberFactory): ModelSpec<SoftVotingParams> {
  return {
    name: "soft_voting",
    title: "Soft-voting ensemble (averaged probabilities)",
    paramSchema: SoftVotingParamsSchema,
    defaultGrid: {},
    capabilities: { multiclass: true, sampleWeight: true, needsScaling: false, parallelFit: true },
    create: (params) => new SoftVotingClassifier(params, factory),
    fromJSON: (s) => SoftVotingClassifier.fromJSON(s, factory),
  };
}
