/**
 * One unlabelled file with extra columns (an id first, a note last, hostile text in some notes)
 * scored by a real champion through every entry point: `netsec predict` with the bundle engine,
 * with `--engine onnx` and with the onnx/model.onnx path; POST /predict as multipart (JSON), as a
 * text/csv body (CSV) and for a browser (HTML); POST /predict/records. All give the same labels and
 * probabilities (ONNX to the 1e-5 its export is verified to), pass the extra columns through and
 * neutralise the hostile cells in every CSV. The same file with its label column gives the same
 * label metrics everywhere, and a formula in the label column is refused everywhere.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPredictor } from "../../src/bundle/load.ts";
import { ModelRegistry } from "../../src/bundle/registry.ts";
import { silentLogger } from "../../src/core/log.ts";
import { buildApp } from "../../src/serve/app.ts";
import { registryModelSource } from "../../src/serve/model-holder.ts";
import { runCli, trainQuickForest } from "../helpers/cli.ts";
import { PHISHING_CSV, tempDir } from "../helpers/env.ts";
import { multipart } from "../serve/helpers.ts";

const tmp = tempDir("netsec-entry-points-");
const home = join(tmp.dir, "home");
const env = { NETSEC_HOME: home, NETSEC_STORE_URI: undefined };
let app: Awaited<ReturnType<typeof buildApp>>;
let bundleDir: string;

const N = 60;
const HOSTILE = ['=HYPERLINK("http://x")', "@SUM(A1)", "+cmd", "-1"];
const source = readFileSync(PHISHING_CSV, "utf8").trim().split(/\r?\n/);
const header = source[0]!.replace(/"/g, "").split(",");
const data = source.slice(200, 200 + N).map((l) => l.split(","));
const features = header.slice(0, -1);
const note = (i: number): string => (i % 7 === 0 ? HOSTILE[(i / 7) % HOSTILE.length]! : `n${i}`);
const quote = (v: string): string => (/[",]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** id, the 30 features, note (and Result when labelled). */
function csv(labelled: boolean, label = (i: number) => data[i]!.at(-1)!): string {
  const head = ["id", ...features, "note", ...(labelled ? ["Result"] : [])];
  const rows = data.map((r, i) =>
    [`r${i}`, ...r.slice(0, -1), quote(note(i)), ...(labelled ? [quote(label(i))] : [])].join(","),
  );
  return `${[head.join(","), ...rows].join("\n")}\n`;
}

beforeAll(async () => {
  const t = trainQuickForest(env);
  expect(t.code, t.stderr).toBe(0);
  bundleDir = new ModelRegistry(home).resolve("champion").dir;
  app = await buildApp({
    logger: silentLogger,
    home,
    models: registryModelSource(new ModelRegistry(home), (dir, version) => loadPredictor(dir, version)),
    scoringThreads: 1,
    rateLimit: false,
  });
  await app.ready();
}, 300_000);

afterAll(async () => {
  await app?.close();
  tmp.cleanup();
});

interface Scores {
  labels: string[];
  probs: number[];
}

function fromCsv(text: string): { rows: string[][]; scores: Scores } {
  const rows = parse(text) as string[][];
  const h = rows[0]!;
  const body = rows.slice(1);
  const li = h.indexOf("prediction");
  const pi = h.indexOf("probability");
  return { rows, scores: { labels: body.map((r) => r[li]!), probs: body.map((r) => Number(r[pi])) } };
}

function cli(input: string, extra: string[]): { out: string; json: Record<string, unknown> } {
  const output = join(tmp.dir, `out-${extra.join("-").replace(/\W/g, "")}.csv`);
  const r = runCli(["predict", "--input", input, "--output", output, "--json", ...extra], env);
  expect(r.code, r.stderr).toBe(0);
  return { out: readFileSync(output, "utf8"), json: r.json! };
}

describe("an unlabelled file with extra columns, through every entry point", () => {
  it("gives the same labels and probabilities everywhere, the extra columns passed through and neutralised", async () => {
    const text = csv(false);
    const input = join(tmp.dir, "new.csv");
    writeFileSync(input, text);
    const bundle = cli(input, ["--model", "champion"]);
    const onnxEngine = cli(input, ["--model", "champion", "--engine", "onnx"]);
    const onnxPath = cli(input, ["--model", join(bundleDir, "onnx", "model.onnx")]);
    const ref = fromCsv(bundle.out);
    expect(bundle.json.label_metrics).toBeNull();

    // the CSV: the input's columns in order (hostile notes neutralised, numbers untouched), then the two columns
    expect(ref.rows[0]).toEqual(["id", ...features, "note", "prediction", "probability"]);
    ref.rows.slice(1).forEach((r, i) => {
      expect(r.slice(0, 31)).toEqual([`r${i}`, ...data[i]!.slice(0, -1)]);
      const n = note(i);
      expect(r[31]).toBe(n === "-1" || !/^[=+\-@]/.test(n) ? n : `'${n}`);
    });

    for (const other of [onnxEngine, onnxPath]) {
      const o = fromCsv(other.out);
      expect(o.rows.map((r) => r.slice(0, 32))).toEqual(ref.rows.map((r) => r.slice(0, 32)));
      expect(o.scores.labels).toEqual(ref.scores.labels);
      o.scores.probs.forEach((p, i) => {
        expect(Math.abs(p - ref.scores.probs[i]!)).toBeLessThanOrEqual(1e-5);
      });
    }

    // POST /predict, multipart → JSON
    const j = await app.inject({ method: "POST", url: "/predict", ...multipart(text) });
    expect(j.statusCode, j.body).toBe(200);
    const body = j.json();
    expect(body.label_metrics).toBeNull();
    body.predictions.forEach((q: { label: string; probability: number; passthrough: unknown }, i: number) => {
      expect(q.label).toBe(ref.scores.labels[i]);
      expect(q.probability).toBeCloseTo(ref.scores.probs[i]!, 7);
      expect(q.passthrough).toEqual({ id: `r${i}`, note: note(i) });
    });
    // text/csv body → CSV: the same rows as the CLI wrote
    const c = await app.inject({
      method: "POST",
      url: "/predict?format=csv",
      headers: { "content-type": "text/csv" },
      payload: text,
    });
    expect(c.statusCode).toBe(200);
    const served = fromCsv(c.body);
    expect(served.rows.map((r) => r.slice(0, 32))).toEqual(ref.rows.map((r) => r.slice(0, 32)));
    expect(served.scores.labels).toEqual(ref.scores.labels);
    served.scores.probs.forEach((p, i) => {
      expect(p).toBeCloseTo(ref.scores.probs[i]!, 7);
    });
    expect(readFileSync(join(home, "prediction_output", "output.csv"), "utf8")).toBe(c.body);
    // a browser → HTML: as many threat rows
    const h = await app.inject({ method: "POST", url: "/predict?format=html", ...multipart(text) });
    expect(h.statusCode).toBe(200);
    const threats = ref.scores.labels.filter((l) => l === "-1").length;
    expect(h.body.match(/<tr class="threat">/g)?.length ?? 0).toBe(threats);
    expect(bundle.json.threats).toBe(threats);

    // POST /predict/records with the same extra keys
    const records = data.map((r, i) => ({
      id: `r${i}`,
      note: note(i),
      ...Object.fromEntries(features.map((f, k) => [f, Number(r[k])])),
    }));
    const rec = await app.inject({
      method: "POST",
      url: "/predict/records?top_features=0",
      payload: records,
    });
    expect(rec.statusCode, rec.body).toBe(200);
    rec
      .json()
      .predictions.forEach((q: { label: string; probability: number; passthrough: unknown }, i: number) => {
        expect(q.label).toBe(ref.scores.labels[i]);
        expect(q.probability).toBe(body.predictions[i].probability);
        expect(q.passthrough).toEqual({ id: `r${i}`, note: note(i) });
      });
  });

  it("with its label column: the same label metrics everywhere; a formula as a label is refused everywhere", async () => {
    const text = csv(true);
    const input = join(tmp.dir, "labelled.csv");
    writeFileSync(input, text);
    const bundle = cli(input, ["--model", "champion"]);
    const onnx = cli(input, ["--model", "champion", "--engine", "onnx"]);
    const m = bundle.json.label_metrics as Record<string, number>;
    // by hand from the file's labels and the CLI's predictions
    const predicted = fromCsv(bundle.out).scores.labels;
    const truth = data.map((r) => r.at(-1)!);
    expect(m.labelled_rows).toBe(N);
    expect(m.accuracy).toBeCloseTo(truth.filter((y, i) => y === predicted[i]).length / N, 12);
    expect(onnx.json.label_metrics).toEqual(bundle.json.label_metrics);
    const j = (await app.inject({ method: "POST", url: "/predict", ...multipart(text) })).json();
    const { source: _a, ...fromServe } = j.label_metrics;
    const { source: _b, ...fromCli } = m as unknown as Record<string, unknown>;
    expect(fromServe).toEqual(fromCli);

    const bad = csv(true, (i) => (i === 4 ? '=HYPERLINK("x")' : data[i]!.at(-1)!));
    const badFile = join(tmp.dir, "bad-label.csv");
    writeFileSync(badFile, bad);
    for (const engine of ["bundle", "onnx"]) {
      const r = runCli(["predict", "--model", "champion", "--engine", engine, "--input", badFile], env);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`${badFile}, row 5, column Result: "=HYPERLINK(\\"x\\")"`);
    }
    const s = await app.inject({ method: "POST", url: "/predict", ...multipart(bad) });
    expect(s.statusCode).toBe(422);
    expect(s.json().error.details).toMatchObject({ row: 5, column: "Result", value: '=HYPERLINK("x")' });
  });

  it("--top-features k: each threat row's top features as POST /predict/records gives them; none for other rows", async () => {
    const text = csv(false);
    const input = join(tmp.dir, "explain.csv");
    writeFileSync(input, text);
    const k = 2;
    const { rows } = fromCsv(cli(input, ["--model", "champion", "--top-features", String(k)]).out);
    const h = rows[0]!;
    expect(h.slice(-3)).toEqual(["prediction", "probability", "top_features"]);
    const records = data.map((r) => Object.fromEntries(features.map((f, j) => [f, Number(r[j])])));
    const rec = await app.inject({
      method: "POST",
      url: `/predict/records?top_features=${k}`,
      payload: records,
    });
    expect(rec.statusCode, rec.body).toBe(200);
    type Why = { feature: string; value: unknown; contribution: number };
    const served = rec.json().predictions as { is_threat: boolean; top_features: Why[] }[];
    let explained = 0;
    rows.slice(1).forEach((r, i) => {
      const cell = r[h.length - 1]!;
      if (!served[i]!.is_threat) {
        expect(cell).toBe("");
        return;
      }
      explained++;
      const parts = cell.split("; ").map((x) => /^(.+)=(.*) \(([+-][0-9.e+-]+)\)$/.exec(x));
      expect(parts).toHaveLength(k);
      parts.forEach((m, j) => {
        expect(m, cell).not.toBeNull();
        const want = served[i]!.top_features[j]!;
        expect(m![1]).toBe(want.feature);
        // the value is the row's own value of that column
        expect(m![2]).toBe(data[i]![features.indexOf(want.feature)]);
        expect(Number(m![3])).toBeCloseTo(want.contribution, 3);
      });
    });
    expect(explained).toBeGreaterThan(0);
    // onnxruntime has no contributions: asked for them, the ONNX engine refuses
    const r = runCli(
      ["predict", "--model", "champion", "--engine", "onnx", "--input", input, "--top-features", "3"],
      env,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--top-features needs netsec's bundle engine");
    const bad = runCli(["predict", "--model", "champion", "--input", input, "--top-features", "0"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--top-features must be a whole number from 1 to 10, got "0"');
  });
});
