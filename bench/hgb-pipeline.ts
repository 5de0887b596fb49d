/**
 * The grower's pipeline (grower.ts, issue 15) off and on, alternating fit by fit in one process on
 * NSL-KDD (100 iterations, 31 leaves): medians of the wall time, this thread's CPU and the process's,
 * the pipelined builds a fit, and a hash of the fitted model's decision values on KDDTest+ (sha256 of
 * the float64 values, first 16 hex digits: the same trees give the same hash). On a busy machine make
 * the process real-time once it has loaded the rows (`chrt -f -a -p 5 <pid>`), as BENCHMARKS.md does.
 *
 *   npx node bench/hgb-pipeline.ts [fits of each, 6] [one: every build on this thread]
 */
import { createHash } from "node:crypto";
import { loadavg } from "node:os";
import { closePool } from "../src/core/pool.ts";
import {
  disableGrowerPipeline,
  disableHistogramHelper,
  pipelinedBuilds,
} from "../src/models/hgb/wasm-kernels.ts";
import type { HistGradientBoostingClassifier } from "../src/models/hist-gradient-boosting.ts";
import { createModel } from "../src/models/registry.ts";
import { ISSUE_HGB_PARAMS } from "./hgb-issue-params.ts";
import { loadNslKddOneHot } from "./nsl-kdd-rows.ts";

const PARAMS = ISSUE_HGB_PARAMS;
const reps = Number(process.argv[2] ?? 6);
const oneThread = process.argv[3] === "one";
const d = await loadNslKddOneHot();
disableHistogramHelper(oneThread);
const hashOf = (m: HistGradientBoostingClassifier) => {
  const v: Float64Array = m.decision(d.Xte);
  return createHash("sha256")
    .update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
    .digest("hex")
    .slice(0, 16);
};
const fitOnce = async (pipe: boolean) => {
  disableGrowerPipeline(!pipe);
  const p0 = pipelinedBuilds();
  const m = createModel("hist_gradient_boosting", PARAMS) as HistGradientBoostingClassifier;
  const c = process.cpuUsage();
  const tc = process.threadCpuUsage();
  const t = performance.now();
  await m.fit(d.Xtr, d.ytr, 2);
  const wall = performance.now() - t;
  const tu = process.threadCpuUsage(tc);
  const u = process.cpuUsage(c);
  return {
    m,
    wall,
    thread: (tu.user + tu.system) / 1000,
    cpu: (u.user + u.system) / 1000,
    piped: pipelinedBuilds() - p0,
  };
};
const med = (a: number[]) => {
  const s = a.slice().sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
const res: Record<
  string,
  { wall: number[]; thread: number[]; cpu: number[]; piped: number[]; hash: Set<string> }
> = {};
for (const k of ["off", "on"]) res[k] = { wall: [], thread: [], cpu: [], piped: [], hash: new Set() };
const la0 = loadavg()[0]!;
await fitOnce(false);
await fitOnce(true); // warm-up
for (let i = 0; i < reps; i++) {
  for (const pipe of i % 2 ? [true, false] : [false, true]) {
    await new Promise((r) => setTimeout(r, 300));
    const r = await fitOnce(pipe);
    const k = pipe ? "on" : "off";
    res[k]!.wall.push(r.wall);
    res[k]!.thread.push(r.thread);
    res[k]!.cpu.push(r.cpu);
    res[k]!.piped.push(r.piped);
    if (i < 2) res[k]!.hash.add(hashOf(r.m));
  }
}
const la1 = loadavg()[0]!;
for (const k of ["off", "on"]) {
  const r = res[k]!;
  console.log(
    `${k} ${oneThread ? "1thr" : "2thr"} n=${r.wall.length} wall med ${med(r.wall).toFixed(0)} (min ${Math.min(...r.wall).toFixed(0)}) thread cpu med ${med(r.thread).toFixed(0)} proc cpu med ${med(r.cpu).toFixed(0)} piped ${med(r.piped)} hash ${[...r.hash].join(",")}`,
  );
  console.log(`   walls ${r.wall.map((x) => x.toFixed(0)).join(" ")}`);
}
console.log(`load ${la0.toFixed(1)} -> ${la1.toFixed(1)}`);
await closePool();
