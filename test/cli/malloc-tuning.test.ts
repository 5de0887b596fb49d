/**
 * `bin/netsec.js` on Linux replaces itself once (same process id) with MALLOC_MMAP_THRESHOLD_ set, so
 * that glibc returns large freed buffers to the system; NETSEC_MALLOC_TUNING=0 or a threshold of the
 * user's own leaves the environment as it is.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/env.ts";

/** A module preloaded by --import: prints the variable and the process id as the process exits. */
const PROBE = `data:text/javascript,${encodeURIComponent(
  'process.on("exit", () => process.stderr.write(["PROBE", process.env.MALLOC_MMAP_THRESHOLD_ ?? "-", process.pid].join(" ") + "\\n"));',
)}`;

/** `netsec --version` through bin/netsec.js: the variable and pid its (last) process saw, and its own pid. */
function run(extra: Record<string, string>): { value: string; samePid: boolean; probes: number } {
  const env: Record<string, string | undefined> = { ...process.env, ...extra };
  for (const k of ["MALLOC_MMAP_THRESHOLD_", "NETSEC_MALLOC_TUNING"]) if (!(k in extra)) delete env[k];
  const r = spawnSync(process.execPath, ["--import", PROBE, join(ROOT, "bin/netsec.js"), "--version"], {
    env,
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  const probes = r.stderr.split("\n").filter((l) => l.startsWith("PROBE "));
  const [, value, pid] = probes.at(-1)!.split(" ");
  return { value: value!, samePid: Number(pid) === r.pid, probes: probes.length };
}

describe.runIf(process.platform === "linux")("bin/netsec.js: glibc's mmap threshold", () => {
  it("re-executes once in the same process with MALLOC_MMAP_THRESHOLD_=131072", () => {
    expect(run({})).toEqual({ value: "131072", samePid: true, probes: 1 });
  });

  it("leaves it unset with NETSEC_MALLOC_TUNING=0, and keeps a value of the user's own", () => {
    expect(run({ NETSEC_MALLOC_TUNING: "0" }).value).toBe("-");
    expect(run({ MALLOC_MMAP_THRESHOLD_: "65536" }).value).toBe("65536");
  });
});
