/**
 * `netsec stream` end to end on a real broker (issue 18): consume → score → publish verdicts → store
 * → commit, with real `netsec stream` processes and the phishing random forest (n_estimators 100).
 *
 * 1. Throughput: an 8-partition topic pre-filled with N records (the phishing file replayed, 100,000
 *    by default), then 1, 2 and 4 consumer processes in a fresh group each; the group's committed
 *    offsets, read every POLL_MS, give two rates: the steady one, the middle 60 % of N over the time
 *    from 20 % committed to 80 %, and the records committed after the first commit over the time from
 *    it to the last (the first commit's records are not counted: the time they took is not in it).
 *    Records scored twice around a rebalance count once, and joins and rebalances inside that time
 *    count against it.
 * 2. Latency: one consumer, records published at half the one-consumer rate for 20 s, after
 *    `--warm-up-s` (5) seconds at that rate (the steady state: a consumer's first second, cold JIT
 *    and caches, is printed apart as the p99 from the first paced record); the record-to-alert
 *    latency of each alert (a threat's verdict) is its Kafka timestamp minus the record's own (both
 *    stamped by producers on this machine), p50/p99 over the alerts of the 20 s's records.
 *
 * 3. With `--latency-rates=R1,R2,…`: the same latency measure at each of those rates too (records/s).
 *
 * For each latency run, where the time went: the consumer runs at log level debug and logs, per batch,
 * the stages of its first (longest-waiting) record (run.ts: fetch, batch, score, publish, store,
 * commit); their p50/p99 over the batches are printed under the latency line, and their p99 with each
 * batch counted as its records (the alerts' p99 is over records: the few large batches cut while the
 * consumer fell behind carry many of them, a batch-level p99 leaves them out). And who used the
 * machine's cores during the 20 s (CPU seconds from /proc over wall seconds): the consumer, this
 * process (the paced producer and the alerts reader) and the broker, when its pid is known
 * (KAFKA_PID, else the pid file `scripts/test-services` keeps in .services/kafka.pid).
 *
 * With `--diagnose`, each latency run's consumer also reports its main thread over the paced 20 s
 * (`bench/stream-diagnose.ts`, preloaded): CPU µs a record sent (main thread, whole process), the event
 * loop's delay and blocks, and its garbage collections by kind.
 *
 * With `--floor`, every consumer is `bench/stream-floor.ts` instead of `netsec stream`: the same Kafka
 * client, settings and batching, no model and no store (consume → one small alert per threat record →
 * commit), so its latency is the least this machine, broker and client give (run it alternating with
 * the real consumer).
 *
 * Usage: KAFKA_BROKERS=127.0.0.1:9092 npx node bench/stream.ts [--records=100000] [--consumers=1,2,4]
 * [--latency-rates=2000,5000] [--scoring-thread] [--diagnose] [--consumer-node-options="--flag …"]
 * [--floor] [--prefix=NAME] [--warm-up-s=5] [--keep-log=PATH] (scripts/test-services start kafka prints KAFKA_BROKERS; --scoring-thread: consumers
 * run with netsec stream --scoring-thread; --consumer-node-options: Node/V8 flags for the consumer
 * processes only; --prefix: starts every topic and group name, so benches on one broker never share one).
 * Prints a Markdown section for BENCHMARKS.md.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  deleteTopicsNamed,
  ensureTopic,
  GroupProgress,
  type OutMessage,
  StreamConsumer,
  StreamProducer,
} from "../src/stream/kafka.ts";

const ROOT = resolve(import.meta.dirname, "..");
const brokers = process.env.KAFKA_BROKERS;
if (!brokers) throw new Error("set KAFKA_BROKERS (scripts/test-services start kafka prints it)");
const arg = (name: string, dflt: string): string =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
const N = Number(arg("records", "100000"));
const CONSUMERS = arg("consumers", "1,2,4")
  .split(",")
  .filter((x) => x !== "")
  .map(Number);
/** `--scoring-thread`: the consumers score on a second thread (`netsec stream --scoring-thread`). */
const THREAD = process.argv.includes("--scoring-thread");
const LATENCY_RATES = arg("latency-rates", "")
  .split(",")
  .filter((x) => x !== "")
  .map(Number);
/** `--diagnose`: the consumers report their main thread's time (bench/stream-diagnose.ts). */
const DIAGNOSE = process.argv.includes("--diagnose");
/** Node/V8 flags for the consumer processes only (A/B of a flag without changing the producer's). */
const CONSUMER_NODE_OPTIONS = arg("consumer-node-options", "")
  .split(" ")
  .filter((x) => x !== "");
const PREFIX = arg("prefix", "");
/** `--floor`: the consumers are bench/stream-floor.ts (no model, no store), not `netsec stream`. */
const FLOOR = process.argv.includes("--floor");
/**
 * `--warm-up-s=S` (default 5): each latency run paces S seconds before its measured 20 s, so the
 * figures are the consumer's steady state; the p99 from the first paced record is printed beside.
 */
const WARM_UP_S = Number(arg("warm-up-s", "5"));
/** `--keep-log=PATH`: each latency run's consumer log (debug: a line per batch) goes to PATH-RATE.log. */
const KEEP_LOG = arg("keep-log", "");
const MIRROR = process.env.NETSEC_DATASET_MIRROR ?? resolve(ROOT, "../shared/datasets");
const CSV = join(MIRROR, "phishing", "phisingData.csv");
const home = mkdtempSync(join(tmpdir(), "netsec-bench-stream-"));
const env = { ...process.env, NETSEC_HOME: home, NETSEC_DATASET_MIRROR: MIRROR, NETSEC_LOG_LEVEL: "warn" };
const run = `${PREFIX ? `${PREFIX}-` : ""}${Date.now().toString(36)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cli(args: string[]): void {
  const r = spawnSync(process.execPath, [join(ROOT, "src/cli/main.ts"), ...args], { env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`netsec ${args.join(" ")} failed:\n${r.stderr}`);
}

// the phishing rows as JSON records, as `netsec produce` publishes them
const lines = readFileSync(CSV, "utf8").trim().split(/\r?\n/);
const header = lines[0]!.replace(/"/g, "").split(",");
const records = lines
  .slice(1)
  .map((l) => JSON.stringify(Object.fromEntries(l.split(",").map((v, i) => [header[i]!, v]))));

async function fill(topic: string, n: number): Promise<void> {
  await ensureTopic([brokers!], topic, 8);
  const p = new StreamProducer([brokers!], "netsec-bench");
  for (let i = 0; i < n; i += 10_000) {
    const batch: OutMessage[] = [];
    for (let j = i; j < Math.min(n, i + 10_000); j++)
      batch.push({ topic, key: String(j), value: records[j % records.length]! });
    await p.send(batch);
  }
  await p.close();
}

interface Member {
  proc: ChildProcess;
  port: Promise<number>;
  /** Set when the process ended before it was stopped: its exit code and stderr. */
  died: () => string | null;
}

function member(args: string[], logLevel = "warn", diagnoseFile?: string): Member & { stderr: () => string } {
  const proc = spawn(
    process.execPath,
    [
      ...CONSUMER_NODE_OPTIONS,
      ...(diagnoseFile ? ["--import", join(ROOT, "bench/stream-diagnose.ts")] : []),
      join(ROOT, FLOOR ? "bench/stream-floor.ts" : "src/cli/main.ts"),
      "stream",
      "--brokers",
      brokers!,
      "--metrics-port",
      "0",
      ...(THREAD ? ["--scoring-thread"] : []),
      ...args,
    ],
    {
      env: {
        ...env,
        NETSEC_LOG_LEVEL: logLevel,
        ...(diagnoseFile ? { NETSEC_BENCH_DIAGNOSE_FILE: diagnoseFile } : {}),
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let err = "";
  let died: string | null = null;
  const port = new Promise<number>((resolve, reject) => {
    proc.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /metrics on http:\/\/[^:]+:(\d+)\/metrics/.exec(err);
      if (m) resolve(Number(m[1]));
      // (the floor serves no metrics: it is ready once it joined)
      if (FLOOR && err.includes('"floor consumer joined"')) resolve(0);
    });
    proc.on("close", (code) => {
      if (code !== 0) died = `netsec stream exited ${code}:\n${err}`;
      reject(new Error(`netsec stream exited ${code}:\n${err}`));
    });
  });
  port.catch(() => {});
  return { proc, port, died: () => died, stderr: () => err };
}

const STAGES = ["fetch", "batch", "score", "publish", "store", "commit"] as const;

/**
 * p50/p99 (ms) of each stage over the "batch committed" debug lines of a consumer's log, of the batches
 * committed from `sinceMs` (ms since the epoch) on.
 */
function stageQuantiles(log: string, sinceMs: number): string {
  const by = new Map<string, number[]>(STAGES.map((s) => [s, []]));
  const sizes: number[] = [];
  const batches: (Record<(typeof STAGES)[number], number> & { records: number })[] = [];
  for (const line of log.split("\n")) {
    if (!line.includes('"batch committed"')) continue;
    const j = JSON.parse(line) as Record<string, number>;
    if (j.time! < sinceMs) continue;
    for (const s of STAGES) if (Number.isFinite(j[`${s}Ms`])) by.get(s)!.push(j[`${s}Ms`]!);
    sizes.push(j.records!);
    const stage = (s: (typeof STAGES)[number]) => j[`${s}Ms`] ?? Number.NaN;
    batches.push({
      records: j.records!,
      fetch: stage("fetch"),
      batch: stage("batch"),
      score: stage("score"),
      publish: stage("publish"),
      store: stage("store"),
      commit: stage("commit"),
    });
  }
  const n = by.get("score")!.length;
  const quantile = (v: number[], f: number) =>
    v[Math.min(v.length - 1, Math.floor(f * v.length))] ?? Number.NaN;
  sizes.sort((a, b) => a - b);
  const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  return `${n} batches, records a batch mean ${Math.round(mean)}, p50 ${quantile(sizes, 0.5)}, p99 ${quantile(sizes, 0.99)}; per batch's first record, p50 / p99 ms: ${STAGES.map(
    (s) => {
      const v = by.get(s)!.sort((a, b) => a - b);
      return `${s} ${Math.round(quantile(v, 0.5))} / ${Math.round(quantile(v, 0.99))}`;
    },
  ).join(", ")}; the same weighted by the batch's records, p99 ms: ${STAGES.map(
    (s) => `${s} ${Math.round(weightedP99(batches.map((b) => [b[s], b.records])))}`,
  ).join(
    ", ",
  )}, first record to published (fetch to publish) ${Math.round(weightedP99(batches.map((b) => [b.fetch + b.batch + b.score + b.publish, b.records])))}`;
}

/**
 * The 99th percentile of `values` each counted `weight` times (pairs [value, weight]; NaN values
 * left out). A batch's stages are its first record's: weighted by its records, a large batch formed
 * while the consumer fell behind counts as the many alerts it carries, as the alerts' p99 does.
 */
function weightedP99(pairs: [number, number][]): number {
  const v = pairs.filter(([x]) => Number.isFinite(x)).sort((a, b) => a[0] - b[0]);
  const total = v.reduce((a, [, w]) => a + w, 0);
  let seen = 0;
  for (const [x, w] of v) {
    seen += w;
    if (seen >= 0.99 * total) return x;
  }
  return Number.NaN;
}

async function stopAll(ms: Member[]): Promise<void> {
  await Promise.all(
    ms.map(
      (m) =>
        new Promise<void>((r) => {
          m.proc.on("close", () => r());
          m.proc.kill("SIGTERM");
        }),
    ),
  );
}

interface Throughput {
  /** Records committed after the first commit, over the time from it to the last (see the file comment). */
  whole: number;
  /** The middle 60 %: from 20 % of N committed to 80 % (the steady state). */
  steady: number;
  /**
   * CPU µs per record of the consumer processes (all their threads, summed over the members), over the
   * records committed after the first commit: what the load of the machine changes less than the rate.
   */
  cpuUsPerRecord: number;
  /** The broker's CPU µs per record over the same time (NaN when its pid is unknown). */
  brokerUsPerRecord: number;
}

/**
 * How often the group's committed offsets are read (ms): 100,000 records take about a second, so a
 * coarser look moves the 20 % and 80 % marks by a tenth of the steady window.
 */
const POLL_MS = 20;

/** CPU seconds (user + system, every thread) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // fields after the command's closing parenthesis: utime and stime are the 12th and 13th (clock ticks)
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** The broker's pid: KAFKA_PID, else the pid file of `scripts/test-services` (undefined: unknown). */
function brokerPid(): number | undefined {
  if (process.env.KAFKA_PID) return Number(process.env.KAFKA_PID);
  try {
    return Number(readFileSync(join(ROOT, ".services", "kafka.pid"), "utf8").trim());
  } catch {
    return undefined;
  }
}

async function throughput(topic: string, k: number): Promise<Throughput> {
  // one consumer keeps the DuckDB store open; several share it, each batch opening it in turn
  const hold = k === 1 ? ["--hold-store"] : [];
  const group = `bench-${run}-${k}`;
  const ms = Array.from({ length: k }, () =>
    member(["--topic", topic, "--group", group, "--alerts-topic", `alerts-${run}`, ...hold]),
  );
  await Promise.all(ms.map((m) => m.port));
  const progress = new GroupProgress([brokers!]);
  let first = 0;
  let firstCommitted = 0;
  let cpuFirst = 0;
  let at20 = 0;
  let at80 = 0;
  let last = 0;
  let cpuLast = 0;
  const broker = brokerPid();
  let brokerFirst = 0;
  let brokerLast = 0;
  for (;;) {
    const dead = ms.map((m) => m.died()).find((d) => d !== null);
    if (dead) {
      await stopAll(ms.filter((m) => m.proc.exitCode === null));
      throw new Error(dead);
    }
    const n = await progress.committed(group, topic).catch(() => 0);
    const t = performance.now();
    if (n > 0 && first === 0) {
      first = t;
      firstCommitted = n;
      cpuFirst = ms.reduce((a, m) => a + cpuSeconds(m.proc.pid), 0);
      brokerFirst = cpuSeconds(broker);
    }
    if (n >= 0.2 * N && at20 === 0) at20 = t;
    if (n >= 0.8 * N && at80 === 0) at80 = t;
    if (n >= N) {
      last = t;
      cpuLast = ms.reduce((a, m) => a + cpuSeconds(m.proc.pid), 0);
      brokerLast = cpuSeconds(broker);
      break;
    }
    await sleep(POLL_MS);
  }
  await progress.close();
  await stopAll(ms);
  return {
    whole: (N - firstCommitted) / ((last - first) / 1000),
    steady: (0.6 * N) / ((at80 - at20) / 1000),
    cpuUsPerRecord: ((cpuLast - cpuFirst) / (N - firstCommitted)) * 1e6,
    brokerUsPerRecord: ((brokerLast - brokerFirst) / (N - firstCommitted)) * 1e6,
  };
}

/** CPU seconds the whole machine has spent busy so far (every core, every process), from /proc/stat. */
function machineBusySeconds(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: busy is all but idle and iowait (clock ticks)
  return (f.reduce((a, b) => a + b, 0) - f[3]! - f[4]!) / 100;
}

/**
 * Cores each process used while records were paced in: CPU seconds over wall seconds. The paced
 * producer and the alerts reader are this process; `others` is the rest of the machine (other work).
 */
interface CoresUsed {
  consumer: number;
  producerAndReader: number;
  broker: number;
  machine: number;
}

/** `c`, and per record sent (`rate` records/s): CPU µs a record, which the machine's load changes less. */
function coresText(c: CoresUsed, rate: number): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "?");
  const us = (x: number) => (Number.isFinite(x) ? ((x / rate) * 1e6).toFixed(1) : "?");
  const others = c.machine - c.consumer - c.producerAndReader - (Number.isFinite(c.broker) ? c.broker : 0);
  return `cores used while paced: consumer ${f(c.consumer)}, paced producer and alerts reader ${f(c.producerAndReader)}, broker ${f(c.broker)}, the rest of the machine ${f(others)}; machine ${f(c.machine)} of ${availableParallelism()}; CPU µs a record sent: consumer ${us(c.consumer)}, producer and reader ${us(c.producerAndReader)}, broker ${us(c.broker)}`;
}

/** The consumer's report (bench/stream-diagnose.ts) over the paced records, `sent` of them, as text. */
function diagnoseText(file: string, sent: number): string {
  let d: Diagnosis;
  try {
    d = JSON.parse(readFileSync(file, "utf8")) as Diagnosis;
  } catch (e) {
    return `; no diagnosis (${(e as Error).message})`;
  }
  const r = (x: number) => Math.round(x).toLocaleString("en-US");
  const gc = Object.entries(d.gc)
    .map(([kind, g]) => `${kind} ${g.count}× ${r(g.totalMs)} ms (longest ${r(g.maxMs)})`)
    .join(", ");
  return `; consumer's main thread: CPU µs a record sent ${(d.mainThreadCpuUs / sent).toFixed(1)} (process ${(d.processCpuUs / sent).toFixed(1)}), event-loop delay p50 / p99 / p99.9 / max ${d.loopDelayMs.p50} / ${d.loopDelayMs.p99} / ${d.loopDelayMs.p999} / ${d.loopDelayMs.max} ms, blocks ≥ 20 ms ${d.blocks.count} (${r(d.blocks.totalMs)} ms in all, longest ${r(d.blocks.maxMs)}), of its own CPU ${d.cpuBlocks.count} (${r(d.cpuBlocks.totalMs)} ms, longest ${r(d.cpuBlocks.maxMs)}); GC pauses: ${gc}`;
}

/** What bench/stream-diagnose.ts writes. */
interface Diagnosis {
  wallMs: number;
  mainThreadCpuUs: number;
  processCpuUs: number;
  loopDelayMs: { p50: number; p99: number; p999: number; max: number };
  blocks: { count: number; totalMs: number; maxMs: number };
  cpuBlocks: { count: number; totalMs: number; maxMs: number };
  gc: Record<string, { count: number; totalMs: number; maxMs: number }>;
}

async function latency(rate: number): Promise<{
  p50: number;
  p99: number;
  p99FromStart: number;
  n: number;
  stages: string;
  cores: string;
  sentRate: number;
}> {
  const topic = `bench-lat-${run}-${Math.round(rate)}`;
  const alerts = `alerts-lat-${run}-${Math.round(rate)}`;
  await ensureTopic([brokers!], topic, 8);
  const m = member(
    [
      "--topic",
      topic,
      "--group",
      `bench-lat-${run}-${Math.round(rate)}`,
      "--alerts-topic",
      alerts,
      "--linger-ms",
      "5",
      "--hold-store",
    ],
    "debug",
    DIAGNOSE ? join(home, `diagnose-${Math.round(rate)}.json`) : undefined,
  );
  await m.port;
  await sleep(3000); // joined and assigned
  /** Each alert's latency (ms) and its record's timestamp. */
  const lat: { ms: number; recordAt: number }[] = [];
  const reader = new StreamConsumer({
    brokers: [brokers!],
    group: `lat-reader-${run}`,
    topic: alerts,
    clientId: "bench",
  });
  await reader.start(
    (r) => {
      const recordAt = (JSON.parse(r.value) as { record_timestamp: number }).record_timestamp;
      lat.push({ ms: r.timestamp - recordAt, recordAt });
    },
    () => {},
  );
  const p = new StreamProducer([brokers!], "netsec-bench-paced");
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const broker = brokerPid();
  const started = performance.now();
  let sent = 0;
  /** The measured window: when it starts (performance.now(), and ms since the epoch) and its first record. */
  let t0 = Number.NaN;
  let windowFrom = Number.NaN;
  let sentBefore = 0;
  let cpu0 = { consumer: 0, self: process.cpuUsage(), broker: 0, machine: 0 };
  while (performance.now() - started < WARM_UP_S * 1000 + 20_000) {
    if (Number.isNaN(t0) && performance.now() - started >= WARM_UP_S * 1000) {
      t0 = performance.now();
      windowFrom = Date.now();
      sentBefore = sent;
      cpu0 = {
        consumer: cpuSeconds(m.proc.pid),
        self: process.cpuUsage(),
        broker: cpuSeconds(broker),
        machine: machineBusySeconds(),
      };
      // (--diagnose: the consumer counts from here to the second signal)
      if (DIAGNOSE) m.proc.kill("SIGUSR2");
    }
    const batch: OutMessage[] = [];
    for (let j = 0; j < perTick; j++) batch.push({ topic, value: records[(sent + j) % records.length]! });
    sent += perTick;
    void p.send(batch);
    const next = started + (sent / perTick) * tickMs;
    await sleep(Math.max(0, next - performance.now()));
  }
  const wall = (performance.now() - t0) / 1000;
  const sentInWindow = sent - sentBefore;
  if (DIAGNOSE) m.proc.kill("SIGUSR2");
  const self = process.cpuUsage(cpu0.self);
  const cores: CoresUsed = {
    consumer: (cpuSeconds(m.proc.pid) - cpu0.consumer) / wall,
    producerAndReader: (self.user + self.system) / 1e6 / wall,
    broker: (cpuSeconds(broker) - cpu0.broker) / wall,
    machine: (machineBusySeconds() - cpu0.machine) / wall,
  };
  // threats only are published: wait until the alerts stop coming (3 s without one)
  for (let seen = -1; seen !== lat.length; ) {
    seen = lat.length;
    await sleep(3000);
  }
  await p.close();
  await reader.close();
  await stopAll([m]);
  const quantile = (v: number[], f: number) => v[Math.min(v.length - 1, Math.floor(f * v.length))]!;
  const measured = lat
    .filter((x) => x.recordAt >= windowFrom)
    .map((x) => x.ms)
    .sort((a, b) => a - b);
  const fromStart = lat.map((x) => x.ms).sort((a, b) => a - b);
  const diagnosis = DIAGNOSE
    ? diagnoseText(join(home, `diagnose-${Math.round(rate)}.json`), sentInWindow)
    : "";
  if (KEEP_LOG !== "") writeFileSync(`${KEEP_LOG}-${Math.round(rate)}.log`, m.stderr());
  return {
    p50: quantile(measured, 0.5),
    p99: quantile(measured, 0.99),
    p99FromStart: quantile(fromStart, 0.99),
    n: measured.length,
    stages: stageQuantiles(m.stderr(), windowFrom),
    cores: coresText(cores, sentInWindow / wall) + diagnosis,
    sentRate: sentInWindow / wall,
  };
}

try {
  if (!FLOOR)
    cli(["train", "--dataset", "phishing", "--models", "random_forest", "--params", '{"n_estimators":100}']);
  const topic = `bench-${run}`;
  await fill(topic, N);
  const loadBefore = loadavg()[0]!;
  const rates = new Map<number, Throughput>();
  for (const k of CONSUMERS) rates.set(k, await throughput(topic, k));
  // (--consumers= with nothing: no throughput runs, the latency at --latency-rates only)
  const one = (rates.get(1) ?? [...rates.values()][0])?.steady ?? Number.NaN;
  const lat = Number.isNaN(one)
    ? {
        p50: Number.NaN,
        p99: Number.NaN,
        p99FromStart: Number.NaN,
        n: 0,
        stages: "",
        cores: "",
        sentRate: Number.NaN,
      }
    : await latency(one / 2);
  const more: [number, Awaited<ReturnType<typeof latency>>][] = [];
  for (const r of LATENCY_RATES) more.push([r, await latency(r)]);
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(`## Streaming (netsec stream on Kafka 4.4)

${new Date().toISOString().slice(0, 10)}, ${availableParallelism()} cores (${cpu}), broker and consumers on the same machine. Command: \`KAFKA_BROKERS=… npx node bench/stream.ts --records=${N}\`. ${FLOOR ? "FLOOR (--floor): bench/stream-floor.ts consumers, no model and no store: one small alert per threat record (its label), published with acks=all, then the offsets committed; JSON records, default batch 8,000." : `Phishing random forest (n_estimators 100), JSON records, default batch 8,000, ${THREAD ? "scored on a scoring thread (--scoring-thread)" : "scored on the main thread"}, threats published, every verdict stored in the DuckDB store (one consumer: kept open, \`--hold-store\`; several: opened per batch by each).`}

Load average (1 min) of the machine, other work included: ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after.

| consumer processes (8 partitions) | records/s, steady (20–80 % of N committed) | records/s, first commit to last | consumers' CPU µs per record | broker's CPU µs per record |
|---|---|---|---|---|
${[...rates].map(([k, r]) => `| ${k} | ${Math.round(r.steady).toLocaleString("en-US")} | ${Math.round(r.whole).toLocaleString("en-US")} | ${r.cpuUsPerRecord.toFixed(1)} | ${r.brokerUsPerRecord.toFixed(1)} |`).join("\n")}

Record-to-alert latency at ${Math.round(one / 2).toLocaleString("en-US")} records/s (half the one-consumer steady rate), one consumer, --linger-ms 5 --hold-store, over the ${lat.n.toLocaleString("en-US")} alerts (threats) of 20 s after ${WARM_UP_S} s of warm-up at the rate (${Math.round(lat.sentRate).toLocaleString("en-US")} records/s sent); the paced producer runs on the same machine: p50 ${lat.p50} ms, p99 ${lat.p99} ms (from the first paced record: p99 ${lat.p99FromStart} ms); ${lat.stages}; ${lat.cores}.${more.map(([r, l]) => `\nAt ${r.toLocaleString("en-US")} records/s (${l.n.toLocaleString("en-US")} alerts of the 20 s after ${WARM_UP_S} s of warm-up, ${Math.round(l.sentRate).toLocaleString("en-US")} records/s sent): p50 ${l.p50} ms, p99 ${l.p99} ms (from the first paced record: p99 ${l.p99FromStart} ms); ${l.stages}; ${l.cores}.`).join("")}`);
} finally {
  rmSync(home, { recursive: true, force: true });
  // this run's topics (records, alerts, dead letters): tens of GB on the broker's disk after a day
  // of runs otherwise
  await deleteTopicsNamed([brokers!], run).catch((e: unknown) =>
    console.error(`bench: this run's topics were not deleted: ${(e as Error).message}`),
  );
}
