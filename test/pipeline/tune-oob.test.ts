/**
 * A single candidate through the real CLI on the phishing data: a random forest is fitted once and
 * scored out of bag, no CV (steps/tune-oob.ts); --force-cv runs the folds; too few trees to leave
 * every row out fall back to CV. The out-of-bag scores are rebuilt here from the run's own artifacts
 * (train.npy, the bundle's trees) with each tree's bootstrap sample redrawn from its stream and the
 * duplicate rows grouped, and the run's CV score and threshold must be theirs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.ts";
import type { FlatTree } from "../../src/models/tree/flat-tree.ts";
import { type FlatTreeJSON, treeFromJSON } from "../../src/models/tree/tree-serial.ts";
import { chooseThreshold, f1Score } from "../../src/selection/metrics.ts";
import { runCli } from "../helpers/cli.ts";
import { PHISHING_CSV, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir("netsec-tune-oob-");
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "" };

/**
 * Phishing's rows with distinct features, then 20 of them again: half its 11,055 rows repeat a row,
 * some many times, and a row is out of a tree's bag only with all its twins, so out-of-bag scores
 * need few duplicates (the whole file falls back to CV, below).
 */
const lines = readFileSync(PHISHING_CSV, "utf8").trim().split("\n");
const seen = new Set<string>();
const distinct = lines.slice(1).filter((l) => {
  const features = l.slice(0, l.lastIndexOf(","));
  if (seen.has(features)) return false;
  seen.add(features);
  return true;
});
const FEW_DUPLICATES = writeFile(
  tmp.dir,
  "phishing-distinct.csv",
  `${[lines[0]!, ...distinct, ...distinct.slice(0, 20)].join("\n")}\n`,
);

interface Row {
  model: string;
  cv_mean: number;
  train_mean: number;
  out_of_bag?: boolean;
  search?: string;
}

function train(data: string | null, params: string, ...flags: string[]) {
  const r = runCli(
    [
      "train",
      "--dataset",
      "phishing",
      ...(data ? ["--data", data] : []),
      "--models",
      "random_forest",
      "--params",
      params,
      "--json",
      ...flags,
    ],
    env,
  );
  expect(r.code, r.stderr).toBe(0);
  const j = r.json as { artifacts: string; bundle: string; leaderboard: Row[]; threshold: number };
  const cv = parse(readFileSync(join(j.artifacts, "model_trainer/cv_scores.csv")), {
    columns: true,
  }) as Record<string, string>[];
  return { ...j, stderr: r.stderr, cv: cv[0]! };
}

/** A row-major little-endian NPY file (netsec's writeNpyMatrix / writeNpyInt64). */
function readNpy(path: string): { shape: number[]; values: Float64Array | BigInt64Array } {
  const buf = readFileSync(path);
  const len = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + len).toString("latin1");
  const shape = (/'shape': \(([^)]*)\)/.exec(header)![1]!.match(/\d+/g) ?? []).map(Number);
  const body = buf.subarray(10 + len);
  const data = new ArrayBuffer(body.length);
  new Uint8Array(data).set(body);
  return { shape, values: header.includes("<i8") ? new BigInt64Array(data) : new Float64Array(data) };
}

/**
 * P(threat) of each training row from the trees whose bootstrap sample (n draws of Rng(42).fork(t))
 * left out the row and every row identical to it (none: those that left out the row itself); rows
 * are row-major in `X`.
 */
function outOfBag(trees: FlatTree[], X: Float64Array, n: number, p: number): Float64Array {
  const key = (i: number) => X.subarray(i * p, (i + 1) * p).join(",");
  const groupOf = new Map<string, number>();
  const group = Int32Array.from({ length: n }, (_, i) => {
    const k = key(i);
    if (!groupOf.has(k)) groupOf.set(k, groupOf.size);
    return groupOf.get(k)!;
  });
  const sum = new Float64Array(n);
  const count = new Int32Array(n);
  // a row no tree left out with its twins: the trees that left out the row itself
  const ownSum = new Float64Array(n);
  const ownCount = new Int32Array(n);
  const row = new Float64Array(p);
  trees.forEach((t, k) => {
    const rng = new Rng(42).fork(k);
    const drawn = new Uint8Array(n);
    for (let d = 0; d < n; d++) drawn[rng.int(n)] = 1;
    const groupDrawn = new Set<number>();
    for (let i = 0; i < n; i++) if (drawn[i]) groupDrawn.add(group[i]!);
    for (let i = 0; i < n; i++) {
      if (drawn[i]) continue;
      row.set(X.subarray(i * p, (i + 1) * p));
      let node = 0;
      while (t.feature[node]! >= 0) {
        const v = row[t.feature[node]!]!;
        node =
          v <= t.threshold[node]!
            ? t.left[node]!
            : v > t.threshold[node]!
              ? t.right[node]!
              : t.missingLeft[node]
                ? t.left[node]!
                : t.right[node]!;
      }
      const threat = t.value[node * 2 + 1]!; // class 1
      ownSum[i]! += threat;
      ownCount[i]!++;
      if (groupDrawn.has(group[i]!)) continue;
      sum[i]! += threat;
      count[i]!++;
    }
  });
  return sum.map((s, i) => (count[i] ? s / count[i]! : ownSum[i]! / ownCount[i]!));
}

describe("a single candidate (tune step)", () => {
  let oobRun: ReturnType<typeof train>;

  it("is fitted once and scored out of bag: no CV, the threshold chosen on those scores", () => {
    oobRun = train(FEW_DUPLICATES, '{"n_estimators":60}');
    const row = oobRun.leaderboard[0]!;
    expect(row.out_of_bag).toBe(true);
    expect(row.search).toMatch(/^cv: skipped, one candidate; scores out of bag/);
    expect(oobRun.stderr).toMatch(/nothing to select: no CV/);
    expect(oobRun.stderr).not.toMatch(/x 3 folds/);
    expect(oobRun.cv.out_of_bag).toBe(String(row.cv_mean));
    expect(oobRun.cv.fold_1).toBeUndefined();
    // the scores rebuilt from the run's training matrix and trees
    const X = readNpy(join(oobRun.artifacts, "data_transformation/train.npy"));
    const [n, p] = X.shape as [number, number];
    const y = Array.from(
      readNpy(join(oobRun.artifacts, "data_transformation/target_train.npy")).values,
      Number,
    );
    const model = JSON.parse(readFileSync(join(oobRun.bundle, "model.json"), "utf8")) as {
      state: { trees: FlatTreeJSON[] };
    };
    const s = outOfBag(model.state.trees.map(treeFromJSON), X.values as Float64Array, n, p);
    expect(s.every((v) => Number.isFinite(v))).toBe(true);
    expect(row.cv_mean).toBeCloseTo(f1Score(y, s, 0.5), 9);
    expect(oobRun.threshold).toBeCloseTo(chooseThreshold(y, s, "max_f1", 0.01), 9);
  });

  it("--force-cv runs the folds; the forest is the same one", () => {
    const cv = train(FEW_DUPLICATES, '{"n_estimators":60}', "--force-cv");
    const row = cv.leaderboard[0]!;
    expect(row.out_of_bag).toBeUndefined();
    expect(row.search).toBeUndefined();
    expect(cv.stderr).toMatch(/1 candidate\(s\) x 3 folds/);
    expect([cv.cv.fold_1, cv.cv.fold_2, cv.cv.fold_3].every((v) => v !== "")).toBe(true);
    expect(readFileSync(join(cv.bundle, "model.json"), "utf8")).toBe(
      readFileSync(join(oobRun.bundle, "model.json"), "utf8"),
    );
  });

  it("with many rows no tree leaves out with their twins, falls back to CV and says so", () => {
    const few = train(null, '{"n_estimators":40}');
    expect(few.leaderboard[0]!.out_of_bag).toBeUndefined();
    expect(few.stderr).toMatch(
      /\d+ of 8843 training rows have a twin in every tree's bootstrap sample \(more than 1%: their out-of-bag scores would be optimistic\): scoring by 3-fold CV instead/,
    );
    expect(few.stderr).toMatch(/1 candidate\(s\) x 3 folds/);
  });
});
