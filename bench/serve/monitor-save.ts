/**
 * What monitoring's periodic save costs a serving process, and the heap its state holds:
 *
 *   npx node --expose-gc bench/serve/monitor-save.ts --home <NETSEC_HOME> [--model netsec-phishing] [--saves 40]
 *
 * A `Monitor` on the home's monitoring state (e.g. 720 closed windows kept), the heap it holds once
 * read (after a full collection, with --expose-gc), then `--saves` times: one scored row counted into
 * the open window and `save()` (the server's 5-second tick does the same when something was scored),
 * its CPU time (`process.cpuUsage`: the JSON, the write, the rename). Prints the median and least.
 * It saves into the home: use a copy.
 */
import { parseArgs } from "node:util";
import { BundlePredictor } from "../../src/bundle/bundle.ts";
import { ModelRegistry } from "../../src/bundle/registry.ts";
import { silentLogger } from "../../src/core/log.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { Monitor } from "../../src/monitor/monitor.ts";
import { PHISHING_CSV } from "../../test/helpers/env.ts";

const { values: args } = parseArgs({
  options: {
    home: { type: "string" },
    model: { type: "string", default: "netsec-phishing" },
    saves: { type: "string", default: "40" },
  },
});
if (!args.home) throw new Error("--home <NETSEC_HOME> (a copy: it is saved into) is required");
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const entry = new ModelRegistry(args.home).resolve(args.model);
const version = `${entry.name}:${entry.version.version}`;
const bp = new BundlePredictor(entry.dir, version);
const one = (await loadFrame({ path: PHISHING_CSV }, bp.schema)).frame.take(Int32Array.from([5]));
const scored = { frame: one, ...bp.predict(one) };
// as the server names it (model-holder.ts): the open window in the state goes on
const model = { name: entry.name, version, runId: bp.manifest.run_id, dir: entry.dir };

gc();
const heapBefore = process.memoryUsage().heapUsed;
const m = new Monitor(args.home, {}, silentLogger, null);
m.recordScored(model, scored);
m.save();
gc();
const heldMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
const ms: number[] = [];
for (let i = 0; i < Number(args.saves); i++) {
  m.recordScored(model, scored);
  const c0 = process.cpuUsage();
  m.save();
  const c = process.cpuUsage(c0);
  ms.push((c.user + c.system) / 1000);
}
ms.sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({ closed_windows: m.view(args.model).windows.length, heap_held_mib: +heldMiB.toFixed(2), save_cpu_ms_median: ms[ms.length >> 1], save_cpu_ms_least: ms[0] })}\n`,
);
