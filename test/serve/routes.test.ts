/**
 * The other routes through app.inject(): start page, runs (JSON + HTML + report files), models,
 * health, metrics, OpenAPI + Swagger UI under the CSP, static files, 404s, rate limiting and CORS.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Predictor } from "../../src/bundle/predictor.ts";
import type { RunDetail, RunSource } from "../../src/serve/types.ts";
import { fitFixturePredictor, phishingCsvSlice } from "./fixtures/predictor.ts";
import { makeApp, multipart, type TestApp } from "./helpers.ts";

const RUN_ID = "20250101-120000-abc123";
const run: RunDetail = {
  id: RUN_ID,
  status: "succeeded",
  started: "2025-01-01T12:00:00.000Z",
  finished: "2025-01-01T12:03:00.000Z",
  dataset: "phishing",
  best_model: "random_forest",
  metrics: { f1: 0.96, roc_auc: 0.99 },
  leaderboard: [
    { model: "random_forest", cv_f1: 0.961, test_f1: 0.96 },
    { model: "decision_tree", cv_f1: 0.94, test_f1: "<i>n/a</i>" },
  ],
};
const runs: RunSource = {
  list: () => [run],
  get: (id) => (id === RUN_ID ? run : null),
};

let p: Predictor;
let t: TestApp;

beforeAll(async () => {
  p = await fitFixturePredictor();
  t = await makeApp(p, { runs });
  const root = join(t.home, "artifacts", RUN_ID);
  mkdirSync(join(root, "data_validation", "drift_report"), { recursive: true });
  mkdirSync(join(root, "model_trainer"), { recursive: true });
  writeFileSync(
    join(root, "data_validation", "drift_report", "drift.html"),
    "<html><body>drift</body></html>",
  );
  writeFileSync(
    join(root, "data_validation", "drift_report", "report.yaml"),
    "URL_Length:\n  p_value: 0.5\n  drift_status: false\n",
  );
  writeFileSync(join(root, "model_trainer", "roc.svg"), '<svg xmlns="http://www.w3.org/2000/svg"/>');
});
afterAll(async () => t.close());

describe("start page", () => {
  it("shows the upload form and the champion's card", async () => {
    const r = await t.app.inject({ method: "GET", url: "/" });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('enctype="multipart/form-data"');
    expect(r.body).toContain('action="/predict?format=html"');
    expect(r.body).toContain("phishing-nb:1");
    expect(r.body).toContain("naive_bayes_fixture");
    // the test metrics shown are the manifest's, rounded to 4 places
    expect(r.body).toContain(p.manifest.metrics.test.f1!.toFixed(4));
    expect(r.body).toContain(`${p.manifest.data.train_rows.toLocaleString("en-US")} rows`);
    expect(r.body).toContain('href="/runs"');
    expect(r.body).toContain('href="/docs"');
    expect(r.body).not.toMatch(/<script>|<script [^s]|style=/);
  });

  it("serves its two static files locally, and nothing else from /static", async () => {
    const css = await t.app.inject({ method: "GET", url: "/static/app.css" });
    expect(css.statusCode).toBe(200);
    expect(css.headers["content-type"]).toMatch(/^text\/css/);
    const js = await t.app.inject({ method: "GET", url: "/static/table-sort.js" });
    expect(js.statusCode).toBe(200);
    expect(js.body).toContain("aria-sort");
    for (const u of ["/static/..%2Fapp.ts", "/static/app.ts", "/static/%2e%2e%2f%2e%2e%2fpackage.json"]) {
      const r = await t.app.inject({ method: "GET", url: u });
      expect(r.statusCode).toBe(400);
    }
  });

  it("answers 404 as JSON, or as a page to a browser", async () => {
    const j = await t.app.inject({ method: "GET", url: "/nope" });
    expect(j.statusCode).toBe(404);
    expect(j.json().error.code).toBe("NOT_FOUND");
    const h = await t.app.inject({ method: "GET", url: "/nope", headers: { accept: "text/html" } });
    expect(h.statusCode).toBe(404);
    expect(h.headers["content-type"]).toMatch(/^text\/html/);
  });
});

describe("runs", () => {
  it("GET /runs as JSON and HTML", async () => {
    const j = await t.app.inject({ method: "GET", url: "/runs" });
    expect(j.json()).toEqual({ runs: [run] });
    const h = await t.app.inject({ method: "GET", url: "/runs", headers: { accept: "text/html" } });
    expect(h.statusCode).toBe(200);
    expect(h.body).toContain(`href="/runs/${RUN_ID}"`);
    expect(h.body).toContain("random_forest");
  });

  it("GET /runs/:id: leaderboard, curves and drift report links; values escaped", async () => {
    const j = await t.app.inject({ method: "GET", url: `/runs/${RUN_ID}` });
    expect(j.statusCode).toBe(200);
    expect(j.json().files.sort()).toEqual([
      `/runs/${RUN_ID}/files/drift.html`,
      `/runs/${RUN_ID}/files/report.yaml`,
      `/runs/${RUN_ID}/files/roc.svg`,
    ]);
    const h = await t.app.inject({ method: "GET", url: `/runs/${RUN_ID}?format=html` });
    expect(h.body).toContain("Leaderboard");
    expect(h.body).toContain(`<img src="/runs/${RUN_ID}/files/roc.svg"`);
    expect(h.body).toContain(`href="/runs/${RUN_ID}/files/drift.html"`);
    expect(h.body).toContain("&lt;i&gt;n/a&lt;/i&gt;");
    expect(h.body).not.toContain("<i>n/a</i>");
  });

  it("serves report files from a fixed list, HTML in a CSP sandbox", async () => {
    const d = await t.app.inject({ method: "GET", url: `/runs/${RUN_ID}/files/drift.html` });
    expect(d.statusCode).toBe(200);
    expect(d.headers["content-security-policy"]).toMatch(/^sandbox/);
    const y = await t.app.inject({ method: "GET", url: `/runs/${RUN_ID}/files/report.yaml` });
    expect(y.body).toContain("drift_status");
    const missing = await t.app.inject({ method: "GET", url: `/runs/${RUN_ID}/files/pr.svg` });
    expect(missing.statusCode).toBe(404);
  });

  it("refuses ids and names outside the strict patterns before touching disk", async () => {
    for (const u of [
      "/runs/..%2F..%2Fetc",
      "/runs/a.b",
      `/runs/${RUN_ID}/files/..%2F..%2F..%2Fetc%2Fpasswd`,
      `/runs/${RUN_ID}/files/run.json`,
      "/runs/..%2Fartifacts/files/drift.html",
    ]) {
      const r = await t.app.inject({ method: "GET", url: u });
      expect(r.statusCode).toBe(400);
    }
    expect((await t.app.inject({ method: "GET", url: "/runs/unknown-run" })).statusCode).toBe(404);
    expect(
      (await t.app.inject({ method: "GET", url: "/predictions/..%2F..%2Fetc%2Fpasswd" })).statusCode,
    ).toBe(400);
    expect(
      (await t.app.inject({ method: "GET", url: "/predictions/pred-20250101-120000-0a1b2c3d.csv" }))
        .statusCode,
    ).toBe(404);
  });
});

describe("health and metrics", () => {
  it("liveness and readiness with the model version", async () => {
    expect((await t.app.inject({ method: "GET", url: "/health/live" })).json()).toEqual({ status: "ok" });
    expect((await t.app.inject({ method: "GET", url: "/health/ready" })).json()).toEqual({
      status: "ready",
      model_version: "phishing-nb:1",
    });
  });

  it("Prometheus text: requests and latency per route and status, predictions per label, model info", async () => {
    const fresh = await makeApp(p);
    try {
      const recs = phishingCsvSlice(30);
      const r = await fresh.app.inject({ method: "POST", url: "/predict", ...multipart(recs) });
      const { threats } = r.json();
      await fresh.app.inject({ method: "POST", url: "/predict/records", payload: [] });
      const m = await fresh.app.inject({ method: "GET", url: "/metrics" });
      expect(m.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = m.body;
      expect(text).toContain('netsec_http_requests_total{method="POST",route="/predict",status="200"} 1');
      expect(text).toContain(
        'netsec_http_requests_total{method="POST",route="/predict/records",status="400"} 1',
      );
      expect(text).toContain(
        'netsec_http_request_duration_seconds_count{method="POST",route="/predict",status="200"} 1',
      );
      expect(text).toMatch(
        /netsec_http_request_duration_seconds_bucket\{method="POST",route="\/predict",status="200",le="\+Inf"\} 1/,
      );
      expect(text).toContain(`netsec_predictions_total{label="phishing"} ${threats}`);
      expect(text).toContain(`netsec_predictions_total{label="legitimate"} ${30 - threats}`);
      expect(text).toContain('netsec_model_info{version="phishing-nb:1"} 1');
      expect(text).toContain("netsec_model_loaded 1");
      expect(text).toMatch(/# TYPE netsec_http_request_duration_seconds histogram/);
    } finally {
      await fresh.close();
    }
  });
});

describe("models", () => {
  it("GET /models as JSON and HTML", async () => {
    const j = await t.app.inject({ method: "GET", url: "/models" });
    expect(j.json()).toEqual({ serving: "phishing-nb:1", models: [] });
    const h = await t.app.inject({ method: "GET", url: "/models", headers: { accept: "text/html" } });
    expect(h.body).toContain("Registered models");
  });
});

describe("API docs", () => {
  it("generates OpenAPI from the zod schemas", async () => {
    const r = await t.app.inject({ method: "GET", url: "/docs/json" });
    expect(r.statusCode).toBe(200);
    const doc = r.json();
    expect(doc.openapi).toBe("3.1.0");
    const rec = doc.paths["/predict/records"].post;
    const schema = rec.requestBody.content["application/json"].schema;
    expect(schema.type).toBe("array");
    expect(schema.minItems).toBe(1);
    expect(schema.items.additionalProperties.anyOf ?? schema.items.additionalProperties.type).toBeTruthy();
    expect(
      rec.responses["200"].content["application/json"].schema.properties.predictions.items.properties
        .top_features,
    ).toBeTruthy();
    const upload = doc.paths["/predict"].post.requestBody.content;
    expect(upload["multipart/form-data"].schema.properties.file.format).toBe("binary");
    expect(doc.paths["/train"].post.security).toEqual([{ bearer: [] }]);
    expect(doc.paths["/jobs/{id}"].get.parameters[0].schema.pattern).toBeTruthy();
    expect(doc.paths["/"]).toBeUndefined();
  });

  it("serves Swagger UI and its assets locally with its own CSP (no remote sources)", async () => {
    const page = await t.app.inject({ method: "GET", url: "/docs/" });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("swagger-ui-bundle.js");
    expect(page.body).not.toMatch(/https?:\/\//);
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    const bundle = await t.app.inject({ method: "GET", url: "/docs/static/swagger-ui-bundle.js" });
    expect(bundle.statusCode).toBe(200);
    const init = await t.app.inject({ method: "GET", url: "/docs/static/swagger-initializer.js" });
    expect(init.statusCode).toBe(200);
  });
});

describe("rate limiting and CORS", () => {
  it("429 past the configured rate, health exempt", async () => {
    const limited = await makeApp(p, { rateLimit: { max: 3, timeWindowMs: 60_000 } });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++)
        codes.push((await limited.app.inject({ method: "GET", url: "/models" })).statusCode);
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      const r = await limited.app.inject({ method: "GET", url: "/models" });
      expect(r.json().error.code).toBe("TOO_MANY_REQUESTS");
      expect((await limited.app.inject({ method: "GET", url: "/health/live" })).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it("no CORS headers unless origins are configured; then only for those origins", async () => {
    const plain = await t.app.inject({
      method: "GET",
      url: "/health/live",
      headers: { origin: "https://evil.example" },
    });
    expect(plain.headers["access-control-allow-origin"]).toBeUndefined();
    const cors = await makeApp(p, { corsOrigins: ["https://soc.example"] });
    try {
      const ok = await cors.app.inject({
        method: "OPTIONS",
        url: "/predict/records",
        headers: { origin: "https://soc.example", "access-control-request-method": "POST" },
      });
      expect(ok.statusCode).toBe(204);
      expect(ok.headers["access-control-allow-origin"]).toBe("https://soc.example");
      const other = await cors.app.inject({
        method: "GET",
        url: "/health/live",
        headers: { origin: "https://evil.example" },
      });
      expect(other.headers["access-control-allow-origin"]).toBeUndefined();
    } finally {
      await cors.close();
    }
  });
});

describe("error logging", () => {
  it("a 5xx is logged at error with its cause and answered without internals; a 4xx is logged at info", async () => {
    const broken: Predictor = {
      manifest: p.manifest,
      schema: p.schema,
      version: "broken:1",
      predict: () => {
        throw new Error("secret internal detail: matrix shape 3x4");
      },
      explain: () => [],
    };
    const b = await makeApp(broken);
    try {
      const r = await b.app.inject({ method: "POST", url: "/predict", ...multipart(phishingCsvSlice(3)) });
      expect(r.statusCode).toBe(500);
      expect(r.json().error.code).toBe("INTERNAL");
      expect(r.body).not.toContain("secret internal detail");
      const rid = r.json().error.request_id;
      const errLines = b.logs.map((l) => JSON.parse(l)).filter((l) => l.level === 50);
      expect(
        errLines.some((l) => l.reqId === rid && JSON.stringify(l).includes("secret internal detail")),
      ).toBe(true);
      const bad = await b.app.inject({ method: "POST", url: "/predict", ...multipart("") });
      expect(bad.statusCode).toBe(400);
      const infoLines = b.logs
        .map((l) => JSON.parse(l))
        .filter((l) => l.reqId === bad.json().error.request_id);
      expect(infoLines.length).toBeGreaterThan(0);
      expect(infoLines.every((l) => l.level === 30)).toBe(true);
    } finally {
      await b.close();
    }
  });
});
