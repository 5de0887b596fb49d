/**
 * The foundation through the real CLI: fetch → ingest (twice: idempotent) → validate, for phishing and
 * NSL-KDD, into the default DuckDB store; bad input gives one clear error and leaves the store unchanged.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { KDD_DIR, PHISHING_CSV, ROOT, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "" };

describe("netsec CLI: datasets, ingest, validate (DuckDB store)", () => {
  it("--help works for every command", () => {
    for (const cmd of [[], ["datasets"], ["datasets", "fetch"], ["ingest"], ["push"], ["validate"]]) {
      const r = runCli([...cmd, "--help"], env);
      expect(r.code, `${cmd.join(" ")} --help`).toBe(0);
      expect(r.stdout).toMatch(/Usage: netsec/);
    }
  });

  it("datasets fetch phishing --json verifies and returns the files", () => {
    const r = runCli(["datasets", "fetch", "phishing", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const files = r.json!.files as { name: string; sha256: string; verified: boolean; origin: string }[];
    expect(files.map((f) => f.name).sort()).toEqual(["Training Dataset.arff", "phisingData.csv"]);
    expect(files.every((f) => f.verified && f.origin === "mirror")).toBe(true);
  });

  it("ingesting phishing twice leaves exactly 11,055 records", () => {
    const a = runCli(["ingest", "--dataset", "phishing", "--json"], env);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json).toMatchObject({ added: 11055, total: 11055 });
    const b = runCli(["ingest", "--dataset", "phishing", "--json"], env);
    expect(b.code, b.stderr).toBe(0);
    expect(b.json).toMatchObject({ added: 0, total: 11055 });
  });

  it("the same file through --file adds nothing (ids derive from the file's SHA-256 and row)", () => {
    const r = runCli(["ingest", "--dataset", "phishing", "--file", PHISHING_CSV, "--json"], env);
    expect(r.json).toMatchObject({ added: 0, total: 11055 });
  });

  it("validate on the stored phishing records passes", () => {
    const r = runCli(
      ["validate", "--dataset", "phishing", "--json", "--out", join(tmp.dir, "val-phishing")],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ passed: true, rows: 11055 });
    const report = JSON.parse(readFileSync(join(tmp.dir, "val-phishing", "validation.json"), "utf8"));
    expect(report.duplicates).toBe(5270);
  });

  it("nsl-kdd: ingest (KDDTrain+ from the zip and KDDTest+) then validate passes", () => {
    const a = runCli(["ingest", "--dataset", "nsl-kdd", "--json"], env);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json).toMatchObject({ added: 125973 + 22544, total: 125973 + 22544 });
    const v = runCli(["validate", "--dataset", "nsl-kdd", "--json", "--out", join(tmp.dir, "val-kdd")], env);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json).toMatchObject({ passed: true, rows: 148517 });
  });

  it("a file with a non-numeric value is refused with file, row, column and value, and the store is unchanged", () => {
    const lines = readFileSync(PHISHING_CSV, "utf8").split("\n");
    lines[1000] = lines[1000]!.replace(/,(-?1)$/, ",x1");
    const bad = writeFile(tmp.dir, "bad.csv", lines.join("\n"));
    const r = runCli(["ingest", "--dataset", "phishing", "--file", bad, "--json"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.csv, row 1000, column Result: "x1" not a number/);
    expect((r.json!.error as { details: { row: number; column: string } }).details).toMatchObject({
      row: 1000,
      column: "Result",
    });
    const v = runCli(["validate", "--dataset", "phishing", "--json", "--out", join(tmp.dir, "val2")], env);
    expect(v.json).toMatchObject({ rows: 11055 });
  });

  it("a truncated file, a wrong delimiter and a header mismatch are clear errors", () => {
    const text = readFileSync(PHISHING_CSV, "utf8");
    const trunc = writeFile(tmp.dir, "trunc.csv", text.slice(0, 5000));
    const r1 = runCli(["ingest", "--dataset", "phishing", "--file", trunc], env);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/trunc\.csv, row \d+: expected 31 fields, found \d+/);
    const semi = writeFile(tmp.dir, "semi.csv", text.replaceAll(",", ";"));
    const r2 = runCli(["ingest", "--dataset", "phishing", "--file", semi], env);
    expect(r2.stderr).toMatch(/delimited by ";"/);
    const renamed = writeFile(tmp.dir, "renamed.csv", text.replace('"Result"', '"Label"'));
    const r3 = runCli(["ingest", "--dataset", "phishing", "--file", renamed], env);
    expect(r3.stderr).toMatch(/missing column\(s\) "Result"; unknown column\(s\) "Label"/);
  });

  it("npx netsec prints no npm warning (no unknown keys in the project's .npmrc)", () => {
    const r = spawnSync("npx", ["--no-install", "netsec", "--version"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(r.stderr).not.toMatch(/npm warn/i);
  });

  it("an unknown --format is a clear error listing the formats, for ingest, validate and push", () => {
    for (const args of [
      ["ingest", "--dataset", "phishing", "--file", PHISHING_CSV],
      ["validate", "--dataset", "phishing", "--file", PHISHING_CSV],
      ["push", PHISHING_CSV, "--to", "mongodb://127.0.0.1:9/"],
    ]) {
      const r = runCli([...args, "--format", "pcap", "--json"], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("--format must be one of csv, tsv, jsonl, arff, txt");
      expect(r.stderr).toContain('got "pcap"');
      expect(r.json).toMatchObject({ ok: false, error: { code: "CONFIG_INVALID" } });
    }
  });
  it("validate exits non-zero and lists problems for out-of-schema values", () => {
    const lines = readFileSync(PHISHING_CSV, "utf8").split("\n");
    lines[3] = lines[3]!.replace(/^-?1,/, "7,");
    const f = writeFile(tmp.dir, "range.csv", lines.join("\n"));
    const r = runCli(
      ["validate", "--dataset", "phishing", "--file", f, "--json", "--out", join(tmp.dir, "val3")],
      env,
    );
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ passed: false });
    const problems = readFileSync(join(tmp.dir, "val3", "problems.csv"), "utf8");
    expect(problems).toMatch(/range\.csv,3,having_IP_Address,7,not_allowed/);
  });

  it("drift between KDDTrain+_20Percent and KDDTest+ is flagged; report files are written", () => {
    const out = join(tmp.dir, "drift-kdd");
    // 14 of 41 columns drift by effect size (test/validate/drift.test.ts): dataset drift at a 0.3 share
    const r = runCli(
      [
        "validate",
        "--dataset",
        "nsl-kdd",
        "--reference",
        `${KDD_DIR}/KDDTrain+_20Percent.txt`,
        "--current",
        `${KDD_DIR}/KDDTest+.txt`,
        "--drift-threshold",
        "0.3",
        "--json",
        "--out",
        out,
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const drift = r.json!.drift as {
      dataset_drift: boolean;
      share_drifted: number;
      columns: Record<string, unknown>;
    };
    expect(drift.dataset_drift).toBe(true);
    expect(Object.keys(drift.columns)).toHaveLength(41);
    expect(Object.keys(drift.columns)).not.toContain("label");
    const yaml = readFileSync(join(out, "drift_report", "report.yaml"), "utf8");
    expect(yaml).toMatch(/^duration:\n {2}p_value: /m);
    expect(readFileSync(join(out, "drift_report", "drift.html"), "utf8")).toMatch(/<svg/);
  });

  it("drift files with extra columns: accepted under allow_unknown_columns (same drift as without them), refused otherwise", () => {
    const lines = readFileSync(PHISHING_CSV, "utf8").trim().split(/\r?\n/);
    const part = (from: number, to: number, id: boolean): string =>
      `${[lines[0]!, ...lines.slice(from, to)].map((l, i) => (id ? `${i === 0 ? "id" : `r${from + i}`},${l}` : l)).join("\n")}\n`;
    const files = {
      ref: writeFile(tmp.dir, "drift-ref.csv", part(1, 500, false)),
      cur: writeFile(tmp.dir, "drift-cur.csv", part(500, 1000, false)),
      refId: writeFile(tmp.dir, "drift-ref-id.csv", part(1, 500, true)),
      curId: writeFile(tmp.dir, "drift-cur-id.csv", part(500, 1000, true)),
    };
    const drift = (ref: string, cur: string, extra: string[], name: string) =>
      runCli(
        [
          "validate",
          "--dataset",
          "phishing",
          "--reference",
          ref,
          "--current",
          cur,
          "--json",
          "--out",
          join(tmp.dir, name),
          ...extra,
        ],
        env,
      );
    const allow = ["--thresholds", '{"allow_unknown_columns":true}'];
    const plain = drift(files.ref, files.cur, [], "drift-plain");
    expect(plain.code, plain.stderr).toBe(0);
    const withId = drift(files.refId, files.curId, allow, "drift-id");
    expect(withId.code, withId.stderr).toBe(0);
    const cols = (withId.json!.drift as { columns: Record<string, unknown> }).columns;
    expect(Object.keys(cols)).not.toContain("id");
    expect(withId.json!.drift).toEqual(plain.json!.drift);
    const refused = drift(files.refId, files.curId, [], "drift-refused");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('unknown column(s) "id"');
  });
});
