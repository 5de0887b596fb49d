import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { getDataset } from "../../src/datasets/registry.ts";
import { detectDrift } from "../../src/validate/drift.ts";
import { profileFrame } from "../../src/validate/profile.ts";
import { reportYaml, writeDriftReports } from "../../src/validate/report/index.ts";
import { KDD_DIR, PHISHING_CSV, tempDir } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);

describe("drift on real data", () => {
  it("two random halves of the phishing data: no column drifts, no dataset drift", async () => {
    const s = getDataset("phishing", tmp.dir);
    const { frame } = await loadFrame({ path: PHISHING_CSV }, s);
    const idx = Uint32Array.from({ length: frame.nRows }, (_, i) => i);
    new Rng(7).shuffle(idx);
    const half = Math.floor(frame.nRows / 2);
    const r = detectDrift(frame.take(idx.subarray(0, half)), frame.take(idx.subarray(half)), s);
    expect(Object.keys(r.columns)).toHaveLength(30);
    expect(Object.keys(r.columns)).not.toContain("Result");
    expect(r.dataset_drift).toBe(false);
    // 5,527 rows a side: Jensen–Shannon decides, and no column moved by 0.1
    expect(r.drifted_columns).toEqual([]);
    for (const c of Object.values(r.columns)) expect(c.test).toBe("chi2"); // every phishing column has <= 3 values
  });

  it("NSL-KDD KDDTrain+_20Percent vs KDDTest+: real drift, KS on continuous columns, chi2 on symbolic ones", async () => {
    const s = getDataset("nsl-kdd", tmp.dir);
    const train = (await loadFrame({ path: `${KDD_DIR}/KDDTrain+_20Percent.txt` }, s)).frame;
    const test = (await loadFrame({ path: `${KDD_DIR}/KDDTest+.txt` }, s)).frame;
    // the test set's new attacks move the service mix, the flags and every error rate by more than the
    // effect-size thresholds (14 of 41 columns); the mostly-zero counters (num_root, ...) stay put even
    // though their p-values would call them drifted
    const r = detectDrift(profileFrame(train, s), test, s, { threshold: 0.3 });
    expect(r.dataset_drift).toBe(true);
    expect(r.share_drifted).toBeCloseTo(14 / 41, 12);
    expect(detectDrift(profileFrame(train, s), test, s).dataset_drift).toBe(false); // default share 0.5
    expect(r.columns.service!.test).toBe("chi2");
    expect(r.columns.src_bytes!.test).toBe("ks");
    expect(r.columns.service).toMatchObject({ method: "jensen_shannon", drift_status: true });
    expect(r.columns.dst_host_serror_rate).toMatchObject({ method: "ks_statistic", drift_status: true });
    expect(r.columns.hot!.p_value).toBeLessThan(0.05);
    expect(r.columns.hot!.drift_status).toBe(false);
    expect(Object.keys(r.columns)).not.toContain("label");
    expect(Object.keys(r.columns)).not.toContain("difficulty");
    const dir = join(tmp.dir, "kdd");
    await writeDriftReports(r, dir);
    const html = readFileSync(join(dir, "drift.html"), "utf8");
    expect(html.match(/<svg/g)!.length).toBe(41);
    // drifted columns come first
    const firstStable = html.indexOf('class="card"');
    const lastDrifted = html.lastIndexOf('class="card drifted"');
    expect(firstStable === -1 || lastDrifted < firstStable).toBe(true);
  });
});

describe("report formats", () => {
  it("report.yaml has the original project's layout and HTML escapes column names", async () => {
    const s = getDataset("phishing", tmp.dir);
    const { frame } = await loadFrame({ path: PHISHING_CSV }, s);
    const r = detectDrift(
      frame.take(Uint32Array.from({ length: 3000 }, (_, i) => i)),
      frame.take(Uint32Array.from({ length: 3000 }, (_, i) => i + 8000)),
      s,
    );
    const y = reportYaml(r);
    expect(y).toMatch(/^having_IP_Address:\n {2}p_value: [0-9.e-]+\n {2}drift_status: (true|false)\n/);
    const evil = {
      ...r,
      columns: { "<script>alert(1)</script>": r.columns.URL_Length! },
      dataset: "<b>x</b>",
    };
    const dir = join(tmp.dir, "evil");
    await writeDriftReports(evil, dir);
    const html = readFileSync(join(dir, "drift.html"), "utf8");
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toMatch(/<script/i);
  });
});
