/** Benchmarks run commands as a person would: wall time and peak RSS from /usr/bin/time. */
import { spawn } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");

export interface Timed {
  seconds: number;
  peakRssMb: number;
  /** User + system CPU seconds of the process and its threads (what a loaded machine changes least). */
  cpuSeconds: number;
  stdout: string;
  code: number;
  timedOut: boolean;
}

/** Run a command under /usr/bin/time (wall seconds, peak RSS of the process), streaming stderr. */
export function timed(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutS: number,
  cwd = ROOT,
): Promise<Timed> {
  return new Promise((resolvePromise) => {
    const t0 = performance.now();
    // its own process group, so a timeout stops the command and every worker it started
    const child = spawn("/usr/bin/time", ["-f", "__TIME__ %e %M %U %S", cmd, ...args], {
      env,
      cwd,
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutS * 1000);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      const s = d.toString();
      stderr += s;
      for (const line of s.split("\n"))
        if (line.trim() && !line.startsWith("__TIME__")) process.stderr.write(`  ${line}\n`);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const m = /__TIME__ ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(stderr);
      resolvePromise({
        seconds: m ? Number(m[1]) : (performance.now() - t0) / 1000,
        peakRssMb: m ? Number(m[2]) / 1024 : Number.NaN,
        cpuSeconds: m ? Number(m[3]) + Number(m[4]) : Number.NaN,
        stdout,
        code: code ?? -1,
        timedOut,
      });
    });
  });
}
