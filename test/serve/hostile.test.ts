/**
 * Hostile requests answered as a user's mistake, in the one error shape: JSON nested 5,000 deep (a 400
 * naming the depth limit, not a stack overflow), numbers beyond a double, query numbers in other
 * spellings, an over-long path parameter (414), the rate limit's message and Retry-After, and the cap
 * on scoring work in flight (503 with Retry-After once the queue is full).
 */
import { connect } from "node:net";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Predictor } from "../../src/bundle/predictor.ts";
import { firstNonFiniteNumber, jsonTooDeepAt, MAX_JSON_DEPTH } from "../../src/serve/json-body.ts";
import { ScoringGate } from "../../src/serve/scoring-gate.ts";
import { fitFixturePredictor, phishingCsvSlice } from "./fixtures/predictor.ts";
import { makeApp, type TestApp, TOKEN } from "./helpers.ts";

let p: Predictor;
let t: TestApp;

beforeAll(async () => {
  p = await fitFixturePredictor();
  t = await makeApp(p);
});
afterAll(async () => t.close());

/** The first n phishing rows as JSON records. */
function records(n: number): Record<string, number>[] {
  const lines = phishingCsvSlice(n).trim().split("\n");
  const h = lines[0]!.replace(/"/g, "").split(",");
  return lines.slice(1).map((l) => Object.fromEntries(l.split(",").map((v, i) => [h[i]!, Number(v)])));
}

function errorOf(body: string): {
  code: string;
  status: number;
  message: string;
  details: Record<string, unknown>;
} {
  return JSON.parse(body).error;
}

describe("JSON nesting depth", () => {
  it("jsonTooDeepAt counts brackets outside strings only", () => {
    expect(jsonTooDeepAt("[[1]]", 2)).toBe(-1);
    expect(jsonTooDeepAt("[[1]]", 1)).toBe(1);
    expect(jsonTooDeepAt('{"a":{"b":[]}}', 2)).toBe(10);
    // brackets in strings, escaped quotes and backslashes do not count
    expect(jsonTooDeepAt('["[[[[", "\\"[[[", "\\\\"]', 1)).toBe(-1);
    expect(jsonTooDeepAt('["\\\\", [2]]', 1)).toBe(7);
    // closing brackets bring the depth back down
    expect(jsonTooDeepAt("[[]][[]][[]]", 2)).toBe(-1);
    expect(jsonTooDeepAt("[]".repeat(1000), 1)).toBe(-1);
  });

  const N = 5000;
  const arr = `${"[".repeat(N)}${"]".repeat(N)}`;
  const obj = `${'{"a":'.repeat(N)}1${"}".repeat(N)}`;
  const bodies: Record<string, string> = {
    "an array 5,000 deep": arr,
    "an object 5,000 deep": obj,
    "a record with a value 5,000 deep": `[{"x":${arr}}]`,
    "a record list holding a deep object": `[${obj}]`,
  };
  for (const [name, body] of Object.entries(bodies)) {
    for (const url of ["/predict/records", "/train"]) {
      it(`${name} to ${url}: 400 naming the limit (JSON and HTML answers)`, async () => {
        const r = await t.app.inject({
          method: "POST",
          url,
          headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
          payload: body,
        });
        expect(r.statusCode).toBe(400);
        const e = errorOf(r.body);
        expect(e.code).toBe("BAD_REQUEST");
        expect(e.message).toContain(`nested more than ${MAX_JSON_DEPTH} levels`);
        expect(e.details).toMatchObject({ part: "body", limit: MAX_JSON_DEPTH });
        const html = await t.app.inject({
          method: "POST",
          url,
          headers: {
            "content-type": "application/json",
            accept: "text/html",
            authorization: `Bearer ${TOKEN}`,
          },
          payload: body,
        });
        expect(html.statusCode).toBe(400);
        expect(html.body).toContain(`nested more than ${MAX_JSON_DEPTH} levels`);
      });
    }
  }

  it("a body at the limit is parsed as usual (its own validation answers)", async () => {
    const atLimit = `[{"x":${"[".repeat(MAX_JSON_DEPTH - 2)}${"]".repeat(MAX_JSON_DEPTH - 2)}}]`;
    const r = await t.app.inject({
      method: "POST",
      url: "/predict/records",
      headers: { "content-type": "application/json" },
      payload: atLimit,
    });
    expect(r.statusCode).toBe(400);
    expect(errorOf(r.body).message).not.toContain("nested");
    // and fastify's own checks still run: an empty body and prototype poisoning
    const empty = await t.app.inject({
      method: "POST",
      url: "/predict/records",
      headers: { "content-type": "application/json" },
      payload: "",
    });
    expect(empty.statusCode).toBe(400);
    const proto = await t.app.inject({
      method: "POST",
      url: "/predict/records",
      headers: { "content-type": "application/json" },
      payload: '[{"__proto__":{"x":1}}]',
    });
    expect(proto.statusCode).toBe(400);
  });
});

describe("numbers beyond a double", () => {
  it("firstNonFiniteNumber finds the literal, its key and its record", () => {
    expect(firstNonFiniteNumber('[{"a":1e300,"b":"1e400"}]')).toBeNull();
    expect(firstNonFiniteNumber('[{"a":1},{"b":2,"c":-1e400}]')).toEqual({
      literal: "-1e400",
      key: "c",
      row: 2,
    });
    expect(firstNonFiniteNumber(`{"n":${"9".repeat(400)}}`)).toEqual({ literal: "9".repeat(400), key: "n" });
  });

  it("1e400 in a record: a 400 quoting 1e400 as not a finite number, with its record and column", async () => {
    const recs = records(3) as Record<string, unknown>[];
    recs[1]!.URL_Length = "HUGE";
    const text = JSON.stringify(recs).replace('"HUGE"', "1e400");
    const r = await t.app.inject({
      method: "POST",
      url: "/predict/records",
      headers: { "content-type": "application/json" },
      payload: text,
    });
    expect(r.statusCode).toBe(400);
    const e = errorOf(r.body);
    expect(e.message).toContain("record 2");
    expect(e.message).toContain("URL_Length");
    expect(e.message).toContain("1e400 is not a finite number");
    expect(e.message).not.toContain("null");
    expect(e.details).toMatchObject({ row: 2, column: "URL_Length", value: "1e400" });
  });
});

describe("query numbers", () => {
  it("top_features takes plain digits 0..10 only", async () => {
    const recs = records(2);
    for (const ok of ["0", "5", "10"]) {
      const r = await t.app.inject({
        method: "POST",
        url: `/predict/records?top_features=${ok}`,
        payload: recs,
      });
      expect(r.statusCode, ok).toBe(200);
      expect(r.json().predictions[0].top_features).toHaveLength(Number(ok));
    }
    for (const bad of ["0x5", "1e1", "5.0", "+5", "%205", "05", "11", "-1", ""]) {
      const r = await t.app.inject({
        method: "POST",
        url: `/predict/records?top_features=${bad}`,
        payload: recs,
      });
      expect(r.statusCode, bad).toBe(400);
      expect(errorOf(r.body).message).toContain("top_features");
    }
  });
});

describe("errors fastify answers before routing", () => {
  it("a path parameter over 100 characters: 414 in the netsec error shape", async () => {
    const r = await t.app.inject({ method: "GET", url: `/runs/${"a".repeat(300)}` });
    expect(r.statusCode).toBe(414);
    expect(r.headers["content-type"]).toMatch(/^application\/json/);
    const e = errorOf(r.body);
    expect(e).toMatchObject({ code: "URI_TOO_LONG", status: 414 });
    expect(typeof JSON.parse(r.body).error.request_id).toBe("string");
  });

  it("a malformed URL: 400 in the netsec error shape", async () => {
    const r = await t.app.inject({ method: "GET", url: "/runs/%E0%A4%A" });
    expect(r.statusCode).toBe(400);
    expect(errorOf(r.body).code).toBe("BAD_REQUEST");
  });
});

describe("errors Node's HTTP parser meets, over a real socket", () => {
  /** Write raw bytes to a listening copy of the app; resolves with everything it answers. */
  async function raw(bytes: string): Promise<string> {
    const server = await makeApp(p);
    try {
      const url = new URL(await server.app.listen({ host: "127.0.0.1", port: 0 }));
      return await new Promise<string>((resolve, reject) => {
        const sock = connect(Number(url.port), "127.0.0.1", () => sock.end(bytes));
        let got = "";
        sock.on("data", (d) => {
          got += d.toString();
        });
        sock.on("close", () => resolve(got));
        sock.on("error", reject);
      });
    } finally {
      await server.close();
    }
  }

  it("headers over 16 KiB: 431 in the netsec error shape", async () => {
    const answer = await raw(`GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    const body = answer.slice(answer.indexOf("\r\n\r\n") + 4);
    expect(JSON.parse(body).error).toMatchObject({ code: "HEADERS_TOO_LARGE", status: 431 });
  });

  it("a request that is not HTTP: 400 in the netsec error shape", async () => {
    const answer = await raw("NOT HTTP AT ALL\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    const body = answer.slice(answer.indexOf("\r\n\r\n") + 4);
    expect(JSON.parse(body).error).toMatchObject({ code: "BAD_REQUEST", status: 400 });
  });
});

describe("rate limit", () => {
  it("the message names the window and the wait; Retry-After in seconds", async () => {
    const limited = await makeApp(p, { rateLimit: { max: 2, timeWindowMs: 60_000 } });
    try {
      for (let i = 0; i < 2; i++)
        expect((await limited.app.inject({ method: "GET", url: "/models" })).statusCode).toBe(200);
      const r = await limited.app.inject({ method: "GET", url: "/models" });
      expect(r.statusCode).toBe(429);
      const e = errorOf(r.body);
      expect(e.message).toMatch(/^rate limit of 2 requests per minute exceeded; retry in \d+ s$/);
      const wait = Number(r.headers["retry-after"]);
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(60);
      expect(e.message).toContain(`retry in ${wait} s`);
      expect(e.details).toMatchObject({ limit: 2, window_seconds: 60, retry_after: wait });
    } finally {
      await limited.close();
    }
  });

  it("off: no limit at all", async () => {
    const open = await makeApp(p, { rateLimit: false });
    try {
      for (let i = 0; i < 1300; i++) {
        const r = await open.app.inject({ method: "GET", url: "/favicon.ico" });
        expect(r.statusCode).toBe(204);
      }
    } finally {
      await open.close();
    }
  });
});

describe("the cap on scoring work in flight", () => {
  it("ScoringGate: slots, then a queue in order, then a 503 with retry_after", async () => {
    const g = new ScoringGate(2, 1);
    const a = await g.acquire();
    const b = await g.acquire();
    const order: string[] = [];
    const c = g.acquire().then((rel) => {
      order.push("c");
      return rel;
    });
    expect(g.counts).toEqual({ active: 2, waiting: 1 });
    await expect(g.acquire()).rejects.toMatchObject({
      code: "SERVICE_UNAVAILABLE",
      status: 503,
      details: { reason: "scoring_busy", retry_after: 2 },
    });
    a();
    a(); // a second release of the same slot is ignored
    const relC = await c;
    expect(order).toEqual(["c"]);
    expect(g.counts).toEqual({ active: 2, waiting: 0 });
    b();
    relC();
    expect(g.counts).toEqual({ active: 0, waiting: 0 });
  });

  it("one slot, no queue: while an upload is read, a second scoring request is a 503 with Retry-After; then served again", async () => {
    const gated = await makeApp(p, { limits: { maxScoring: 1, scoringQueue: 0 } });
    try {
      const csv = phishingCsvSlice(20);
      const body = new PassThrough();
      // the first upload holds its slot while its body trickles in
      const first = gated.app.inject({
        method: "POST",
        url: "/predict?format=json",
        headers: { "content-type": "text/csv" },
        payload: body,
      });
      body.write(csv.slice(0, 100));
      await new Promise((r) => setTimeout(r, 50));
      expect(gated.app.netsec.scoringGate.counts.active).toBe(1);
      for (const req of [
        { url: "/predict/records", payload: records(2) },
        { url: "/predict", headers: { "content-type": "text/csv" }, payload: csv },
      ]) {
        const busy = await gated.app.inject({ method: "POST", ...req });
        expect(busy.statusCode).toBe(503);
        expect(busy.headers["retry-after"]).toBe("2");
        expect(errorOf(busy.body)).toMatchObject({
          code: "SERVICE_UNAVAILABLE",
          details: { reason: "scoring_busy" },
        });
      }
      // other routes are not capped
      expect((await gated.app.inject({ method: "GET", url: "/health/ready" })).statusCode).toBe(200);
      body.end(csv.slice(100));
      const r = await first;
      expect(r.statusCode).toBe(200);
      expect(r.json().rows).toBe(20);
      expect(gated.app.netsec.scoringGate.counts).toEqual({ active: 0, waiting: 0 });
      // the slot came back, also after a rejected request
      const bad = await gated.app.inject({ method: "POST", url: "/predict/records", payload: [{ x: 1 }] });
      expect(bad.statusCode).toBe(422);
      const ok = await gated.app.inject({ method: "POST", url: "/predict/records", payload: records(2) });
      expect(ok.statusCode).toBe(200);
      expect(gated.app.netsec.scoringGate.counts).toEqual({ active: 0, waiting: 0 });
    } finally {
      await gated.close();
    }
  });

  it("with a queue, requests past the slots wait their turn and are all served", async () => {
    const gated = await makeApp(p, { limits: { maxScoring: 1, scoringQueue: 8 } });
    try {
      const rs = await Promise.all(
        Array.from({ length: 6 }, () =>
          gated.app.inject({ method: "POST", url: "/predict/records", payload: records(5) }),
        ),
      );
      expect(rs.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    } finally {
      await gated.close();
    }
  });
});
