/**
 * Fuzzing the API with fast-check: 1,700 generated malformed uploads and JSON bodies (CSV uploads,
 * records, pipeline configs for POST /train with a valid token). Property: never a 5xx, never a crash
 * (the server still answers afterwards), every 4xx is the catalogue's error shape, and a rejected
 * upload writes nothing. Seeded, so a failure replays.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PipelineConfigSchema } from "../../src/pipeline/config.ts";
import { anyUpload, fuzzHeader as header, fuzzRows as rows } from "./fixtures/fuzz-inputs.ts";
import { fitFixturePredictor, phishingCsvSlice } from "./fixtures/predictor.ts";
import { makeApp, multipart, type TestApp, TOKEN } from "./helpers.ts";

let t: TestApp;

beforeAll(async () => {
  t = await makeApp(await fitFixturePredictor(), {
    limits: { maxUploadBytes: 64 * 1024, maxUploadRows: 200, maxRowChars: 2048, maxRecords: 50 },
  });
});
afterAll(async () => t.close());

/** Files kept under prediction_output/ (a rejected request must add none). */
function kept(): number {
  const dir = join(t.home, "prediction_output");
  return existsSync(dir) ? readdirSync(dir).length : 0;
}

function checkAnswer(status: number, body: string, contentType: unknown): void {
  expect(status).toBeLessThan(500);
  if (status >= 400 && String(contentType).startsWith("application/json")) {
    const e = JSON.parse(body).error;
    expect(typeof e.code).toBe("string");
    expect(e.status).toBe(status);
    expect(typeof e.message).toBe("string");
  }
}

describe("fuzz: malformed CSV uploads never cause a 5xx", () => {
  it("multipart uploads with mutated content, names and types (600 runs)", async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        anyUpload,
        fc.constantFrom(
          "data.csv",
          "data.csv",
          "x.txt",
          "a.png",
          "",
          "../../etc/passwd",
          "<b>.csv",
          "résumé.csv",
        ),
        fc.constantFrom(
          "text/csv",
          "text/csv",
          "application/vnd.ms-excel",
          "application/octet-stream",
          "image/png",
          "",
          "text/csv; charset=latin1",
        ),
        fc.constantFrom("json", "html", "csv"),
        async (content, filename, type, format) => {
          const mp = multipart(content, { filename, type });
          const before = kept();
          const r = await t.app.inject({ method: "POST", url: `/predict?format=${format}`, ...mp });
          statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
          checkAnswer(r.statusCode, r.body, r.headers["content-type"]);
          // nothing written for a rejected request; an accepted one keeps its output
          if (r.statusCode >= 400) expect(kept()).toBe(before);
          else expect(kept()).toBeGreaterThan(0);
        },
      ),
      { numRuns: 600, seed: 20250101 },
    );
    // the generators reach every layer: accepted files, parse errors, schema errors, wrong media types
    for (const s of [200, 400, 415, 422]) expect(statuses.get(s) ?? 0).toBeGreaterThan(5);
  });

  it("raw multipart bytes corrupted: boundaries, headers, truncation (250 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat()),
        fc.constantFrom(
          "multipart/form-data; boundary=----netsecTestBoundary7MA4YWxkTrZu0gW",
          "multipart/form-data",
          "multipart/form-data; boundary=",
          "multipart/mixed; boundary=x",
        ),
        async (flips, cut, ctype) => {
          const { payload } = multipart(phishingCsvSlice(3));
          const b = Buffer.from(payload);
          for (const [pos, byte] of flips) b[pos % b.length] = byte;
          const body = cut === null ? b : b.subarray(0, cut % b.length);
          const before = kept();
          const r = await t.app.inject({
            method: "POST",
            url: "/predict",
            headers: { "content-type": ctype },
            payload: body,
          });
          checkAnswer(r.statusCode, r.body, r.headers["content-type"]);
          if (r.statusCode >= 400) expect(kept()).toBe(before);
        },
      ),
      { numRuns: 250, seed: 7 },
    );
  });

  it("text/csv bodies (100 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(anyUpload, async (content) => {
        const before = kept();
        const r = await t.app.inject({
          method: "POST",
          url: "/predict",
          headers: { "content-type": "text/csv" },
          payload: content,
        });
        checkAnswer(r.statusCode, r.body, r.headers["content-type"]);
        if (r.statusCode >= 400) expect(kept()).toBe(before);
      }),
      { numRuns: 100, seed: 11 },
    );
  });
});

describe("fuzz: malformed JSON bodies never cause a 5xx", () => {
  const validRecord = (): Record<string, unknown> =>
    Object.fromEntries(header.map((h, i) => [h.replace(/"/g, ""), Number(rows[0]![i])]));

  it("records with mutated keys and values (300 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            drop: fc.option(fc.nat(30)),
            set: fc.array(
              fc.tuple(
                fc.oneof(
                  fc.nat(30).map((i) => header[i]!.replace(/"/g, "")),
                  fc.string({ maxLength: 8 }),
                ),
                fc.jsonValue({ maxDepth: 2 }),
              ),
              { maxLength: 3 },
            ),
          }),
          { minLength: 0, maxLength: 60 },
        ),
        async (muts) => {
          const body = muts.map((m) => {
            const rec = validRecord();
            if (m.drop !== null) delete rec[Object.keys(rec)[m.drop % 31]!];
            for (const [k, v] of m.set) rec[k] = v;
            return rec;
          });
          const r = await t.app.inject({ method: "POST", url: "/predict/records", payload: body });
          checkAnswer(r.statusCode, r.body, r.headers["content-type"]);
        },
      ),
      { numRuns: 300, seed: 3 },
    );
  });

  it("arbitrary JSON and arbitrary text with a JSON content type (150 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v) ?? "null"),
          fc.string({ maxLength: 200 }),
        ),
        fc.constantFrom("/predict/records", "/train"),
        async (text, url) => {
          const r = await t.app.inject({
            method: "POST",
            url,
            headers: { "content-type": "application/json", authorization: "Bearer x" },
            payload: text,
          });
          checkAnswer(r.statusCode, r.body, r.headers["content-type"]);
        },
      ),
      { numRuns: 150, seed: 5 },
    );
  });

  it("POST /train with the token: mutated pipeline configs and arbitrary JSON (300 runs)", async () => {
    // training set up as `netsec serve` does (the real config schema); the job itself is the small
    // fixture trainer, so the configs that pass validation start a real, short job
    const tt = await makeApp(await fitFixturePredictor(), {
      training: {
        runner: {
          module: fileURLToPath(new URL("./fixtures/train-job.ts", import.meta.url)),
          export: "trainFixture",
        },
        configSchema: PipelineConfigSchema,
      },
    });
    const base = {
      dataset: "phishing",
      models: ["random_forest", "logistic_regression"],
      search: { kind: "grid", cv: 3, scoring: "f1" },
      split: { kind: "stratified", test_size: 0.2 },
      gates: { min_score: 0.6 },
    };
    const keys = [
      "dataset",
      "models",
      "search",
      "search.cv",
      "search.scoring",
      "search.grids",
      "split.kind",
      "split.test_size",
      "gates.min_score",
      "seed",
      "model_name",
      "source",
      "threshold.strategy",
      "unknown_key",
    ];
    const statuses = new Map<number, number>();
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc
              .array(fc.tuple(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 2 })), { maxLength: 3 })
              .map((muts) => {
                const cfg = structuredClone(base) as Record<string, unknown>;
                for (const [k, v] of muts) {
                  const [a, b] = k.split(".");
                  if (b === undefined) cfg[a!] = v;
                  else cfg[a!] = { ...((cfg[a!] as object) ?? {}), [b]: v };
                }
                return JSON.stringify(cfg);
              }),
            fc.jsonValue().map((v) => JSON.stringify(v) ?? "null"),
            fc.string({ maxLength: 100 }),
          ),
          async (text) => {
            const r = await tt.app.inject({
              method: "POST",
              url: "/train",
              headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
              payload: text,
            });
            statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
            checkAnswer(r.statusCode, r.body, r.headers["content-type"]);
            expect([202, 400, 409, 413, 415]).toContain(r.statusCode);
          },
        ),
        { numRuns: 300, seed: 13 },
      );
      // the bodies reach validation errors and real jobs
      expect(statuses.get(400) ?? 0).toBeGreaterThan(50);
      expect((statuses.get(202) ?? 0) + (statuses.get(409) ?? 0)).toBeGreaterThan(0);
    } finally {
      await tt.close();
    }
  });

  it("the server still answers after all of it", async () => {
    expect((await t.app.inject({ method: "GET", url: "/health/ready" })).statusCode).toBe(200);
    const r = await t.app.inject({ method: "POST", url: "/predict/records", payload: [validRecord()] });
    expect(r.statusCode).toBe(200);
    const logs = t.logs.filter((l) => l.includes('"level":50'));
    expect(logs).toEqual([]);
  });
});
