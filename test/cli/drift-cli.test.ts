/**
 * `netsec validate --reference/--current` drift through the real CLI: the effect-size flags, a profile
 * written before effect sizes existed, and clear errors for bad flag values and damaged profiles.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ColumnDrift, DriftReport } from "../../src/validate/drift.ts";
import { runCli } from "../helpers/cli.ts";
import { KDD_DIR, PHISHING_CSV, ROOT, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "" };
/** phishing rows 1–5000 profiled by `profileFrame` at commit f95c226, before this change: the profile
 * format every bundle so far carries (reference_profile.json). */
const OLD_PROFILE = join(ROOT, "test/golden/drift/phishing-profile-v1.json");

function validate(args: string[], name: string) {
  return runCli(["validate", "--json", "--out", join(tmp.dir, name), ...args], env);
}

describe("netsec validate: drift rules", { timeout: 120_000 }, () => {
  it("a profile from before effect sizes loads and gives the report the same rows give", () => {
    const cur = ["--dataset", "phishing", "--current", PHISHING_CSV];
    const r = validate([...cur, "--reference", OLD_PROFILE], "old");
    expect(r.code, r.stderr).toBe(0);
    const fromProfile = r.json!.drift as DriftReport;
    expect(fromProfile.n_reference).toBe(5000);
    expect(Object.keys(fromProfile.columns)).toHaveLength(30);
    for (const c of Object.values(fromProfile.columns)) {
      expect(c.method).toBe("jensen_shannon");
      expect(c.drift_threshold).toBe(0.1);
    }
    // the same 5000 rows as a file
    const lines = readFileSync(PHISHING_CSV, "utf8").split(/\r?\n/).slice(0, 5001);
    const rows = writeFile(tmp.dir, "first5000.csv", `${lines.join("\n")}\n`);
    const fromRows = validate([...cur, "--reference", rows], "rows");
    expect(fromRows.code, fromRows.stderr).toBe(0);
    expect(fromProfile).toEqual(fromRows.json!.drift);
    // the file is ordered: its first 5000 rows differ from the whole on a few columns
    expect(fromProfile.drifted_columns.length).toBeGreaterThan(0);
    expect(fromProfile.dataset_drift).toBe(false);
    const html = readFileSync(join(tmp.dir, "old", "drift_report", "drift.html"), "utf8");
    expect(html).toContain("Jensen–Shannon = ");
  });

  it("--numeric-method wasserstein and the old --drift-threshold: KDDTrain+_20Percent vs KDDTest+", () => {
    const args = ["--dataset", "nsl-kdd", "--reference", `${KDD_DIR}/KDDTrain+_20Percent.txt`];
    const r = validate(
      [
        ...args,
        "--current",
        `${KDD_DIR}/KDDTest+.txt`,
        "--numeric-method",
        "wasserstein",
        "--drift-threshold",
        "0.4",
      ],
      "kdd-w",
    );
    expect(r.code, r.stderr).toBe(0);
    const drift = r.json!.drift as DriftReport;
    expect(drift.rules).toMatchObject({
      numeric_method: "wasserstein",
      wasserstein_threshold: 0.1,
      js_threshold: 0.1,
    });
    expect(drift.threshold).toBe(0.4);
    const src = drift.columns.src_bytes as ColumnDrift;
    expect(src.method).toBe("wasserstein");
    expect(src.drift_score).toBeCloseTo(src.wasserstein_raw! / src.wasserstein_scale!, 12);
    // 18 of 41 columns move by 0.1 reference standard deviations or 0.1 in JS distance
    expect(drift.drifted_columns).toHaveLength(18);
    expect(drift.dataset_drift).toBe(true);
    expect(r.stderr).toMatch(
      /drift: 18\/41 columns drifted \(share 0\.439, threshold 0\.4\) — dataset drift: YES/,
    );
    // a stricter JS threshold lets service and flag (JS 0.26, 0.24) pass
    const strict = validate(
      [...args, "--current", `${KDD_DIR}/KDDTest+.txt`, "--js-threshold", "0.3", "--min-sample-size", "50"],
      "kdd-js",
    );
    expect(strict.code, strict.stderr).toBe(0);
    const s = strict.json!.drift as DriftReport;
    expect(s.columns.service).toMatchObject({
      method: "jensen_shannon",
      drift_threshold: 0.3,
      drift_status: false,
    });
    expect(s.rules.min_sample_size).toBe(50);
  });

  it("a bad flag value is an error naming the flag and the value, before any work", () => {
    const base = ["--dataset", "phishing", "--reference", OLD_PROFILE, "--current", PHISHING_CSV];
    for (const [flag, value] of [
      ["--ks-threshold", "2"],
      ["--numeric-method", "energy"],
      ["--min-sample-size", "many"],
      ["--js-threshold", "0"],
    ] as const) {
      const r = validate([...base, flag, value], `bad${flag}`);
      expect(r.code, `${flag} ${value}`).not.toBe(0);
      expect(r.stderr).toContain(`${flag} "${value}"`);
      // refused before any work: no validation report either
      expect(existsSync(join(tmp.dir, `bad${flag}`))).toBe(false);
    }
  });

  it("a damaged profile is an error naming the file and the field", () => {
    const good = JSON.parse(readFileSync(OLD_PROFILE, "utf8"));
    good.columns.URL_Length.values = [1, -1, 0]; // not ascending
    const bad = writeFile(tmp.dir, "damaged.json", JSON.stringify(good));
    const r = validate(["--dataset", "phishing", "--reference", bad, "--current", PHISHING_CSV], "damaged");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${bad}: not a netsec profile: columns.URL_Length.values.1`);
  });
});
