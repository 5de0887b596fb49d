/**
 * Effect-size drift on real data: two random halves of one shuffled file show nothing; one column
 * scaled by 1.5, or one category's frequencies shifted, shows exactly that column; small samples fall
 * back to the p-value tests; a stored (JSON) reference profile gives the same verdicts as the rows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Column, Frame } from "../../src/core/frame.ts";
import { Rng } from "../../src/core/rng.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { fetchDataset, getDataset } from "../../src/datasets/registry.ts";
import { parseSchema } from "../../src/datasets/schema.ts";
import { type DriftOptions, detectDrift } from "../../src/validate/drift.ts";
import { type DataProfile, profileFrame } from "../../src/validate/profile.ts";
import { MIRROR, PHISHING_CSV, tempDir } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);

/** Two random halves (seeded shuffle) of a frame. */
function halves(frame: Frame, seed: number): [Frame, Frame] {
  const idx = Uint32Array.from({ length: frame.nRows }, (_, i) => i);
  new Rng(seed).shuffle(idx);
  const half = Math.floor(frame.nRows / 2);
  return [frame.take(idx.subarray(0, half)), frame.take(idx.subarray(half))];
}

function replaceColumn(frame: Frame, c: Column): Frame {
  return new Frame(frame.columns.map((x) => (x.name === c.name ? c : x)));
}

function scaled(frame: Frame, name: string, factor: number): Frame {
  return replaceColumn(frame, { kind: "numeric", name, values: frame.numeric(name).map((v) => v * factor) });
}

/** A profile as a bundle stores it: through JSON (NaN becomes null there). */
function stored(p: DataProfile): DataProfile {
  return JSON.parse(JSON.stringify(p)) as DataProfile;
}

describe("NSL-KDD KDDTrain+ (125,973 rows) from the registry", () => {
  const schema = getDataset("nsl-kdd", tmp.dir);
  let a: Frame;
  let b: Frame;
  let reference: DataProfile;
  beforeAll(async () => {
    const [file] = await fetchDataset(schema, { home: tmp.dir, mirror: MIRROR, offline: true }, [
      "KDDTrain+.txt",
    ]);
    const { frame } = await loadFrame(file!.ref, schema);
    expect(frame.nRows).toBe(125_973);
    [a, b] = halves(frame, 11);
    reference = stored(profileFrame(a, schema));
  }, 120_000);

  it("two random halves: no column drifts, no dataset drift; effect sizes decide", () => {
    const r = detectDrift(reference, b, schema);
    expect(Object.keys(r.columns)).toHaveLength(41);
    expect(r.drifted_columns).toEqual([]);
    expect(r.dataset_drift).toBe(false);
    // every sample is large: numeric columns by the KS statistic, the rest by Jensen–Shannon
    expect(r.columns.src_bytes).toMatchObject({ method: "ks_statistic", drift_threshold: 0.1 });
    expect(r.columns.service).toMatchObject({ method: "jensen_shannon", drift_threshold: 0.1 });
    expect(r.columns.protocol_type!.method).toBe("jensen_shannon");
    for (const c of Object.values(r.columns)) {
      expect(c.drift_score).toBeLessThan(0.05);
      expect(["ks_statistic", "jensen_shannon"]).toContain(c.method);
    }
  });

  it("the stored profile gives the verdicts the rows give", () => {
    const fromRows = detectDrift(a, b, schema);
    const fromProfile = detectDrift(reference, b, schema);
    for (const [name, c] of Object.entries(fromRows.columns)) {
      const p = fromProfile.columns[name]!;
      expect(p.method).toBe(c.method);
      expect(p.drift_status).toBe(c.drift_status);
      // src_bytes, dst_bytes have < 20,000 distinct values in a half: the profile is exact
      expect(p.drift_score).toBeCloseTo(c.drift_score, 12);
    }
  });

  for (const column of ["src_bytes", "dst_host_srv_count"]) {
    it(`${column} scaled by 1.5 is the only drifted column (KS statistic)`, () => {
      const r = detectDrift(reference, scaled(b, column, 1.5), schema);
      expect(r.drifted_columns).toEqual([column]);
      const c = r.columns[column]!;
      expect(c.method).toBe("ks_statistic");
      expect(c.drift_score).toBeGreaterThanOrEqual(0.1);
      expect(c.drift_score).toBe(c.statistic);
      expect(r.dataset_drift).toBe(false);
    });
  }

  it("with numeric_method wasserstein: dst_host_srv_count scaled by 1.5 is the only drifted column", () => {
    const opts: DriftOptions = { numericMethod: "wasserstein" };
    expect(detectDrift(reference, b, schema, opts).drifted_columns).toEqual([]);
    const r = detectDrift(reference, scaled(b, "dst_host_srv_count", 1.5), schema, opts);
    expect(r.drifted_columns).toEqual(["dst_host_srv_count"]);
    const c = r.columns.dst_host_srv_count!;
    expect(c.method).toBe("wasserstein");
    // normalised by the reference half's standard deviation (all rows)
    const ref = reference.columns.dst_host_srv_count;
    if (ref?.kind !== "numeric") throw new Error("dst_host_srv_count is numeric");
    expect(c.wasserstein_scale).toBe(ref.std);
    expect(c.drift_score).toBeCloseTo(c.wasserstein_raw! / c.wasserstein_scale!, 12);
    expect(c.drift_score).toBeGreaterThanOrEqual(0.1);
  });

  it("protocol_type with its icmp rows relabelled udp drifts by Jensen–Shannon, alone", () => {
    const col = b.column("protocol_type");
    if (col.kind !== "categorical") throw new Error("protocol_type is categorical");
    const icmp = col.categories.indexOf("icmp");
    const udp = col.categories.indexOf("udp");
    const shifted = replaceColumn(b, { ...col, codes: col.codes.map((k) => (k === icmp ? udp : k)) });
    const r = detectDrift(reference, shifted, schema);
    expect(r.drifted_columns).toEqual(["protocol_type"]);
    const c = r.columns.protocol_type!;
    expect(c.method).toBe("jensen_shannon");
    // by hand from the two frequency tables: p = reference, q = current (icmp moved onto udp)
    const f = c.frequencies!;
    const p = [f.tcp!.reference, f.udp!.reference, f.icmp!.reference];
    const q = [f.tcp!.current, f.udp!.current, f.icmp!.current];
    expect(q[2]).toBe(0);
    const m = p.map((x, i) => (x + q[i]!) / 2);
    const kl = (x: number[]) => x.reduce((s, v, i) => s + (v > 0 ? v * Math.log2(v / m[i]!) : 0), 0);
    expect(c.drift_score).toBeCloseTo(Math.sqrt((kl(p) + kl(q)) / 2), 12);
    expect(c.drift_score).toBeGreaterThanOrEqual(0.1);
  });

  it("small samples (500 rows each) fall back to the p-value tests", () => {
    const small = (f: Frame, from: number) => f.take(Uint32Array.from({ length: 500 }, (_, i) => from + i));
    const r = detectDrift(small(a, 0), small(b, 0), schema);
    for (const c of Object.values(r.columns)) {
      expect(c.method).toBe(c.test === "ks" ? "ks_test" : "chi2_test");
      expect(c.drift_score).toBe(c.p_value);
      expect(c.drift_threshold).toBe(0.05);
      expect(c.drift_status).toBe(c.p_value < 0.05);
    }
    // a 1.5× scale on 500 rows is still seen, now by its p-value
    const s = detectDrift(small(a, 0), scaled(small(b, 0), "dst_host_srv_count", 1.5), schema);
    expect(s.columns.dst_host_srv_count).toMatchObject({ method: "ks_test", drift_status: true });
  });

  it("categorical columns need 100 rows per category: service (70 values) on 5000 rows is still a χ² test", () => {
    const take = (f: Frame) => f.take(Uint32Array.from({ length: 5000 }, (_, i) => i));
    const r = detectDrift(take(a), take(b), schema);
    expect(r.columns.service!.method).toBe("chi2_test");
    expect(r.columns.protocol_type!.method).toBe("jensen_shannon");
    expect(r.columns.src_bytes!.method).toBe("ks_statistic");
    const relaxed = detectDrift(take(a), take(b), schema, { minRowsPerCategory: 0 });
    expect(relaxed.columns.service!.method).toBe("jensen_shannon");
  });
});

describe("phishing (11,055 rows, every column -1/0/1)", () => {
  const schema = getDataset("phishing", tmp.dir);
  let a: Frame;
  let b: Frame;
  beforeAll(async () => {
    [a, b] = halves((await loadFrame({ path: PHISHING_CSV }, schema)).frame, 7);
  });

  it("two random halves: no column drifts, every column judged by Jensen–Shannon", () => {
    const r = detectDrift(stored(profileFrame(a, schema)), b, schema);
    expect(Object.keys(r.columns)).toHaveLength(30);
    expect(r.drifted_columns).toEqual([]);
    expect(r.dataset_drift).toBe(false);
    for (const c of Object.values(r.columns)) {
      expect(c.method).toBe("jensen_shannon");
      expect(c.drift_score).toBeLessThan(0.05);
    }
  });

  it("SSLfinal_State with a fifth of its 1s turned into -1s drifts, alone", () => {
    const v = b.numeric("SSLfinal_State");
    let k = 0;
    const shifted = replaceColumn(b, {
      kind: "numeric",
      name: "SSLfinal_State",
      values: v.map((x) => (x === 1 && k++ % 5 === 0 ? -1 : x)),
    });
    const r = detectDrift(profileFrame(a, schema), shifted, schema);
    expect(r.drifted_columns).toEqual(["SSLfinal_State"]);
    expect(r.columns.SSLfinal_State!.method).toBe("jensen_shannon");
  });
});

describe("the rules on hand-made samples", () => {
  const schema = parseSchema(`
name: toy
title: toy
target: label
labels: {threat: [attack]}
columns:
  - {name: flag, type: categorical, values: ["0", "1"]}
  - {name: x, type: number}
  - {name: label, type: categorical, values: [attack, normal]}
`);
  /** n rows: `ones` of them flag "1"; x = the given values. */
  function frame(n: number, ones: number, x: (i: number) => number): Frame {
    return new Frame([
      {
        kind: "categorical",
        name: "flag",
        categories: ["0", "1"],
        codes: Int32Array.from({ length: n }, (_, i) => (i < ones ? 1 : 0)),
      },
      { kind: "numeric", name: "x", values: Float64Array.from({ length: n }, (_, i) => x(i)) },
      { kind: "categorical", name: "label", categories: ["attack", "normal"], codes: new Int32Array(n) },
    ]);
  }

  it("large samples: a significant but tiny difference is not drift", () => {
    // flag: 50% vs 52% of 50,000 rows: χ² = 40.0 (p ≈ 2.5e-10) but a JS distance of 0.014
    // x: 0..9999 five times each vs 200..10199: KS D = 0.02 (p ≈ 4e-9) but below 0.1. (Fewer than
    // 20,000 distinct values, so the profiles keep every value and the numbers are exact.)
    const x5 = (i: number) => Math.floor(i / 5);
    const r = detectDrift(
      frame(50_000, 25_000, x5),
      frame(50_000, 26_000, (i) => x5(i) + 200),
      schema,
    );
    const flag = r.columns.flag!;
    expect(flag.p_value).toBeLessThan(1e-9);
    expect(flag.statistic).toBeCloseTo(40.016, 2); // Σ(O−E)²/E with E = 25,500 / 24,500 per cell
    expect(flag.method).toBe("jensen_shannon");
    expect(flag.drift_status).toBe(false);
    const x = r.columns.x!;
    expect(x.statistic).toBeCloseTo(0.02, 12);
    expect(x.p_value).toBeLessThan(1e-8);
    expect(x.method).toBe("ks_statistic");
    expect(x.drift_status).toBe(false);
    // Wasserstein: every unit of mass moved by 200; std of 0..9999 (uniform) = √((10000² − 1)/12)
    expect(x.wasserstein_raw).toBeCloseTo(200, 6);
    expect(x.wasserstein).toBeCloseTo(200 / Math.sqrt((10_000 ** 2 - 1) / 12), 9);
    // by hand: p = (½, ½), q = (0.48, 0.52), m = (0.49, 0.51)
    const kl = (a: number[], m: number[]) => a.reduce((t, v, i) => t + v * Math.log2(v / m[i]!), 0);
    const m = [0.49, 0.51];
    expect(flag.drift_score).toBeCloseTo(Math.sqrt((kl([0.5, 0.5], m) + kl([0.48, 0.52], m)) / 2), 12);
    expect(r.drifted_columns).toEqual([]);
  });

  it("the sample-size rule: 999 rows is a p-value test, 1000 an effect size", () => {
    const shift = (n: number) =>
      detectDrift(
        frame(n, 0, (i) => i),
        frame(n, 0, (i) => i + n / 20),
        schema,
      );
    // D = 0.05 either way (p ≈ 0.16): no drift, but decided by different rules
    const at999 = shift(999).columns.x!;
    const at1000 = shift(1000).columns.x!;
    expect(at999.method).toBe("ks_test");
    expect(at1000.method).toBe("ks_statistic");
    expect(at1000.drift_score).toBeCloseTo(0.05, 12);
    // a bigger shift on 200 rows: the test decides, and sees it
    const big = detectDrift(
      frame(200, 0, (i) => i),
      frame(200, 0, (i) => i + 100),
      schema,
    ).columns.x!;
    expect(big).toMatchObject({ method: "ks_test", drift_status: true, drift_threshold: 0.05 });
    expect(big.statistic).toBeCloseTo(0.5, 12);
    // configurable: minSampleSize 100 lets the effect size decide the same 200 rows
    const eff = detectDrift(
      frame(200, 0, (i) => i),
      frame(200, 0, (i) => i + 100),
      schema,
      { minSampleSize: 100 },
    );
    expect(eff.columns.x).toMatchObject({ method: "ks_statistic", drift_status: true });
    expect(eff.columns.x!.drift_score).toBeCloseTo(0.5, 12);
  });

  it("a profile with an all-missing column (NaN statistics; null once stored as JSON) gives a report", () => {
    const ref = frame(1500, 700, (i) => i % 50);
    const empty = replaceColumn(ref, {
      kind: "numeric",
      name: "x",
      values: new Float64Array(1500).fill(Number.NaN),
    });
    const profile = profileFrame(empty, schema);
    const json = JSON.stringify(profile);
    expect(json).toContain('"mean":null');
    for (const p of [profile, JSON.parse(json) as DataProfile]) {
      const r = detectDrift(p, ref, schema);
      expect(r.columns.x).toMatchObject({ n_reference: 0, missing_reference: 1500, drift_status: false });
      expect(r.columns.flag!.method).toBe("jensen_shannon");
    }
  });

  it("a constant reference column: Wasserstein is scaled by the pooled standard deviation", () => {
    const r = detectDrift(
      frame(2000, 0, () => 5),
      frame(2000, 0, (i) => i % 40),
      schema,
      {
        numericMethod: "wasserstein",
      },
    ).columns.x!;
    // pooled: 4000 values, half 5, half uniform on 0..39 (mean 19.5, variance (40² − 1)/12)
    const mean = (5 + 19.5) / 2;
    const pooled = Math.sqrt(((40 ** 2 - 1) / 12 + (19.5 - mean) ** 2 + (5 - mean) ** 2) / 2);
    expect(r.wasserstein_scale).toBeCloseTo(pooled, 12);
    expect(r.drift_status).toBe(true);
  });
});
