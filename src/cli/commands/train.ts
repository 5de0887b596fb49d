import { resolve } from "node:path";
import type { Command } from "commander";
import { NetsecError } from "../../core/errors.ts";
import type { Frame } from "../../core/frame.ts";
import { closePool } from "../../core/pool.ts";
import { loadFiles } from "../../datasets/load-many.ts";
import type { FileFormat } from "../../datasets/readers.ts";
import { fetchDataset } from "../../datasets/registry.ts";
import { duplicateAwareSplit, duplicateGroupsOfFrame, stratifiedSplit } from "../../datasets/split.ts";
import { modelNames } from "../../models/registry.ts";
import { newRunId, runPaths } from "../../pipeline/artifacts.ts";
import { binaryTarget, type ModelRequest, trainAndEvaluate } from "../../pipeline/train.ts";
import type { ImputeStrategy } from "../../preprocess/column-transformer.ts";
import type { Scoring } from "../../selection/search.ts";
import { type Ctx, runCommand } from "../context.ts";
import { resolveSchema } from "../shared.ts";

interface TrainOpts {
  dataset?: string;
  schema?: string;
  data?: string[];
  testData?: string[];
  split?: string;
  format?: FileFormat;
  models?: string;
  params?: string;
  search?: "grid" | "random" | "none";
  nIter?: string;
  cv?: string;
  seed?: string;
  scoring?: Scoring;
  targetFpr?: string;
  imputer?: ImputeStrategy;
  testSize?: string;
  threads?: string;
  json?: boolean;
}

export function registerTrain(program: Command): void {
  program
    .command("train")
    .description(
      "train, tune (cross-validated) and evaluate classifiers, pick the winner by CV score, write a model bundle",
    )
    .option("--dataset <name>", "registry dataset (schema and, without --data, its files)")
    .option("--schema <file>", "schema YAML for data that is not built in")
    .option("--data <file...>", "training data file(s)")
    .option(
      "--test-data <file...>",
      "test data file(s) (a predefined split); default: a split of the training data",
    )
    .option("--split <name>", "registry split to use without --data (default: the dataset's default split)")
    .option("--format <fmt>", "override the format guessed from the extension")
    .option(
      "--models <list>",
      `comma-separated models: ${modelNames().join(", ")}`,
      "random_forest,decision_tree,gradient_boosting,logistic_regression,adaboost",
    )
    .option(
      "--params <json>",
      'fixed hyperparameters, e.g. {"n_estimators":100}, or per model {"random_forest":{…}}; implies --search none',
    )
    .option("--search <kind>", "grid (the original project's grids), random, or none")
    .option("--n-iter <n>", "random search draws per model", "20")
    .option("--cv <k>", "cross-validation folds", "3")
    .option("--seed <n>", "seed for split, folds and models", "42")
    .option(
      "--scoring <metric>",
      "model selection metric: f1 (threat class), roc_auc, pr_auc, tpr_at_fpr, accuracy",
      "f1",
    )
    .option("--target-fpr <rate>", "FPR budget for tpr_at_fpr scoring", "0.01")
    .option("--imputer <kind>", "numeric imputer: median, most_frequent, mean, knn", "median")
    .option("--test-size <share>", "test share when splitting the training data", "0.2")
    .option("--threads <n>", "worker threads (default: all cores)")
    .option("--json", "print a machine-readable summary as the last line")
    .action((o: TrainOpts) => runCommand(o, (ctx) => trainAction(ctx, o).finally(() => closePool())));
}

function parseParams(raw: string | undefined, models: string[]): Record<string, Record<string, unknown>> {
  if (!raw) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new NetsecError("PARAM_INVALID", `--params is not JSON: ${(e as Error).message}`, { value: raw });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new NetsecError("PARAM_INVALID", "--params must be a JSON object", { value: raw });
  const obj = v as Record<string, unknown>;
  const perModel =
    Object.keys(obj).length > 0 &&
    Object.keys(obj).every((k) => models.includes(k) || modelNames().includes(k as never));
  if (perModel) {
    for (const [k, p] of Object.entries(obj)) {
      if (typeof p !== "object" || p === null || Array.isArray(p))
        throw new NetsecError("PARAM_INVALID", `--params.${k} must be an object`, {});
    }
    return obj as Record<string, Record<string, unknown>>;
  }
  return Object.fromEntries(models.map((m) => [m, obj]));
}

async function trainAction(ctx: Ctx, o: TrainOpts): Promise<number> {
  const schema = resolveSchema(ctx, o);
  const models = (o.models ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (models.length === 0) throw new NetsecError("CONFIG_INVALID", "--models is empty", {});
  const params = parseParams(o.params, models);
  const search = o.search ?? (o.params ? "none" : "grid");
  const seed = Number(o.seed ?? 42);
  const fmt = o.format ? { format: o.format } : {};
  let train: Frame;
  let test: Frame;
  if (o.data?.length) {
    train = await loadFiles(
      o.data.map((p) => ({ path: resolve(p), ...fmt })),
      schema,
    );
    test = o.testData?.length
      ? await loadFiles(
          o.testData.map((p) => ({ path: resolve(p), ...fmt })),
          schema,
        )
      : train;
  } else {
    const splitName = o.split ?? schema.raw.default_split;
    const sp = splitName ? schema.raw.splits[splitName] : undefined;
    if (!sp)
      throw new NetsecError(
        "CONFIG_INVALID",
        `dataset ${schema.name} has no split ${JSON.stringify(splitName)}; give --data`,
        {},
      );
    const files = await fetchDataset(
      schema,
      { home: ctx.config.home, mirror: ctx.config.NETSEC_DATASET_MIRROR, onProgress: (m) => ctx.progress(m) },
      [...sp.train, ...(sp.test ?? [])],
    );
    const refOf = (n: string) => {
      const f = files.find((x) => x.name === n)!;
      return { ...f.ref, ...(f.format !== "zip" ? { format: f.format as FileFormat } : {}) };
    };
    ctx.progress(`reading ${sp.train.join(", ")}`);
    train = await loadFiles(sp.train.map(refOf), schema);
    test = sp.test?.length ? await loadFiles(sp.test.map(refOf), schema) : train;
  }
  let splitKind = "predefined";
  if (test === train) {
    const { y } = binaryTarget(schema, train);
    const { groups, nGroups } = duplicateGroupsOfFrame(train, schema.featureNames);
    const split =
      nGroups < train.nRows
        ? duplicateAwareSplit(y, groups, nGroups, Number(o.testSize ?? 0.2), seed)
        : stratifiedSplit(y, Number(o.testSize ?? 0.2), seed);
    splitKind = split.kind;
    test = train.take(split.test);
    train = train.take(split.train);
  }
  ctx.say(`data: ${train.nRows} training rows, ${test.nRows} test rows (${splitKind} split)`);
  const runId = newRunId();
  const paths = runPaths(ctx.config.home, runId);
  const requests: ModelRequest[] = models.map((m) => ({
    name: m,
    ...(params[m] ? { params: params[m] } : {}),
  }));
  let lastPct = -1;
  const res = await trainAndEvaluate({
    schema,
    train,
    test,
    models: requests,
    search,
    nIter: Number(o.nIter ?? 20),
    cv: Number(o.cv ?? 3),
    seed,
    scoring: o.scoring ?? "f1",
    targetFpr: Number(o.targetFpr ?? 0.01),
    imputer: o.imputer ?? "median",
    threshold: { strategy: "max_f1", targetFpr: 0.01, value: 0.5 },
    ...(o.threads ? { threads: Number(o.threads) } : {}),
    runId,
    bundleDir: paths.bundle,
    onProgress: (msg, done, total) => {
      if (done !== undefined && total) {
        const pct = Math.floor((100 * done) / total);
        if (pct !== lastPct) {
          lastPct = pct;
          ctx.progress(`${msg}: ${done}/${total} fits (${pct}%)`);
        }
      } else ctx.progress(msg);
    },
  });
  ctx.say("");
  ctx.say("model                 CV mean  CV std   train   best params");
  for (const r of res.leaderboard) {
    ctx.say(
      `${r.model.padEnd(20)} ${r.cv_mean.toFixed(4)}  ${r.cv_std.toFixed(4)}  ${r.train_mean.toFixed(4)}  ${JSON.stringify(r.params)}`,
    );
  }
  const t = res.test;
  ctx.say("");
  ctx.say(`winner: ${res.winner} (threshold ${res.threshold.toFixed(4)} from out-of-fold predictions)`);
  ctx.say(
    `test: accuracy ${t.accuracy.toFixed(4)}  precision ${t.precision.toFixed(4)}  recall ${t.recall.toFixed(4)}  F1 ${t.f1.toFixed(4)}  ROC-AUC ${t.roc_auc.toFixed(4)}  PR-AUC ${t.pr_auc.toFixed(4)}  TPR@1%FPR ${t.tpr_at_fpr_1pct.toFixed(4)}`,
  );
  ctx.say(`bundle: ${res.bundleDir}`);
  const pick = (m: typeof t) => ({
    accuracy: m.accuracy,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    roc_auc: m.roc_auc,
    pr_auc: m.pr_auc,
    tpr_at_fpr_1pct: m.tpr_at_fpr_1pct,
    tpr_at_fpr_01pct: m.tpr_at_fpr_01pct,
    confusion: m.confusion,
  });
  ctx.result({
    ok: true,
    run_id: runId,
    dataset: schema.name,
    model: res.winner,
    params: res.params,
    fit_seconds: res.fitSeconds,
    threshold: res.threshold,
    bundle: res.bundleDir,
    split: splitKind,
    rows: { train: train.nRows, test: test.nRows },
    leaderboard: res.leaderboard,
    test: pick(res.test),
    test_at_threshold_0_5: pick(res.testAt05),
  });
  return 0;
}
