/**
 * CPU of the stream consumer's JSON fast path (src/stream/fast-frame.ts) per record: 100,000 phishing
 * records as `netsec produce` publishes them (bench/stream.ts), scanned into Frames in batches of the
 * consumer's default batch size (8,000), timed with `process.threadCpuUsage` (this thread's CPU, which
 * the machine's load changes little, unlike wall time). Median of the repetitions.
 *
 * With `--compare=PATH` (a copy of an older fast-frame.ts placed in src/stream/ so its imports resolve),
 * the two are timed alternately in one process, and the ratio new / old is printed per repetition.
 *
 * Usage: npx node bench/stream-scan.ts [--records=100000] [--batch=8000] [--reps=9] [--compare=src/stream/old.ts]
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseSchema } from "../src/datasets/schema.ts";
import { type FastFrame, fastJsonFrame } from "../src/stream/fast-frame.ts";

const ROOT = resolve(import.meta.dirname, "..");
const arg = (name: string, dflt: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const N = Number(arg("records", "100000"));
const BATCH = Number(arg("batch", "8000"));
const REPS = Number(arg("reps", "9"));
const COMPARE = arg("compare", "");

const MIRROR = process.env.NETSEC_DATASET_MIRROR ?? resolve(ROOT, "../shared/datasets");
const lines = readFileSync(join(MIRROR, "phishing", "phisingData.csv"), "utf8")
  .trim()
  .split(/\r?\n/);
const header = lines[0]!.replace(/"/g, "").split(",");
const rows = lines
  .slice(1)
  .map((l) => JSON.stringify(Object.fromEntries(l.split(",").map((v, i) => [header[i]!, v]))));
// fresh strings per record, as the Kafka client decodes each value (`Buffer#toString("utf-8")`)
const bytes = rows.map((r) => Buffer.from(r, "utf-8"));
const records = Array.from({ length: N }, (_, j) => bytes[j % bytes.length]!.toString("utf-8"));
const batches: string[][] = [];
for (let i = 0; i < N; i += BATCH) batches.push(records.slice(i, i + BATCH));

const schema = parseSchema(readFileSync(join(ROOT, "datasets/phishing.yaml"), "utf8"));
const inputs = schema.columnNames.filter((n) => n !== schema.target.name);

/** Thread CPU ns per record of one pass over every batch with a fast path made for the run. */
function pass(make: () => FastFrame): number {
  const fast = make();
  const t0 = process.threadCpuUsage();
  for (const b of batches)
    if (fast(b, schema, inputs) === null) throw new Error("the fast path refused a batch");
  const t = process.threadCpuUsage(t0);
  return ((t.user + t.system) * 1000) / N;
}

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;

const other = COMPARE
  ? ((await import(pathToFileURL(resolve(COMPARE)).href)) as { fastJsonFrame: () => FastFrame }).fastJsonFrame
  : null;
// warm-up: both compiled and optimised before timing
for (let k = 0; k < 3; k++) {
  pass(fastJsonFrame);
  if (other) pass(other);
}
const cur: number[] = [];
const old: number[] = [];
for (let k = 0; k < REPS; k++) {
  cur.push(pass(fastJsonFrame));
  if (other) old.push(pass(other));
  console.log(
    `rep ${k + 1}: this ${cur[k]!.toFixed(0)} ns/record${other ? `, compared ${old[k]!.toFixed(0)} ns/record, ratio ${(cur[k]! / old[k]!).toFixed(3)}` : ""}`,
  );
}
console.log(
  `median of ${REPS}, ${N.toLocaleString("en-US")} records in batches of ${BATCH}: this ${median(cur).toFixed(0)} ns/record` +
    (other
      ? `, compared ${median(old).toFixed(0)} ns/record, ratio ${(median(cur) / median(old)).toFixed(3)}`
      : ""),
);
