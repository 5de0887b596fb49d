/**
 * One writer at a time, with real processes: while another process holds the DuckDB store, a command
 * waits (saying so on stderr, naming the holder's pid) and fails with STORE_BUSY after
 * NETSEC_STORE_WAIT_SECONDS, or goes on once the holder lets go; two ingests started together both
 * finish with exact counts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { KDD_DIR, MIRROR, PHISHING_CSV, ROOT, tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-store-busy-");
afterAll(tmp.cleanup);
const home = join(tmp.dir, "home");
const storePath = join(home, "store.duckdb");
const env = { NETSEC_HOME: home, NETSEC_STORE_URI: "", MLFLOW_TRACKING_URI: "" };

/** A process that opens the store and holds it until its stdin closes; resolves once it holds it. */
async function holder(): Promise<ChildProcess> {
  const code = `
    import { DuckDbStore } from ${JSON.stringify(join(ROOT, "src/store/duckdb/store.ts"))};
    const s = new DuckDbStore(${JSON.stringify(storePath)}, { waitSeconds: 60 });
    await s.open();
    process.stdout.write("holding\\n");
    process.stdin.resume();
    process.stdin.on("end", async () => { await s.close(); process.exit(0); });
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("holding")) resolve();
    });
    child.on("exit", (c) => reject(new Error(`holder exited early (${c})`)));
  });
  return child;
}

/** The CLI, asynchronously (runCli blocks, and the holder must be let go meanwhile). */
function cli(args: string[], extra: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(ROOT, "src/cli/main.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, NETSEC_DATASET_MIRROR: MIRROR, NETSEC_LOG_LEVEL: "warn", ...env, ...extra },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = once(child, "exit").then(([code]) => ({
    code: code as number,
    stdout,
    stderr: () => stderr,
    json: JSON.parse(stdout.trim().split("\n").at(-1) ?? "null") as Record<string, unknown>,
  }));
  return { child, done, stderr: () => stderr };
}

describe("the DuckDB store: one process at a time", { timeout: 240_000 }, () => {
  it("a command waits for the holder, says so, and fails with STORE_BUSY after the bounded wait", async () => {
    const h = await holder();
    try {
      const r = runCli(["ingest", "--dataset", "phishing", "--file", PHISHING_CSV, "--json"], {
        ...env,
        NETSEC_STORE_WAIT_SECONDS: "1",
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        `record store duckdb:${storePath} is busy (pid ${h.pid}); waiting up to 1 s`,
      );
      expect(r.json).toMatchObject({ ok: false, error: { code: "STORE_BUSY" } });
      expect(r.stderr).toMatch(/waited 1 s \(NETSEC_STORE_WAIT_SECONDS\)/);
    } finally {
      h.stdin!.end();
      await once(h, "exit");
    }
    // nothing was written meanwhile, and the store is whole
    const v = runCli(["ingest", "--dataset", "phishing", "--file", PHISHING_CSV, "--json"], env);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json).toMatchObject({ added: 11055, total: 11055 });
  });

  it("a command waiting for the holder goes on once it lets go", async () => {
    const h = await holder();
    const run = cli(["ingest", "--dataset", "nsl-kdd", "--file", join(KDD_DIR, "KDDTest+.txt"), "--json"]);
    // let go only once the command has said it is waiting
    while (!run.stderr().includes("is busy")) await new Promise((r) => setTimeout(r, 50));
    h.stdin!.end();
    await once(h, "exit");
    const r = await run.done;
    expect(r.code, r.stderr()).toBe(0);
    expect(r.json).toMatchObject({ dataset: "nsl-kdd", added: 22544, total: 22544 });
  });

  it("two ingests started together both finish, with exact counts", async () => {
    const a = cli([
      "ingest",
      "--dataset",
      "nsl-kdd",
      "--file",
      join(KDD_DIR, "KDDTrain+_20Percent.txt"),
      "--json",
    ]);
    const b = cli(["ingest", "--dataset", "nsl-kdd", "--file", join(KDD_DIR, "KDDTest-21.txt"), "--json"]);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr()).toBe(0);
    expect(rb.code, rb.stderr()).toBe(0);
    expect(ra.json).toMatchObject({ added: 25192 });
    expect(rb.json).toMatchObject({ added: 11850 });
    const again = runCli(
      ["ingest", "--dataset", "nsl-kdd", "--file", join(KDD_DIR, "KDDTest+.txt"), "--json"],
      env,
    );
    expect(again.json).toMatchObject({ added: 0, total: 22544 + 25192 + 11850 });
  });
});
