/**
 * Start test/serve/fixtures/serve-child.ts in a child process (with --expose-gc) and read its RSS from
 * /proc/<pid>/status: the memory the operating system gives the whole server process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/env.ts";

/** The one run the child server's run source knows. */
export const CHILD_RUN_ID = "20250101-120000-abc123";

export interface ChildServer {
  url: string;
  pid: number;
  /** The process's resident set size in MiB (VmRSS). */
  rssMb(): number;
  /** Collect garbage in the server; resolves with its memoryUsage() (bytes) afterwards. */
  gc(): Promise<{ heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }>;
  stop(): Promise<void>;
}

/** Whether RSS can be read here (Linux /proc). */
export const CAN_READ_RSS = (() => {
  try {
    return /VmRSS/.test(readFileSync("/proc/self/status", "utf8"));
  } catch {
    return false;
  }
})();

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) / 1024;
}

export function startChildServer(limits: Record<string, number> = {}): Promise<ChildServer> {
  const c: ChildProcess = spawn(
    process.execPath,
    ["--expose-gc", join(ROOT, "test/serve/fixtures/serve-child.ts")],
    {
      cwd: ROOT,
      env: { ...process.env, NETSEC_TEST_LIMITS: JSON.stringify(limits) },
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  let out = "";
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  c.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      const m = w.re.exec(out);
      if (m) {
        out = out.slice(m.index + m[0].length);
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const waitFor = (re: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      waiters.push({ re, resolve });
      c.once("exit", (code) => reject(new Error(`test server exited with ${code}`)));
    });
  return waitFor(/LISTENING (\S+)\n/).then((m) => ({
    url: m[1]!,
    pid: c.pid!,
    rssMb: () => rssOf(c.pid!),
    async gc() {
      const done = waitFor(/GC (\{.*\})\n/);
      c.stdin!.write("gc\n");
      return JSON.parse((await done)[1]!);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (c.exitCode !== null) return resolve();
        c.once("exit", () => resolve());
        c.stdin!.end();
        setTimeout(() => c.kill("SIGKILL"), 10_000).unref();
      }),
  }));
}
