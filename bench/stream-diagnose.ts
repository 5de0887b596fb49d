/**
 * Preloaded into a `netsec stream` consumer by `bench/stream.ts --diagnose` (`node --import`): where its
 * main thread loses time while records are paced in. The bench sends SIGUSR2 when pacing starts (the
 * counts start from zero) and again when it ends (the summary is written to NETSEC_BENCH_DIAGNOSE_FILE as
 * JSON). Measured, between the two signals:
 * - the main thread's CPU and the process's (all threads), µs;
 * - the event loop's delay (`monitorEventLoopDelay`, 1-ms resolution: how late a timer fired, ms) and
 *   the blocks of at least BLOCK_MS (a 1-ms interval timer's gaps: how often, how long in all), in wall
 *   time and in the main thread's CPU time between two ticks (which the machine's other work does not
 *   lengthen: the thread's own work that held the loop);
 * - garbage collections by kind (`PerformanceObserver` 'gc': scavenges, mark-compacts, incremental
 *   marking steps, weak callbacks), their number, total and longest pause (ms, wall time).
 * Only in the process whose command is `stream`, on its main thread.
 */
import { writeFileSync } from "node:fs";
import { constants, monitorEventLoopDelay, PerformanceObserver, performance } from "node:perf_hooks";
import { isMainThread } from "node:worker_threads";

/** A gap between two 1-ms timer ticks at least this long counts as a block of the event loop (ms). */
const BLOCK_MS = 20;

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "scavenge",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "markCompact",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weak",
};

interface GcTotals {
  count: number;
  totalMs: number;
  maxMs: number;
}

function summary(ms: readonly number[]): { count: number; totalMs: number; maxMs: number } {
  return { count: ms.length, totalMs: ms.reduce((a, b) => a + b, 0), maxMs: Math.max(0, ...ms) };
}

const file = process.env.NETSEC_BENCH_DIAGNOSE_FILE;
if (isMainThread && file !== undefined && process.argv.includes("stream")) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let gc = new Map<string, GcTotals>();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      // (a gc entry's detail, which Node's types leave out: { kind, flags })
      const detail: unknown = Reflect.get(e, "detail");
      const code = typeof detail === "object" && detail !== null && "kind" in detail ? detail.kind : null;
      const kind = (typeof code === "number" ? KINDS[code] : undefined) ?? "other";
      const t = gc.get(kind) ?? { count: 0, totalMs: 0, maxMs: 0 };
      t.count++;
      t.totalMs += e.duration;
      t.maxMs = Math.max(t.maxMs, e.duration);
      gc.set(kind, t);
    }
  }).observe({ entryTypes: ["gc"] });
  let blocks: number[] = [];
  let cpuBlocks: number[] = [];
  let last = performance.now();
  let lastCpu = process.threadCpuUsage();
  setInterval(() => {
    const now = performance.now();
    const cpu = process.threadCpuUsage();
    if (now - last >= BLOCK_MS) blocks.push(now - last);
    const cpuMs = (cpu.user + cpu.system - lastCpu.user - lastCpu.system) / 1000;
    if (cpuMs >= BLOCK_MS) cpuBlocks.push(cpuMs);
    last = now;
    lastCpu = cpu;
  }, 1).unref();
  let from: { t: number; thread: NodeJS.CpuUsage; process: NodeJS.CpuUsage } | null = null;
  process.on("SIGUSR2", () => {
    if (from === null) {
      delay.reset();
      delay.enable();
      gc = new Map();
      blocks = [];
      cpuBlocks = [];
      from = { t: performance.now(), thread: process.threadCpuUsage(), process: process.cpuUsage() };
      return;
    }
    delay.disable();
    const thread = process.threadCpuUsage(from.thread);
    const all = process.cpuUsage(from.process);
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    writeFileSync(
      file,
      JSON.stringify({
        wallMs: performance.now() - from.t,
        mainThreadCpuUs: thread.user + thread.system,
        processCpuUs: all.user + all.system,
        loopDelayMs: {
          p50: ms(delay.percentile(50)),
          p99: ms(delay.percentile(99)),
          p999: ms(delay.percentile(99.9)),
          max: ms(delay.max),
        },
        blocks: summary(blocks),
        cpuBlocks: summary(cpuBlocks),
        gc: Object.fromEntries(gc),
      }),
    );
    from = null;
  });
}
