/**
 * Counting scored batches on the reference's bins, and the drift of a window judged from those counts:
 * hand-computed counts on a small case, quantile bins of a many-valued column, and on real data the
 * same verdict as `detectDrift` on the raw rows (what `netsec validate` and the training-time drift
 * report compute) for NSL-KDD's KDDTest+ against KDDTrain+_20Percent.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.ts";
import { Rng } from "../../src/core/rng.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { getDataset } from "../../src/datasets/registry.ts";
import { DatasetSchema, SchemaFileSchema } from "../../src/datasets/schema.ts";
import {
  addCounts,
  emptyCounts,
  MAX_UNSEEN_NAMES,
  OTHER_UNSEEN,
  windowProfile,
} from "../../src/monitor/counts.ts";
import {
  buildMonitorReference,
  MAX_VALUE_BINS,
  type MonitorReference,
  numericReference,
} from "../../src/monitor/reference.ts";
import { countBatch, countBatchFlat, WindowCounter } from "../../src/monitor/window-counter.ts";
import { windowDrift } from "../../src/monitor/window-drift.ts";

function windowProfileCategories(ref: MonitorReference, c: ReturnType<typeof countBatch>): string[] {
  const col = windowProfile(ref, c).columns.c;
  return col?.kind === "categorical" ? Object.keys(col.categories) : [];
}

import { detectDrift } from "../../src/validate/drift.ts";
import { numericProfile, profileFrame } from "../../src/validate/profile.ts";
import { KDD_DIR, tempDir } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);

const TOY_SCHEMA = new DatasetSchema(
  SchemaFileSchema.parse({
    name: "toy",
    title: "toy",
    target: "y",
    labels: { threat: ["1"] },
    columns: [
      { name: "x", type: "number" },
      { name: "c", type: "categorical" },
      { name: "y", type: "categorical", role: "target" },
    ],
  }),
);

function smallReference(): MonitorReference {
  return buildMonitorReference(
    {
      format: "netsec-profile",
      version: 1,
      dataset: "toy",
      rows: 3,
      columns: {
        x: numericProfile(Float64Array.from([1, 2, 3]), 0),
        c: { kind: "categorical", n: 3, missing: 0, distinct: 2, categories: { a: 2, b: 1 } },
      },
    },
    {
      oofThreat: [0.1, 0.9, 0.6],
      threshold: 0.5,
      classNames: ["benign", "threat", "threat"],
      source: "test",
    },
    ["x"],
  );
}

function categorical(name: string, values: (string | null)[]): Frame["columns"][number] {
  const cats = [...new Set(values.filter((v): v is string => v !== null))];
  return {
    kind: "categorical",
    name,
    categories: cats,
    codes: Int32Array.from(values, (v) => (v === null ? -1 : cats.indexOf(v))),
  };
}

describe("countBatch", () => {
  it("counts each cell in its bin: below, each reference value's bin, above, missing, unseen", () => {
    const ref = smallReference();
    expect(ref.inputs.x).toMatchObject({ edges: [1, 2, 3], counts: [1, 1, 1] });
    expect(ref.outputs).toMatchObject({ threat_rate: 2 / 3, classes: { benign: 1, threat: 2 } });
    const frame = new Frame([
      { kind: "numeric", name: "x", values: Float64Array.from([0, 1, 1.5, 3, 4, Number.NaN]) },
      categorical("c", ["a", "c", "c", null, "b", "d"]),
    ]);
    const c = countBatch(ref, {
      frame,
      isThreat: [0, 0, 1, 1, 1, 0],
      probability: [0, 0.05, 0.5, 1, 0.99, 0.2],
      labelNames: ["benign", "benign", "threat", "threat", "threat", "benign"],
    });
    expect(c.rows).toBe(6);
    // [below 1, (…,1], (1,2], (2,3], above 3]
    expect(c.inputs.x).toEqual({
      kind: "numeric",
      missing: 1,
      bins: [1, 1, 1, 1, 1],
      sum: 9.5,
      sumsq: 0 + 1 + 2.25 + 9 + 16,
      min: 0,
      max: 4,
    });
    expect(c.inputs.c).toEqual({
      kind: "categorical",
      missing: 1,
      known: [1, 1],
      unseen: { c: 2, d: 1 },
      unseen_other: 0,
    });
    const p = new Array(20).fill(0);
    p[0] = 1; // 0
    p[1] = 1; // 0.05
    p[10] = 1; // 0.5
    p[19] = 2; // 1 and 0.99
    p[4] = 1; // 0.2
    expect(c.outputs).toEqual({ threats: 3, probability: p, classes: { benign: 3, threat: 3 } });
    // two batches add up
    const sum = emptyCounts(ref);
    addCounts(sum, c);
    addCounts(sum, c);
    expect(sum.rows).toBe(12);
    expect(sum.inputs.x).toMatchObject({ bins: [2, 2, 2, 2, 2], missing: 2, min: 0, max: 4 });
    expect(sum.inputs.c).toMatchObject({ known: [2, 2], unseen: { c: 4, d: 2 } });
  });

  it("a scoring thread's flat counts, cloned and added into a window, are the counts by hand", () => {
    const ref = smallReference();
    const w = new WindowCounter(ref);
    const batch = (x: number[], c: (string | null)[], p: number[]) => ({
      frame: new Frame([{ kind: "numeric", name: "x", values: Float64Array.from(x) }, categorical("c", c)]),
      isThreat: p.map((q) => (q >= 0.5 ? 1 : 0)),
      probability: p,
      labelNames: p.map((q) => (q >= 0.5 ? "threat" : "benign")),
    });
    // every x missing: no min or max from this batch
    w.addFlat(structuredClone(countBatchFlat(ref, batch([Number.NaN, Number.NaN], ["a", "e"], [0.7, 0.1]))));
    expect(w.counts().inputs.x).toMatchObject({ missing: 2, min: null, max: null, bins: [0, 0, 0, 0, 0] });
    w.addFlat(structuredClone(countBatchFlat(ref, batch([0, 2.5, 9], ["e", "b", null], [0.2, 0.5, 1]))));
    expect(w.counts()).toEqual({
      rows: 5,
      inputs: {
        // [below 1, (…,1], (1,2], (2,3], above 3]
        x: { kind: "numeric", missing: 2, bins: [1, 0, 0, 1, 1], sum: 11.5, sumsq: 87.25, min: 0, max: 9 },
        c: { kind: "categorical", missing: 1, known: [1, 1], unseen: { e: 2 }, unseen_other: 0 },
      },
      outputs: {
        threats: 3,
        probability: [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1],
        classes: { threat: 3, benign: 2 },
      },
    });
    // counts on another reference's bins are refused, never added out of place
    const other = new WindowCounter(
      buildMonitorReference(
        { format: "netsec-profile", version: 1, dataset: "toy", rows: 0, columns: {} },
        { oofThreat: [], threshold: 0.5, classNames: [], source: "test" },
        [],
      ),
    );
    expect(() => other.addFlat(countBatchFlat(ref, batch([1], ["a"], [0.1])))).toThrow(RangeError);
  });

  it("keeps at most MAX_UNSEEN_NAMES unseen categories by name, the rest together", () => {
    const ref = smallReference();
    const names = Array.from({ length: MAX_UNSEEN_NAMES + 7 }, (_, i) => `new${i}`);
    const frame = new Frame([
      { kind: "numeric", name: "x", values: new Float64Array(names.length).fill(2) },
      categorical("c", names),
    ]);
    const n = names.length;
    const c = countBatch(ref, {
      frame,
      isThreat: new Uint8Array(n),
      probability: new Float64Array(n),
      labelNames: names.map(() => "benign"),
    });
    const x = c.inputs.c!;
    if (x.kind !== "categorical") throw new Error("categorical expected");
    expect(Object.keys(x.unseen)).toHaveLength(MAX_UNSEEN_NAMES);
    expect(x.unseen_other).toBe(7);
    const d = windowDrift(ref, c, TOY_SCHEMA);
    expect(d.unseen_share).toBe(1);
    expect(windowProfileCategories(ref, c)).toContain(OTHER_UNSEEN);
  });
});

describe("bin lookup", () => {
  it("puts every value where a plain scan of the edges does: whole, fractional, heavy-tailed, on the edges, missing", () => {
    const rng = new Rng(11);
    const cases: number[][] = [
      Array.from({ length: 40 }, (_, i) => i * 3), // whole values: the lookup table
      Array.from({ length: 101 }, (_, i) => i / 100), // rates 0.00 … 1.00: a table on hundredths
      Array.from({ length: 61 }, (_, i) => (i - 30) / 10), // −3.0 … 3.0: a table on tenths
      Array.from({ length: 90 }, (_, i) => 0.001 * (i * 7) + 0.0005), // no grid up to thousandths: the search
      Array.from({ length: 300 }, (_, i) => Math.floor(Math.exp(i / 12))), // heavy tail, quantile bins
    ];
    for (const values of cases) {
      const distinct = [...new Set(values)].sort((a, b) => a - b);
      const ref = buildMonitorReference(
        {
          format: "netsec-profile",
          version: 1,
          dataset: "toy",
          rows: distinct.length,
          columns: { x: numericProfile(Float64Array.from(distinct), 0) },
        },
        { oofThreat: [], threshold: 0.5, classNames: [], source: "test" },
        [],
      );
      const r = ref.inputs.x!;
      if (r.kind !== "numeric") throw new Error("numeric expected");
      const lo = r.edges[0]!;
      const hi = r.edges.at(-1)!;
      const xs = [
        ...r.edges,
        ...r.edges.map((e) => e + 1e-9),
        ...Array.from({ length: 2000 }, () => lo - 1 + rng.next() * (hi - lo + 2)),
        ...Array.from({ length: 500 }, () => Math.floor(rng.next() * (hi + 2))),
        // missing cells, and a row count that is no multiple of the counting lanes
        Number.NaN,
        Number.NaN,
        Number.NaN,
      ];
      // whole batches (the per-value counters where the table is narrower than the batch) and
      // batches of 7 rows (cell by cell): the same counts as a plain scan
      for (const size of [xs.length, 7]) {
        for (let from = 0; from < xs.length; from += size * 50) {
          const part = xs.slice(from, from + size);
          const naive = new Array<number>(r.edges.length + 2).fill(0);
          let sum = 0;
          let sumsq = 0;
          const present = part.filter((x) => !Number.isNaN(x));
          for (const x of present) {
            const k = r.edges.findIndex((e) => x <= e);
            naive[x < lo ? 0 : k < 0 ? r.edges.length + 1 : k + 1]!++;
            sum += x;
            sumsq += x * x;
          }
          const frame = new Frame([{ kind: "numeric", name: "x", values: Float64Array.from(part) }]);
          const n = part.length;
          const batch = {
            frame,
            isThreat: new Uint8Array(n),
            probability: new Float64Array(n),
            labelNames: new Array(n).fill("x"),
          };
          // countBatch, and the open window's counter counting the batch itself
          const counter = new WindowCounter(ref);
          counter.count(batch);
          for (const c of [countBatch(ref, batch), counter.counts()]) {
            const x = c.inputs.x;
            if (x?.kind !== "numeric") throw new Error("numeric counts expected");
            expect(x).toMatchObject({
              bins: naive,
              missing: n - present.length,
              min: present.length ? Math.min(...present) : null,
              max: present.length ? Math.max(...present) : null,
            });
            // the same sums up to rounding (whole values are summed per value, times their count)
            expect(Math.abs(x.sum - sum)).toBeLessThanOrEqual(1e-12 * sumsq + 1e-12);
            expect(Math.abs(x.sumsq - sumsq)).toBeLessThanOrEqual(1e-12 * sumsq + 1e-12);
          }
        }
      }
    }
  });

  it("counts the outputs: threats, probability bins, each predicted class", () => {
    const ref = smallReference();
    const names = ["normal", "attack", "normal", "normal", "dos", "attack", "normal"];
    const probability = Float64Array.from([0.05, 0.95, Number.NaN, 0.5, 1, 0.999, 0]);
    const c = countBatch(ref, {
      frame: new Frame(
        [
          { kind: "numeric", name: "x", values: new Float64Array(7) },
          { kind: "categorical", name: "c", codes: new Int32Array(7).fill(-1), categories: [] },
        ],
        7,
      ),
      isThreat: Uint8Array.from([0, 1, 0, 0, 1, 1, 0]),
      probability,
      labelNames: names,
    });
    expect(c.outputs.threats).toBe(3);
    expect(c.outputs.classes).toEqual({ normal: 4, attack: 2, dos: 1 });
    const bins = new Array<number>(c.outputs.probability.length).fill(0);
    for (const p of probability)
      if (!Number.isNaN(p)) bins[Math.min(bins.length - 1, Math.floor(p * bins.length))]!++;
    expect(c.outputs.probability).toEqual(bins);
  });
});

describe("numericReference", () => {
  it("a many-valued column gets 256 quantile bins, each with at most its share of the rows", () => {
    const v = Float64Array.from({ length: 10_000 }, (_, i) => (i * 7919) % 10_000);
    const r = numericReference(numericProfile(v, 0));
    expect(r.edges).toHaveLength(MAX_VALUE_BINS);
    expect(r.counts.reduce((a, b) => a + b, 0)).toBe(10_000);
    for (const c of r.counts) expect(c).toBeLessThanOrEqual(Math.ceil(10_000 / MAX_VALUE_BINS) + 1);
    expect(r.edges.at(-1)).toBe(9999);
    for (let i = 1; i < r.edges.length; i++) expect(r.edges[i]!).toBeGreaterThan(r.edges[i - 1]!);
  });
});

describe("a window's drift on real traffic", () => {
  it("KDDTest+ counted in batches against KDDTrain+_20Percent: the verdicts of detectDrift on the raw rows", async () => {
    const s = getDataset("nsl-kdd", tmp.dir);
    const train = (await loadFrame({ path: `${KDD_DIR}/KDDTrain+_20Percent.txt` }, s)).frame;
    const test = (await loadFrame({ path: `${KDD_DIR}/KDDTest+.txt` }, s)).frame;
    const profile = profileFrame(train, s);
    const ref = buildMonitorReference(
      profile,
      { oofThreat: [], threshold: 0.5, classNames: [], source: "test" },
      [],
    );
    const w = emptyCounts(ref);
    for (let start = 0; start < test.nRows; start += 1000) {
      const rows = Int32Array.from({ length: Math.min(1000, test.nRows - start) }, (_, i) => start + i);
      const n = rows.length;
      addCounts(
        w,
        countBatch(ref, {
          frame: test.take(rows),
          isThreat: new Uint8Array(n),
          probability: new Float64Array(n),
          labelNames: new Array(n).fill("x"),
        }),
      );
    }
    expect(w.rows).toBe(test.nRows);
    const exact = detectDrift(profile, test, s);
    const binned = windowDrift(ref, w, s).inputs;
    expect(binned.drifted_columns.sort()).toEqual(exact.drifted_columns.sort());
    expect(exact.drifted_columns).toHaveLength(14);
    for (const [name, c] of Object.entries(exact.columns)) {
      const b = binned.columns[name]!;
      expect(b.method, name).toBe(c.method);
      // effect sizes measured on the bins: within 1/256 of the exact ones (the quantile bins' share)
      if (c.method === "ks_statistic" || c.method === "jensen_shannon")
        expect(Math.abs(b.drift_score - c.drift_score), name).toBeLessThanOrEqual(1 / MAX_VALUE_BINS);
    }
  });

  it("batches counted straight into a window's counter, or handed over flat, give the window countBatch + addCounts give", async () => {
    const s = getDataset("nsl-kdd", tmp.dir);
    const train = (await loadFrame({ path: `${KDD_DIR}/KDDTrain+_20Percent.txt` }, s)).frame;
    const test = (await loadFrame({ path: `${KDD_DIR}/KDDTest+.txt` }, s)).frame;
    const ref = buildMonitorReference(
      profileFrame(train, s),
      { oofThreat: [], threshold: 0.5, classNames: [], source: "test" },
      [],
    );
    const rng = new Rng(5);
    const viaBatches = emptyCounts(ref);
    const counter = new WindowCounter(ref);
    const added = new WindowCounter(ref);
    // as a scoring thread hands its counts to the event loop: one array, cloned across threads
    const handedOver = new WindowCounter(ref);
    // 40 batches of 1 to 1,000 KDDTest+ rows (values beyond the training ranges, missing outputs;
    // few-valued inputs counted per value once the batch has more rows than their values), with
    // made-up outputs: threats, probabilities (some missing), two class names
    for (let b = 0, from = 0; b < 40; b++) {
      const n = 1 + Math.floor(rng.next() ** 3 * 1000);
      const frame = test.take(Int32Array.from({ length: n }, (_, i) => from + i));
      from += n;
      const probability = Float64Array.from({ length: n }, () =>
        rng.next() < 0.05 ? Number.NaN : rng.next(),
      );
      const batch = {
        frame,
        isThreat: Uint8Array.from(probability, (p) => (p >= 0.5 ? 1 : 0)),
        probability,
        labelNames: Array.from(probability, (p) => (p >= 0.5 ? "attack" : "normal")),
      };
      const counts = countBatch(ref, batch);
      addCounts(viaBatches, counts);
      counter.count(batch);
      added.add(counts);
      const flat = countBatchFlat(ref, batch);
      expect(flat.values).toBeInstanceOf(Float64Array);
      handedOver.addFlat(structuredClone(flat));
    }
    const direct = counter.counts();
    // every count the same; the sums to rounding (added in another order)
    const rounded = (c: typeof direct) =>
      JSON.parse(JSON.stringify(c, (k, v) => (k === "sum" || k === "sumsq" ? Number(v.toPrecision(10)) : v)));
    expect(rounded(direct)).toEqual(rounded(viaBatches));
    expect(rounded(added.counts())).toEqual(rounded(viaBatches));
    expect(rounded(handedOver.counts())).toEqual(rounded(viaBatches));
    // read back from the state file: the same counts again
    expect(rounded(WindowCounter.of(ref, direct).counts())).toEqual(rounded(viaBatches));
    expect(direct.rows).toBeGreaterThan(40);
    // categorical inputs were counted too (protocol_type, service, flag)
    const service = direct.inputs.service;
    expect(service?.kind === "categorical" && service.known.some((k) => k > 0)).toBe(true);
  });

  it("a window's counts take the same room after 200,000 rows as after 2,000 (constant memory)", async () => {
    const s = getDataset("nsl-kdd", tmp.dir);
    const train = (await loadFrame({ path: `${KDD_DIR}/KDDTrain+_20Percent.txt` }, s)).frame;
    const ref = buildMonitorReference(
      profileFrame(train, s),
      { oofThreat: [], threshold: 0.5, classNames: [], source: "test" },
      [],
    );
    const rows = Int32Array.from({ length: 2000 }, (_, i) => i);
    const batch = train.take(rows);
    const one = countBatch(ref, {
      frame: batch,
      isThreat: new Uint8Array(2000),
      probability: new Float64Array(2000),
      labelNames: new Array(2000).fill("benign"),
    });
    const w = emptyCounts(ref);
    addCounts(w, one);
    // the shape of the counts: every number replaced by 0 (what grows is the counts' digits, not the room)
    const shape = (x: unknown): string => JSON.stringify(x, (_k, v) => (typeof v === "number" ? 0 : v));
    const small = shape(w);
    for (let i = 1; i < 100; i++) addCounts(w, one);
    expect(w.rows).toBe(200_000);
    expect(shape(w)).toBe(small);
    expect(Object.keys(w.inputs)).toEqual(Object.keys(one.inputs));
  });
});
