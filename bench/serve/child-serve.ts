/**
 * `netsec serve` in a child process of its own, for bench/serve/load.ts --compare-monitoring: each
 * server has its own heap, garbage collector, event loop and timers, as two deployments would, and its
 * CPU time (every thread: event loop, scoring threads, the garbage collector's) is read from
 * /proc/<pid>/stat, so one server's work never shows in the other's figures.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface ChildServe {
  url: string;
  pid: number;
  /** The child's user + system CPU seconds so far (every thread). */
  cpuSeconds(): number;
  /** The same by kind of thread (`threadKind`), of the threads alive now. */
  threadCpuSeconds(): Record<ThreadKind, number>;
  stop(): Promise<void>;
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
let ticksPerSecond: number | null = null;
function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  return ticksPerSecond;
}

/** utime + stime of a process in seconds (proc(5): fields 14 and 15, counted after the command's ")"). */
export function processCpuSeconds(pid: number): number {
  return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, "utf8"));
}

/**
 * What a thread of a node process does, by the name node and V8 give it (/proc/<pid>/task/<tid>/comm):
 * the event loop ("MainThread"), worker threads — the scoring threads ("WorkerThread"), V8's
 * background threads — concurrent marking and sweeping, optimising compilation ("V8Worker"), libuv's
 * pool — file system calls, compression ("libuv-worker"), and the rest.
 */
export type ThreadKind = "event loop" | "workers" | "V8 background" | "libuv pool" | "other";
export const THREAD_KINDS: readonly ThreadKind[] = [
  "event loop",
  "workers",
  "V8 background",
  "libuv pool",
  "other",
];

function threadKind(comm: string): ThreadKind {
  if (comm === "MainThread" || comm === "node") return "event loop";
  if (comm === "WorkerThread") return "workers";
  if (comm.startsWith("V8Worker")) return "V8 background";
  if (comm.startsWith("libuv-worker")) return "libuv pool";
  return "other";
}

/** utime + stime in seconds of a /proc stat line (proc(5): fields 14 and 15, after the command's ")"). */
function statCpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): utime is field 14, stime 15
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/**
 * A process's CPU seconds by kind of thread: the threads alive now (a thread that ended is no longer
 * counted, so compare only spans over which the process kept its threads: a server's are made at
 * its start).
 */
export function threadCpuSeconds(pid: number): Record<ThreadKind, number> {
  const out = Object.fromEntries(THREAD_KINDS.map((k) => [k, 0])) as Record<ThreadKind, number>;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      out[threadKind(comm)] += statCpuSeconds(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/**
 * Start `netsec serve --host 127.0.0.1 --port 0 <args>` with `env` added to this process's (and
 * `nodeArgs` given to node, e.g. --cpu-prof); resolves once it prints the address it listens on.
 * `onLine` is given every later line of its standard output (e.g. node's --trace-gc lines).
 */
export function startChildServe(
  args: readonly string[],
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
  onLine?: (line: string) => void,
): Promise<ChildServe> {
  const cli = fileURLToPath(new URL("../../bin/netsec.js", import.meta.url));
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, cli, "serve", "--host", "127.0.0.1", "--port", "0", ...args],
    { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  // the log (stderr) drained, its end kept for the error message
  let errTail = "";
  child.stderr!.on("data", (d: Buffer) => {
    errTail = (errTail + d.toString()).slice(-4000);
  });
  let out = "";
  return new Promise((resolve, reject) => {
    const exited = (code: number | null) =>
      reject(new Error(`netsec serve exited with ${code} before listening:\n${errTail}`));
    child.once("exit", exited);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /netsec serving on (http:\/\/\S+)/.exec(out);
      if (!m) return;
      child.stdout!.removeAllListeners("data");
      if (onLine) {
        let rest = out.slice(m.index + m[0].length);
        child.stdout!.on("data", (d: Buffer) => {
          const lines = (rest + d.toString()).split("\n");
          rest = lines.pop()!;
          for (const l of lines) onLine(l);
        });
      }
      child.stdout!.resume();
      child.off("exit", exited);
      const pid = child.pid!;
      resolve({
        url: m[1]!,
        pid,
        cpuSeconds: () => processCpuSeconds(pid),
        threadCpuSeconds: () => threadCpuSeconds(pid),
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once("exit", () => done());
            child.kill("SIGTERM");
            setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
          }),
      });
    });
  });
}
