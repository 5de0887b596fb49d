/**
 * The default preset end to end through the real CLI, on a 2,000-row slice of the phishing data: the
 * halving search races the preset's three models (hist_gradient_boosting included), the leaderboard
 * says how (rungs, rows) and that the time budget stopped the launches, and the winner is scored on
 * the test split once and bundled like any other.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { PHISHING_CSV, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir("netsec-halving-");
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "" };

describe("netsec train with the default preset", () => {
  it("races the preset's models by successive halving; a tiny budget launches one batch and says so", () => {
    const lines = readFileSync(PHISHING_CSV, "utf8").trimEnd().split("\n");
    const slice = writeFile(tmp.dir, "phishing-2000.csv", `${lines.slice(0, 2001).join("\n")}\n`);
    // a budget far below one batch: the first batch (3 candidates per model) always goes out
    const r = runCli(
      ["train", "--dataset", "phishing", "--data", slice, "--time-budget", "0.001", "--json"],
      env,
    );
    expect(r.stderr).toMatch(/time budget 0.001 s spent: 9 of 54 candidates launched/);
    const j = r.json!;
    const lb = j.leaderboard as { model: string; candidates: number; cv_mean: number; search: string }[];
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
    expect(j.winner).toBe(lb[0]!.model);
    expect((j.test as { f1: number }).f1).toBeGreaterThan(0.8);
    expect(j.bundle).toBeTruthy();
  });
});
