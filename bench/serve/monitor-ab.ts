/**
 * Monitoring's cost on scoring, measured side by side (issue 19): two `netsec serve` processes on the
 * same NETSEC_HOME and champion, one with monitoring on and one with NETSEC_MONITOR=off, loaded in many
 * short alternating rounds (on–off, off–on, on–off, …: the order swapped at every pair), and the cost
 * read from each pair's ratio.
 *
 *   npx node bench/serve/monitor-ab.ts --home <NETSEC_HOME> [--model netsec-phishing] [--blocks 4]
 *        [--pairs 4] [--seconds 1.25] [--connections 10] [--only <text>] [--together] [--scoring-threads n]
 *        [--load-share 0] [--no-trace-gc] [--control] [--json]
 *
 * The run is --blocks blocks, each on a new pair of servers (started together), each
 * scenario --pairs pairs a block: one server process may run a few percent faster than another for as
 * long as it lives (at load 12–20 two equal servers, both monitoring off, came out 19 % apart for a
 * whole run, one way in one run and the other way in the next), which only more processes average out.
 *
 * Per round: the server's requests and throughput (autocannon, 10 connections, from a load generator
 * process of its own that stays up between rounds), its CPU time (/proc/<pid>/stat: every thread) and
 * its garbage collections (node --trace-gc). Each server's CPU and collections are counted over the
 * whole pair — its own round and, alternating, the other's while it idles — read for both at every
 * pair's start (after a block's last pair, once both have idled past the monitoring tick), so work a
 * request leaves for later — the 5-second save, a window's close — is charged to the pair that caused
 * it, and each server's idle costs to both its pairs alike. (Counted from a round's start to the same
 * server's next round instead, the side that went first in a pair was charged its idle time during
 * the other's round and the second side none: pairs' ratios swung by ±30–90 % with the order.)
 * Per pair: the CPU cost (CPU per request on / off − 1) and the throughput cost (1 − throughput on / off); per scenario: their medians over every pair, with a 95 %
 * interval from a two-stage bootstrap over blocks and pairs (paired-stats.ts), so that it allows for
 * the processes differing.
 *
 * Requests go as fast as each server answers. `--load-share f` sends both servers the same fixed
 * rate instead (f × the slower one's throughput in a two-second calibration with both loaded at once),
 * so each answers the same requests whatever the machine's other jobs leave it; but at a low rate the
 * servers' per-second work (timers, idle collections) weighs on every request and dilutes the cost.
 *
 * The CPU cost is the headline — one line per scenario, and "monitoring cost: X % (95 % interval a
 * to b %)" over every scenario's pairs together (grouped by block): on a server whose cores are busy,
 * throughput is cores / CPU per request, so the CPU cost is the throughput it costs, and the server's
 * own CPU per request moves far less with the machine's other jobs than throughput does. The throughput cost is
 * printed beside it (at a fixed rate it is near 0 by design: the load generator sends no faster).
 * --together loads both servers at the same time in each round (each from its own load generator)
 * instead of one after the other. --only takes a scenario's name (or, when no name is that, the
 * scenarios whose names contain it). --control runs both servers with monitoring off:
 * the same measurement of two equal servers, whose cost should come out near 0 (the method's own bias
 * and spread).
 */

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type ChildServe, startChildServe, THREAD_KINDS, type ThreadKind } from "./child-serve.ts";
import { groupedMedianInterval, type MedianInterval } from "./paired-stats.ts";
import { type Scenario, scoringScenarios } from "./scenarios.ts";

const { values: args } = parseArgs({
  options: {
    home: { type: "string" },
    model: { type: "string", default: "netsec-phishing" },
    blocks: { type: "string", default: "4" },
    pairs: { type: "string", default: "4" },
    seconds: { type: "string", default: "1.25" },
    connections: { type: "string", default: "10" },
    only: { type: "string" },
    together: { type: "boolean", default: false },
    "scoring-threads": { type: "string" },
    "trace-gc": { type: "boolean", default: true },
    control: { type: "boolean", default: false },
    "load-share": { type: "string", default: "0" },
    json: { type: "boolean", default: false },
  },
  allowNegative: true,
});
if (!args.home) throw new Error("--home <NETSEC_HOME> with a registered champion is required");
const pairs = Number(args.pairs);
const blockCount = Number(args.blocks);
const loadShare = Number(args["load-share"]);
const seconds = Number(args.seconds);
/** The serving monitor's tick (src/serve/monitoring.ts, 5 s) and a margin: idle this long at the end. */
const SETTLE_MS = 5500;

/** A server's garbage collections so far, from its --trace-gc lines. */
class GcCount {
  scavenges = 0;
  majors = 0;
  pauseMs = 0;
  line(l: string): void {
    // "[pid:0x…]  1234 ms: Scavenge 4.9 (6.0) -> 4.5 (7.0) MB, pooled: 0 MB, 1.50 / 0.00 ms  (…"
    const pause = /, ([\d.]+) \/ [\d.]+ ms/.exec(l);
    if (!pause) return;
    if (/ ms: Scavenge/.test(l)) this.scavenges++;
    else if (/ ms: (Mark-Compact|Mark-Sweep|Minor Mark-Sweep)/i.test(l)) this.majors++;
    else return;
    this.pauseMs += Number(pause[1]);
  }
}

interface Snapshot {
  cpu: number;
  threads: Record<ThreadKind, number>;
  scavenges: number;
  majors: number;
  gcMs: number;
}

/** A server under test: the child, its collections and a load generator of its own. */
interface Side {
  label: "on" | "off";
  serve: ChildServe;
  gc: GcCount;
  /** `rate`: requests per second (absent: as fast as the server answers). */
  load: (s: Scenario, seconds: number, rate?: number) => Promise<LoadResult>;
  stopLoad: () => void;
}

interface LoadResult {
  requests: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
}

function snapshot(x: Side): Snapshot {
  return {
    cpu: x.serve.cpuSeconds(),
    threads: x.serve.threadCpuSeconds(),
    scavenges: x.gc.scavenges,
    majors: x.gc.majors,
    gcMs: x.gc.pauseMs,
  };
}

/** A bench/serve/loadgen.ts process kept up for every round against one server. */
function loadGenerator(): Pick<Side, "load" | "stopLoad"> {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./loadgen.ts", import.meta.url))], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const waiting: ((r: LoadResult) => void)[] = [];
  createInterface({ input: child.stdout! }).on("line", (l) => waiting.shift()?.(JSON.parse(l) as LoadResult));
  return {
    load: (s, duration, rate) =>
      new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin!.write(
          `${JSON.stringify({
            url: s.url,
            method: s.method,
            headers: s.headers,
            body64: Buffer.from(s.body).toString("base64"),
            connections: Number(args.connections),
            duration,
            ...(rate ? { rate } : {}),
          })}\n`,
        );
      }),
    stopLoad: () => child.stdin!.end(),
  };
}

async function startSide(label: "on" | "off", token: string): Promise<Side> {
  const gc = new GcCount();
  const flags = [
    "--model",
    args.model,
    "--rate-limit",
    "off",
    ...(args["scoring-threads"] !== undefined ? ["--scoring-threads", args["scoring-threads"]] : []),
  ];
  const monitor = label === "on" && !args.control ? "on" : "off";
  const env = { NETSEC_HOME: args.home!, NETSEC_API_TOKEN: token, NETSEC_MONITOR: monitor };
  const serve = await startChildServe(flags, env, args["trace-gc"] ? ["--trace-gc"] : [], (l) => gc.line(l));
  return { label, serve, gc, ...loadGenerator() };
}

interface Round {
  requests: number;
  rps: number;
  cpuSeconds: number;
  /** The same by kind of thread. */
  threadSeconds: Record<ThreadKind, number>;
  scavenges: number;
  majors: number;
  gcMs: number;
  non2xx: number;
  errors: number;
}

interface ScenarioResult {
  scenario: string;
  pairs: number;
  /** The requests per second both servers were sent (null: as fast as each answered). */
  rate: number | null;
  on: Round[];
  off: Round[];
  cpuCost: MedianInterval;
  throughputCost: MedianInterval;
}

/** Each pair's figures of one server: its round's result and its snapshots at the pair's start and end. */
function rounds(results: LoadResult[], snaps: Snapshot[]): Round[] {
  return results.map((r, i) => ({
    requests: r.requests,
    rps: r.requests / seconds,
    cpuSeconds: snaps[i + 1]!.cpu - snaps[i]!.cpu,
    threadSeconds: Object.fromEntries(
      THREAD_KINDS.map((k) => [k, snaps[i + 1]!.threads[k] - snaps[i]!.threads[k]]),
    ) as Record<ThreadKind, number>,
    scavenges: snaps[i + 1]!.scavenges - snaps[i]!.scavenges,
    majors: snaps[i + 1]!.majors - snaps[i]!.majors,
    gcMs: snaps[i + 1]!.gcMs - snaps[i]!.gcMs,
    non2xx: r.non2xx,
    errors: r.errors,
  }));
}

/** One scenario's pairs on one pair of servers. */
interface Block {
  rate: number | null;
  on: Round[];
  off: Round[];
}

/** `settle`: idle past the monitoring tick after the last pair (the block's last scenario). */
async function measure(on: Side, off: Side, base: Scenario, settle: boolean): Promise<Block> {
  const at = (x: Side): Scenario => ({ ...base, url: base.url.replace("http://base", x.serve.url) });
  const results = { on: [] as LoadResult[], off: [] as LoadResult[] };
  const snaps = { on: [] as Snapshot[], off: [] as Snapshot[] };
  // warm-up, not counted (compiled code, caches), then both at once as fast as they answer for
  // the fixed rate of the rounds: --load-share of the slower one's throughput
  await Promise.all([on.load(at(on), 1), off.load(at(off), 1)]);
  let rate: number | null = null;
  if (loadShare > 0) {
    const warm = await Promise.all([on.load(at(on), 2), off.load(at(off), 2)]);
    rate = Math.max(1, Math.round((loadShare * Math.min(...warm.map((w) => w.requests))) / 2));
  }
  const round = async (x: Side) => {
    results[x.label].push(await x.load(at(x), seconds, rate ?? undefined));
  };
  // both servers' CPU and collections are read at every pair's start: each server is charged the
  // whole pair (its own round and the other's, when it idles), the same span of time for both, so
  // work it left for later and its idle costs weigh alike whichever side went first
  const mark = () => {
    snaps.on.push(snapshot(on));
    snaps.off.push(snapshot(off));
  };
  for (let i = 0; i < pairs; i++) {
    mark();
    if (args.together) await Promise.all([round(on), round(off)]);
    else for (const x of i % 2 === 0 ? [on, off] : [off, on]) await round(x);
  }
  // idle past the tick: what the last rounds left for later is done and counted (in the last pair);
  // within a block, what one scenario's last pair leaves is counted in the next one's first
  if (settle) await new Promise((r) => setTimeout(r, SETTLE_MS));
  mark();
  return { rate, on: rounds(results.on, snaps.on), off: rounds(results.off, snaps.off) };
}

const perRequest = (r: Round) => r.cpuSeconds / Math.max(1, r.requests);

/** A scenario's pairs over every block: its costs' medians with intervals allowing for the blocks. */
function result(scenario: string, blocks: Block[]): ScenarioResult {
  return {
    scenario,
    pairs: blocks.reduce((a, b) => a + b.on.length, 0),
    rate: blocks[0]?.rate ?? null,
    on: blocks.flatMap((b) => b.on),
    off: blocks.flatMap((b) => b.off),
    cpuCost: groupedMedianInterval(
      blocks.map((b) => b.on.map((r, i) => perRequest(r) / perRequest(b.off[i]!) - 1)),
    ),
    throughputCost: groupedMedianInterval(blocks.map((b) => b.on.map((r, i) => 1 - r.rps / b.off[i]!.rps))),
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const interval = (m: MedianInterval) =>
  m.low === null ? "no 95 % interval: too few pairs" : `95 % interval ${pct(m.low)} to ${pct(m.high!)}`;
const sum = (rs: Round[], f: (r: Round) => number) => rs.reduce((a, r) => a + f(r), 0);

const token = randomBytes(24).toString("hex");
const loadBefore = loadavg();
const all = scoringScenarios("http://base");
const only = args.only;
const scenarios = !only
  ? all
  : all.some((s) => s.name === only)
    ? all.filter((s) => s.name === only)
    : all.filter((s) => s.name.includes(only));
const measured = new Map<string, Block[]>(scenarios.map((s) => [s.name, []]));
process.stderr.write(
  `${scenarios.length} scenarios × ${blockCount} blocks × ${pairs} pairs of ${seconds}-s rounds${args.together ? ", together" : ""}${args.control ? ", control: monitoring off on both" : ""}\n`,
);
for (let block = 0; block < blockCount; block++) {
  const sides: Side[] = [];
  try {
    // a new pair of servers for each block, started together (each one's start-up weighs on both)
    const started = await Promise.allSettled([startSide("on", token), startSide("off", token)]);
    for (const r of started) if (r.status === "fulfilled") sides.push(r.value);
    const failed = started.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    const on = sides.find((x) => x.label === "on")!;
    const off = sides.find((x) => x.label === "off")!;
    const versions = await Promise.all(
      [on, off].map(
        async (x) =>
          ((await (await fetch(`${x.serve.url}/health/ready`)).json()) as { model_version?: string })
            .model_version,
      ),
    );
    if (!versions[0] || versions[0] !== versions[1])
      throw new Error(
        `the two servers serve ${versions[0]} and ${versions[1]}: train a champion under --home`,
      );
    for (const s of scenarios) {
      const b = await measure(on, off, s, s === scenarios.at(-1));
      measured.get(s.name)!.push(b);
      const m = groupedMedianInterval([b.on.map((r, i) => perRequest(r) / perRequest(b.off[i]!) - 1)]);
      process.stderr.write(`block ${block + 1}, ${s.name} (${versions[0]}): CPU cost ${pct(m.median)}\n`);
    }
  } finally {
    for (const x of sides) x.stopLoad();
    await Promise.all(sides.map((x) => x.serve.stop()));
  }
}
const out: ScenarioResult[] = scenarios.map((s) => result(s.name, measured.get(s.name)!));
const loadAfter = loadavg();

if (args.json) {
  process.stdout.write(
    `${JSON.stringify({ seconds, blocks: blockCount, pairs, together: args.together, control: args.control, load_before: loadBefore, load_after: loadAfter, scenarios: out })}\n`,
  );
} else {
  process.stdout.write(
    `load average (1 min) ${loadBefore[0]!.toFixed(1)} before, ${loadAfter[0]!.toFixed(1)} after; ${blockCount} blocks (a new pair of servers each) × ${pairs} pairs of ${seconds}-s rounds a scenario at ${loadShare > 0 ? `a fixed rate (${loadShare} of the warm-up's throughput: ${out.map((r) => r.rate).join(", ")} req/s)` : "full speed"}${args.together ? ", both servers loaded together" : ", alternating"}${args.control ? "; CONTROL: monitoring off on both" : ""}\n\n`,
  );
  process.stdout.write(
    "| scenario | req/s on | req/s off | CPU ms/req on | off | CPU cost: median (95 % interval) | throughput cost: median (95 % interval) | scavenges / 1,000 req on | off | major GCs on | off | GC pause µs/req on | off | non-2xx |\n|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
  );
  for (const r of out) {
    const req = { on: sum(r.on, (x) => x.requests), off: sum(r.off, (x) => x.requests) };
    const ci = (m: MedianInterval) =>
      `${pct(m.median)} (${m.low === null ? "—" : `${pct(m.low)} to ${pct(m.high!)}`})`;
    process.stdout.write(
      `| ${r.scenario} | ${(req.on / (seconds * r.pairs)).toFixed(0)} | ${(req.off / (seconds * r.pairs)).toFixed(0)} | ${((1000 * sum(r.on, (x) => x.cpuSeconds)) / req.on).toFixed(3)} | ${((1000 * sum(r.off, (x) => x.cpuSeconds)) / req.off).toFixed(3)} | ${ci(r.cpuCost)} | ${ci(r.throughputCost)} | ${((1000 * sum(r.on, (x) => x.scavenges)) / req.on).toFixed(1)} | ${((1000 * sum(r.off, (x) => x.scavenges)) / req.off).toFixed(1)} | ${sum(r.on, (x) => x.majors)} | ${sum(r.off, (x) => x.majors)} | ${((1000 * sum(r.on, (x) => x.gcMs)) / req.on).toFixed(1)} | ${((1000 * sum(r.off, (x) => x.gcMs)) / req.off).toFixed(1)} | ${sum(r.on, (x) => x.non2xx + x.errors)} / ${sum(r.off, (x) => x.non2xx + x.errors)} |\n`,
    );
  }
  // where the difference goes: each kind of thread's CPU per request, on and off
  process.stdout.write(
    `\nServer CPU per request by thread, µs on / off (difference):\n\n| scenario | ${THREAD_KINDS.join(" | ")} |\n|---|${THREAD_KINDS.map(() => "---:").join("|")}|\n`,
  );
  for (const r of out) {
    const req = { on: sum(r.on, (x) => x.requests), off: sum(r.off, (x) => x.requests) };
    const us = (rs: Round[], n: number, k: ThreadKind) => (1e6 * sum(rs, (x) => x.threadSeconds[k])) / n;
    const cells = THREAD_KINDS.map((k) => {
      const on = us(r.on, req.on, k);
      const off = us(r.off, req.off, k);
      return `${on.toFixed(0)} / ${off.toFixed(0)} (${on - off >= 0 ? "+" : ""}${(on - off).toFixed(0)})`;
    });
    process.stdout.write(`| ${r.scenario} | ${cells.join(" | ")} |\n`);
  }
  process.stdout.write("\n");
  for (const r of out)
    process.stdout.write(
      `monitoring cost, ${r.scenario}: ${pct(r.cpuCost.median)} of the server's CPU per request (${interval(r.cpuCost)}); throughput ${pct(r.throughputCost.median)} (${interval(r.throughputCost)})\n`,
    );
  // every scenario's pairs together, grouped by block (the same pair of processes served them all)
  const pooled = groupedMedianInterval(
    Array.from({ length: blockCount }, (_, block) =>
      scenarios.flatMap((s) => {
        const b = measured.get(s.name)![block]!;
        return b.on.map((r, i) => perRequest(r) / perRequest(b.off[i]!) - 1);
      }),
    ),
  );
  process.stdout.write(
    `monitoring cost: ${pct(pooled.median)} (${interval(pooled)}), server CPU per request on against off over the ${scenarios.length} scenarios' ${pooled.n} pairs\n`,
  );
}
