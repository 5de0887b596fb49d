/**
 * What monitoring adds to scoring, per batch, on the scoring thread: `countBatchFlat` (the window counts
 * of a batch, src/monitor/window-counter.ts) against the bundle's own scoring of the same rows
 * (`BundlePredictor.predict`), for 1,000-row batches of the champion's dataset. The best of many
 * repetitions of each (CPU time of this thread, so other processes on the machine weigh less than in
 * the throughput benchmark), then the ratio; and the same for a whole CSV upload on a scoring thread
 * (`scoreCsv`: parse, score, output CSV and JSON) with and without counting. Then the rest of
 * monitoring's work for such an upload, as averages over many (collections included): the counts'
 * hand-over to the event loop (a structured clone, as a scoring thread's answer is), and the server's
 * `Monitor.record` of them at `--rate` uploads a second — the window's close every `windowRows` rows
 * and the save every 5 s included — on a temporary copy of the home's monitoring.
 *
 * The whole upload is also measured in interleaved pairs (with counting, without, in turns: the
 * median of each pair's difference), which counts the counting where it runs — after the parse and the
 * scoring, with their data in the CPU's caches or not — and not as a loop of its own over hot data.
 * Every other upload is not counted, which leaves the counting's own code and data colder than in a
 * server counting every upload: an upper estimate (BENCHMARKS.md, lane S4).
 * --window-rows sets the windows' size (NETSEC_MONITOR_WINDOW_ROWS; 10,000 by default) and
 * --window-min-seconds their least age (NETSEC_MONITOR_WINDOW_MIN_SECONDS; 60 by default, 0: closed at
 * the rows alone): each close costs a drift report, alert rules and a saved summary.
 *
 *   npx node bench/serve/monitor-cost.ts --home <NETSEC_HOME> --model <name> --input <csv or txt> [--rows 1000] [--reps 200] [--rate 190] [--window-rows 10000] [--window-min-seconds 60]
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { BundlePredictor } from "../../src/bundle/bundle.ts";
import { ModelRegistry } from "../../src/bundle/registry.ts";
import { homeLayout } from "../../src/config/home.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { Monitor, monitoredName } from "../../src/monitor/monitor.ts";
import { readMonitorReference } from "../../src/monitor/reference.ts";
import { countBatchFlat } from "../../src/monitor/window-counter.ts";
import { scoreCsv } from "../../src/serve/score-csv.ts";

const { values: args } = parseArgs({
  options: {
    home: { type: "string" },
    model: { type: "string", default: "netsec-phishing" },
    input: { type: "string" },
    rows: { type: "string", default: "1000" },
    reps: { type: "string", default: "200" },
    rate: { type: "string", default: "190" },
    "window-rows": { type: "string", default: "10000" },
    "window-min-seconds": { type: "string", default: "60" },
  },
});
if (!args.home || !args.input) throw new Error("--home and --input are required");
const input = args.input;
const champion = new ModelRegistry(args.home).resolve(`${args.model}@champion`);
const dir = champion.dir;
const p = new BundlePredictor(dir);
const ref = readMonitorReference(dir);
if (!ref) throw new Error(`${dir} has no monitoring reference: retrain`);
const { frame } = await loadFrame({ path: input }, p.schema);
const n = Math.min(Number(args.rows), frame.nRows);
const batch = frame.take(Int32Array.from({ length: n }, (_, i) => i));

/** Best CPU time (µs) of `reps` runs of f. */
async function best(f: () => unknown, reps: number): Promise<number> {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < reps; i++) {
    const t = cpuUsage();
    await f();
    const d = cpuUsage(t);
    min = Math.min(min, d.user + d.system);
  }
  return min;
}

const reps = Number(args.reps);
const pred = p.predict(batch);
const scoring = await best(() => p.predict(batch), reps);
const counting = await best(() => countBatchFlat(ref, { frame: batch, ...pred }), reps);
// the same rows as an upload: the CSV header and the first n lines of the file (headerless .txt: the schema's columns)
const text = readFileSync(input, "utf8").split("\n");
const headed = input.endsWith(".csv");
const body = Buffer.from(
  `${headed ? text[0] : p.schema.columns.map((c) => c.name).join(",")}\n${text.slice(headed ? 1 : 0, (headed ? 1 : 0) + n).join("\n")}\n`,
);
const limits = { maxBytes: 1 << 26, maxRows: 1 << 20, maxRowChars: 1 << 16 };
const upload = (monitor: boolean) => () => scoreCsv(p, "bench.csv", body, limits, true, 0, monitor);
const plain = await best(upload(false), reps);
const monitored = await best(upload(true), reps);

/** Median CPU time (µs) of f(true) − f(false) over `reps` interleaved pairs (the order swapped each pair). */
async function pairedMedian(f: (on: boolean) => () => unknown, reps: number): Promise<number> {
  const diffs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const us = { on: 0, off: 0 };
    for (const on of i % 2 === 0 ? [true, false] : [false, true]) {
      const t = cpuUsage();
      await f(on)();
      const d = cpuUsage(t);
      us[on ? "on" : "off"] = d.user + d.system;
    }
    diffs.push(us.on - us.off);
  }
  diffs.sort((a, b) => a - b);
  return diffs[diffs.length >> 1]!;
}
const inUpload = await pairedMedian(upload, reps);

/** Average CPU time (µs) of `reps` runs of f (after a warm-up), collections included. */
function average(f: (i: number) => void, reps: number): number {
  for (let i = 0; i < Math.min(200, reps); i++) f(i);
  const t = cpuUsage();
  for (let i = 0; i < reps; i++) f(i);
  const d = cpuUsage(t);
  return (d.user + d.system) / reps;
}
const counts = countBatchFlat(ref, { frame: batch, ...pred });
const handOver = average(() => structuredClone(counts), reps * 10);
// the event loop's part, on a copy of the monitoring folder (the home's own is never written)
const copy = mkdtempSync(join(tmpdir(), "netsec-monitor-cost-"));
const from = homeLayout(args.home).monitoring;
if (existsSync(from)) cpSync(from, homeLayout(copy).monitoring, { recursive: true });
const quiet = pino({ level: "silent" });
const monitor = new Monitor(
  copy,
  { windowRows: Number(args["window-rows"]), windowMinSeconds: Number(args["window-min-seconds"]) },
  quiet,
  null,
);
// as the server names it (its history under monitoring/<name>/)
const version = `${champion.name}:${champion.version.version}`;
const model = { name: monitoredName(version, p.manifest.dataset), version, runId: p.manifest.run_id, dir };
const stepMs = 1000 / Number(args.rate);
const perSave = Math.max(1, Math.round(5000 / stepMs));
let now = Date.now();
const recording = average((i) => {
  now += stepMs;
  monitor.record(model, structuredClone(counts), new Date(now));
  if (i % perSave === perSave - 1) monitor.tick(new Date(now), false);
}, reps * 10);
rmSync(copy, { recursive: true, force: true });
process.stdout.write(
  `${args.model} (${p.manifest.model}, ${p.manifest.input_columns.length} inputs), ${n}-row batches: scoring ${(scoring / 1000).toFixed(2)} ms, counting ${(counting / 1000).toFixed(3)} ms = ${((100 * counting) / scoring).toFixed(1)}% of scoring; whole upload (scoreCsv) ${(plain / 1000).toFixed(2)} ms, with counting ${(monitored / 1000).toFixed(2)} ms = +${((100 * (monitored - plain)) / plain).toFixed(1)}%\n` +
    `monitoring's work per upload, averages: counting ${counting.toFixed(0)} µs (best), hand-over ${handOver.toFixed(1)} µs, the event loop's record with closes (${args["window-rows"]}-row windows, at least ${args["window-min-seconds"]} s old) and saves at ${args.rate} uploads/s ${(recording - handOver).toFixed(1)} µs; together ${((100 * (counting + recording)) / plain).toFixed(1)}% of the upload's work on the scoring thread\n` +
    `a whole upload with counting minus without, median of ${reps} interleaved pairs: ${inUpload.toFixed(0)} µs (${((100 * inUpload) / plain).toFixed(1)}% of the best upload without)\n`,
);
