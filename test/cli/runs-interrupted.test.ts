/**
 * A training run killed mid-way (`kill -9`) does not stay RUNNING forever: `netsec runs list` marks it
 * INTERRUPTED (its process is gone), `runs show` says when, and the next run proceeds.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { MIRROR, ROOT, tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-interrupted-");
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "", MLFLOW_TRACKING_URI: "" };
const train = ["train", "--dataset", "phishing", "--models", "random_forest"];

describe("runs killed mid-way", () => {
  it("kill -9 during training: runs list shows INTERRUPTED with when; the next run succeeds", async () => {
    const child = spawn(
      process.execPath,
      [join(ROOT, "src/cli/main.ts"), ...train, "--params", '{"n_estimators":300}'],
      {
        cwd: ROOT,
        env: { ...process.env, NETSEC_DATASET_MIRROR: MIRROR, NETSEC_LOG_LEVEL: "warn", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let err = "";
    const signal = await new Promise<string | null>((resolve) => {
      child.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
        if (/^\[train\]/m.test(err) && child.exitCode === null) child.kill("SIGKILL");
      });
      child.on("exit", (_code, sig) => resolve(sig));
    });
    expect(signal, err).toBe("SIGKILL");

    const list = runCli(["runs", "list", "--json"], env);
    expect(list.code, list.stderr).toBe(0);
    const runs = list.json!.runs as { id: string; status: string; failure: string; interrupted_at: string }[];
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      status: "INTERRUPTED",
      failure: expect.stringMatching(new RegExp(`process ${child.pid} on .* is gone`)),
      interrupted_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(list.stdout).toMatch(/INTERRUPTED/);
    const show = runCli(["runs", "show", runs[0]!.id, "--json"], env);
    expect(show.json!.run).toMatchObject({ status: "INTERRUPTED", process: { pid: child.pid } });

    const next = runCli([...train, "--params", '{"n_estimators":10}', "--json"], env);
    expect(next.code, next.stderr).toBe(0);
    expect(next.json).toMatchObject({ status: "FINISHED" });
    const after = runCli(["runs", "list", "--json"], env).json!.runs as { status: string }[];
    expect(after.map((r) => r.status)).toEqual(["FINISHED", "INTERRUPTED"]);
  });
});
