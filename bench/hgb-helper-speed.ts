/**
 * The same histogram build (the fit's kernel, a node of NSL-KDD's shape: 125,973 rows, about 11
 * uncommon bins a row over 2,565 slots) timed on this thread and on the helper thread, each alone
 * and both at once on two nodes of the same size: how much of a second core a hand-off can buy
 * here. Medians of many builds, µs: `here` this thread's build alone; `helper` a build handed to the
 * helper (hgb.histWhole) while this thread waits, from hand-off to done; `both` the two at once,
 * this thread's own build and the hand-off's whole wait. On a busy machine make the process
 * real-time once it has started (`chrt -f -a -p 5 <pid>`).
 *
 *   npx node bench/hgb-helper-speed.ts [node rows, 20000] [builds, 400]
 */
import { loadavg } from "node:os";
import { helperReady } from "../src/core/helper.ts";
import { closePool } from "../src/core/pool.ts";
import { Rng } from "../src/core/rng.ts";
import {
  buildHistogram,
  buildHistogramBeside,
  histOffsets,
  histScratch,
  sparseRows,
} from "../src/models/hgb/histogram.ts";
import { disableHistogramHelper, wasmFitKernels } from "../src/models/hgb/wasm-kernels.ts";

const nodeRows = Number(process.argv[2] ?? 20000);
const builds = Number(process.argv[3] ?? 400);
const n = 125973;
// 38 dense-ish numeric columns, 84 one-hot flags (mostly 0)
const nBins = Uint16Array.from({ length: 122 }, (_, f) => (f < 38 ? 60 : 2));
const p = nBins.length;
const rng = new Rng(5);
const bins = new Uint8Array(n * p);
for (let f = 0; f < p; f++)
  for (let r = 0; r < n; r++)
    bins[f * n + r] = f < 38 ? (rng.next() < 0.8 ? 0 : rng.int(60)) : +(rng.next() < 0.04);
const off = histOffsets(nBins);
const sparse = sparseRows(bins, n, nBins, off);
const wasm = wasmFitKernels(sparse, bins, n, 1, off[p]!, 4)!;
for (let i = 0; i < n; i++) {
  wasm.g[i] = rng.normal();
  wasm.h[i] = rng.next();
}
// two disjoint nodes of nodeRows rows each, rows ascending (as a partition leaves them)
const perm = Uint32Array.from({ length: n }, (_, i) => i);
rng.shuffle(perm);
const a = perm.slice(0, nodeRows).sort();
const b = perm.slice(nodeRows, 2 * nodeRows).sort();
wasm.rows.set(a, 0);
wasm.rows.set(b, nodeRows);
const inp = { bins, nRows: n, nBins, off, rows: sparse, g: wasm.g, h: wasm.h, wasm };
const scratch = histScratch(n);
const [h1, h2] = [wasm.slots[0]!, wasm.slots[1]!];
console.log(
  `entries ${sparse.index.length} (${(sparse.index.length / n).toFixed(1)} a row), slots ${off[p]! / 3}`,
);
const med = (x: number[]) => x.slice().sort((u, v) => u - v)[x.length >> 1]!;
const here: number[] = [];
const helper: number[] = [];
const bothMine: number[] = [];
const bothAll: number[] = [];
let late = 0;
// (time to make the process real-time)
await new Promise((r) => setTimeout(r, 2000));
for (let i = 0; i < 20 && !helperReady(); i++) await new Promise((r) => setTimeout(r, 50));
const la0 = loadavg()[0]!;
for (let i = 0; i < builds; i++) {
  disableHistogramHelper(true);
  let t = performance.now();
  buildHistogram(inp, wasm.rows, 0, nodeRows, h1, scratch);
  here.push(performance.now() - t);
  disableHistogramHelper(false);
  t = performance.now();
  let r = buildHistogramBeside(inp, wasm.rows, nodeRows, 2 * nodeRows, h2, () => {});
  if (typeof r === "string") late++;
  else helper.push(performance.now() - t);
  t = performance.now();
  let mine = 0;
  r = buildHistogramBeside(inp, wasm.rows, nodeRows, 2 * nodeRows, h2, () => {
    buildHistogram(inp, wasm.rows, 0, nodeRows, h1, scratch);
    mine = performance.now() - t;
  });
  if (typeof r === "string") late++;
  else {
    bothMine.push(mine);
    bothAll.push(performance.now() - t);
  }
}
const us = (x: number[]) => (1000 * med(x)).toFixed(0);
console.log(
  `node ${nodeRows} rows: here ${us(here)} µs, helper ${us(helper)} µs (hand-off to done), both: mine ${us(bothMine)} µs, all ${us(bothAll)} µs; ${here.length} builds, ${late} not sent or late; load ${la0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`,
);
await closePool();
