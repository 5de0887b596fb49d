/**
 * Monitoring through the server, end to end (issue 19's tests): a champion trained by the CLI on
 * NSL-KDD (the `small` split: KDDTrain+_20Percent → KDDTest+; a random forest of 20 trees), then
 * `POST /predict` uploads scored on a scoring thread:
 * - held-in rows of the training distribution (22,544 of the training rows): no drift, no alert;
 * - KDDTest+ (22,544 rows): the window flags exactly the inputs the training-time drift report flags
 *   (the run's drift.json compares the same two samples), and an alert reaches a webhook receiver
 *   started here, signed with the shared secret;
 * - a restart keeps the windows; ~200,000 rows later the state holds at most `retention` windows of
 *   the same size (constant memory per window, bounded history);
 * - `/metrics` gauges, the monitoring page with its charts, the latest window's drift report, and
 *   `since` checked by zod.
 */
import { createHmac } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadPredictor } from "../../src/bundle/load.ts";
import { ModelRegistry } from "../../src/bundle/registry.ts";
import { homeLayout } from "../../src/config/home.ts";
import { silentLogger } from "../../src/core/log.ts";
import { Rng } from "../../src/core/rng.ts";
import { buildApp } from "../../src/serve/app.ts";
import { registryModelSource } from "../../src/serve/model-holder.ts";
import type { MonitoringOptions } from "../../src/serve/monitoring.ts";
import { runCli } from "../helpers/cli.ts";
import { KDD_DIR, ROOT, tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-serve-monitor-");
const home = join(tmp.dir, "home");
const env = { NETSEC_HOME: home, NETSEC_STORE_URI: "", MONGODB_URI: "" };
const SECRET = "webhook-shared-secret-19";
const TEST_ROWS = 22_544; // KDDTest+

// the schema's column order (the .txt files are headerless), read from the YAML, not through src/
const COLUMNS = [
  ...readFileSync(join(ROOT, "datasets/nsl-kdd.yaml"), "utf8").matchAll(/^ {2}- \{name: ([a-z_]+),/gm),
].map((m) => m[1]!);
const lines = (file: string): string[] => readFileSync(join(KDD_DIR, file), "utf8").trim().split("\n");
const csv = (rows: string[]): string => `${COLUMNS.join(",")}\n${rows.join("\n")}\n`;

let server: Server;
const received: { body: string; signature: string | undefined }[] = [];
let url = "";
let app: FastifyInstance;
let modelName = "";
let runDrifted: string[] = [];

async function start(monitoring: MonitoringOptions): Promise<FastifyInstance> {
  const a = await buildApp({
    logger: silentLogger,
    home,
    models: registryModelSource(new ModelRegistry(home), (dir, version) => loadPredictor(dir, version)),
    rateLimit: false,
    scoringThreads: 1,
    monitoring,
  });
  await a.ready();
  return a;
}

const settings = (over: Partial<NonNullable<MonitoringOptions["settings"]>> = {}): MonitoringOptions => ({
  settings: { windowRows: TEST_ROWS, windowMinSeconds: 0, ...over },
  webhook: { url, secret: SECRET, backoffMs: 10 },
  tickMs: 3_600_000,
});

async function upload(rows: string[]): Promise<void> {
  const r = await app.inject({
    method: "POST",
    url: "/predict?format=csv",
    headers: { "content-type": "text/csv" },
    payload: csv(rows),
  });
  expect(r.statusCode, r.body).toBe(200);
}

interface Monitoring {
  model: string;
  status: string;
  open: { rows: number } | null;
  windows: {
    rows: number;
    start: string;
    end: string;
    drifted: string[];
    alerts: string[];
    outputs: { threat_rate: number };
  }[];
  latest: { inputs: { drifted_columns: string[] } } | null;
}

async function monitoring(query = ""): Promise<Monitoring> {
  const r = await app.inject({ method: "GET", url: `/monitoring${query}` });
  expect(r.statusCode, r.body).toBe(200);
  return r.json() as Monitoring;
}

beforeAll(async () => {
  const t = runCli(
    [
      "train",
      "--dataset",
      "nsl-kdd",
      "--split",
      "small",
      "--models",
      "random_forest",
      "--params",
      '{"n_estimators":20}',
    ],
    env,
  );
  expect(t.code, t.stderr).toBe(0);
  modelName = new ModelRegistry(home).resolve("champion").name;
  // the training-time drift report of the run: KDDTest+ (its test split) against its training rows
  const artifacts = homeLayout(home).artifacts;
  const run = readdirSync(artifacts)[0]!;
  const report = JSON.parse(
    readFileSync(join(homeLayout(home).run(run).driftReport, "drift.json"), "utf8"),
  ) as {
    drifted_columns: string[];
  };
  runDrifted = report.drifted_columns;
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      received.push({ body, signature: req.headers["x-netsec-signature"] as string | undefined });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/alerts`;
  app = await start(settings());
}, 180_000);

afterAll(async () => {
  await app?.close();
  server?.close();
  tmp.cleanup();
});

describe("monitoring the traffic a champion scores", () => {
  it("held-in rows of the training distribution: no drift, no alert", async () => {
    const train = lines("KDDTrain+_20Percent.txt");
    const order = Uint32Array.from({ length: train.length }, (_, i) => i);
    new Rng(5).shuffle(order);
    const held = Array.from(order.subarray(0, TEST_ROWS), (i) => train[i]!);
    await upload(held.slice(0, 11_000));
    expect((await monitoring()).open?.rows).toBe(11_000);
    await upload(held.slice(11_000));
    const m = await monitoring();
    expect(m.model).toBe(modelName);
    expect(m.windows).toHaveLength(1);
    expect(m.windows[0]).toMatchObject({ rows: TEST_ROWS, drifted: [], alerts: [] });
    await app.netsec.monitoring!.monitor.shutdown(); // every delivery ended
    expect(received).toEqual([]);
  });

  it("KDDTest+: drift on the inputs the training-time drift report flags, and a signed alert at the webhook", async () => {
    expect(runDrifted.length).toBeGreaterThan(5);
    await upload(lines("KDDTest+.txt"));
    const m = await monitoring();
    expect(m.windows).toHaveLength(2);
    const w = m.windows[1]!;
    expect(w.rows).toBe(TEST_ROWS);
    expect([...w.drifted].sort()).toEqual([...runDrifted].sort());
    expect(w.alerts.length).toBeGreaterThan(0);
    await app.netsec.monitoring!.monitor.shutdown();
    expect(received.map((r) => JSON.parse(r.body).rule).sort()).toEqual([...w.alerts].sort());
    for (const r of received) {
      expect(r.signature).toBe(`sha256=${createHmac("sha256", SECRET).update(r.body).digest("hex")}`);
      expect(JSON.parse(r.body)).toMatchObject({ event: "netsec.monitoring.alert", model: modelName });
    }
  });

  it("shows it on /metrics, the monitoring page and the latest window's drift report", async () => {
    const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
    for (const f of runDrifted)
      expect(metrics).toContain(`netsec_monitor_feature_drifted{model="${modelName}",feature="${f}"} 1`);
    expect(metrics).toContain(`netsec_monitor_share_drifted{model="${modelName}"} ${runDrifted.length / 41}`);
    expect(metrics).toMatch(
      new RegExp(`netsec_monitor_threat_rate\\{model="${modelName}",sample="window"\\} 0\\.\\d+`),
    );
    const page = await app.inject({ method: "GET", url: "/monitoring", headers: { accept: "text/html" } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`Monitoring — ${modelName}`);
    expect(page.body.match(/<svg/g)?.length).toBe(3);
    const report = await app.inject({ method: "GET", url: `/monitoring/report?model=${modelName}` });
    expect(report.statusCode).toBe(200);
    expect(report.body).toContain(`${runDrifted.length} of 41 columns drifted`);
    const bad = await app.inject({ method: "GET", url: "/monitoring?since=yesterday" });
    expect(bad.statusCode).toBe(400);
    expect((await app.inject({ method: "GET", url: "/monitoring?model=nobody" })).statusCode).toBe(404);
    expect((await monitoring("?since=1h")).windows).toHaveLength(2);
    expect((await monitoring("?since=2000-01-01T00:00:00Z")).windows).toHaveLength(2);
  });

  it("a restart keeps the windows; ~200,000 rows later at most `retention` windows of the same size", async () => {
    const before = await monitoring();
    await app.close();
    app = await start(settings({ retention: 3 }));
    const after = await monitoring();
    expect(after.windows).toEqual(before.windows);
    const state = homeLayout(home).monitorModel(modelName).state;
    const size = statSync(state).size;
    const test = lines("KDDTest+.txt");
    for (let i = 0; i < 7; i++) await upload(test); // 7 × 22,544 + the 45,088 before: 202,896 rows
    await app.netsec.monitoring!.monitor.shutdown();
    const m = await monitoring();
    expect(m.windows).toHaveLength(3);
    expect(m.windows.every((w) => w.rows === TEST_ROWS)).toBe(true);
    // two windows more than before, one full report: the same room whatever the rows scored
    expect(statSync(state).size).toBeLessThan(size * 1.5);
    // the closed windows' file: 9 windows appended, at most twice the retention kept
    const kept = readFileSync(homeLayout(home).monitorModel(modelName).windows, "utf8").split("\n");
    expect(kept.length - 1).toBeLessThanOrEqual(6);
    // each line: the summary with its window's number, n
    expect(kept.slice(-4, -1).map((l) => ({ ...JSON.parse(l), n: undefined }))).toEqual(
      m.windows.map((w) => ({ ...w, n: undefined })),
    );
  });

  it("a full window younger than the minimum age closes at that age on the server's timer, with no more uploads", async () => {
    await app.close();
    // the server's clock and its tick's timer, advanced by hand (the scoring threads run as ever)
    vi.useFakeTimers({ toFake: ["Date", "setInterval", "clearInterval"] });
    try {
      app = await start({ ...settings({ windowMinSeconds: 60, retention: 720 }), tickMs: 5000 });
      expect((await monitoring()).open).toBeNull();
      const closed = (await monitoring()).windows.length;
      const opened = Date.now();
      await upload(lines("KDDTest+.txt")); // the window's 22,544 rows at once
      vi.advanceTimersByTime(55_000); // eleven ticks: 55 s old, still open
      let m = await monitoring();
      expect(m.open?.rows).toBe(TEST_ROWS);
      expect(m.windows).toHaveLength(closed);
      vi.advanceTimersByTime(5_000); // the tick at 60 s closes it
      m = await monitoring();
      expect(m.open).toBeNull();
      expect(m.windows).toHaveLength(closed + 1);
      const w = m.windows.at(-1)!;
      expect(w.rows).toBe(TEST_ROWS);
      expect(Date.parse(w.end) - Date.parse(w.start)).toBe(60_000);
      expect(Date.parse(w.start)).toBe(opened);
    } finally {
      await app.close();
      vi.useRealTimers();
    }
  });
});
