/**
 * `bin/netsec.js` (what `npx netsec` and the container run) turns on Node's compile cache before
 * the sources load: the type-stripped, compiled modules land under <os tmpdir>/node-compile-cache
 * (or NODE_COMPILE_CACHE), and NODE_DISABLE_COMPILE_CACHE=1 keeps it off.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-compile-cache-");
afterAll(tmp.cleanup);

/** `netsec --version` through bin/netsec.js with TMPDIR `dir` and no compile-cache variable set. */
function version(dir: string, extra: Record<string, string> = {}) {
  const env: Record<string, string | undefined> = { ...process.env, TMPDIR: dir, ...extra };
  delete env.NODE_COMPILE_CACHE;
  if (!("NODE_DISABLE_COMPILE_CACHE" in extra)) delete env.NODE_DISABLE_COMPILE_CACHE;
  const r = spawnSync(process.execPath, [join(ROOT, "bin/netsec.js"), "--version"], {
    env,
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return join(dir, "node-compile-cache");
}

/** Every file under `dir`, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => d.name);
}

describe("bin/netsec.js: Node's compile cache", () => {
  it("is written under the temporary directory, and kept off by NODE_DISABLE_COMPILE_CACHE=1", () => {
    const on = join(tmp.dir, "on");
    const cache = version(mkdir(on));
    expect(existsSync(cache)).toBe(true);
    // the CLI's modules: one entry per module compiled (the sources, their packages)
    expect(files(cache).length).toBeGreaterThan(50);
    const off = join(tmp.dir, "off");
    expect(existsSync(version(mkdir(off), { NODE_DISABLE_COMPILE_CACHE: "1" }))).toBe(false);
  });
});

function mkdir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
