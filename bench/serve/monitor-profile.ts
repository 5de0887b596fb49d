/**
 * Where a monitored server's extra CPU goes, function by function: two `netsec serve` processes on the
 * same home and champion (one with NETSEC_MONITOR=off), both under the CPU profiler (`--cpu-prof`, a
 * profile per thread) and loaded together with one scenario of bench/serve/scenarios.ts for
 * --seconds; then each function's self time per request (µs), on against off, per kind of thread (the
 * event loop, the scoring threads), largest differences first, with the servers' CPU per request by
 * kind of thread (/proc: V8's background threads — concurrent marking, sweeping, optimising
 * compilation — have no profile of their own) and their collections (--trace-gc).
 *
 *   npx node bench/serve/monitor-profile.ts --home <copy of a home> [--only "csv upload 1000 rows"]
 *        [--seconds 20] [--top 25] [--no-profile] [--node-args="--trace-opt --trace-deopt" --lines <prefix>]
 *
 * Per kind of thread it also gives the part of the monitored server's CPU in monitoring's code (samples
 * whose stack holds a frame of src/monitor/ or src/serve/monitoring.ts) and in the garbage collector.
 * --node-args adds node flags to both servers; --lines <prefix> writes each one's output lines (e.g.
 * node's --trace-opt) to <prefix>.on and <prefix>.off. Only the measured span's samples count (the
 * profiles' time stamps against this process's monotonic clock): start-up and warm-up are left out.
 *
 * The profiler's own cost weighs on both alike; samples count wall time while a thread runs, so the
 * figures are an attribution, the CPU per request by thread the measure. Functions are keyed by name,
 * file and line; "(garbage collector)" is V8's collections on that thread.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { z } from "zod";
import { type ChildServe, startChildServe, THREAD_KINDS, type ThreadKind } from "./child-serve.ts";
import { type Scenario, scoringScenarios } from "./scenarios.ts";

const { values: args } = parseArgs({
  options: {
    home: { type: "string" },
    model: { type: "string", default: "netsec-phishing" },
    only: { type: "string", default: "csv upload 1000 rows" },
    seconds: { type: "string", default: "20" },
    connections: { type: "string", default: "10" },
    top: { type: "string", default: "25" },
    profile: { type: "boolean", default: true },
    /** Extra node flags for both servers (e.g. "--trace-opt --trace-deopt"), their output lines to --lines. */
    "node-args": { type: "string", default: "" },
    lines: { type: "string" },
  },
  allowNegative: true,
});
if (!args.home) throw new Error("--home <NETSEC_HOME> with a registered champion is required");
const seconds = Number(args.seconds);

const ProfileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
      children: z.array(z.number()).optional(),
    }),
  ),
  startTime: z.number(),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

/** The monotonic clock in µs: the profiles' time stamps (V8's TimeTicks, CLOCK_MONOTONIC). */
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** The measured span: samples outside it (start-up, warm-up, shut-down) are left out. */
const span = { from: 0, to: 0 };

/** Frames of monitoring's code (as bench/serve/monitor-share.ts counts them). */
const MONITOR = /\/src\/monitor\/|\/src\/serve\/monitoring\.ts$/;
/** Samples of a thread waiting, not working: V8's idle, a scoring thread waiting for its next task. */
const WAITING = /^(\(idle\)|atomicsWaitLoop |wait$)/;

/** A kind of thread's samples within `span`: self time (µs) by function; busy and monitoring's (inclusive) time. */
interface Samples {
  self: Map<string, number>;
  busyUs: number;
  monitorUs: number;
}

function addSamples(file: string, into: Samples): void {
  const p = ProfileSchema.parse(JSON.parse(readFileSync(file, "utf8")));
  const key = new Map<number, string>();
  const parent = new Map<number, number>();
  const url = new Map<number, string>();
  for (const n of p.nodes) {
    const f = n.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/(src|node_modules)\//, "$1/")}:${f.lineNumber + 1}` : "";
    key.set(n.id, `${f.functionName || "(anonymous)"} ${where}`.trim());
    url.set(n.id, f.url);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const inMonitor = new Map<number, boolean>();
  const monitorOf = (id: number): boolean => {
    let m = inMonitor.get(id);
    if (m === undefined) {
      const up = parent.get(id);
      m = MONITOR.test(url.get(id)!) || (up !== undefined && monitorOf(up));
      inMonitor.set(id, m);
    }
    return m;
  };
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (t < span.from || t > span.to) continue;
    const id = p.samples[i]!;
    const k = key.get(id)!;
    if (WAITING.test(k)) continue;
    into.self.set(k, (into.self.get(k) ?? 0) + dt);
    into.busyUs += dt;
    if (monitorOf(id)) into.monitorUs += dt;
  }
}

/** Samples by kind of thread ("event loop": the profile of thread 0; "workers": the others). */
function profiles(dir: string): Record<"event loop" | "workers", Samples> {
  const empty = (): Samples => ({ self: new Map(), busyUs: 0, monitorUs: 0 });
  const out = { "event loop": empty(), workers: empty() };
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".cpuprofile"))) {
    // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile
    const thread = Number(f.split(".").at(-3));
    addSamples(join(dir, f), thread === 0 ? out["event loop"] : out.workers);
  }
  return out;
}

class GcCount {
  scavenges = 0;
  majors = 0;
  line(l: string): void {
    if (!/, [\d.]+ \/ [\d.]+ ms/.test(l)) return;
    if (/ ms: Scavenge/.test(l)) this.scavenges++;
    else if (/ ms: (Mark-Compact|Mark-Sweep|Minor Mark-Sweep)/i.test(l)) this.majors++;
  }
}

/** One run of `s` against the server at `url`, from a load generator of its own: the requests answered. */
function loadOnce(url: string, s: Scenario): Promise<number> {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./loadgen.ts", import.meta.url))], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  return new Promise((resolve) => {
    createInterface({ input: child.stdout! }).once("line", (l) => {
      child.stdin!.end();
      resolve((JSON.parse(l) as { requests: number }).requests);
    });
    child.stdin!.write(
      `${JSON.stringify({
        url: s.url.replace("http://base", url),
        method: s.method,
        headers: s.headers,
        body64: Buffer.from(s.body).toString("base64"),
        connections: Number(args.connections),
        duration: seconds,
      })}\n`,
    );
  });
}

const scenario = scoringScenarios("http://base").find((s) => s.name === args.only);
if (!scenario) throw new Error(`no scenario named ${args.only}`);
const dir = mkdtempSync(join(tmpdir(), "netsec-monprof-"));
const token = randomBytes(24).toString("hex");
const load0 = loadavg()[0]!;
const sides = await Promise.all(
  (["on", "off"] as const).map(async (label) => {
    const gc = new GcCount();
    const node = [
      "--trace-gc",
      ...args["node-args"].split(" ").filter((x) => x !== ""),
      ...(args.profile ? ["--cpu-prof", `--cpu-prof-dir=${join(dir, label)}`] : []),
    ];
    const env = { NETSEC_HOME: args.home!, NETSEC_API_TOKEN: token, NETSEC_MONITOR: label };
    const serve: ChildServe = await startChildServe(
      ["--model", args.model, "--rate-limit", "off"],
      env,
      node,
      (l) => {
        gc.line(l);
        if (args.lines) appendFileSync(`${args.lines}.${label}`, `${l}\n`);
      },
    );
    return { label, serve, gc };
  }),
);
// warm-up (compiled code, caches), not counted
await Promise.all(sides.map((x) => loadOnce(x.serve.url, scenario)));
span.from = nowUs();
const before = sides.map((x) => ({ threads: x.serve.threadCpuSeconds(), gc: { ...x.gc } }));
const requests = await Promise.all(sides.map((x) => loadOnce(x.serve.url, scenario)));
// past the monitoring tick: the save the last requests leave is counted
await new Promise((r) => setTimeout(r, 5500));
span.to = nowUs();
const after = sides.map((x) => ({ threads: x.serve.threadCpuSeconds(), gc: { ...x.gc } }));
await Promise.all(sides.map((x) => x.serve.stop()));

process.stdout.write(
  `${scenario.name}, ${seconds} s loaded together; load average ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}; requests on ${requests[0]} / off ${requests[1]}\n\n`,
);
process.stdout.write(`| thread | on µs/req | off µs/req | difference |\n|---|---:|---:|---:|\n`);
const per = (i: number, k: ThreadKind) =>
  (1e6 * (after[i]!.threads[k] - before[i]!.threads[k])) / requests[i]!;
for (const k of [...THREAD_KINDS, "all"] as const) {
  const on = k === "all" ? THREAD_KINDS.reduce((a, t) => a + per(0, t), 0) : per(0, k);
  const off = k === "all" ? THREAD_KINDS.reduce((a, t) => a + per(1, t), 0) : per(1, k);
  process.stdout.write(`| ${k} | ${on.toFixed(0)} | ${off.toFixed(0)} | ${(on - off).toFixed(0)} |\n`);
}
process.stdout.write(
  `\ncollections (main thread and workers): scavenges on ${after[0]!.gc.scavenges - before[0]!.gc.scavenges} / off ${after[1]!.gc.scavenges - before[1]!.gc.scavenges}, major on ${after[0]!.gc.majors - before[0]!.gc.majors} / off ${after[1]!.gc.majors - before[1]!.gc.majors}\n`,
);

if (args.profile) {
  const on = profiles(join(dir, "on"));
  const off = profiles(join(dir, "off"));
  for (const kind of ["event loop", "workers"] as const) {
    // the sampled times are wall time while the thread ran: scaled to its CPU per request
    const cpu = [per(0, kind), per(1, kind)];
    const scale = [cpu[0]! / (on[kind].busyUs / requests[0]!), cpu[1]! / (off[kind].busyUs / requests[1]!)];
    const gc = (x: Samples) => x.self.get("(garbage collector)") ?? 0;
    process.stdout.write(
      `\n${kind}: CPU µs per request on ${cpu[0]!.toFixed(0)} / off ${cpu[1]!.toFixed(0)}; in monitoring's code (inclusive) ${((on[kind].monitorUs / requests[0]!) * scale[0]!).toFixed(0)}; garbage collector on ${((gc(on[kind]) / requests[0]!) * scale[0]!).toFixed(0)} / off ${((gc(off[kind]) / requests[1]!) * scale[1]!).toFixed(0)}\n\n| function (self, CPU µs per request) | on | off | difference |\n|---|---:|---:|---:|\n`,
    );
    const keys = new Set([...on[kind].self.keys(), ...off[kind].self.keys()]);
    const rows = [...keys].map((k) => {
      const a = ((on[kind].self.get(k) ?? 0) / requests[0]!) * scale[0]!;
      const b = ((off[kind].self.get(k) ?? 0) / requests[1]!) * scale[1]!;
      return { k, a, b, d: a - b };
    });
    rows.sort((x, y) => Math.abs(y.d) - Math.abs(x.d));
    for (const r of rows.slice(0, Number(args.top)))
      process.stdout.write(
        `| ${r.k} | ${r.a.toFixed(1)} | ${r.b.toFixed(1)} | ${r.d >= 0 ? "+" : ""}${r.d.toFixed(1)} |\n`,
      );
  }
}
rmSync(dir, { recursive: true, force: true });
