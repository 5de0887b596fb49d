/**
 * Multiclass targets through the real CLI on NSL-KDD: `target: category` (normal/dos/probe/r2l/u2r)
 * and `target: label` (raw labels, with KDDTest+'s attacks that training never saw). The per-class
 * numbers the run reports are recomputed here, by independent arithmetic, from what `netsec predict`
 * writes for the same test file; the ONNX export is scored under onnxruntime and compared with the
 * bundle row by row. One NETSEC_HOME: the label run meets the category run's champion.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { PerClassReport } from "../../src/pipeline/train.ts";
import { runCli } from "../helpers/cli.ts";
import { KDD_DIR, ROOT, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir("netsec-multiclass-");
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "", MONGODB_URI: "" };

// the schema's own map and benign list, read from the YAML (not through src/)
const SCHEMA = parseYaml(readFileSync(join(ROOT, "datasets/nsl-kdd.yaml"), "utf8")) as {
  labels: { benign: string[]; categories: Record<string, string> };
};
const CATEGORY = SCHEMA.labels.categories;
const isThreat = (label: string): boolean => !SCHEMA.labels.benign.includes(label);

const TRAIN_20 = join(KDD_DIR, "KDDTrain+_20Percent.txt");
const lines = (file: string): string[] => readFileSync(file, "utf8").trim().split("\n");
// a quarter of KDDTest+ (every 4th row: all its attack kinds, a fast evaluation)
const TEST = writeFile(
  tmp.dir,
  "KDDTest-quarter.txt",
  `${lines(join(KDD_DIR, "KDDTest+.txt"))
    .filter((_, i) => i % 4 === 0)
    .join("\n")}\n`,
);
const labelOf = (line: string): string => line.split(",")[41]!;

type Row = Record<string, string>;
const readCsv = (file: string): Row[] => parse(readFileSync(file, "utf8"), { columns: true }) as Row[];

type ClassRow = PerClassReport["per_class"][string];
/** The per_class object of `--json` and per_class.json: the pipeline's own report type. */
type PerClass = PerClassReport;

/** Scores `input` with a model into a fresh CSV; `extra` e.g. ["--engine", "onnx"]. */
function predict(
  name: string,
  model: string,
  ...extra: string[]
): { json: Record<string, unknown>; rows: Row[] } {
  const out = join(tmp.dir, `${name}.csv`);
  const r = runCli(["predict", "--model", model, "--input", TEST, "--output", out, "--json", ...extra], env);
  expect(r.code, r.stderr).toBe(0);
  return { json: r.json!, rows: readCsv(out) };
}

/**
 * scikit-learn's classification_report(labels = classes, zero_division = 0) written out: truth values
 * outside `classes` have no row but count against the precision of the class they were given.
 */
function report(truth: string[], pred: string[], classes: string[]) {
  const per: Record<string, ClassRow> = {};
  const confusion = classes.map((a) =>
    classes.map((p) => truth.filter((t, i) => t === a && pred[i] === p).length),
  );
  for (const c of classes) {
    const tp = truth.filter((t, i) => t === c && pred[i] === c).length;
    const predicted = pred.filter((p) => p === c).length;
    const support = truth.filter((t) => t === c).length;
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    per[c] = {
      precision,
      recall,
      f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
      support,
    };
  }
  const mean = (k: "precision" | "recall" | "f1", w: (c: string) => number) =>
    classes.reduce((a, c) => a + per[c]![k] * w(c), 0);
  const seen = classes.reduce((a, c) => a + per[c]!.support, 0);
  const avg = (w: (c: string) => number) => ({
    precision: mean("precision", w),
    recall: mean("recall", w),
    f1: mean("f1", w),
  });
  return {
    per,
    confusion,
    macro: avg(() => 1 / classes.length),
    weighted: avg((c) => per[c]!.support / seen),
    accuracy: truth.filter((t, i) => t === pred[i]).length / truth.length,
  };
}

function expectReport(got: PerClass, want: ReturnType<typeof report>): void {
  expect(got.confusion).toEqual(want.confusion);
  for (const c of got.classes) {
    const g = got.per_class[c]!;
    const w = want.per[c]!;
    expect(g.support, `${c} support`).toBe(w.support);
    expect(g.precision, `${c} precision`).toBeCloseTo(w.precision, 12);
    expect(g.recall, `${c} recall`).toBeCloseTo(w.recall, 12);
    expect(g.f1, `${c} f1`).toBeCloseTo(w.f1, 12);
  }
  for (const k of ["precision", "recall", "f1"] as const) {
    expect(got.macro[k], `macro ${k}`).toBeCloseTo(want.macro[k], 12);
    expect(got.weighted[k], `weighted ${k}`).toBeCloseTo(want.weighted[k], 12);
  }
  expect(got.accuracy).toBeCloseTo(want.accuracy, 12);
}

/** Threat vs benign from the labels, by hand: the metrics `test` reports for every target. */
function threatCounts(truthThreat: boolean[], saidThreat: boolean[]) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  truthThreat.forEach((t, i) => {
    if (saidThreat[i] && t) tp++;
    else if (saidThreat[i]) fp++;
    else if (t) fn++;
    else tn++;
  });
  return {
    precision: tp / (tp + fp),
    recall: tp / (tp + fn),
    f1: (2 * tp) / (2 * tp + fp + fn),
    accuracy: (tp + tn) / truthThreat.length,
  };
}

/** The ONNX export under onnxruntime against the bundle: same label on every row, |Δp| <= 1e-5. */
function expectOnnxAgrees(name: string, bundle: string): Row[] {
  const b = predict(`${name}-bundle`, bundle);
  const o = predict(`${name}-onnx`, bundle, "--engine", "onnx");
  expect(o.json).toMatchObject({ engine: "onnx", rows: b.rows.length, threats: b.json.threats });
  expect(b.rows).toHaveLength(lines(TEST).length);
  let maxDiff = 0;
  b.rows.forEach((r, i) => {
    expect(o.rows[i]!.prediction, `row ${i + 1} label`).toBe(r.prediction);
    maxDiff = Math.max(maxDiff, Math.abs(Number(r.probability) - Number(o.rows[i]!.probability)));
  });
  expect(maxDiff).toBeLessThanOrEqual(1e-5);
  return b.rows;
}

/** The numbers drawn in the confusion matrix SVG (its cells' counts; every other text is a name). */
function svgNumbers(file: string): number[] {
  const texts = [...readFileSync(file, "utf8").matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
  return texts.filter((t) => /^\d+$/.test(t)).map(Number);
}
const sorted = (a: number[]): number[] => [...a].sort((x, y) => x - y);

describe("netsec train --target category on NSL-KDD (KDDTrain+_20Percent → a quarter of KDDTest+)", () => {
  let j: Record<string, unknown>;
  let stderr: string;
  const bundle = (): string => j.bundle as string;
  const perClass = (): PerClass => j.per_class as PerClass;

  it("trains five classes, reports threat metrics and per-class metrics, verifies the ONNX export", () => {
    const cfg = writeFile(
      tmp.dir,
      "category.yaml",
      [
        "dataset: nsl-kdd",
        "target: category",
        `source: { kind: file, files: [${JSON.stringify(TRAIN_20)}], test_files: [${JSON.stringify(TEST)}] }`,
        "models: [logistic_regression, decision_tree]",
      ].join("\n"),
    );
    const r = runCli(["train", "--config", cfg, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    j = r.json!;
    stderr = r.stderr;
    expect(j).toMatchObject({ status: "FINISHED", target: "category", split: "predefined", champion: true });
    const pc = perClass();
    expect(pc.target).toBe("category");
    // sorted, with the schema's side of each category
    expect(pc.classes).toEqual(["dos", "normal", "probe", "r2l", "u2r"]);
    expect(pc.class_is_threat).toEqual([true, false, true, true, true]);
    expect(pc.unseen.rows).toBe(0); // every KDDTest+ attack has a category
    expect(pc.rows).toBe(lines(TEST).length);
    const test = j.test as Record<string, number>;
    // the threat metrics keep their fields; f1_macro is the per-class table's macro F1
    for (const k of [
      "accuracy",
      "precision",
      "recall",
      "f1",
      "roc_auc",
      "pr_auc",
      "tpr_at_fpr_1pct",
      "threshold",
    ])
      expect(typeof test[k], k).toBe("number");
    expect(test.f1_macro).toBe(pc.macro.f1);
    expect(test.onnx_max_abs_diff).toBeLessThanOrEqual(1e-5);
    const a = j.artifacts as string;
    const saved = JSON.parse(readFileSync(join(a, "model_trainer/test_metrics.json"), "utf8")) as {
      per_class: PerClass;
    };
    expect(saved.per_class).toEqual(pc);
    expect(JSON.parse(readFileSync(join(a, "data_transformation/target_classes.json"), "utf8"))).toEqual({
      target: "category",
      classes: pc.classes,
      class_is_threat: pc.class_is_threat,
    });
    const manifest = JSON.parse(readFileSync(join(bundle(), "bundle.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(manifest).toMatchObject({
      target_mode: "category",
      classes: pc.classes,
      class_labels: pc.classes,
      class_is_threat: pc.class_is_threat,
    });
    expect(Object.keys((manifest.metrics as { test_per_class: object }).test_per_class)).toEqual(pc.classes);
    // the terminal: a row per class with its side, the averages, the matrix
    expect(stderr).toMatch(/^normal\s+benign\s+0\.\d{4}\s+[01]\.\d{4}\s+[01]\.\d{4}\s+\d+$/m);
    expect(stderr).toMatch(/^u2r\s+threat\s+/m);
    expect(stderr).toMatch(/^macro avg\s+/m);
    expect(stderr).toMatch(/^weighted avg\s+/m);
    expect(stderr).toContain("confusion matrix (rows: actual, columns: predicted):");
    expect(stderr).toMatch(new RegExp(`^dos\\s+${pc.confusion[0]!.join("\\s+")}$`, "m"));
  }, 300_000);

  it("per-class metrics and threat metrics equal a recomputation from netsec predict's output", () => {
    const pc = perClass();
    const rows = expectOnnxAgrees("category", bundle());
    const truth = rows.map((r) => CATEGORY[r.label!]!);
    const pred = rows.map((r) => r.prediction!);
    expect(new Set(pred).size).toBeGreaterThan(2);
    expectReport(pc, report(truth, pred, ["dos", "normal", "probe", "r2l", "u2r"]));
    // threat vs benign: the label's side against the predicted category's side, and the side follows
    // the threshold on the probability the bundle wrote
    const said = pred.map((c) => c !== "normal");
    const t = Number(j.threshold);
    rows.forEach((r, i) => {
      const p = Number(r.probability);
      if (Math.abs(p - t) > 1e-6) expect(said[i], `row ${i + 1}: p ${p}, threshold ${t}`).toBe(p >= t);
    });
    const want = threatCounts(
      rows.map((r) => isThreat(r.label!)),
      said,
    );
    const test = j.test as Record<string, number>;
    for (const k of ["precision", "recall", "f1", "accuracy"] as const)
      expect(test[k], k).toBeCloseTo(want[k], 12);
  });

  it("confusion_matrix.svg draws the 5 × 5 counts, one cell each", () => {
    const pc = perClass();
    const numbers = svgNumbers(join(j.artifacts as string, "model_trainer/confusion_matrix.svg"));
    expect(numbers).toHaveLength(25);
    expect(sorted(numbers)).toEqual(sorted(pc.confusion.flat()));
  });
});

describe("netsec train --target label: attacks KDDTest+ has and training lacks", () => {
  // the first 5,000 rows of the 20% file: 16 labels; the test quarter holds many more
  const train = writeFile(tmp.dir, "KDDTrain-5000.txt", `${lines(TRAIN_20).slice(0, 5000).join("\n")}\n`);
  const trainLabels = [...new Set(lines(train).map(labelOf))].sort();
  let j: Record<string, unknown>;

  it("trains on the raw labels, scored on f1_macro; the category champion stays (another class set)", () => {
    const cfg = writeFile(
      tmp.dir,
      "label.yaml",
      [
        "dataset: nsl-kdd",
        `source: { kind: file, files: [${JSON.stringify(train)}], test_files: [${JSON.stringify(TEST)}] }`,
        "models: [logistic_regression, decision_tree]",
        // macro F1 over 16 attack names is far below the default gates; this run is about the target
        "gates: { min_score: 0, max_train_cv_gap: 1 }",
      ].join("\n"),
    );
    const r = runCli(["train", "--config", cfg, "--target", "label", "--scoring", "f1_macro", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    j = r.json!;
    expect(j).toMatchObject({ status: "FINISHED", target: "label", champion: false });
    const pc = j.per_class as PerClass;
    expect(pc.classes).toEqual(trainLabels);
    expect(pc.class_is_threat).toEqual(trainLabels.map(isThreat));
    for (const row of j.leaderboard as { scoring: string }[]) expect(row.scoring).toBe("f1_macro");
    expect((j.test as Record<string, number>).f1_macro).toBe(pc.macro.f1);
    expect(j.warnings as string[]).toContainEqual(
      expect.stringMatching(
        /^not promoted: f1_macro over label classes is not comparable with champion v1's \(a category target\)/,
      ),
    );
    expect(r.stderr).toMatch(/^unseen\s+\d+ rows of \d+ label\(s\) not in training \(/m);
  }, 300_000);

  it("unseen labels: no row in the table, their side in the threat metrics, counted as 'unseen'", () => {
    const pc = j.per_class as PerClass;
    const rows = expectOnnxAgrees("label", j.bundle as string);
    const labels = rows.map((r) => r.label!);
    const pred = rows.map((r) => r.prediction!);
    const unseen = labels.map((l) => !trainLabels.includes(l));
    // KDDTest+'s own novelties are there (e.g. mscan, apache2), and every one is a threat
    expect(unseen.filter(Boolean).length).toBeGreaterThan(500);
    const counts: Record<string, number> = {};
    const predicted: Record<string, number> = {};
    labels.forEach((l, i) => {
      if (!unseen[i]) return;
      counts[l] = (counts[l] ?? 0) + 1;
      predicted[pred[i]!] = (predicted[pred[i]!] ?? 0) + 1;
    });
    expect(counts.mscan).toBeGreaterThan(0);
    expect(pc.unseen).toEqual({
      rows: unseen.filter(Boolean).length,
      threats: labels.filter((l, i) => unseen[i] && isThreat(l)).length,
      threats_flagged: labels.filter((l, i) => unseen[i] && isThreat(l) && isThreat(pred[i]!)).length,
      classes: counts,
      predicted,
    });
    expect(pc.unseen.threats).toBe(pc.unseen.rows);
    const support = pc.classes.reduce((a, c) => a + pc.per_class[c]!.support, 0);
    expect(support + pc.unseen.rows).toBe(rows.length);
    expectReport(pc, report(labels, pred, trainLabels));
    // an unseen attack flagged as any attack is a detected threat; missed as normal, a false negative
    const want = threatCounts(labels.map(isThreat), pred.map(isThreat));
    const test = j.test as Record<string, number>;
    for (const k of ["precision", "recall", "f1", "accuracy"] as const)
      expect(test[k], k).toBeCloseTo(want[k], 12);
    // the matrix: K × K plus one row for the unseen labels
    const numbers = svgNumbers(join(j.artifacts as string, "model_trainer/confusion_matrix.svg"));
    const K = pc.classes.length;
    expect(numbers).toHaveLength(K * K + K);
    expect(sorted(numbers)).toEqual(
      sorted([...pc.confusion.flat(), ...pc.classes.map((c) => predicted[c] ?? 0)]),
    );
    const card = readFileSync(join(j.bundle as string, "model_card.md"), "utf8");
    expect(card).toContain(
      `${pc.unseen.rows} test rows carry ${Object.keys(counts).length} label(s) never seen in training`,
    );
  });
});

describe("labels a category target cannot use", () => {
  it("a label missing from the schema's category map is DATA_INVALID naming file, row and value", () => {
    // the NSL-KDD schema without `smurf: dos`, on the first 300 training rows (row 139 is the first smurf)
    const schema = writeFile(
      tmp.dir,
      "nsl-kdd-nomap.yaml",
      readFileSync(join(ROOT, "datasets/nsl-kdd.yaml"), "utf8")
        .replace(/^name: nsl-kdd$/m, "name: nsl-kdd-nomap")
        .replace(/^\s+smurf: dos\n/m, ""),
    );
    const small = lines(TRAIN_20).slice(0, 300);
    expect(small.findIndex((l) => labelOf(l) === "smurf")).toBe(138);
    const data = writeFile(tmp.dir, "KDDTrain-300.txt", `${small.join("\n")}\n`);
    const r = runCli(["train", "--schema", schema, "--data", data, "--target", "category", "--json"], env);
    expect(r.code).toBe(1);
    expect(r.json!.error).toMatchObject({
      code: "DATA_INVALID",
      details: { file: data, row: 139, column: "label", value: "smurf" },
    });
    expect(r.stderr).toContain(`${data}: row 139: label "smurf" has no category in schema nsl-kdd-nomap`);
  });
});
