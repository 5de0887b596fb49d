/**
 * The default preset end to end through the real CLI, on a 2,000-row slice of the phishing data: the
 * halving search races the preset's three models (hist_gradient_boosting included), the leaderboard
 * says how (rungs, rows) and that the time budget stopped the launches, and the winner is scored on
 * the test split once and bundled like any other. Then the soft vote of the best models: on this
 * slice the average of all three beats the forest on CV (f1 0.9283 vs 0.9270), so it is the winner,
 * refitted, bundled (its members' states in model.json), exported to ONNX and verified there.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BundlePredictor } from "../../src/bundle/bundle.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { modelFromJSON } from "../../src/models/registry.ts";
import type { SerializedModel } from "../../src/models/types.ts";
import { runCli } from "../helpers/cli.ts";
import { PHISHING_CSV, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir("netsec-halving-");
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "" };

describe("netsec train with the default preset", () => {
  it("races the preset's models by successive halving; a tiny budget launches one batch and says so; a soft vote that wins on CV is the winner", async () => {
    const lines = readFileSync(PHISHING_CSV, "utf8").trimEnd().split("\n");
    const slice = writeFile(tmp.dir, "phishing-2000.csv", `${lines.slice(0, 2001).join("\n")}\n`);
    // a budget far below one batch: the first batch (3 candidates per model) always goes out
    const r = runCli(
      ["train", "--dataset", "phishing", "--data", slice, "--time-budget", "0.001", "--json"],
      env,
    );
    expect(r.stderr).toMatch(/time budget 0.001 s spent: 9 of 54 candidates launched/);
    const j = r.json!;
    const rows = j.leaderboard as { model: string; candidates: number; cv_mean: number; search: string }[];
    const lb = rows.filter((x) => x.model !== "soft_voting");
    expect(lb.map((x) => x.model).sort()).toEqual([
      "hist_gradient_boosting",
      "logistic_regression",
      "random_forest",
    ]);
    for (const row of lb) {
      expect(row.candidates).toBe(3);
      // ~1,600 training rows: two rungs (n/3 >= 500), 3 candidates → 1 promoted to all rows
      expect(row.search).toMatch(
        /^successive halving: 3 of \d+ candidates on \d+ rows → 1 on \d+ rows; time budget 0.001 s spent/,
      );
    }
    expect(lb[0]!.cv_mean).toBeGreaterThanOrEqual(lb[1]!.cv_mean);
    // the soft vote: a row of its own, the winner because it beats the best single model on CV
    const vote = rows.find((x) => x.model === "soft_voting")!;
    expect(vote.search).toMatch(
      /^soft vote of random_forest \+ hist_gradient_boosting \+ logistic_regression .*tried 2 members 0\.\d{4}, 3 members 0\.\d{4}; beats the best single model \(random_forest 0\.\d{4}\) on CV f1: selected/,
    );
    expect(vote.cv_mean).toBeGreaterThan(lb[0]!.cv_mean);
    expect(rows[0]).toBe(vote);
    expect(j.winner).toBe("soft_voting");
    expect((j.test as { f1: number }).f1).toBeGreaterThan(0.8);
    // the bundle: one predictor whose probabilities are its members' averaged
    const bp = new BundlePredictor(j.bundle as string);
    const state = bp.model.toJSON().state as { members: SerializedModel[] };
    expect(state.members.map((m) => m.model)).toEqual([
      "random_forest",
      "hist_gradient_boosting",
      "logistic_regression",
    ]);
    const { frame } = await loadFrame({ path: slice }, bp.schema);
    const rowsOf = frame.take(Uint32Array.from({ length: 200 }, (_, i) => i * 10));
    const X = bp.transformer.transform(rowsOf);
    const members = state.members.map((m) => modelFromJSON(m).predictProba(X));
    const threat = bp.scores(rowsOf).threat;
    const t = bp.manifest.class_is_threat.indexOf(true);
    for (let r = 0; r < rowsOf.nRows; r++)
      expect(threat[r]).toBeCloseTo(
        (members[0]![2 * r + t]! + members[1]![2 * r + t]! + members[2]![2 * r + t]!) / 3,
        14,
      );
    expect(bp.explain(rowsOf, 0, 3)).toHaveLength(3);
    // the ONNX export was verified on every test row against the bundle
    const run = JSON.parse(readFileSync(join(j.artifacts as string, "run.json"), "utf8"));
    expect(run.metrics.onnx_max_abs_diff).toBeLessThanOrEqual(1e-5);
  });
});
