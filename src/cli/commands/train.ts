import { resolve } from "node:path";
import type { Command } from "commander";
import { z } from "zod";
import { NetsecError } from "../../core/errors.ts";
import { closePool } from "../../core/pool.ts";
import { modelNames } from "../../models/registry.ts";
import { loadPipelineConfig, parsePipelineConfig } from "../../pipeline/config.ts";
import { runPipeline } from "../../pipeline/run.ts";
import type { PerClassReport } from "../../pipeline/train.ts";
import { PRESET_MODELS, SEARCH_PRESETS, type SearchPreset } from "../../selection/presets.ts";
import { type Ctx, runCommand } from "../context.ts";

/** What the summary prints of each leaderboard row (the run record keeps them as plain objects). */
const LeaderboardLines = z.array(
  z.object({
    model: z.string(),
    cv_mean: z.number(),
    cv_std: z.number(),
    train_mean: z.number(),
    params: z.unknown(),
    search: z.string().optional(),
    out_of_bag: z.literal(true).optional(),
  }),
);

/** Whether the winner's scores are out of bag (a single candidate, CV skipped). */
const outOfBag = (rows: z.infer<typeof LeaderboardLines>): boolean => rows[0]?.out_of_bag === true;

interface TrainOpts {
  config?: string;
  dataset?: string;
  schema?: string;
  data?: string[];
  testData?: string[];
  split?: string;
  target?: string;
  models?: string;
  params?: string;
  search?: "halving" | "grid" | "random" | "none";
  preset?: string;
  timeBudget?: string;
  nIter?: string;
  cv?: string;
  forceCv?: boolean;
  /** false with --no-ensemble. */
  ensemble?: boolean;
  seed?: string;
  scoring?: string;
  targetFpr?: string;
  imputer?: string;
  testSize?: string;
  threads?: string;
  json?: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command("train")
    .description(
      "the pipeline: ingest → validate → drift → transform → tune (CV) → select on CV → evaluate on the untouched test split → gates → bundle → register (champion when it beats the current one)",
    )
    .option("--config <yaml>", "pipeline YAML (every key documented in README; flags below override it)")
    .option("--dataset <name>", "registry dataset (default phishing)")
    .option("--schema <file>", "schema YAML for data that is not built in")
    .option("--data <file...>", "training data file(s) instead of the registry files")
    .option(
      "--test-data <file...>",
      "test data file(s): a predefined split; default: a split of the training data",
    )
    .option("--split <name>", "registry split (default: the dataset's default split)")
    .option(
      "--target <kind>",
      "what the model predicts: binary (threat vs benign, default), category (the schema's label → category map, e.g. NSL-KDD dos/probe/r2l/u2r, or its category column, e.g. UNSW-NB15 attack_cat) or label (the raw labels)",
    )
    .option(
      "--models <list>",
      `comma-separated: ${modelNames().join(", ")} (default: the preset's, ${PRESET_MODELS.default.join(",")})`,
    )
    .option(
      "--preset <name>",
      `search preset: ${SEARCH_PRESETS.join(" or ")}; default races ${PRESET_MODELS.default.join(", ")} by successive halving within --time-budget; original is the original project's five models and grids (grid search)`,
    )
    .option(
      "--time-budget <s>",
      "search kind halving: seconds after which no new candidate is launched (default 30)",
    )
    .option(
      "--params <json>",
      'fixed hyperparameters, e.g. {"n_estimators":100} or {"random_forest":{…}}; implies --search none',
    )
    .option(
      "--search <kind>",
      "halving (the default preset's), grid (the original project's grids), random (--n-iter draws of the grids), or none",
    )
    .option("--n-iter <n>", "random search draws per model")
    .option("--cv <k>", "cross-validation folds (default 3)")
    .option(
      "--force-cv",
      "cross-validate a single candidate too (default: a random forest's out-of-bag scores stand in, no CV)",
    )
    .option(
      "--no-ensemble",
      "no soft-voting ensemble (search.ensemble_k 0; default: without --models, the default preset averages the best candidates of its 2..3 best models and keeps the average when it beats them on CV)",
    )
    .option("--seed <n>", "seed for split, folds and models (default 42)")
    .option(
      "--scoring <metric>",
      "f1 (threat class, default), roc_auc, pr_auc, tpr_at_fpr, accuracy (all of the threat decision), or f1_macro (macro F1 over the target's classes)",
    )
    .option("--target-fpr <rate>", "FPR budget for tpr_at_fpr")
    .option("--imputer <kind>", "numeric imputer: knn (default, k = 3), median, most_frequent")
    .option("--test-size <share>", "test share when splitting (default 0.2)")
    .option("--threads <n>", "worker threads (default: all cores)")
    .option("--json", "print a machine-readable summary as the last line")
    .action((o: TrainOpts) => runCommand(o, (ctx) => trainAction(ctx, o).finally(() => closePool())));
}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n))
    throw new NetsecError("CONFIG_INVALID", `--${name} must be a number, got ${JSON.stringify(v)}`, {
      value: v,
    });
  return n;
}

function buildConfig(o: TrainOpts): ReturnType<typeof parsePipelineConfig> {
  const base = o.config ? (loadPipelineConfig(resolve(o.config)) as unknown as Record<string, unknown>) : {};
  const raw = structuredClone(base) as Record<string, Record<string, unknown> | unknown>;
  const sub = (k: string): Record<string, unknown> => {
    const v = raw[k];
    if (typeof v === "object" && v !== null) return v as Record<string, unknown>;
    const o2: Record<string, unknown> = {};
    raw[k] = o2;
    return o2;
  };
  if (o.dataset) raw.dataset = o.dataset;
  if (o.target) raw.target = o.target;
  if (o.schema) raw.schema = resolve(o.schema);
  if (o.data?.length)
    Object.assign(sub("source"), {
      kind: "file",
      files: o.data.map((f) => resolve(f)),
      test_files: (o.testData ?? []).map((f) => resolve(f)),
    });
  else if (o.split) Object.assign(sub("source"), { split: o.split });
  const models = o.models
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (models?.length) raw.models = models;
  const search = sub("search");
  if (o.preset) search.preset = o.preset;
  if (o.params) {
    let p: unknown;
    try {
      p = JSON.parse(o.params);
    } catch (e) {
      throw new NetsecError("PARAM_INVALID", `--params is not JSON: ${(e as Error).message}`, {
        value: o.params,
      });
    }
    if (typeof p !== "object" || p === null || Array.isArray(p))
      throw new NetsecError("PARAM_INVALID", "--params must be a JSON object", {});
    // (an unknown name falls back here and is refused, naming it, by parsePipelineConfig below)
    const named = o.preset ?? search.preset;
    const preset: SearchPreset = SEARCH_PRESETS.find((x) => x === named) ?? "default";
    const list = (raw.models as string[] | undefined) ?? PRESET_MODELS[preset] ?? PRESET_MODELS.default;
    const perModel =
      Object.keys(p).length > 0 && Object.keys(p).every((k) => modelNames().includes(k as never));
    search.params = perModel ? p : Object.fromEntries(list.map((m) => [m, p]));
    search.kind = o.search ?? "none";
  } else if (o.search) search.kind = o.search;
  const setNum = (obj: Record<string, unknown>, key: string, v: string | undefined, flag: string): void => {
    const n = num(v, flag);
    if (n !== undefined) obj[key] = n;
  };
  setNum(search, "n_iter", o.nIter, "n-iter");
  setNum(search, "time_budget_s", o.timeBudget, "time-budget");
  setNum(search, "cv", o.cv, "cv");
  if (o.forceCv) search.force_cv = true;
  if (o.ensemble === false) search.ensemble_k = 0;
  if (o.scoring) search.scoring = o.scoring;
  setNum(search, "target_fpr", o.targetFpr, "target-fpr");
  setNum(search, "threads", o.threads, "threads");
  setNum(raw as Record<string, unknown>, "seed", o.seed, "seed");
  if (o.imputer) sub("transform").imputer = o.imputer;
  if (o.testSize) setNum(sub("split"), "test_size", o.testSize, "test-size");
  return parsePipelineConfig(raw, o.config ?? "command line");
}

async function trainAction(ctx: Ctx, o: TrainOpts): Promise<number> {
  const cfg = buildConfig(o);
  let last = "";
  const res = await runPipeline(
    cfg,
    ctx.config,
    (p) => {
      // per-candidate results stay on the terminal; status lines replace each other
      if (p.keep) return ctx.note(`[${p.step}] ${p.message}`);
      const line = `[${p.step}] ${(100 * p.progress).toFixed(0)}% ${p.message}`;
      if (line !== last) ctx.progress(line);
      last = line;
    },
    undefined,
    { meters: ctx.metersOn },
  );
  ctx.say("");
  if (res.leaderboard.length) {
    const rows = LeaderboardLines.parse(res.leaderboard);
    ctx.say(
      outOfBag(rows)
        ? `scores: ${cfg.search.scoring} (CV: out of bag; train: the whole forest on its training rows)`
        : `scores: ${cfg.search.scoring} (train: on each CV fold's training rows)`,
    );
    ctx.say("model                 CV mean  CV std   train   best params");
    for (const r of rows)
      ctx.say(
        `${r.model.padEnd(20)} ${r.cv_mean.toFixed(4)}  ${r.cv_std.toFixed(4)}  ${r.train_mean.toFixed(4)}  ${JSON.stringify(r.params)}`,
      );
    for (const r of rows) if (r.search) ctx.say(`${r.model}: ${r.search}`);
  }
  if (res.test) {
    const t = res.test;
    ctx.say("");
    ctx.say(
      `winner: ${res.winner} (threshold ${res.threshold?.toFixed(4)} chosen on ${outOfBag(LeaderboardLines.parse(res.leaderboard)) ? "out-of-bag" : "out-of-fold"} predictions; ${res.split} split)`,
    );
    ctx.say(
      `test: accuracy ${t.accuracy?.toFixed(4)}  precision ${t.precision?.toFixed(4)}  recall ${t.recall?.toFixed(4)}  F1 ${t.f1?.toFixed(4)}  ROC-AUC ${t.roc_auc?.toFixed(4)}  PR-AUC ${t.pr_auc?.toFixed(4)}  TPR@1%FPR ${t.tpr_at_fpr_1pct?.toFixed(4)}`,
    );
  }
  if (res.per_class) printPerClass(ctx, res.per_class);
  const sets = Object.entries(res.test_sets ?? {});
  if (sets.length > 1) {
    ctx.say("");
    ctx.say("test set           rows   accuracy  F1      ROC-AUC  TPR@1%FPR");
    for (const [name, m] of sets)
      ctx.say(
        `${name.padEnd(16)} ${String(m.rows).padStart(6)}   ${m.accuracy!.toFixed(4)}    ${m.f1!.toFixed(4)}  ${m.roc_auc!.toFixed(4)}   ${m.tpr_at_fpr_1pct!.toFixed(4)}`,
      );
  }
  const cmp = res.champion_comparison;
  if (cmp)
    ctx.say(
      `champion v${cmp.champion_version} re-scored: ${cmp.excluded_rows ?? "unknown (no digest)"} of ${cmp.test_rows} test rows excluded as its training rows, ${cmp.compared_rows} compared — ${cmp.note}`,
    );
  for (const w of res.warnings) ctx.say(`warning: ${w}`);
  if (res.status === "FAILED") ctx.say(`run FAILED: ${res.failure} — the champion is unchanged`);
  else
    ctx.say(
      `registered ${res.registry?.name} v${res.registry?.version}${res.champion ? " — new champion" : ""}`,
    );
  ctx.say(`artifacts: ${res.artifacts}`);
  if (res.mlflow)
    ctx.say(
      res.mlflow.status === "synced"
        ? `MLflow: run ${res.mlflow.run_id} in experiment ${res.mlflow.experiment_id} at ${res.mlflow.tracking_uri}${res.mlflow.model_version ? `, model version ${res.mlflow.model_version}` : ""}`
        : `MLflow: pending (${res.mlflow.error}); run \`netsec runs sync ${res.run_id}\` when the server is back`,
    );
  ctx.result({
    ok: res.status === "FINISHED",
    run_id: res.run_id,
    status: res.status,
    artifacts: res.artifacts,
    winner: res.winner,
    model: res.winner,
    params: res.params,
    fit_seconds: res.fit_seconds,
    bundle: res.bundle,
    threshold: res.threshold,
    split: res.split,
    leaderboard: res.leaderboard,
    test: res.test,
    champion: res.champion,
    registry: res.registry,
    warnings: res.warnings,
    failure: res.failure,
    test_sets: res.test_sets,
    target: res.target,
    per_class: res.per_class,
    champion_comparison: res.champion_comparison,
    mlflow_run_id: res.mlflow_run_id,
    mlflow: res.mlflow,
  });
  return res.status === "FINISHED" ? 0 : 1;
}

/**
 * The per-class table of a multiclass run (precision, recall, F1, support per class; macro and
 * weighted averages; the unseen labels), then the confusion matrix when it fits a terminal.
 */
function printPerClass(ctx: Ctx, pc: PerClassReport): void {
  const f = (v: number) => v.toFixed(4);
  const w = Math.max(12, ...pc.classes.map((c) => c.length)) + 2;
  ctx.say("");
  ctx.say(`per class (${pc.target}; predicted class: ${pc.decision}):`);
  ctx.say(`${"class".padEnd(w)}side    precision  recall  F1      support`);
  pc.classes.forEach((c, k) => {
    const r = pc.per_class[c]!;
    ctx.say(
      `${c.padEnd(w)}${(pc.class_is_threat[k] ? "threat" : "benign").padEnd(8)}${f(r.precision)}     ${f(r.recall)}  ${f(r.f1)}  ${String(r.support).padStart(7)}`,
    );
  });
  const supp = pc.classes.reduce((a, c) => a + pc.per_class[c]!.support, 0);
  for (const [name, a] of [
    ["macro avg", pc.macro],
    ["weighted avg", pc.weighted],
  ] as const)
    ctx.say(
      `${name.padEnd(w)}        ${f(a.precision)}     ${f(a.recall)}  ${f(a.f1)}  ${String(supp).padStart(7)}`,
    );
  ctx.say(`accuracy (predicted class = actual class, all ${pc.rows} rows): ${f(pc.accuracy)}`);
  if (pc.unseen.rows) {
    const labels = Object.entries(pc.unseen.classes)
      .sort((a, b) => b[1] - a[1])
      .map(([l, n]) => `${l} ${n}`);
    ctx.say(
      `${"unseen".padEnd(w)}${pc.unseen.rows} rows of ${labels.length} label(s) not in training (${labels.join(", ")}): counted on their side in the threat metrics; ${pc.unseen.threats_flagged} of ${pc.unseen.threats} threats flagged`,
    );
  }
  if (pc.classes.length > 12) {
    ctx.say(
      "confusion matrix: model_trainer/confusion_matrix.svg and test_metrics.json (per_class.confusion)",
    );
    return;
  }
  const cw = Math.max(
    7,
    ...pc.classes.map((c) => c.length + 1),
    ...pc.confusion.flat().map((n) => String(n).length + 1),
  );
  ctx.say("confusion matrix (rows: actual, columns: predicted):");
  ctx.say(`${"".padEnd(w)}${pc.classes.map((c) => c.padStart(cw)).join("")}`);
  pc.confusion.forEach((row, k) => {
    ctx.say(`${pc.classes[k]!.padEnd(w)}${row.map((n) => String(n).padStart(cw)).join("")}`);
  });
}
