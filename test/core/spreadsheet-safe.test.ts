/** CSV formula neutralisation (OWASP CSV injection), checked on hand-written cells and real writers. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { isNumberSpan, safeCsv, safeCsvCell, spreadsheetSafe } from "../../src/core/spreadsheet-safe.ts";
import { leaderboardCsv } from "../../src/pipeline/leaderboard.ts";
import { writeValidationReport } from "../../src/validate/validate.ts";

describe("spreadsheetSafe", () => {
  it.each([
    ["=1+1", "'=1+1"],
    ['=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'],
    ["+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"],
    ["-2+3", "'-2+3"],
    ["@SUM(A1:A2)", "'@SUM(A1:A2)"],
    ["\t=1", "'\t=1"],
    ["\r=1", "'\r=1"],
    ["  =1", "'  =1"],
    ["-", "'-"],
    ["+", "'+"],
    ["-Infinity", "'-Infinity"],
  ])("neutralises %j", (cell, want) => {
    expect(spreadsheetSafe(cell)).toBe(want);
  });

  it.each(["-1", "+1", "0", "-0.5", "+.5", "-1e-3", "1E+10", "-12.", "plain text", "a=b", "", " -1"])(
    "leaves %j as it is",
    (cell) => {
      expect(spreadsheetSafe(cell)).toBe(cell);
    },
  );

  it("reads numbers as a parser would", () => {
    for (const s of ["1", "-1", "+1.5", ".5", "1e5", "-1.5E-7"])
      expect(isNumberSpan(s, 0, s.length)).toBe(true);
    for (const s of ["", "-", "1e", "e5", "1..2", "0x10", "1-1", "--1", "."])
      expect(isNumberSpan(s, 0, s.length)).toBe(false);
  });

  it("safeCsvCell neutralises then quotes what needs quoting", () => {
    expect(safeCsvCell('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(safeCsvCell("a,b")).toBe('"a,b"');
    expect(safeCsvCell("-1")).toBe("-1");
  });
});

describe("CSV writers", () => {
  it("safeCsv: string cells and column names neutralised, numbers (negative too) as numbers", () => {
    const text = safeCsv(
      [
        ["=1+1", -1, "-1"],
        ["ok", 0.5, "@x"],
      ],
      ["=name", "n", "s"],
    );
    expect(parse(text)).toEqual([
      ["'=name", "n", "s"],
      ["'=1+1", "-1", "-1"],
      ["ok", "0.5", "'@x"],
    ]);
  });

  it("problems.csv of a validation neutralises the values and file names it lists", () => {
    const dir = mkdtempSync(join(tmpdir(), "netsec-safe-"));
    try {
      writeValidationReport(
        { passed: false } as Parameters<typeof writeValidationReport>[0],
        [
          {
            file: "=evil.csv",
            row: 3,
            column: "c",
            value: '=HYPERLINK("x")',
            kind: "type",
            message: "not a number",
          },
          {
            file: "a.csv",
            row: 4,
            column: "c",
            value: "-1",
            kind: "not_allowed",
            message: "not one of 0, 1",
          },
        ],
        dir,
      );
      const rows = parse(readFileSync(join(dir, "problems.csv"), "utf8")) as string[][];
      expect(rows[1]).toEqual(["'=evil.csv", "3", "c", '\'=HYPERLINK("x")', "type", "not a number"]);
      expect(rows[2]![3]).toBe("-1");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("leaderboard.csv neutralises a formula-like model name", () => {
    const text = leaderboardCsv([
      {
        model: "=cmd",
        params: { n_estimators: 5 },
        scoring: "f1",
        cv_mean: -0.5,
        cv_std: 0.1,
        train_mean: 0.9,
        fit_seconds: 1,
        rank: 1,
        candidates: 2,
      } as Parameters<typeof leaderboardCsv>[0][number],
    ]);
    const rows = parse(text) as string[][];
    expect(rows[1]![0]).toBe("'=cmd");
    expect(rows[1]![3]).toBe("-0.5");
  });
});
