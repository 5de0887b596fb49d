/**
 * Fuzzing the API with fast-check: 1,700 generated malformed uploads and JSON bodies (CSV uploads,
 * records, pipeline configs for POST /train with a valid token) through app.inject, and 4,400
 * malformed requests across every route over real HTTP to a server in its own process, whose memory
 * is measured. Property: never a 5xx, never a crash (the server still answers afterwards), every 4xx
 * is the catalogue's error shape, a rejected upload writes nothing, and memory returns to its idle
 * level. Seeded, so a failure replays.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PipelineConfigSchema } from "../../src/pipeline/config.ts";
import { CAN_READ_RSS, CHILD_RUN_ID, type ChildServer, startChildServer } from "./child-server.ts";
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

/**
 * Every route over real HTTP, against a server in its own process (test/serve/child-server.ts): 2,200
 * generated malformed requests (methods, paths, query strings, headers, content types and bodies:
 * JSON nested up to 6,000 deep, numbers beyond a double, broken multipart, mutated CSV, arbitrary
 * bytes). Property: no answer >= 500, every JSON error in the catalogue's shape. Then the server's
 * RSS, read from /proc after a garbage collection in the server, is within 20% of its idle level
 * (read the same way after one pass over every route). RSS of a separate process rather than this
 * process's memoryUsage: it counts everything the server holds (buffers, sockets, threads), and
 * nothing of the test's own.
 */
describe.skipIf(!CAN_READ_RSS)("fuzz: every route over HTTP, then memory back to idle", () => {
  let s: ChildServer;
  beforeAll(async () => {
    s = await startChildServer({ maxUploadBytes: 256 * 1024, maxRecords: 100 });
  }, 60_000);
  afterAll(async () => s?.stop());

  const ROUTES = [
    "/",
    "/predict",
    "/predict/records",
    "/train",
    "/jobs/job-0123456789abcdef",
    "/runs",
    `/runs/${CHILD_RUN_ID}`,
    `/runs/${CHILD_RUN_ID}/files/drift.html`,
    "/models",
    "/health/live",
    "/health/ready",
    "/metrics",
    "/docs",
    "/docs/json",
    "/static/app.css",
    "/predictions/pred-20250101-120000-0a1b2c3d.csv",
    "/favicon.ico",
  ];
  const segment = fc.oneof(
    fc.constantFrom("..", "%2e%2e", "%00", "%", "%E0%A4%A", "a".repeat(300), "<script>", "~", "", "%2F"),
    fc.string({ unit: fc.constantFrom(..."abc-_.~%/0123456789"), maxLength: 20 }),
  );
  const path = fc.oneof(
    { arbitrary: fc.constantFrom(...ROUTES), weight: 3 },
    { arbitrary: fc.tuple(fc.constantFrom(...ROUTES), segment).map(([r, x]) => `${r}/${x}`), weight: 1 },
    { arbitrary: fc.tuple(fc.constantFrom(...ROUTES), segment).map(([r, x]) => `${r}${x}`), weight: 1 },
  );
  const queryValue = fc.oneof(
    fc.constantFrom(
      "json",
      "html",
      "csv",
      "xml",
      "0x5",
      "1e1",
      "1e400",
      "-1",
      "99999999999999999999",
      "",
      "%",
      "NaN",
    ),
    fc.string({ unit: fc.constantFrom(..."abc019%[]=&+"), maxLength: 12 }),
  );
  const query = fc
    .array(
      fc.tuple(
        fc.constantFrom("format", "top_features", "limit", "a[b][c]", "x".repeat(50), "__proto__"),
        queryValue,
      ),
      { maxLength: 4 },
    )
    .map((qs) => (qs.length ? `?${qs.map(([k, v]) => `${k}=${v}`).join("&")}` : ""));
  /** Arrays or objects nested up to 6,000 deep: bare, as a record's value, or as a record. */
  const deepJson = fc
    .tuple(fc.integer({ min: 1, max: 6000 }), fc.boolean(), fc.constantFrom("bare", "value", "record"))
    .map(([n, arr, where]) => {
      const deep = arr ? `${"[".repeat(n)}${"]".repeat(n)}` : `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
      return where === "bare" ? deep : where === "value" ? `[{"URL_Length":${deep}}]` : `[${deep}]`;
    });
  const hugeNumbers = fc
    .constantFrom("1e400", "-1e999", "9".repeat(400), "1e308", "5e-400")
    .map((n) => `[{"URL_Length":${n},"having_IP_Address":${n}}]`);
  const badMultipart = fc
    .tuple(
      anyUpload,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.boolean(),
    )
    .map(([content, flips, second]) => {
      const one = multipart(content);
      const b = Buffer.from(one.payload);
      for (const [pos, byte] of flips) b[pos % b.length] = byte;
      // a second file part after the first
      return second ? Buffer.concat([b.subarray(0, b.length - 4), Buffer.from("\r\n"), b]) : b;
    });
  const body = fc.oneof(
    deepJson.map((t) => Buffer.from(t)),
    hugeNumbers.map((t) => Buffer.from(t)),
    fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? "null")),
    anyUpload,
    badMultipart,
    fc.string({ maxLength: 200 }).map((t) => Buffer.from(t)),
    fc.constant(Buffer.alloc(0)),
  );
  const contentType = fc.constantFrom(
    "application/json",
    "application/json; charset=utf-8",
    "text/csv",
    "multipart/form-data; boundary=----netsecTestBoundary7MA4YWxkTrZu0gW",
    "multipart/form-data",
    "application/x-www-form-urlencoded",
    "text/plain",
    "application/xml",
    "image/png",
    "",
  );
  const headers = fc.record({
    "content-type": contentType,
    accept: fc.constantFrom(
      "application/json",
      "text/html",
      "text/csv",
      "*/*",
      "image/*",
      "",
      "text/html;q=0,x",
    ),
    authorization: fc.constantFrom(
      `Bearer ${TOKEN}`,
      "Bearer wrong",
      "Basic dXNlcjpwYXNz",
      "Bearer",
      "",
      "x".repeat(500),
    ),
  });
  /** Anything at all: any method, path, headers and body. */
  const anything = fc.record({
    method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
    path,
    query,
    headers,
    body,
  });
  /** A CSV over the child's 256 KiB upload limit (a 413 when it reaches the parser). */
  const bigCsv = fc.integer({ min: 3600, max: 4000 }).map((n) => Buffer.from(phishingCsvSlice(n)));
  const recordsBodies = fc.oneof(
    deepJson.map((t) => Buffer.from(t)),
    hugeNumbers.map((t) => Buffer.from(t)),
    fc.array(fc.tuple(fc.nat(30), fc.jsonValue({ maxDepth: 2 })), { maxLength: 3 }).map((muts) => {
      const rec: Record<string, unknown> = Object.fromEntries(
        header.map((h, i) => [h.replace(/"/g, ""), Number(rows[0]![i])]),
      );
      for (const [k, v] of muts) rec[header[k]!.replace(/"/g, "")] = v;
      return Buffer.from(JSON.stringify([rec]));
    }),
  );
  const trainBodies = fc.oneof(
    deepJson.map((t) => Buffer.from(t)),
    fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? "null")),
    fc
      .constantFrom("flows.csv", "../../etc/passwd", "/etc/passwd", "", "%00")
      .map((f) => Buffer.from(JSON.stringify({ source: { kind: "file", files: [f] } }))),
  );
  /** Requests aimed at a route with its own method and content type, so they reach its checks. */
  const targeted = fc.oneof(
    fc.record({
      method: fc.constant("POST"),
      path: fc.constant("/predict"),
      query,
      headers: fc.record({
        "content-type": fc.constantFrom(
          "text/csv",
          "multipart/form-data; boundary=----netsecTestBoundary7MA4YWxkTrZu0gW",
        ),
        accept: fc.constantFrom("application/json", "text/html", "text/csv"),
        authorization: fc.constant(""),
      }),
      body: fc.oneof(anyUpload, badMultipart, bigCsv),
    }),
    fc.record({
      method: fc.constant("POST"),
      path: fc.constant("/predict/records"),
      query,
      headers: fc.record({
        "content-type": fc.constant("application/json"),
        accept: fc.constantFrom("application/json", "text/html"),
        authorization: fc.constant(""),
      }),
      body: recordsBodies,
    }),
    fc.record({
      method: fc.constant("POST"),
      path: fc.constant("/train"),
      query: fc.constant(""),
      headers: fc.record({
        "content-type": fc.constant("application/json"),
        accept: fc.constant("application/json"),
        authorization: fc.constantFrom(`Bearer ${TOKEN}`, "Bearer wrong", ""),
      }),
      body: trainBodies,
    }),
    fc.record({
      method: fc.constant("GET"),
      // the routes, and path parameters over fastify's 100 characters (414)
      path: fc.constantFrom(...ROUTES, `/runs/${"r".repeat(300)}`, `/jobs/${"j".repeat(200)}`),
      query,
      headers,
      body: fc.constant(Buffer.alloc(0)),
    }),
  );
  const request = fc.oneof({ arbitrary: targeted, weight: 3 }, { arbitrary: anything, weight: 2 });

  /** Send one generated request; its answer must be < 500 and, as JSON, in the error shape. */
  async function send(q: typeof request extends fc.Arbitrary<infer T> ? T : never): Promise<number> {
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(q.headers)) if (v !== "") h[k] = v;
    const hasBody = q.method !== "GET" && q.method !== "HEAD";
    const r = await fetch(`${s.url}${q.path}${q.query}`, {
      method: q.method,
      headers: h,
      ...(hasBody ? { body: new Uint8Array(q.body) } : {}),
    });
    const text = await r.text();
    expect(r.status, `${q.method} ${q.path}${q.query}: ${text.slice(0, 300)}`).toBeLessThan(500);
    // (a HEAD answer has the headers of the GET answer and no body)
    const json = (r.headers.get("content-type") ?? "").startsWith("application/json");
    if (r.status >= 400 && json && q.method !== "HEAD") {
      const e = JSON.parse(text).error;
      expect(typeof e.code).toBe("string");
      expect(e.status).toBe(r.status);
    }
    return r.status;
  }

  it("2 x 2,200 malformed requests: no answer >= 500; RSS back within 20% of idle", async () => {
    // Two idle levels, each read after a collection in the server. Cold: right after one request to
    // each route. Warm: after a first round of 2,200 requests from the same generators (another seed).
    // Measured here: the first round raises the RSS once, by 50-70 MiB of a 215 MiB process, while
    // the live heap after a collection is back to its idle size: V8 sizes its heap for the bursts
    // and the C allocator keeps freed pages (an upload's buffers, the HTML pages) for reuse. Later
    // rounds add nothing (280, 271, 277 MiB after three). So the property is asserted against the
    // warm level: 2,200 more requests leave the RSS within 20% of it and the live heap within 20%
    // of its idle size; the cold level only bounds the one-time growth (at most 128 MiB).
    for (const r of ROUTES) await (await fetch(`${s.url}${r}`)).arrayBuffer();
    await s.gc();
    const cold = s.rssMb();
    await fc.assert(
      fc.asyncProperty(request, async (q) => {
        await send(q);
      }),
      { numRuns: 2200, seed: 1 },
    );
    const idleHeap = (await s.gc()).heapUsed;
    const idle = s.rssMb();
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (q) => {
        const status = await send(q);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }),
      { numRuns: 2200, seed: 20261206 },
    );
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(2200);
    // the generators reach successes and every kind of refusal
    for (const c of [200, 400, 401, 403, 404, 413, 414, 415, 422])
      expect(statuses.get(c) ?? 0, String(c)).toBeGreaterThan(0);
    const heap = (await s.gc()).heapUsed;
    const after = s.rssMb();
    expect(after, `idle ${idle.toFixed(1)} MiB, after ${after.toFixed(1)} MiB`).toBeLessThanOrEqual(
      idle * 1.2,
    );
    expect(heap, `live heap idle ${idleHeap} B, after ${heap} B`).toBeLessThanOrEqual(idleHeap * 1.2);
    expect(after - cold, `cold ${cold.toFixed(1)} MiB, after ${after.toFixed(1)} MiB`).toBeLessThan(128);
  }, 300_000);
});
