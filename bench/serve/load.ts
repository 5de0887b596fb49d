/**
 * Load benchmark of the prediction service with autocannon against 127.0.0.1: requests/s and latency
 * p50/p99 for `POST /predict/records` (1 and 100 records) and a 1,000-row CSV upload (`POST /predict`).
 *
 *   npx node bench/serve/load.ts [--duration 10] [--connections 10] [--home <NETSEC_HOME>]
 *                                [--mlflow-url http://127.0.0.1:5001] [--json]
 *
 * The model: the registry champion under --home (loaded with the real bundle loader), or, without
 * --home, the test fixture (naive Bayes on phishing) so the harness runs before real bundles exist.
 * With --mlflow-url, the record scenarios also run against `mlflow models serve` (its /invocations
 * with `dataframe_records`) for a side-by-side line. The server and the load generator share the
 * machine (2 cores): compare numbers from the same run only.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { loadConfig } from "../../src/config/env.ts";
import { silentLogger } from "../../src/core/log.ts";
import { StaticModelSource } from "../../src/serve/model-holder.ts";
import { startServer } from "../../src/serve/server.ts";
import { fitFixturePredictor, phishingCsvSlice } from "../../test/serve/fixtures/predictor.ts";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "10" },
    home: { type: "string" },
    "mlflow-url": { type: "string" },
    json: { type: "boolean", default: false },
  },
});

interface Scenario {
  name: string;
  url: string;
  method: "POST";
  headers: Record<string, string>;
  body: string | Buffer;
  rowsPerRequest: number;
}

interface Row {
  target: string;
  scenario: string;
  rps: number;
  rowsPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

function records(n: number): Record<string, number>[] {
  const lines = phishingCsvSlice(n).trim().split("\n");
  const h = lines[0]!.replace(/"/g, "").split(",");
  // the target column is not an input
  return lines.slice(1).map((l) =>
    Object.fromEntries(
      l
        .split(",")
        .map((v, i) => [h[i]!, Number(v)])
        .filter(([k]) => k !== "Result"),
    ),
  );
}

function multipartBody(csv: string): { body: Buffer; type: string } {
  const b = "----netsecBench0123456789";
  const body = Buffer.concat([
    Buffer.from(
      `--${b}\r\nContent-Disposition: form-data; name="file"; filename="bench.csv"\r\nContent-Type: text/csv\r\n\r\n`,
    ),
    Buffer.from(csv),
    Buffer.from(`\r\n--${b}--\r\n`),
  ]);
  return { body, type: `multipart/form-data; boundary=${b}` };
}

async function run(target: string, s: Scenario): Promise<Row> {
  const r = await autocannon({
    url: s.url,
    method: s.method,
    headers: s.headers,
    body: s.body,
    connections: Number(args.connections),
    duration: Number(args.duration),
  });
  return {
    target,
    scenario: s.name,
    rps: r.requests.average,
    rowsPerSec: r.requests.average * s.rowsPerRequest,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

const home = args.home ?? mkdtempSync(join(tmpdir(), "netsec-bench-"));
const config = loadConfig({ NETSEC_HOME: home }, home);
const fixture = args.home ? null : await fitFixturePredictor();
const server = await startServer(config, {
  host: "127.0.0.1",
  port: 0,
  logger: silentLogger,
  rateLimit: false,
  modelPollMs: 0,
  ...(fixture ? { models: new StaticModelSource(fixture) } : {}),
});
const version = server.app.netsec.holder.current()?.version;
if (!version) {
  await server.close();
  throw new Error(`no champion model under ${home}; train one first or omit --home to use the fixture model`);
}

const rec1 = JSON.stringify(records(1));
const rec100 = JSON.stringify(records(100));
const csv = multipartBody(phishingCsvSlice(1000));
const scenarios: Scenario[] = [
  {
    name: "records x1",
    url: `${server.url}/predict/records`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: rec1,
    rowsPerRequest: 1,
  },
  {
    name: "records x100",
    url: `${server.url}/predict/records`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: rec100,
    rowsPerRequest: 100,
  },
  {
    name: "csv upload 1000 rows",
    url: `${server.url}/predict?format=json`,
    method: "POST",
    headers: { "content-type": csv.type },
    body: csv.body,
    rowsPerRequest: 1000,
  },
];

const rows: Row[] = [];
try {
  for (const s of scenarios) rows.push(await run(`netsec (${version})`, s));
  const mlflow = args["mlflow-url"];
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
  }
} finally {
  await server.close();
  if (!args.home) rmSync(home, { recursive: true, force: true });
}

if (args.json) {
  process.stdout.write(
    `${JSON.stringify({ duration_s: Number(args.duration), connections: Number(args.connections), rows })}\n`,
  );
} else {
  process.stdout.write(
    `| target | scenario | req/s | rows/s | p50 ms | p99 ms | non-2xx | errors |\n|---|---|---:|---:|---:|---:|---:|---:|\n`,
  );
  for (const r of rows) {
    process.stdout.write(
      `| ${r.target} | ${r.scenario} | ${r.rps.toFixed(0)} | ${r.rowsPerSec.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} |\n`,
    );
  }
}
