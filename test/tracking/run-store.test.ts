/**
 * The run store's reading side: RUNNING runs whose process is gone become INTERRUPTED (with when), a
 * damaged run.json is reported by name without breaking the other runs, and `GET /runs` (through the
 * serve command's run source) lists it instead of failing.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runSource } from "../../src/cli/commands/serve.ts";
import { NetsecError } from "../../src/core/errors.ts";
import { type RunRecord, RunStore, STALE_SECONDS } from "../../src/tracking/run-store.ts";
import { tempDir } from "../helpers/env.ts";
import { makeApp } from "../serve/helpers.ts";

const tmp = tempDir("netsec-runstore-");
afterAll(tmp.cleanup);

function run(id: string, over: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    name: `phishing-${id}`,
    status: "RUNNING",
    started: new Date().toISOString(),
    finished: null,
    dataset: "phishing",
    config: {},
    steps: {},
    best_model: null,
    best_params: null,
    metrics: {},
    leaderboard: [],
    artifacts: "/x",
    champion: false,
    registry: null,
    failure: null,
    warnings: [],
    ...over,
  };
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.exit(0)"]);
  return r.pid!;
}

describe("run store: INTERRUPTED runs", () => {
  it("a RUNNING run whose process is gone is INTERRUPTED when read, with when and why; live ones stay RUNNING", async () => {
    const { hostname } = await import("node:os");
    const home = join(tmp.dir, "h1");
    const store = new RunStore(home);
    const now = new Date().toISOString();
    const old = new Date(Date.now() - (STALE_SECONDS + 60) * 1000).toISOString();
    const pid = deadPid();
    store.save(run("20260101-000001-dead", { process: { pid, host: hostname(), heartbeat: now } }));
    store.save(
      run("20260101-000002-alive", { process: { pid: process.pid, host: hostname(), heartbeat: now } }),
    );
    store.save(run("20260101-000003-stale", { process: { pid: 1, host: "elsewhere", heartbeat: old } }));
    store.save(run("20260101-000004-fresh", { process: { pid: 1, host: "elsewhere", heartbeat: now } }));
    store.save(run("20260101-000005-before", { started: old }));
    store.save(run("20260101-000006-done", { status: "FINISHED", finished: now }));
    const byId = new Map(store.list().map((r) => [r.id, r]));
    expect(byId.get("20260101-000001-dead")).toMatchObject({
      status: "INTERRUPTED",
      finished: now,
      failure: expect.stringContaining(`process ${pid} on ${hostname()} is gone`),
      interrupted_at: expect.any(String),
    });
    expect(byId.get("20260101-000002-alive")!.status).toBe("RUNNING");
    expect(byId.get("20260101-000003-stale")).toMatchObject({
      status: "INTERRUPTED",
      failure: expect.stringMatching(/no heartbeat for \d+ s \(limit 600 s\)/),
    });
    expect(byId.get("20260101-000004-fresh")!.status).toBe("RUNNING");
    expect(byId.get("20260101-000005-before")!.status).toBe("INTERRUPTED");
    expect(byId.get("20260101-000006-done")!.status).toBe("FINISHED");
    // saved: a fresh store reads the same
    expect(new RunStore(home).get("20260101-000001-dead")!.status).toBe("INTERRUPTED");
  });
});

describe("run store: a damaged run.json", () => {
  const home = join(tmp.dir, "h2");
  const store = new RunStore(home);
  store.save(run("20260102-000001-good", { status: "FINISHED" }));
  mkdirSync(join(home, "runs", "20260102-000002-trunc"), { recursive: true });
  writeFileSync(join(home, "runs", "20260102-000002-trunc", "run.json"), '{"id": "20260102-000002-tr');
  mkdirSync(join(home, "runs", "20260102-000003-shape"), { recursive: true });
  writeFileSync(join(home, "runs", "20260102-000003-shape", "run.json"), '{"id": 7}');

  it("list keeps the readable runs; scan names the damaged files and why", () => {
    expect(store.list().map((r) => r.id)).toEqual(["20260102-000001-good"]);
    const { damaged } = store.scan();
    expect(damaged).toEqual([
      {
        id: "20260102-000003-shape",
        file: "runs/20260102-000003-shape/run.json",
        reason: expect.stringMatching(/^not a run record: id/),
      },
      {
        id: "20260102-000002-trunc",
        file: "runs/20260102-000002-trunc/run.json",
        reason: expect.stringMatching(/^not valid JSON/),
      },
    ]);
  });

  it("get of a damaged run is STATE_CORRUPT (4xx) naming the file and what to do", () => {
    let err: unknown;
    try {
      store.get("20260102-000002-trunc");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetsecError);
    expect((err as NetsecError).code).toBe("STATE_CORRUPT");
    expect((err as NetsecError).status).toBe(409);
    expect((err as NetsecError).message).toMatch(
      /runs\/20260102-000002-trunc\/run\.json .*delete the run's directory/,
    );
  });

  it("GET /runs lists it as UNREADABLE and GET /runs/:id answers 409, never 500, with no server path", async () => {
    const t = await makeApp(null, { runs: runSource(home) });
    try {
      const list = await t.app.inject({ method: "GET", url: "/runs?format=json" });
      expect(list.statusCode).toBe(200);
      const runs = list.json().runs as { id: string; status: string }[];
      expect(runs.map((r) => [r.id, r.status])).toEqual([
        ["20260102-000003-shape", "UNREADABLE"],
        ["20260102-000002-trunc", "UNREADABLE"],
        ["20260102-000001-good", "FINISHED"],
      ]);
      expect(list.body).not.toContain(home);
      const one = await t.app.inject({ method: "GET", url: "/runs/20260102-000002-trunc?format=json" });
      expect(one.statusCode).toBe(409);
      expect(one.json().error.code).toBe("STATE_CORRUPT");
      expect(one.body).not.toContain(home);
      const page = await t.app.inject({ method: "GET", url: "/runs?format=html" });
      expect(page.statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
