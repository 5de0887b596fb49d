/**
 * `netsec serve` as a user starts it, on a home with a trained champion: --host is the address it
 * listens on, the limit flags reach the running server (an upload over --max-upload-rows is a 413
 * naming that limit), a bad flag value is one clear error naming the flag, and SIGTERM stops it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { MIRROR, ROOT, tempDir } from "../helpers/env.ts";
import { phishingCsvSlice } from "./fixtures/predictor.ts";
import { multipart } from "./helpers.ts";

const tmp = tempDir("netsec-cli-serve-");
let child: ChildProcess | null = null;
afterAll(() => {
  child?.kill("SIGKILL");
  tmp.cleanup();
});
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "" };

/** Start `netsec serve` and resolve with its URL once it says where it listens. */
function startServe(args: string[], more: Record<string, string> = {}): Promise<string> {
  const c = spawn(process.execPath, [join(ROOT, "src/cli/main.ts"), "serve", "--port", "0", ...args], {
    cwd: ROOT,
    env: { ...process.env, NETSEC_DATASET_MIRROR: MIRROR, NETSEC_LOG_LEVEL: "warn", ...env, ...more },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = c;
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`netsec serve did not start: ${out}${err}`)), 60_000);
    c.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /serving on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    c.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
    });
    c.on("exit", (code) => reject(new Error(`netsec serve exited with ${code}: ${out}${err}`)));
  });
}

/** SIGTERM the running server and wait for it to exit. */
async function stop(): Promise<void> {
  const c = child!;
  const exited = new Promise<number | null>((res) => c.once("exit", (code) => res(code)));
  c.kill("SIGTERM");
  expect(await exited).toBe(0);
  child = null;
}

describe("netsec serve flags", () => {
  it("a bad value is one error naming the flag", () => {
    const r = runCli(["serve", "--max-upload-rows", "lots"], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--max-upload-rows must be a whole number >= 1, not "lots"');
    const t = runCli(["serve", "--scoring-threads", "-1"], env);
    expect(t.code).not.toBe(0);
    expect(t.stderr).toContain("--scoring-threads");
    for (const [flag, v, msg] of [
      [
        "--rate-limit",
        "0x10",
        '--rate-limit must be a whole number of requests per minute (1 or more) or off, not "0x10"',
      ],
      ["--rate-limit", "0", "--rate-limit must be a whole number"],
      ["--max-scoring", "0", '--max-scoring must be a whole number >= 1, not "0"'],
      ["--scoring-queue", "-1", "--scoring-queue must be a whole number >= 0"],
      ["--output-max-mb", "none", '--output-max-mb must be a number > 0, not "none"'],
      ["--output-max-age-days", "0", "--output-max-age-days must be a number > 0"],
      ["--data-dir", join(tmp.dir, "missing"), "missing does not exist (--data-dir / NETSEC_DATA_DIRS)"],
    ] as const) {
      const f = runCli(["serve", "--port", "0", flag, v], env);
      expect(f.code, flag).not.toBe(0);
      expect(f.stderr).toContain(msg);
    }
    const e = runCli(["serve", "--port", "0"], { ...env, NETSEC_RATE_LIMIT: "lots" });
    expect(e.code).not.toBe(0);
    expect(e.stderr).toContain('NETSEC_RATE_LIMIT="lots"');
    for (const [v, msg] of [
      ["abc", '--port must be a whole number >= 0, not "abc"'],
      ["70000", '--port must be at most 65535, not "70000"'],
    ] as const) {
      const p = runCli(["serve", "--port", v], env);
      expect(p.code).not.toBe(0);
      expect(p.stderr).toContain(msg);
    }
  });

  it("--rate-limit and --data-dir reach the running server; NETSEC_RATE_LIMIT when no flag", async () => {
    const data = join(tmp.dir, "data");
    mkdirSync(data, { recursive: true });
    writeFileSync(join(tmp.dir, "outside.csv"), "a\n1\n");
    const url = await startServe(["--rate-limit", "3", "--data-dir", data], {
      NETSEC_API_TOKEN: "cli-serve-token-0123456789",
    });
    const codes: number[] = [];
    let last: Response | null = null;
    for (let i = 0; i < 4; i++) {
      last = await fetch(`${url}/models`);
      codes.push(last.status);
    }
    expect(codes).toEqual([200, 200, 200, 429]);
    const limited = (await last!.json()) as { error: { message: string } };
    expect(limited.error.message).toMatch(/^rate limit of 3 requests per minute exceeded; retry in \d+ s$/);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    await stop();
    // the data directory: a file outside it is refused
    const url2 = await startServe(["--data-dir", data], {
      NETSEC_API_TOKEN: "cli-serve-token-0123456789",
      NETSEC_RATE_LIMIT: "2",
    });
    const train = await fetch(`${url2}/train`, {
      method: "POST",
      headers: { authorization: "Bearer cli-serve-token-0123456789", "content-type": "application/json" },
      body: JSON.stringify({ source: { kind: "file", files: ["../outside.csv"] } }),
    });
    expect(train.status).toBe(403);
    expect(((await train.json()) as { error: { details: { reason: string } } }).error.details.reason).toBe(
      "outside_data_dirs",
    );
    // NETSEC_RATE_LIMIT=2: the /train above was the first request
    expect((await fetch(`${url2}/models`)).status).toBe(200);
    expect((await fetch(`${url2}/models`)).status).toBe(429);
    await stop();
  }, 90_000);

  it("--max-upload-rows reaches the running server; SIGTERM stops it", async () => {
    const trained = runCli(
      ["train", "--dataset", "phishing", "--models", "logistic_regression", "--json"],
      env,
    );
    expect(trained.code, trained.stderr).toBe(0);
    // --host: the address it listens on (and says it listens on)
    const url = await startServe(["--host", "127.0.0.2", "--max-upload-rows", "5", "--scoring-threads", "1"]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    const port = new URL(url).port;
    await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
    const post = (n: number) => {
      const { payload, headers } = multipart(phishingCsvSlice(n));
      return fetch(`${url}/predict`, { method: "POST", headers, body: new Uint8Array(payload) });
    };
    expect((await post(5)).status).toBe(200);
    const r = await post(6);
    expect(r.status).toBe(413);
    const body = (await r.json()) as { error: { details: Record<string, unknown> } };
    expect(body.error.details).toMatchObject({ limit: "maxRows", max: 5 });
    const exited = new Promise<number | null>((res) => child!.once("exit", (code) => res(code)));
    child!.kill("SIGTERM");
    expect(await exited).toBe(0);
    child = null;
  }, 90_000);
});
