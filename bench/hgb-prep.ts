/**
 * hist_gradient_boosting's preparation before its first tree (issue 15), this checkout against
 * another (`--base=<dir>`: a checkout of an earlier commit, e.g. `git archive <commit> | tar -x -C
 * <dir>` with `node_modules` linked in), alternating in one process on NSL-KDD (KDDTrain+, the
 * issue's settings). Medians (and minima) of: the preparation's wall time (input checks, the bins
 * and the binned matrix, the sparse rows, the kernel memory, as `fit` makes them on two threads) and
 * this thread's CPU in it (its waits spinning included); whole fits' wall time and this thread's
 * CPU. A hash of each side's fitted model's decision values on KDDTest+ (sha256 of the float64
 * values, first 16 hex digits: the same trees give the same hash). Each side uses its own modules
 * (its own helper thread; the other side's sleeps). On a busy machine make the process real-time
 * once it has printed its pid (`chrt -f -a -p 5 <pid>`), as BENCHMARKS.md does.
 *
 *   npx node bench/hgb-prep.ts --base=<dir> [--reps=8]
 */
import { createHash } from "node:crypto";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import type { Matrix } from "../src/core/frame.ts";
import { ISSUE_HGB_PARAMS } from "./hgb-issue-params.ts";
import { loadNslKddOneHot } from "./nsl-kdd-rows.ts";

const argv = process.argv.slice(2);
const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const base = arg("base");
if (!base) throw new Error("usage: npx node bench/hgb-prep.ts --base=<dir> [--reps=8]");
const reps = Number(arg("reps") ?? 8);

/** The modules a side's preparation and fit come from (typed as this checkout's: the same API). */
async function side(root: string) {
  const at = <T>(p: string): Promise<T> => import(resolve(root, p));
  const checks = await at<typeof import("../src/models/checks.ts")>("src/models/checks.ts");
  const fitInput = await at<typeof import("../src/models/hgb/fit-input.ts")>("src/models/hgb/fit-input.ts");
  const kernels = await at<typeof import("../src/models/hgb/wasm-kernels.ts")>(
    "src/models/hgb/wasm-kernels.ts",
  );
  const histogram = await at<typeof import("../src/models/hgb/histogram.ts")>("src/models/hgb/histogram.ts");
  const hgb = await at<typeof import("../src/models/hist-gradient-boosting.ts")>(
    "src/models/hist-gradient-boosting.ts",
  );
  const registry = await at<typeof import("../src/models/registry.ts")>("src/models/registry.ts");
  return {
    /** `fit`'s steps before the first tree on all rows without categories: wall and this thread's CPU (ms). */
    prep(X: Matrix, y: Int32Array): { wall: number; cpu: number } {
      const tc = process.threadCpuUsage();
      const t = performance.now();
      // (a checkout whose binning reports ±Infinity checks the values there, as its fit does)
      const shape: typeof checks.checkFitShape | undefined = Reflect.get(checks, "checkFitShape");
      const inBinning = shape !== undefined;
      if (shape) shape(X, y, 2, "hist_gradient_boosting");
      else checks.checkFitData(X, y, 2, "hist_gradient_boosting", true);
      const { mapper, bins, infinite } = fitInput.binOnTwoThreads(
        X,
        { maxBins: 255, seed: 0, rule: "averaged_inverted_cdf" },
        true,
      );
      if (inBinning && infinite) throw new Error("±Infinity in the rows");
      const off = histogram.histOffsets(mapper.nBins);
      const sparse = fitInput.sparseRowsOnTwoThreads(bins, X.nRows, mapper.nBins, off, true);
      // (33 histograms and 62 nodes a tree: the fit's for 31 leaves)
      kernels.wasmFitKernels(sparse, bins, X.nRows, 1, off[X.nCols]!, 33, 62);
      const wall = performance.now() - t;
      const u = process.threadCpuUsage(tc);
      return { wall, cpu: (u.user + u.system) / 1000 };
    },
    model() {
      const m = registry.createModel("hist_gradient_boosting", ISSUE_HGB_PARAMS);
      if (!(m instanceof hgb.HistGradientBoostingClassifier)) throw new Error("not hist_gradient_boosting");
      return m;
    },
  };
}

const d = await loadNslKddOneHot();
const sides = { base: await side(resolve(base)), this: await side(resolve(import.meta.dirname, "..")) };
console.log(`pid ${process.pid}`);
// (time to make the process real-time)
await new Promise((r) => setTimeout(r, 2000));
const hashOf = (v: Float64Array) =>
  createHash("sha256")
    .update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
    .digest("hex")
    .slice(0, 16);
const med = (a: number[]) => {
  const s = a.slice().sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
type Name = keyof typeof sides;
const res = Object.fromEntries(
  (["base", "this"] as const).map((k) => [
    k,
    {
      prep: [] as number[],
      prepCpu: [] as number[],
      fit: [] as number[],
      thread: [] as number[],
      hash: new Set<string>(),
    },
  ]),
) as Record<Name, { prep: number[]; prepCpu: number[]; fit: number[]; thread: number[]; hash: Set<string> }>;
const la0 = loadavg()[0]!;
for (let i = -1; i < reps; i++) {
  for (const k of (i % 2 ? ["base", "this"] : ["this", "base"]) as Name[]) {
    const s = sides[k];
    await new Promise((r) => setTimeout(r, 300));
    const prep = s.prep(d.Xtr, d.ytr);
    await new Promise((r) => setTimeout(r, 300));
    const m = s.model();
    const tc = process.threadCpuUsage();
    const t = performance.now();
    await m.fit(d.Xtr, d.ytr, 2);
    const fit = performance.now() - t;
    const tu = process.threadCpuUsage(tc);
    // (the first round warms both sides up)
    if (i < 0) continue;
    res[k].prep.push(prep.wall);
    res[k].prepCpu.push(prep.cpu);
    res[k].fit.push(fit);
    res[k].thread.push((tu.user + tu.system) / 1000);
    if (i < 2) res[k].hash.add(hashOf(m.decision(d.Xte)));
  }
}
for (const k of ["base", "this"] as Name[]) {
  const r = res[k];
  console.log(
    `${k} n=${r.fit.length} preparation med ${med(r.prep).toFixed(1)} ms (min ${Math.min(...r.prep).toFixed(1)}), this thread's CPU med ${med(r.prepCpu).toFixed(0)} ms | fit wall med ${med(r.fit).toFixed(0)} ms (min ${Math.min(...r.fit).toFixed(0)}) | fit thread CPU med ${med(r.thread).toFixed(0)} ms | hash ${[...r.hash].join(",")}`,
  );
  console.log(`   preparations ${r.prep.map((x) => x.toFixed(0)).join(" ")}`);
}
console.log(`load ${la0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`);
process.exit(0);
