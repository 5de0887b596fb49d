/**
 * The README's first command, `scripts/main`, as a user runs it (on a machine where `scripts/setup`
 * has already installed the npm packages, so it skips that): fetch and verify phishing, ingest,
 * validate, train the whole default pipeline, then serve it — checked by asking the running server
 * whether it is ready and what it serves, and stopping it with SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MIRROR, ROOT, tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-main-");
let child: ChildProcess | null = null;
afterAll(() => {
  if (child?.pid) process.kill(-child.pid, "SIGKILL");
  tmp.cleanup();
});

describe("scripts/main", () => {
  it("runs the pipeline on phishing and serves the champion it registered", async () => {
    const home = join(tmp.dir, "home");
    const c = spawn("bash", [join(ROOT, "scripts/main")], {
      cwd: ROOT,
      env: {
        ...process.env,
        NETSEC_HOME: home,
        NETSEC_DATASET_MIRROR: MIRROR,
        NETSEC_STORE_URI: "",
        MLFLOW_TRACKING_URI: "",
        NETSEC_API_TOKEN: "",
        PORT: "0",
        HOST: "127.0.0.1",
        NETSEC_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    child = c;
    let out = "";
    let err = "";
    c.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`scripts/main did not serve:\n${out}\n${err}`)),
        170_000,
      );
      c.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /serving on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      c.on("exit", (code) => reject(new Error(`scripts/main exited with ${code}:\n${out}\n${err}`)));
    });
    for (const step of ["== 1.", "== 2.", "== 3.", "== 4.", "== 5."]) expect(out).toContain(step);
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ model_version: "netsec-phishing:1" });
    const page = await (await fetch(`${url}/`)).text();
    expect(page).toContain("netsec-phishing:1");
    // a token for POST /train was made and kept only in the home, readable by its owner
    expect(out).toContain(`${home}/api-token (mode 600)`);
    const exited = new Promise<number | null>((res) => c.once("exit", (code) => res(code)));
    process.kill(c.pid!, "SIGTERM");
    expect(await exited).toBe(0);
    child = null;
  }, 180_000);
});
