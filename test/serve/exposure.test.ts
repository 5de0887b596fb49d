/**
 * What the server gives away: POST /train reads files only under the configured data directories
 * (resolved to real paths: no `..`, absolute or symlink escape; none configured = refused with how to
 * allow it); GET /jobs/:id shows a caller without the token the state and progress only; and no
 * answer of any GET route holds an absolute server path (NETSEC_HOME, the temporary folder, the
 * checkout), even when a run's failure, a model that did not load or a job's result names one.
 */
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PipelineConfigSchema } from "../../src/pipeline/config.ts";
import { resolveDataDirs } from "../../src/serve/data-dirs.ts";
import type { ModelListing, ModelSource } from "../../src/serve/model-holder.ts";
import type { RunDetail, RunSource } from "../../src/serve/types.ts";
import { ROOT, tempDir } from "../helpers/env.ts";
import { makeApp, type TestApp, TOKEN } from "./helpers.ts";

const echo = {
  module: fileURLToPath(new URL("./fixtures/echo-job.ts", import.meta.url)),
  export: "echoConfig",
};
const auth = { authorization: `Bearer ${TOKEN}` };

const tmp = tempDir("netsec-exposure-");
afterAll(() => tmp.cleanup());

/** The data directory, a file in it, a subfolder, a file outside it and symlinks both ways. */
const data = join(tmp.dir, "data");
const outside = join(tmp.dir, "private");
beforeAll(() => {
  mkdirSync(join(data, "sub"), { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(data, "flows.csv"), "a,b\n1,2\n");
  writeFileSync(join(data, "sub", "test.csv"), "a,b\n3,4\n");
  writeFileSync(join(data, "schema.yaml"), "name: x\n");
  writeFileSync(join(outside, "secret.csv"), "password\nhunter2\n");
  symlinkSync(join(outside, "secret.csv"), join(data, "link-out.csv"));
  symlinkSync(join(data, "flows.csv"), join(data, "link-in.csv"));
});

/** POST /train's answer: a job id (202) or an error. */
interface TrainAnswer {
  jobId: string;
  error: { code: string; message: string; details: Record<string, unknown> };
}

async function train(t: TestApp, body: unknown): Promise<{ status: number; json: TrainAnswer }> {
  const r = await t.app.inject({ method: "POST", url: "/train", headers: auth, payload: body as object });
  return { status: r.statusCode, json: r.json() };
}

async function jobResult(t: TestApp, id: string): Promise<{ state: string; result: { config: unknown } }> {
  await t.app.netsec.jobs!.wait(id);
  return (await t.app.inject({ method: "GET", url: `/jobs/${id}`, headers: auth })).json();
}

describe("POST /train reads files only under the data directories", () => {
  it("none configured: a body naming a file is a 403 saying how to allow it; a registry dataset is accepted", async () => {
    const t = await makeApp(null, { training: { runner: echo, configSchema: PipelineConfigSchema } });
    try {
      for (const body of [
        { source: { kind: "file", files: ["flows.csv"] } },
        { source: { kind: "file", files: [join(data, "flows.csv")], test_files: [] } },
        { schema: "/etc/passwd" },
      ]) {
        const r = await train(t, body);
        expect(r.status, JSON.stringify(body)).toBe(403);
        expect(r.json.error.code).toBe("FORBIDDEN");
        expect(r.json.error.message).toContain("--data-dir");
        expect(r.json.error.message).toContain("NETSEC_DATA_DIRS");
        expect(r.json.error.details.reason).toBe("no_data_dirs");
      }
      const ok = await train(t, { dataset: "phishing" });
      expect(ok.status).toBe(202);
      await t.app.netsec.jobs!.wait(ok.json.jobId);
    } finally {
      await t.close();
    }
  });

  it("configured: names inside are passed on as real paths; escapes are 403, missing files 400", async () => {
    const t = await makeApp(null, { training: { runner: echo }, dataDirs: [data] });
    try {
      const ok = await train(t, {
        schema: "schema.yaml",
        source: {
          kind: "file",
          files: ["flows.csv", "link-in.csv"],
          test_files: [join(data, "sub", "test.csv")],
        },
      });
      expect(ok.status, JSON.stringify(ok.json)).toBe(202);
      const job = await jobResult(t, ok.json.jobId);
      expect(job.state).toBe("succeeded");
      // the worker got real paths (shown relative to the data directory in the answer)
      expect(job.result.config).toEqual({
        schema: "$DATA_DIR/schema.yaml",
        source: {
          kind: "file",
          files: ["$DATA_DIR/flows.csv", "$DATA_DIR/flows.csv"],
          test_files: ["$DATA_DIR/sub/test.csv"],
        },
      });
      for (const [name, status, code] of [
        ["../private/secret.csv", 403, "FORBIDDEN"],
        ["sub/../../private/secret.csv", 403, "FORBIDDEN"],
        [join(outside, "secret.csv"), 403, "FORBIDDEN"],
        ["link-out.csv", 403, "FORBIDDEN"],
        ["/etc/passwd", 403, "FORBIDDEN"],
        ["nope.csv", 400, "FILE_UNREADABLE"],
        ["sub", 400, "BAD_REQUEST"],
        ["", 400, "BAD_REQUEST"],
      ] as const) {
        const r = await train(t, { source: { kind: "file", files: ["flows.csv", name] } });
        expect(r.status, name).toBe(status);
        expect(r.json.error.code, name).toBe(code);
        expect(r.json.error.details.key).toBe("source.files[1]");
        // the file as the caller wrote it, never where it is on the server
        // (an absolute name under a server root is itself shown relative to that root)
        if (!name.startsWith(tmp.dir)) expect(r.json.error.message).toContain(JSON.stringify(name));
        else expect(r.json.error.message).toContain("<tmp>/");
        expect(r.json.error.message).not.toContain(realpathSync(tmp.dir));
      }
      expect(t.app.netsec.jobs!.list()).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it("a data directory that does not exist is a configuration error at start", () => {
    expect(() => resolveDataDirs([join(tmp.dir, "missing")])).toThrow(
      /data directory .*missing does not exist/,
    );
    expect(() => resolveDataDirs([join(data, "flows.csv")])).toThrow(/is not a directory/);
    expect(resolveDataDirs([join(data, "sub", "..")])).toEqual([realpathSync(data)]);
  });
});

describe("GET /jobs/:id without the token", () => {
  it("state and progress only: no messages, result or error text; the token holder sees everything", async () => {
    const t = await makeApp(null, { training: { runner: echo } });
    try {
      const failed = await train(t, {
        say: "row 7: hunter2 is not a number",
        fail: "cell hunter2 in secret.csv",
      });
      await t.app.netsec.jobs!.wait(failed.json.jobId);
      const anon = await t.app.inject({ method: "GET", url: `/jobs/${failed.json.jobId}` });
      expect(anon.statusCode).toBe(200);
      expect(anon.body).not.toContain("hunter2");
      expect(anon.json()).toMatchObject({
        id: failed.json.jobId,
        state: "failed",
        redacted: true,
        history: [],
        result: null,
        error: { code: "DATA_INVALID", details: {} },
      });
      expect(anon.json().error.message).toContain("NETSEC_API_TOKEN");
      const full = await t.app.inject({ method: "GET", url: `/jobs/${failed.json.jobId}`, headers: auth });
      expect(full.json().error.message).toBe("cell hunter2 in secret.csv");
      expect(full.json().history[0].message).toContain("hunter2");
      expect(full.json().redacted).toBeUndefined();

      const ok = await train(t, { secret: "hunter2" });
      await t.app.netsec.jobs!.wait(ok.json.jobId);
      const anonOk = await t.app.inject({ method: "GET", url: `/jobs/${ok.json.jobId}` });
      expect(anonOk.json()).toMatchObject({ state: "succeeded", progress: 1, result: null });
      expect(anonOk.body).not.toContain("hunter2");
      // a wrong token is refused, not treated as no token
      const wrong = await t.app.inject({
        method: "GET",
        url: `/jobs/${ok.json.jobId}`,
        headers: { authorization: "Bearer nope" },
      });
      expect(wrong.statusCode).toBe(403);
    } finally {
      await t.close();
    }
  });
});

describe("no absolute server path in any GET answer", () => {
  it("walks every GET route (JSON and HTML) with paths planted where they reach answers", async () => {
    const RUN = "20250101-120000-abc123";
    let home = "";
    const run = (): RunDetail => ({
      id: RUN,
      status: "FAILED",
      dataset: "phishing",
      failure: `cannot read ${home}/cache/phishing/data.csv: ENOENT`,
      warnings: [`drift report written to ${home}/artifacts/${RUN}/drift.html`, `scratch in ${tmpdir()}/x`],
      artifacts: `${home}/artifacts/${RUN}`,
      leaderboard: [{ model: "random_forest", bundle: `${home}/artifacts/${RUN}/model` }],
    });
    const runs: RunSource = { list: () => [run()], get: (id) => (id === RUN ? run() : null) };
    const models: ModelSource = {
      changeToken: () => "1",
      championRef: () => "netsec-phishing:1",
      load: async () => {
        throw new Error(
          `ENOENT: no such file or directory, open '${home}/artifacts/${RUN}/model/manifest.json'`,
        );
      },
      list: () => [
        {
          name: "netsec-phishing",
          aliases: {},
          versions: [],
          dir: `${home}/registry/netsec-phishing`,
          source: `${ROOT}/datasets`,
        } as ModelListing,
      ],
    };
    const t = await makeApp(null, { runs, models, training: { runner: echo }, dataDirs: [data] });
    home = t.home;
    try {
      const started = await train(t, { source: { files: ["flows.csv"] }, note: `${home}/x and ${ROOT}/src` });
      await t.app.netsec.jobs!.wait(started.json.jobId);
      const gets: [string, Record<string, string>][] = [];
      for (const url of [
        "/",
        "/runs",
        `/runs/${RUN}`,
        "/models",
        "/health/ready",
        "/health/live",
        "/metrics",
        "/docs/json",
        `/jobs/${started.json.jobId}`,
        "/no/such/route",
        `/runs/${"x".repeat(300)}`,
        "/predictions/pred-20250101-120000-0a1b2c3d.csv",
      ]) {
        gets.push([url, {}], [url, { accept: "text/html" }], [url, auth]);
        if (!url.includes("?")) gets.push([`${url}?format=html`, {}]);
      }
      const forbidden = [home, realpathSync(home), tmpdir(), realpathSync(tmpdir()), ROOT, "/work/"];
      let checked = 0;
      for (const [url, headers] of gets) {
        const r = await t.app.inject({ method: "GET", url, headers });
        for (const f of forbidden) expect(r.body, `${url} ${JSON.stringify(headers)}`).not.toContain(f);
        checked++;
      }
      expect(checked).toBeGreaterThan(40);
      // the planted paths are there, relative: the answers still say what they name
      const ready = await t.app.inject({ method: "GET", url: "/health/ready" });
      expect(ready.json().message).toContain(`$NETSEC_HOME/artifacts/${RUN}/model/manifest.json`);
      const detail = await t.app.inject({ method: "GET", url: `/runs/${RUN}` });
      expect(detail.json().failure).toBe("cannot read $NETSEC_HOME/cache/phishing/data.csv: ENOENT");
      const job = await t.app.inject({ method: "GET", url: `/jobs/${started.json.jobId}`, headers: auth });
      expect(job.json().result.config.source.files).toEqual(["$DATA_DIR/flows.csv"]);
      expect(job.json().result.config.note).toBe("$NETSEC_HOME/x and <netsec>/src");
      const models_ = await t.app.inject({ method: "GET", url: "/models" });
      expect(models_.json().models[0].dir).toBe("$NETSEC_HOME/registry/netsec-phishing");
    } finally {
      await t.close();
    }
  });
});
