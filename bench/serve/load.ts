/**
 * Load benchmark of the prediction service with autocannon against 127.0.0.1: requests/s and latency
 * p50/p99 for `POST /predict/records` (1 and 100 records) and a 1,000-row CSV upload (`POST /predict`).
 *
 *   npx node bench/serve/load.ts [--duration 10] [--connections 10] [--home <NETSEC_HOME>]
 *                                [--mlflow-url http://127.0.0.1:5001] [--while-training] [--json]
 *                                [--scoring-threads n]   (default: as `netsec serve`, one per core)
 *                                [--only <text>]         (only the scenarios whose name contains it)
 *                                [--train-config <json>] (the --while-training job's POST /train body;
 *                                                         default the original's grids, 10-fold CV)
 *                                [--model <name>]        (the registered model served; default netsec-phishing)
 *                                [--mlflow-serve]        (start `mlflow models serve` from .venv on the
 *                                                         champion's ONNX export; instead of --mlflow-url)
 *                                [--compare-monitoring]  (monitoring's cost: two `netsec serve` child
 *                                                         processes on --home, one with NETSEC_MONITOR=off;
 *                                                         each scenario runs on both in --rounds rounds,
 *                                                         alternating which goes first; needs --home)
 *                                [--rounds n]            (with --compare-monitoring; default 4)
 *                                [--together]            (with --compare-monitoring: each round loads both
 *                                                         servers at once, each from its own load
 *                                                         generator, instead of one after the other)
 *                                [--profile-monitoring]  (with --compare-monitoring: both servers under
 *                                                         --cpu-prof, and monitoring's share of the
 *                                                         monitored one's CPU samples:
 *                                                         bench/serve/monitor-share.ts)
 *
 * The model: the registry champion under --home (loaded with the real bundle loader), or, without
 * --home, the test fixture (naive Bayes on phishing) so the harness runs before real bundles exist.
 * With --mlflow-url, the record scenarios also run against `mlflow models serve` (its /invocations
 * with `dataframe_records`) for a side-by-side line. The load generator runs in a process of its own
 * (bench/serve/loadgen.ts), as a client would; server and load generator share the machine (2
 * cores): compare numbers from the same run only.
 * Every row also gives the server's CPU time per request: the server process's user + system CPU
 * (every thread: the event loop, scoring threads, garbage collector; the load generator is another
 * process) over the run, divided by the requests answered. On a shared machine throughput moves with
 * the other jobs, CPU per request far less, so --compare-monitoring reports both: the ratio of the
 * rounds' mean throughput (on/off) and of the summed CPU per request, with their spread over the
 * rounds. Its two servers are `netsec serve` children (bench/serve/child-serve.ts) with the same
 * options (--scoring-threads, --model, no rate limit), so neither's heap, garbage collection or timers
 * weigh on the other's figures, as they did when both ran in this process.
 * With --while-training, the netsec scenarios run a second time while a training job started through
 * `POST /train` (by default the original's five grids on phishing with 10-fold CV, in the server's
 * worker thread) is running.
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadConfig } from "../../src/config/env.ts";
import { silentLogger } from "../../src/core/log.ts";
import { PipelineConfigSchema } from "../../src/pipeline/config.ts";
import { StaticModelSource } from "../../src/serve/model-holder.ts";
import { type StartOptions, startServer } from "../../src/serve/server.ts";
import { fitFixturePredictor, phishingCsvSlice } from "../../test/serve/fixtures/predictor.ts";
import { type ChildServe, startChildServe } from "./child-serve.ts";
import { type MonitorShare, monitorShare } from "./monitor-share.ts";
import { records, type Scenario, scoringScenarios } from "./scenarios.ts";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "10" },
    home: { type: "string" },
    "mlflow-url": { type: "string" },
    json: { type: "boolean", default: false },
    "while-training": { type: "boolean", default: false },
    "scoring-threads": { type: "string" },
    only: { type: "string" },
    // the job started for --while-training (a POST /train body); the default pipeline with 10-fold CV
    // takes about a minute on phishing, long enough for every scenario at --duration 5; it registers
    // under a name of its own, so the model being measured stays the champion
    "train-config": {
      type: "string",
      default: '{"dataset":"phishing","search":{"cv":10},"model_name":"netsec-bench-while-training"}',
    },
    // the registered model whose champion is measured (the while-training job registers under its own)
    model: { type: "string", default: "netsec-phishing" },
    // start `mlflow models serve` (the project's .venv) on the champion's ONNX export for the comparison
    "mlflow-serve": { type: "boolean", default: false },
    // monitoring's cost: every scenario also against a server with monitoring off
    "compare-monitoring": { type: "boolean", default: false },
    // --compare-monitoring: on/off pairs, alternating which runs first (on-off, off-on, …) so a drift in
    // the machine's load over the run weighs on both sides alike
    rounds: { type: "string", default: "4" },
    // --compare-monitoring: both servers under load at the same time in each round (not one after the
    // other); on a busy machine the two then meet the same background, and share the cores between them
    together: { type: "boolean", default: false },
    // --compare-monitoring: profile the monitored server and report monitoring's share of its samples
    "profile-monitoring": { type: "boolean", default: false },
  },
});

interface Row {
  target: string;
  scenario: string;
  rps: number;
  rowsPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** requests answered over the measured run */
  requests: number;
  /** this process's CPU seconds (every thread) over the measured run */
  cpuSeconds: number;
}

/** This process's user + system CPU seconds (every thread). */
function ownCpuSeconds(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
}

/**
 * One scenario under load from bench/serve/loadgen.ts, a separate process (a client, not a thread of
 * the server); `cpuSeconds` reads the serving process's CPU time.
 */
async function run(target: string, s: Scenario, cpuSeconds: () => number = ownCpuSeconds): Promise<Row> {
  // a warm-up second first, not counted (the same for every target: compiled code, warm caches)
  await load(s, 1);
  const cpuBefore = cpuSeconds();
  const r = await load(s, Number(args.duration));
  const cpu = cpuSeconds() - cpuBefore;
  return {
    target,
    scenario: s.name,
    rps: r.rps,
    rowsPerSec: r.rps * s.rowsPerRequest,
    p50: r.p50,
    p99: r.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    requests: r.requests,
    cpuSeconds: cpu,
  };
}

async function load(
  s: Scenario,
  duration: number,
): Promise<{ rps: number; p50: number; p99: number; non2xx: number; errors: number; requests: number }> {
  const input = JSON.stringify({
    url: s.url,
    method: s.method,
    headers: s.headers,
    body64: Buffer.from(s.body).toString("base64"),
    connections: Number(args.connections),
    duration,
  });
  const out = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [fileURLToPath(new URL("./loadgen.ts", import.meta.url))],
      { maxBuffer: 1 << 20 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
    child.stdin!.end(input);
  });
  return JSON.parse(out.trim().split("\n").pop()!) as {
    rps: number;
    p50: number;
    p99: number;
    non2xx: number;
    errors: number;
    requests: number;
  };
}

const home = args.home ?? mkdtempSync(join(tmpdir(), "netsec-bench-"));
const token = randomBytes(24).toString("hex");
// the training job's worker reads the process environment: the same home, store and mirror
process.env.NETSEC_HOME = home;
delete process.env.NETSEC_STORE_URI;
delete process.env.MLFLOW_TRACKING_URI;
const config = loadConfig(
  {
    NETSEC_HOME: home,
    NETSEC_API_TOKEN: token,
    ...(process.env.NETSEC_DATASET_MIRROR
      ? { NETSEC_DATASET_MIRROR: process.env.NETSEC_DATASET_MIRROR }
      : {}),
  },
  home,
);
const fixture = args.home ? null : await fitFixturePredictor();
const serverOptions: StartOptions = {
  host: "127.0.0.1",
  port: 0,
  ...(args["scoring-threads"] !== undefined ? { scoringThreads: Number(args["scoring-threads"]) } : {}),
  logger: silentLogger,
  rateLimit: false,
  modelPollMs: 0,
  training: {
    runner: {
      module: fileURLToPath(new URL("../../src/pipeline/job.ts", import.meta.url)),
      export: "trainJob",
    },
    configSchema: PipelineConfigSchema,
  },
  ...(fixture ? { models: new StaticModelSource(fixture) } : { model: args.model }),
};
const server = await startServer(config, serverOptions);
const version = server.app.netsec.holder.current()?.version;
if (!version) {
  await server.close();
  throw new Error(`no champion model under ${home}; train one first or omit --home to use the fixture model`);
}
if (args["compare-monitoring"] && !args.home) {
  await server.close();
  throw new Error(
    "--compare-monitoring serves a registry champion from `netsec serve` children: give --home",
  );
}

/**
 * --compare-monitoring: `netsec serve` twice, monitoring on and off, each in a process of its own with
 * the same options and model (the training runner idle in both); started in turn (the "on" one claims
 * monitoring/ from this process's server, which stays idle while they are measured). A new pair for
 * each scenario; with `profileDirs`, both run under the CPU profiler (its cost weighs on both alike)
 * and write their profiles there.
 */
async function startMonitoringPair(profileDirs?: {
  on: string;
  off: string;
}): Promise<{ on: ChildServe; off: ChildServe }> {
  const profile = (dir: string | undefined) => (dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []);
  const flags = [
    "--model",
    args.model,
    "--rate-limit",
    "off",
    ...(args["scoring-threads"] !== undefined ? ["--scoring-threads", args["scoring-threads"]] : []),
  ];
  const env = { NETSEC_HOME: home, NETSEC_API_TOKEN: token };
  const on = await startChildServe(flags, { ...env, NETSEC_MONITOR: "on" }, profile(profileDirs?.on));
  const off = await startChildServe(
    flags,
    { ...env, NETSEC_MONITOR: "off" },
    profile(profileDirs?.off),
  ).catch(async (e) => {
    await on.stop();
    throw e;
  });
  for (const c of [on, off]) {
    const ready = (await (await fetch(`${c.url}/health/ready`)).json()) as { model_version?: string };
    if (ready.model_version !== version) {
      await Promise.all([on.stop(), off.stop()]);
      throw new Error(`netsec serve at ${c.url} serves ${ready.model_version}, not ${version}`);
    }
  }
  return { on, off };
}
let livePair: { on: ChildServe; off: ChildServe } | null = null;

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

/**
 * `mlflow models serve` on the champion's ONNX export (its MLmodel names the onnx flavor), from the
 * project's .venv (scripts/python-env), as a user of the original stack would serve the same model.
 */
async function startMlflowServe(bundleDir: string): Promise<{ url: string; child: ChildProcess }> {
  const bin = fileURLToPath(new URL("../../.venv/bin", import.meta.url));
  if (!existsSync(join(bin, "mlflow"))) throw new Error(`${bin}/mlflow is missing: run scripts/python-env`);
  const port = await freePort();
  const child = spawn(
    join(bin, "mlflow"),
    [
      "models",
      "serve",
      "-m",
      join(bundleDir, "onnx"),
      "--env-manager",
      "local",
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
    ],
    { env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` }, stdio: "ignore", detached: true },
  );
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mlflow models serve exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/ping`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error("mlflow models serve did not answer /ping within 180 s");
    await new Promise((r) => setTimeout(r, 500));
  }
  process.stderr.write(`mlflow models serve on ${url} (${join(bundleDir, "onnx")})\n`);
  return { url, child };
}

let mlflowServe: { url: string; child: ChildProcess } | null = null;
if (args["mlflow-serve"]) {
  const dir = (server.app.netsec.holder.current() as { dir?: string } | null)?.dir;
  if (!dir) throw new Error("--mlflow-serve needs a registry champion (--home with a trained model)");
  mlflowServe = await startMlflowServe(dir);
}

const scenarios = scoringScenarios(server.url);

/** Monitoring's cost in one scenario over the rounds: summed requests and CPU, on against off. */
interface MonitoringCost {
  scenario: string;
  rounds: number;
  rpsOn: number;
  rpsOff: number;
  /** 1 − rpsOn / rpsOff: the share of throughput monitoring costs (negative: on was faster) */
  throughputCost: number;
  cpuMsPerRequestOn: number;
  cpuMsPerRequestOff: number;
  /** cpuOn / cpuOff − 1: the extra server CPU a request costs with monitoring on */
  cpuCost: number;
  /** the per-round throughput costs, to show their spread */
  roundThroughputCosts: number[];
  /** the per-round CPU costs (CPU per request on / off − 1) */
  roundCpuCosts: number[];
  /** --profile-monitoring: monitoring's share of the monitored server's CPU samples */
  profile?: MonitorShare;
}

function monitoringCost(scenario: string, pairs: { on: Row; off: Row }[]): MonitoringCost {
  const sum = (f: (p: { on: Row; off: Row }) => number) => pairs.reduce((a, p) => a + f(p), 0);
  const rpsOn = sum((p) => p.on.rps) / pairs.length;
  const rpsOff = sum((p) => p.off.rps) / pairs.length;
  const cpuOn =
    (1000 * sum((p) => p.on.cpuSeconds)) /
    Math.max(
      1,
      sum((p) => p.on.requests),
    );
  const cpuOff =
    (1000 * sum((p) => p.off.cpuSeconds)) /
    Math.max(
      1,
      sum((p) => p.off.requests),
    );
  return {
    scenario,
    rounds: pairs.length,
    rpsOn,
    rpsOff,
    throughputCost: 1 - rpsOn / rpsOff,
    cpuMsPerRequestOn: cpuOn,
    cpuMsPerRequestOff: cpuOff,
    cpuCost: cpuOn / cpuOff - 1,
    roundThroughputCosts: pairs.map((p) => 1 - p.on.rps / p.off.rps),
    roundCpuCosts: pairs.map(
      (p) =>
        p.on.cpuSeconds / Math.max(1, p.on.requests) / (p.off.cpuSeconds / Math.max(1, p.off.requests)) - 1,
    ),
  };
}

const rows: Row[] = [];
const monitoringCosts: MonitoringCost[] = [];
// --only <text>: the scenarios whose name contains it (e.g. --only csv)
if (args.only) scenarios.splice(0, scenarios.length, ...scenarios.filter((s) => s.name.includes(args.only!)));
try {
  for (const s of scenarios) {
    if (!args["compare-monitoring"]) {
      rows.push(await run(`netsec (${version})`, s));
      continue;
    }
    const profileDir = args["profile-monitoring"] ? mkdtempSync(join(tmpdir(), "netsec-prof-")) : undefined;
    livePair = await startMonitoringPair(
      profileDir ? { on: join(profileDir, "on"), off: join(profileDir, "off") } : undefined,
    );
    const { on: monitored, off: unmonitored } = livePair;
    const at = (c: ChildServe): Scenario => ({ ...s, url: s.url.replace(server.url, c.url) });
    const on = () => run(`netsec serve (${version}), monitoring on`, at(monitored), monitored.cpuSeconds);
    const off = () =>
      run(`netsec serve (${version}), monitoring off`, at(unmonitored), unmonitored.cpuSeconds);
    const pairs: { on: Row; off: Row }[] = [];
    for (let round = 0; round < Number(args.rounds); round++) {
      let pair: { on: Row; off: Row };
      let first: Row;
      let second: Row;
      if (args.together) {
        // both at once, each under its own load generator: the machine's other jobs weigh on both alike
        [first, second] = await Promise.all([on(), off()]);
        pair = { on: first, off: second };
      } else {
        // on first in even rounds, off first in odd ones
        first = round % 2 === 0 ? await on() : await off();
        second = round % 2 === 0 ? await off() : await on();
        pair = round % 2 === 0 ? { on: first, off: second } : { on: second, off: first };
      }
      for (const r of [first, second]) r.scenario += ` [round ${round + 1}]`;
      rows.push(first, second);
      pairs.push(pair);
    }
    // stopped (the profile is written as the process exits) before the next scenario's pair starts
    await Promise.all([monitored.stop(), unmonitored.stop()]);
    livePair = null;
    const cost = monitoringCost(s.name, pairs);
    if (profileDir) {
      cost.profile = monitorShare(join(profileDir, "on"));
      rmSync(profileDir, { recursive: true, force: true });
    }
    monitoringCosts.push(cost);
  }
  if (args["while-training"]) {
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const started = await fetch(`${server.url}/train`, {
      method: "POST",
      headers: auth,
      body: args["train-config"],
    });
    if (started.status !== 202)
      throw new Error(`POST /train: HTTP ${started.status} ${await started.text()}`);
    const { jobId } = (await started.json()) as { jobId: string };
    const state = async (): Promise<{ state: string; step: string; progress: number }> =>
      (await (await fetch(`${server.url}/jobs/${jobId}`)).json()) as {
        state: string;
        step: string;
        progress: number;
      };
    // wait until the job is past start-up and working
    while ((await state()).state === "running" && (await state()).step === "starting")
      await new Promise((r) => setTimeout(r, 200));
    for (const s of scenarios) {
      const before = await state();
      const row = await run(`netsec (${version}) while training`, s);
      const after = await state();
      if (before.state !== "running" || after.state !== "running")
        throw new Error(
          `the training job was not running throughout "${s.name}" (${before.state} → ${after.state}); use a shorter --duration`,
        );
      row.scenario += ` [training: ${before.step} ${(100 * before.progress).toFixed(0)}% → ${after.step} ${(100 * after.progress).toFixed(0)}%]`;
      rows.push(row);
    }
    process.stderr.write("waiting for the training job to finish…\n");
    let st = await state();
    while (st.state === "running") {
      await new Promise((r) => setTimeout(r, 1000));
      st = await state();
    }
    process.stderr.write(`training job ${jobId}: ${st.state}\n`);
  }
  const mlflow = mlflowServe?.url ?? args["mlflow-url"];
  if (mlflow) {
    for (const [name, n] of [
      ["records x1", 1],
      ["records x100", 100],
    ] as const) {
      const body = JSON.stringify({ dataframe_records: records(n) });
      rows.push(
        await run("mlflow models serve", {
          name,
          url: `${mlflow.replace(/\/$/, "")}/invocations`,
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          rowsPerRequest: n,
        }),
      );
    }
    // the same 1,000 rows as CSV (MLflow's /invocations takes text/csv; its signature has no target column)
    const lines = phishingCsvSlice(1000).trim().split("\n");
    const drop = lines[0]!.replace(/"/g, "").split(",").indexOf("Result");
    const csvNoTarget = `${lines
      .map((l) =>
        l
          .split(",")
          .filter((_, i) => i !== drop)
          .join(","),
      )
      .join("\n")}\n`;
    rows.push(
      await run("mlflow models serve", {
        name: "csv 1000 rows (text/csv to /invocations)",
        url: `${mlflow.replace(/\/$/, "")}/invocations`,
        method: "POST",
        headers: { "content-type": "text/csv" },
        body: csvNoTarget,
        rowsPerRequest: 1000,
      }),
    );
  }
} finally {
  if (mlflowServe?.child.pid) process.kill(-mlflowServe.child.pid, "SIGTERM");
  if (livePair) await Promise.all([livePair.on.stop(), livePair.off.stop()]);
  await server.close();
  if (!args.home) rmSync(home, { recursive: true, force: true });
}

if (args.json) {
  process.stdout.write(
    `${JSON.stringify({ duration_s: Number(args.duration), connections: Number(args.connections), rows, monitoring_cost: monitoringCosts })}\n`,
  );
} else {
  process.stdout.write(
    `| target | scenario | req/s | rows/s | p50 ms | p99 ms | server CPU ms/req | non-2xx | errors |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n`,
  );
  for (const r of rows) {
    const cpuPerRequest = r.requests > 0 ? ((1000 * r.cpuSeconds) / r.requests).toFixed(3) : "—";
    process.stdout.write(
      `| ${r.target} | ${r.scenario} | ${r.rps.toFixed(0)} | ${r.rowsPerSec.toFixed(0)} | ${r.p50} | ${r.p99} | ${cpuPerRequest} | ${r.non2xx} | ${r.errors} |\n`,
    );
  }
  if (monitoringCosts.length > 0) {
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    /** mean ± standard deviation of the rounds' figures, and their range */
    const spread = (xs: number[]) => {
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
      return `${pct(mean)} ± ${pct(sd)} (${pct(Math.min(...xs))} to ${pct(Math.max(...xs))})`;
    };
    process.stdout.write(
      `\n| scenario | rounds | req/s on | req/s off | throughput cost | server CPU ms/req on | off | CPU cost | rounds' throughput cost | rounds' CPU cost | monitoring's share of the CPU samples |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|\n`,
    );
    for (const c of monitoringCosts)
      process.stdout.write(
        `| ${c.scenario} | ${c.rounds} | ${c.rpsOn.toFixed(1)} | ${c.rpsOff.toFixed(1)} | ${pct(c.throughputCost)} | ${c.cpuMsPerRequestOn.toFixed(3)} | ${c.cpuMsPerRequestOff.toFixed(3)} | ${pct(c.cpuCost)} | ${spread(c.roundThroughputCosts)} | ${spread(c.roundCpuCosts)} | ${c.profile ? `${pct(c.profile.share)} (${c.profile.monitorMs.toFixed(0)} of ${c.profile.busyMs.toFixed(0)} ms)` : "—"} |\n`,
      );
  }
}
