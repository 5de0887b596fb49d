/**
 * What the stream's alert-store writes cost the stream's own thread (issue 18): a held DuckDB store
 * (as `netsec stream --hold-store`) takes `--writes` writes of 1,000 alerts each (fresh offsets, 8
 * partitions, one write at a time, as the stream's write queue hands them over), crossing DuckDB's
 * write-ahead-log checkpoint (every ≈ 195,000 alerts) at least once. Per write, on this thread: its
 * CPU (`process.threadCpuUsage`), the event loop's active time (`eventLoopUtilization`: synchronous
 * calls, waiting or not, and callbacks; what a stream's fetching and publishing wait behind) and the
 * wall time to the write's resolve. CPU moves least with the machine's load.
 *
 * With `--root=DIR` (another checkout, e.g. main's, with its own node_modules) the store is that
 * checkout's: run it alternately with this one for an A/B.
 *
 * Usage: npx node bench/alert-store-writes.ts [--writes=300] [--root=DIR]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const arg = (name: string, dflt: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const ROOT = resolve(arg("root", resolve(import.meta.dirname, "..")));
const WRITES = Number(arg("writes", "300"));
const ALERTS = 1000;

// biome-ignore lint/suspicious/noExplicitAny: the store module of another checkout, typed as it has it
const { openAlertStore } = (await import(join(ROOT, "src/store/alerts.ts"))) as any;
const work = mkdtempSync(join(tmpdir(), "netsec-bench-alert-writes-"));
const store = openAlertStore(`duckdb:${join(work, "store.duckdb")}`, { holdOpen: true });
const alerts = (first: bigint) =>
  Array.from({ length: ALERTS }, (_, i) => ({
    topic: "flows",
    partition: i % 8,
    offset: first + BigInt(i),
    recordKey: null,
    model: "phishing-rf:3",
    label: "-1",
    labelName: "phishing",
    threat: true,
    probability: 0.9,
    scoredAt: new Date().toISOString(),
  }));
// warm-up outside the measure: the first write opens the store (and starts its thread)
await store.write(alerts(10n ** 12n));

const cpuMs: number[] = [];
const activeMs: number[] = [];
const wallMs: number[] = [];
const load0 = loadavg()[0]!;
for (let w = 0; w < WRITES; w++) {
  const batch = alerts(BigInt(w * ALERTS));
  const c0 = process.threadCpuUsage();
  const e0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  await store.write(batch);
  wallMs.push(performance.now() - t0);
  activeMs.push(performance.eventLoopUtilization(e0).active);
  const c = process.threadCpuUsage(c0);
  cpuMs.push((c.user + c.system) / 1000);
}
await store.close();
rmSync(work, { recursive: true, force: true });

const stats = (a: number[]): string => {
  const s = [...a].sort((x, y) => x - y);
  const q = (f: number) => s[Math.min(s.length - 1, Math.floor(f * s.length))]!.toFixed(2);
  return `p50 ${q(0.5)}, p99 ${q(0.99)}, max ${q(1)} (total ${a.reduce((x, y) => x + y, 0).toFixed(0)})`;
};
console.log(
  `${ROOT}: ${WRITES} writes of ${ALERTS} alerts, ms a write on this thread: CPU ${stats(cpuMs)}; event loop active ${stats(activeMs)}; wall ${stats(wallMs)}; load ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}`,
);
