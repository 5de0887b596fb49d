/**
 * The forest's helper-thread hand-off for a stream's batch sizes (lane S3, issue 18): the phishing random
 * forest (n_estimators 100, trained into a temporary NETSEC_HOME) predicts batches of JSON records
 * (scanned by the stream's fast path) on one thread (`onThisThread`) and split with the helper thread,
 * alternately in one process, 2 ms apart (as a paced stream's batches come: the helper goes back to
 * sleep between them); per batch, CPU of the main thread (`process.threadCpuUsage`), of the process
 * (both threads, `process.cpuUsage`, read 1 ms after the batch so the helper's spin after its task
 * counts) and wall time, medians. `src/stream/score.ts` scores batches under SPLIT_MIN_RECORDS on one
 * thread from this.
 *
 * Usage: npx node bench/stream-split.ts [--rows=100,500,1000,2000,8000] [--reps=60]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadPredictor } from "../src/bundle/bundle.ts";
import { closeHelper, onThisThread } from "../src/core/helper.ts";
import { fastFrame } from "../src/stream/fast-frame.ts";
import { trainPhishingForest } from "./phishing-forest.ts";

const ROOT = resolve(import.meta.dirname, "..");
const arg = (name: string, dflt: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const SIZES = arg("rows", "100,500,1000,2000,8000").split(",").map(Number);
const REPS = Number(arg("reps", "60"));
const MIRROR = process.env.NETSEC_DATASET_MIRROR ?? resolve(ROOT, "../shared/datasets");
const home = mkdtempSync(join(tmpdir(), "netsec-bench-split-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (v: number[]) => v.sort((a, b) => a - b)[v.length >> 1]!;

try {
  trainPhishingForest(home, { ...process.env, NETSEC_DATASET_MIRROR: MIRROR }, ROOT);
  const p = loadPredictor(join(home, "registry", "netsec-phishing", "versions", "1"));
  // the phishing rows as JSON records, as `netsec produce` publishes them
  const lines = readFileSync(join(MIRROR, "phishing", "phisingData.csv"), "utf8")
    .trim()
    .split(/\r?\n/);
  const header = lines[0]!.replace(/"/g, "").split(",");
  const records = lines
    .slice(1)
    .map((l) => JSON.stringify(Object.fromEntries(l.split(",").map((v, i) => [header[i]!, v]))));
  const scan = fastFrame("json", header);
  const frames = new Map(
    SIZES.map((n) => [n, scan(records.slice(0, n), p.schema, p.manifest.input_columns)!]),
  );
  const modes = {
    "one thread": (f: Parameters<typeof p.predict>[0]) => onThisThread(() => p.predict(f)),
    "split with the helper": (f: Parameters<typeof p.predict>[0]) => p.predict(f),
  };
  // warm both paths (the first split batches clone the trees to the helper)
  for (let i = 0; i < 40; i++)
    for (const f of frames.values()) for (const run of Object.values(modes)) run(f);
  const load = loadavg()[0]!;
  const rows: string[] = [];
  for (const n of SIZES) {
    const got = new Map(
      Object.keys(modes).map((m) => [m, { main: [] as number[], all: [] as number[], wall: [] as number[] }]),
    );
    for (let r = 0; r < REPS; r++) {
      const order = Object.entries(modes);
      if (r % 2) order.reverse();
      for (const [name, run] of order) {
        await sleep(2);
        const t0 = process.threadCpuUsage();
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        run(frames.get(n)!);
        const w1 = performance.now();
        await sleep(1);
        const t = process.threadCpuUsage(t0);
        const c = process.cpuUsage(c0);
        const g = got.get(name)!;
        g.main.push(t.user + t.system);
        g.all.push(c.user + c.system);
        g.wall.push((w1 - w0) * 1000);
      }
    }
    const cell = (m: string) => {
      const g = got.get(m)!;
      return `${median(g.main)} / ${median(g.all)} / ${Math.round(median(g.wall))}`;
    };
    rows.push(`| ${n.toLocaleString("en-US")} | ${cell("one thread")} | ${cell("split with the helper")} |`);
  }
  console.log(`Load average (1 min) ${load.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after; median of ${REPS}, µs a batch.

| rows | one thread: main thread / process / wall | split with the helper: main thread / process / wall |
|---:|---|---|
${rows.join("\n")}`);
} finally {
  await closeHelper();
  rmSync(home, { recursive: true, force: true });
}
