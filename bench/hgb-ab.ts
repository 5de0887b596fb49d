/**
 * hist_gradient_boosting's NSL-KDD fit (issue 15's settings), this checkout against another
 * (`--base=<dir>`: e.g. `git archive <commit> | tar -x -C <dir>`, `node_modules` linked in),
 * alternating fit by fit in one process (each side its own modules and its own helper thread; the
 * other side's sleeps). Per side: wall time (median, minimum, 90th percentile, maximum: a two-thread
 * fit spreads with the second core's availability), this thread's CPU and the process's (medians),
 * the median of each pair's wall ratio (this / base: the two fits of a pair ran back to back), and a
 * hash of the fitted model's decision values on KDDTest+ (sha256 of the float64 values, first 16 hex
 * digits: the same trees give the same hash), and after each fit the fastest of 20 predictions of
 * KDDTest+ (rows/s; the median over fits). A side whose helper.ts counts its hand-offs
 * (`helperHandOffs`) also gets, per fit and task, how many the helper did, how many it had not claimed
 * when the caller's share was done (the caller did them), how many it was late with, and the
 * caller's waits for it (ms). `--threads=1`: every build on the fitting thread. On a busy machine make
 * the process real-time once it has printed its pid (`chrt -f -a -p 5 <pid>`, for runs under 2 min).
 *
 *   npx node bench/hgb-ab.ts --base=<dir> [--reps=8] [--threads=2] [--pause=300]
 */
import { createHash } from "node:crypto";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { ISSUE_HGB_PARAMS } from "./hgb-issue-params.ts";
import { loadNslKddOneHot } from "./nsl-kdd-rows.ts";

const argv = process.argv.slice(2);
const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const base = arg("base");
if (!base)
  throw new Error("usage: npx node bench/hgb-ab.ts --base=<dir> [--reps=8] [--threads=2] [--pause=300]");
const reps = Number(arg("reps") ?? 8);
const oneThread = arg("threads") === "1";
const pauseMs = Number(arg("pause") ?? 300);

type Counts = Map<string, { helper: number; caller: number; late: number; waitMs: number }>;

/** The modules a side's fit comes from (typed as this checkout's: the same API). */
async function side(root: string) {
  const at = <T>(p: string): Promise<T> => import(resolve(root, p));
  const kernels = await at<typeof import("../src/models/hgb/wasm-kernels.ts")>(
    "src/models/hgb/wasm-kernels.ts",
  );
  const helper = await at<typeof import("../src/core/helper.ts")>("src/core/helper.ts");
  const hgb = await at<typeof import("../src/models/hist-gradient-boosting.ts")>(
    "src/models/hist-gradient-boosting.ts",
  );
  const registry = await at<typeof import("../src/models/registry.ts")>("src/models/registry.ts");
  kernels.disableHistogramHelper(oneThread);
  // (a checkout from before the hand-offs were counted has none)
  const counts: (() => Counts) | undefined = Reflect.get(helper, "helperHandOffs");
  return {
    counts,
    model() {
      const m = registry.createModel("hist_gradient_boosting", ISSUE_HGB_PARAMS);
      if (!(m instanceof hgb.HistGradientBoostingClassifier)) throw new Error("not hist_gradient_boosting");
      return m;
    },
  };
}

const d = await loadNslKddOneHot();
const sides = { base: await side(resolve(base)), this: await side(resolve(import.meta.dirname, "..")) };
type Name = keyof typeof sides;
console.log(`pid ${process.pid}`);
// (time to make the process real-time)
await new Promise((r) => setTimeout(r, 2000));
const hashOf = (v: Float64Array) =>
  createHash("sha256")
    .update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
    .digest("hex")
    .slice(0, 16);
const quantile = (a: number[], q: number) => {
  const s = a.slice().sort((x, y) => x - y);
  const i = q * (s.length - 1);
  const lo = Math.floor(i);
  return s[lo]! + (i - lo) * ((s[Math.ceil(i)] ?? s[lo]!) - s[lo]!);
};
interface SideResults {
  wall: number[];
  thread: number[];
  cpu: number[];
  predict: number[];
  hash: Set<string>;
  counts: Counts;
}
const results = (): SideResults => ({
  wall: [],
  thread: [],
  cpu: [],
  predict: [],
  hash: new Set(),
  counts: new Map(),
});
const res: Record<Name, SideResults> = { base: results(), this: results() };
const ratios: number[] = [];
const la0 = loadavg()[0]!;
for (let i = -1; i < reps; i++) {
  const pair: Partial<Record<Name, number>> = {};
  for (const k of (i % 2 ? ["base", "this"] : ["this", "base"]) as Name[]) {
    const s = sides[k];
    await new Promise((r) => setTimeout(r, pauseMs));
    const m = s.model();
    const before = s.counts?.();
    const c = process.cpuUsage();
    const tc = process.threadCpuUsage();
    const t = performance.now();
    await m.fit(d.Xtr, d.ytr, 2);
    const wall = performance.now() - t;
    const tu = process.threadCpuUsage(tc);
    const u = process.cpuUsage(c);
    // (the first round warms both sides up)
    if (i < 0) continue;
    const r = res[k];
    r.wall.push(wall);
    r.thread.push((tu.user + tu.system) / 1000);
    r.cpu.push((u.user + u.system) / 1000);
    pair[k] = wall;
    for (const [task, after] of s.counts?.() ?? []) {
      const was = before?.get(task);
      const sum = r.counts.get(task) ?? { helper: 0, caller: 0, late: 0, waitMs: 0 };
      for (const f of ["helper", "caller", "late", "waitMs"] as const) sum[f] += after[f] - (was?.[f] ?? 0);
      r.counts.set(task, sum);
    }
    if (i < 2) r.hash.add(hashOf(m.decision(d.Xte)));
    // predict: the fastest of 20 calls on KDDTest+ (this side's model, its helper), k rows/s
    let best = Number.POSITIVE_INFINITY;
    for (let j = 0; j < 20; j++) {
      const tp = performance.now();
      m.predictProba(d.Xte);
      best = Math.min(best, performance.now() - tp);
    }
    r.predict.push(d.Xte.nRows / best);
  }
  if (pair.this !== undefined && pair.base !== undefined) ratios.push(pair.this / pair.base);
}
const f0 = (x: number) => x.toFixed(0);
console.log(`${oneThread ? "one thread" : "two threads"}, ${reps} fits a side`);
for (const k of ["base", "this"] as Name[]) {
  const r = res[k];
  console.log(
    `${k.padEnd(4)} wall med ${f0(quantile(r.wall, 0.5))} ms (min ${f0(Math.min(...r.wall))}, p90 ${f0(quantile(r.wall, 0.9))}, max ${f0(Math.max(...r.wall))}) | this thread's CPU med ${f0(quantile(r.thread, 0.5))} | process CPU med ${f0(quantile(r.cpu, 0.5))} | predict med ${f0(quantile(r.predict, 0.5))} k rows/s | hash ${[...r.hash].join(",")}`,
  );
  console.log(`     walls ${r.wall.map(f0).join(" ")}`);
  for (const [task, c] of r.counts) {
    const n = r.wall.length;
    console.log(
      `     ${task} a fit: helper ${(c.helper / n).toFixed(1)}, not claimed ${(c.caller / n).toFixed(1)}, late ${(c.late / n).toFixed(1)}, waited ${(c.waitMs / n).toFixed(1)} ms`,
    );
  }
}
console.log(
  `pairs this/base wall: median ${quantile(ratios, 0.5).toFixed(3)} (${ratios.map((x) => x.toFixed(2)).join(" ")})`,
);
console.log(`load ${la0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`);
process.exit(0);
