/** The model trainer's leaderboard as CSV and HTML: ranks, fit times, and escaping of user values. */
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { leaderboardCsv, leaderboardEntries, leaderboardHtml } from "../../src/pipeline/leaderboard.ts";
import type { LeaderboardRow } from "../../src/pipeline/train.ts";
import type { CandidateResult, ModelSearchResult } from "../../src/selection/search.ts";

const HOSTILE = '<script>alert("x")</script>';

const rows: LeaderboardRow[] = [
  {
    model: "b&model",
    params: { max_depth: 3 },
    scoring: "f1",
    cv_mean: 0.8,
    cv_std: 0.01,
    train_mean: 0.85,
    candidates: 2,
  },
  {
    model: "a_model",
    params: { criterion: HOSTILE, weights: [1, 2] },
    scoring: "f1",
    cv_mean: 0.9,
    cv_std: 0.02,
    train_mean: 0.95,
    candidates: 4,
    search: "successive halving: 4 of 9 candidates on 100 rows → 2 on 300 rows; time budget <1> s spent",
  },
  { model: "c_model", params: {}, scoring: "f1", cv_mean: 0.8, cv_std: 0, train_mean: 0.8, candidates: 1 },
];

function search(model: string, fitSeconds: number): ModelSearchResult {
  const best: CandidateResult = {
    model,
    params: {},
    scoring: "f1",
    cv_scores: [],
    cv_mean: 0,
    cv_std: 0,
    train_mean: 0,
    fit_seconds: fitSeconds,
  };
  return { model, candidates: [best], best, oof: new Float64Array(0) };
}

const entries = leaderboardEntries(rows, [search("a_model", 1.25), search("b&model", 0.5)]);

describe("leaderboardEntries", () => {
  it("ranks by CV mean (ties share a rank) and takes the best candidate's fit time", () => {
    expect(entries.map((e) => [e.model, e.rank, e.fit_seconds])).toEqual([
      ["a_model", 1, 1.25],
      ["b&model", 2, 0.5],
      ["c_model", 2, null],
    ]);
  });
});

describe("leaderboardCsv", () => {
  it("one row per model with params as JSON and the numbers as given", () => {
    const recs = parse(leaderboardCsv(entries), { columns: true }) as Record<string, string>[];
    expect(Object.keys(recs[0]!)).toEqual([
      "model",
      "params",
      "scoring",
      "cv_mean",
      "cv_std",
      "train_mean",
      "fit_seconds",
      "rank",
      "candidates",
      "search",
    ]);
    expect(recs.map((r) => r.model)).toEqual(["a_model", "b&model", "c_model"]);
    expect(JSON.parse(recs[0]!.params!)).toEqual({ criterion: HOSTILE, weights: [1, 2] });
    expect(recs.map((r) => Number(r.cv_mean))).toEqual([0.9, 0.8, 0.8]);
    expect(recs.map((r) => r.scoring)).toEqual(["f1", "f1", "f1"]);
    expect(recs[2]!.fit_seconds).toBe("");
    // halving's note on its race; empty for the others
    expect(recs.map((r) => r.search)).toEqual([
      "successive halving: 4 of 9 candidates on 100 rows → 2 on 300 rows; time budget <1> s spent",
      "",
      "",
    ]);
  });
});

describe("leaderboardHtml", () => {
  const page = leaderboardHtml(entries, { title: "Leaderboard <run>", scoring: "f1", folds: 3 });

  it("escapes model names, parameter values and the title", () => {
    expect(page).not.toContain("<script");
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(page).toContain("b&amp;model");
    expect(page).toContain("<title>Leaderboard &lt;run&gt;</title>");
    expect(page).toContain("<code>[1,2]</code>");
  });

  it("is a whole document with one table row per model and the documented columns", () => {
    expect(page.startsWith("<!doctype html>\n<html")).toBe(true);
    expect(page.trimEnd().endsWith("</html>")).toBe(true);
    expect(page.match(/<tbody>[\s\S]*<\/tbody>/)![0].match(/<tr>/g)).toHaveLength(3);
    for (const h of ["rank", "model", "best params", "CV mean f1", "CV std", "train mean f1", "fit seconds"])
      expect(page).toContain(`<th>${h}</th>`);
    expect(page).toContain('<td class="num">0.9000</td>');
    expect(page).toContain('<td class="num">1.25</td>');
    expect(page).toContain('<td class="num">—</td>'); // c_model has no fit time
  });

  it("lists how each model was searched, escaped, when the search says", () => {
    expect(page).toContain(
      "<li><b>a_model</b>: successive halving: 4 of 9 candidates on 100 rows → 2 on 300 rows; time budget &lt;1&gt; s spent</li>",
    );
    expect(page.match(/<li><b>/g)).toHaveLength(1);
    const plain = leaderboardHtml(
      entries.map(({ search: _s, ...e }) => e),
      { title: "t", scoring: "f1", folds: 3 },
    );
    expect(plain).not.toContain("How each model was searched");
  });
});
