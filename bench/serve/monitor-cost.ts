/**
 * What monitoring adds to scoring, per batch, on the scoring thread: `countBatch` (the window counts
 * of a batch, src/monitor/counts.ts) against the bundle's own scoring of the same rows
 * (`BundlePredictor.predict`), for 1,000-row batches of the champion's dataset. The best of many
 * repetitions of each (CPU time of this thread, so other processes on the machine weigh less than in
 * the throughput benchmark), then the ratio; and the same for a whole CSV upload on a scoring thread
 * (`scoreCsv`: parse, score, output CSV and JSON) with and without counting.
 *
 *   npx node bench/serve/monitor-cost.ts --home <NETSEC_HOME> --model <name> --input <csv or txt> [--rows 1000] [--reps 200]
 */
import { readFileSync } from "node:fs";
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import { BundlePredictor } from "../../src/bundle/bundle.ts";
import { ModelRegistry } from "../../src/bundle/registry.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { countBatch } from "../../src/monitor/counts.ts";
import { readMonitorReference } from "../../src/monitor/reference.ts";
import { scoreCsv } from "../../src/serve/score-csv.ts";

const { values: args } = parseArgs({
  options: {
    home: { type: "string" },
    model: { type: "string", default: "netsec-phishing" },
    input: { type: "string" },
    rows: { type: "string", default: "1000" },
    reps: { type: "string", default: "200" },
  },
});
if (!args.home || !args.input) throw new Error("--home and --input are required");
const input = args.input;
const dir = new ModelRegistry(args.home).resolve(`${args.model}@champion`).dir;
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
const counting = await best(() => countBatch(ref, { frame: batch, ...pred }), reps);
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
process.stdout.write(
  `${args.model} (${p.manifest.model}, ${p.manifest.input_columns.length} inputs), ${n}-row batches: scoring ${(scoring / 1000).toFixed(2)} ms, counting ${(counting / 1000).toFixed(3)} ms = ${((100 * counting) / scoring).toFixed(1)}% of scoring; whole upload (scoreCsv) ${(plain / 1000).toFixed(2)} ms, with counting ${(monitored / 1000).toFixed(2)} ms = +${((100 * (monitored - plain)) / plain).toFixed(1)}%\n`,
);
