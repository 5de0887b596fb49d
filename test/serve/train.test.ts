/**
 * POST /train and GET /jobs/:id: bearer-token auth (401/403/503), one job at a time (409), a real
 * training function in a process of its own reporting progress, the server answering while it trains, and
 * the champion reloaded once the job has registered a new one.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { getPriority } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Predictor } from "../../src/bundle/predictor.ts";
import type { ModelSource } from "../../src/serve/model-holder.ts";
import { tempDir } from "../helpers/env.ts";
import { fitFixturePredictor } from "./fixtures/predictor.ts";
import { makeApp, type TestApp, TOKEN } from "./helpers.ts";

const runner = {
  module: fileURLToPath(new URL("./fixtures/train-job.ts", import.meta.url)),
  export: "trainFixture",
};
const auth = { authorization: `Bearer ${TOKEN}` };

async function waitJob(t: TestApp, id: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  for (;;) {
    const r = await t.app.inject({ method: "GET", url: `/jobs/${id}`, headers: auth });
    expect(r.statusCode).toBe(200);
    const j = r.json();
    if (j.state !== "running") return j;
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${id} still running`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

let p1: Predictor;
let p2: Predictor;

beforeAll(async () => {
  p1 = await fitFixturePredictor({ version: "phishing-nb:1" });
  p2 = await fitFixturePredictor({ version: "phishing-nb:2", alpha: 5 });
});

describe("auth on POST /train", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeApp(p1, { training: { runner } });
  });
  afterAll(async () => t.close());

  it("401 without credentials, with a WWW-Authenticate challenge", async () => {
    const r = await t.app.inject({ method: "POST", url: "/train" });
    expect(r.statusCode).toBe(401);
    expect(r.headers["www-authenticate"]).toContain("Bearer");
    expect(r.json().error.code).toBe("UNAUTHORIZED");
    const basic = await t.app.inject({
      method: "POST",
      url: "/train",
      headers: { authorization: "Basic dXNlcjpwYXNz" },
    });
    expect(basic.statusCode).toBe(401);
  });

  it("403 with a wrong token (also one of the same length)", async () => {
    for (const bad of ["nope", TOKEN.replace(/.$/, "X"), `${TOKEN}x`]) {
      const r = await t.app.inject({
        method: "POST",
        url: "/train",
        headers: { authorization: `Bearer ${bad}` },
      });
      expect(r.statusCode).toBe(403);
      expect(r.json().error.code).toBe("FORBIDDEN");
    }
  });

  it("never logs the token or the Authorization header", async () => {
    await t.app.inject({
      method: "POST",
      url: "/train",
      headers: { authorization: "Bearer wrong-secret-value" },
      payload: { epochs: 1 },
    });
    const all = t.logs.join("");
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain("wrong-secret-value");
    expect(all.toLowerCase()).not.toContain('authorization":');
  });

  it("503 naming NETSEC_API_TOKEN when no token is configured (closed, never open)", async () => {
    const open = await makeApp(p1, { apiToken: undefined, training: { runner } });
    try {
      for (const headers of [{}, auth]) {
        const r = await open.app.inject({ method: "POST", url: "/train", headers, payload: {} });
        expect(r.statusCode).toBe(503);
        expect(r.json().error.message).toContain("NETSEC_API_TOKEN");
      }
    } finally {
      await open.close();
    }
  });

  it("503 when the server has no training runner", async () => {
    const none = await makeApp(p1);
    try {
      const r = await none.app.inject({ method: "POST", url: "/train", headers: auth });
      expect(r.statusCode).toBe(503);
      expect(r.json().error.details.reason).toBe("training_not_configured");
    } finally {
      await none.close();
    }
  });
});

describe("training jobs", () => {
  it("runs a job in its own process, reports progress, answers while it trains, 409 for a second one, reloads the champion", async () => {
    // the champion is whatever version the file names; the training function rewrites the file
    let champion: Predictor = p1;
    const tmp = tempDir("netsec-train-");
    const flag = join(tmp.dir, "champion.txt");
    writeFileSync(flag, "phishing-nb:1");
    const source: ModelSource = {
      changeToken: () => (existsSync(flag) ? readFileSync(flag, "utf8") : null),
      championRef: () => (existsSync(flag) ? readFileSync(flag, "utf8") : null),
      load: async (ref) => {
        champion = ref === "phishing-nb:2" ? p2 : p1;
        return champion;
      },
      list: () => [],
    };
    const t = await makeApp(null, { models: source, training: { runner } });
    try {
      expect(t.app.netsec.holder.current()?.version).toBe("phishing-nb:1");
      const start = await t.app.inject({
        method: "POST",
        url: "/train",
        headers: auth,
        payload: { epochs: 1500, champion_file: flag, version: "phishing-nb:2" },
      });
      expect(start.statusCode).toBe(202);
      const { jobId, status_url } = start.json();
      expect(jobId).toMatch(/^job-[a-f0-9]{16}$/);
      expect(status_url).toBe(`/jobs/${jobId}`);
      expect(start.headers.location).toBe(`/jobs/${jobId}`);

      const second = await t.app.inject({ method: "POST", url: "/train", headers: auth, payload: {} });
      expect(second.statusCode).toBe(409);
      expect(second.json().error.message).toContain(jobId);

      // the event loop is free: scoring and health answer while the job trains
      const during = await t.app.inject({ method: "GET", url: `/jobs/${jobId}` });
      expect(during.json().state).toBe("running");
      expect((await t.app.inject({ method: "GET", url: "/health/live" })).statusCode).toBe(200);

      const done = await waitJob(t, jobId);
      expect(done.state).toBe("succeeded");
      expect(done.progress).toBe(1);
      const result = done.result as {
        train_accuracy: number;
        epochs: number;
        rows: number;
        nice: number;
        pool_nice: number;
      };
      expect(result.epochs).toBe(1500);
      // training yields the cores to serving: its process and the threads it starts run at nice 10,
      // the server's own threads stay at the normal priority
      if (process.platform === "linux") {
        expect(result.nice).toBe(10);
        expect(result.pool_nice).toBe(10);
        expect(getPriority(0)).toBe(0);
      }
      expect(result.rows).toBe(11055);
      // logistic regression on these 30 features separates the classes well (sklearn gets ~0.93)
      expect(result.train_accuracy).toBeGreaterThan(0.9);
      const steps = (done.history as { step: string; progress: number }[]).map((h) => h.step);
      expect(steps[0]).toBe("load");
      expect(steps).toContain("fit");
      expect(steps.at(-1)).toBe("evaluate");
      const fit = (done.history as { step: string; progress: number }[])
        .filter((h) => h.step === "fit")
        .map((h) => h.progress);
      expect(fit.length).toBeGreaterThan(5);
      for (let i = 1; i < fit.length; i++) expect(fit[i]!).toBeGreaterThan(fit[i - 1]!);

      // the job registered version 2; the server picked it up without a restart
      await t.app.netsec.jobs!.wait(jobId);
      expect(t.app.netsec.holder.current()?.version).toBe("phishing-nb:2");
      const rec = await t.app.inject({ method: "GET", url: "/health/ready" });
      expect(rec.json().model_version).toBe("phishing-nb:2");

      // a new job may start now
      const third = await t.app.inject({
        method: "POST",
        url: "/train",
        headers: auth,
        payload: { epochs: 5 },
      });
      expect(third.statusCode).toBe(202);
      await waitJob(t, third.json().jobId);
      const metrics = (await t.app.inject({ method: "GET", url: "/metrics" })).body;
      expect(metrics).toContain('netsec_training_jobs{state="succeeded"} 2');
    } finally {
      await t.close();
      tmp.cleanup();
    }
  });

  it("a failing job ends failed with the runner's error code and message", async () => {
    const t = await makeApp(p1, { training: { runner } });
    try {
      const r = await t.app.inject({
        method: "POST",
        url: "/train",
        headers: auth,
        payload: { fail: "labels are all one class" },
      });
      expect(r.statusCode).toBe(202);
      const j = await waitJob(t, r.json().jobId);
      expect(j.state).toBe("failed");
      expect(j.error).toMatchObject({
        code: "DATA_INVALID",
        status: 422,
        message: "labels are all one class",
        details: { column: "Result" },
      });
      expect(t.app.netsec.holder.current()?.version).toBe("phishing-nb:1");
    } finally {
      await t.close();
    }
  });

  it("validates the body: a JSON object, and the configured config schema", async () => {
    const t = await makeApp(p1, {
      training: { runner, configSchema: z.object({ epochs: z.number().int().positive() }).strict() },
    });
    try {
      const arr = await t.app.inject({ method: "POST", url: "/train", headers: auth, payload: [1, 2] });
      expect(arr.statusCode).toBe(400);
      const bad = await t.app.inject({
        method: "POST",
        url: "/train",
        headers: auth,
        payload: { epochs: -1 },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.message).toContain("epochs");
      const unknown = await t.app.inject({
        method: "POST",
        url: "/train",
        headers: auth,
        payload: { epoch: 3 },
      });
      expect(unknown.statusCode).toBe(400);
      const badJson = await t.app.inject({
        method: "POST",
        url: "/train",
        headers: { ...auth, "content-type": "application/json" },
        payload: "{",
      });
      expect(badJson.statusCode).toBe(400);
      expect(t.app.netsec.jobs!.list()).toHaveLength(0);
    } finally {
      await t.close();
    }
  });

  it("GET /jobs/:id: 404 for an unknown job, 400 for an id that is not a job id", async () => {
    const t = await makeApp(p1, { training: { runner } });
    try {
      expect((await t.app.inject({ method: "GET", url: "/jobs/job-0123456789abcdef" })).statusCode).toBe(404);
      for (const id of ["..%2F..%2Fetc%2Fpasswd", "job-XYZ", "x".repeat(300)]) {
        const r = await t.app.inject({ method: "GET", url: `/jobs/${id}` });
        // find-my-way answers 414 for an over-long parameter before validation
        expect([400, 414]).toContain(r.statusCode);
      }
    } finally {
      await t.close();
    }
  });
});
