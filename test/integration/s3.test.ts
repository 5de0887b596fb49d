/**
 * Run artifacts and models in S3-compatible storage, against a real SeaweedFS S3 server started by the
 * global set-up (scripts/test-services start s3). The bucket's contents are read back with the AWS SDK
 * directly (not through netsec's wrapper) and compared with the files the run wrote:
 * - a run syncs automatically; a re-push uploads nothing; a push killed midway is finished by the next
 *   one without re-uploading what is complete;
 * - a bucket that is down during a run leaves the run FINISHED locally, pending, and `runs push` syncs it;
 * - refused credentials give a clear error naming the variables, and the secret appears nowhere;
 * - `models pull <name>@champion` into a fresh NETSEC_HOME serves `netsec predict` the same answers;
 * - dot-files, symbolic links and files holding a secret value are never uploaded.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, relative } from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, trainQuickForest } from "../helpers/cli.ts";
import { MIRROR, PHISHING_CSV, ROOT, tempDir } from "../helpers/env.ts";

const ENDPOINT = process.env.NETSEC_TEST_AWS_ENDPOINT_URL;
const KEY = process.env.NETSEC_TEST_AWS_ACCESS_KEY_ID ?? "";
const SECRET = process.env.NETSEC_TEST_AWS_SECRET_ACCESS_KEY ?? "";
const BUCKET = process.env.NETSEC_TEST_NETSEC_S3_BUCKET ?? "";
if (!ENDPOINT && process.env.NETSEC_TEST_S3 !== "0")
  throw new Error("NETSEC_TEST_AWS_ENDPOINT_URL is not set: the global set-up should have started s3");

const tmp = tempDir("netsec-s3-it-");
afterAll(tmp.cleanup);
const suffix = Math.random().toString(36).slice(2, 10);

const sdk = new S3Client({
  region: "us-east-1",
  endpoint: ENDPOINT ?? "http://127.0.0.1:1",
  forcePathStyle: true,
  credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
});

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await sdk.send(
      new ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: `${prefix}/`,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const o of r.Contents ?? []) keys.push(o.Key!.slice(prefix.length + 1));
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

async function getObject(key: string): Promise<Buffer> {
  const r = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** Every regular file under `dir`, relative, `/`-separated. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/**
 * A SeaweedFS S3 server of the test's own (the shared one must stay up for the other tests) on `port`,
 * with the same test identity and a bucket `down-test`; `stop` kills it.
 */
async function startPrivateS3(port: number, dir: string) {
  mkdirSync(join(dir, "data"), { recursive: true });
  writeFileSync(
    join(dir, "s3.json"),
    JSON.stringify({
      identities: [
        {
          name: "t",
          credentials: [{ accessKey: KEY, secretKey: SECRET }],
          actions: ["Admin", "Read", "Write", "List"],
        },
      ],
    }),
  );
  const p = async (): Promise<string> => String(await freePort());
  const child = spawn(
    join(ROOT, ".tools/bin/weed"),
    [
      "server",
      "-ip=127.0.0.1",
      "-ip.bind=127.0.0.1",
      `-dir=${join(dir, "data")}`,
      `-master.port=${await p()}`,
      `-master.port.grpc=${await p()}`,
      "-master.volumeSizeLimitMB=64",
      `-volume.port=${await p()}`,
      `-volume.port.grpc=${await p()}`,
      "-volume.max=16",
      "-filer",
      `-filer.port=${await p()}`,
      `-filer.port.grpc=${await p()}`,
      "-s3",
      `-s3.port=${port}`,
      `-s3.port.grpc=${await p()}`,
      `-s3.config=${join(dir, "s3.json")}`,
      "-s3.port.iceberg=0",
      "-s3.port.lance=0",
      "-iam=false",
    ],
    { stdio: "ignore" },
  );
  const client = new S3Client({
    region: "us-east-1",
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
  });
  let lastError: unknown;
  for (let i = 0; i < 300; i++) {
    try {
      await client.send(new CreateBucketCommand({ Bucket: "down-test" }));
      lastError = undefined;
      break;
    } catch (e) {
      lastError = e;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  if (lastError) {
    child.kill("SIGKILL");
    throw lastError;
  }
  return {
    async keys(bucket: string, prefix: string): Promise<string[]> {
      const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (r.Contents ?? []).map((o) => o.Key!);
    },
    stop: () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null) return res();
        child.on("exit", () => res());
        child.kill("SIGTERM");
      }),
  };
}

describe.skipIf(!ENDPOINT)("S3 artifact sync (real SeaweedFS S3 server)", () => {
  const prefix = `it-${suffix}`;
  const s3env = {
    NETSEC_STORE_URI: "",
    NETSEC_S3_URI: `s3://${BUCKET}/${prefix}`,
    AWS_ENDPOINT_URL: ENDPOINT,
    AWS_ACCESS_KEY_ID: KEY,
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_REGION: "us-east-1",
  };
  const home = join(tmp.dir, "home");
  const env = { ...s3env, NETSEC_HOME: home };
  let run: { run_id: string; artifacts: string; registry: { name: string; version: number } };
  let files: string[];

  beforeAll(() => {
    const r = trainQuickForest(env);
    expect(r.code, r.stderr).toBe(0);
    run = r.json as typeof run;
    files = filesUnder(run.artifacts);
  }, 300_000);

  it("a finished run's folder, record and model version sync automatically", async () => {
    const shown = runCli(["runs", "show", run.run_id, "--json"], env).json as {
      run: { s3: { status: string; uploaded: number; skipped: number; model: string } };
    };
    expect(shown.run.s3).toMatchObject({ status: "synced", skipped: 0, model: "models/netsec-phishing/1" });
    const keys = await keysUnder(`${prefix}/runs/${run.run_id}`);
    expect(keys).toEqual([...files.map((f) => `artifacts/${f}`), "manifest.json", "run.json"].sort());
    // every object is the local file, byte for byte, and carries its SHA-256
    for (const f of files) {
      const key = `${prefix}/runs/${run.run_id}/artifacts/${f}`;
      const local = readFileSync(join(run.artifacts, f));
      expect(sha(await getObject(key)), f).toBe(sha(local));
      const head = await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(head.Metadata?.sha256, f).toBe(sha(local));
    }
    const manifest = JSON.parse((await getObject(`${prefix}/runs/${run.run_id}/manifest.json`)).toString());
    expect(Object.keys(manifest.files).length).toBe(files.length + 1);
    expect(manifest.files["artifacts/model_trainer/model/bundle.json"].sha256).toBe(
      sha(readFileSync(join(run.artifacts, "model_trainer/model/bundle.json"))),
    );
    // the run record as the run store holds it, without its own S3 state
    const record = JSON.parse((await getObject(`${prefix}/runs/${run.run_id}/run.json`)).toString());
    expect(record.id).toBe(run.run_id);
    expect(record.status).toBe("FINISHED");
    expect(record.s3).toBeUndefined();
    expect(shown.run.s3.uploaded).toBe(
      files.length + 1 + (await keysUnder(`${prefix}/models/netsec-phishing`)).length - 1,
    );
    // the registered version's bundle, its metadata and the champion pointer
    const bundleDir = join(home, "registry/netsec-phishing/versions/1");
    const modelKeys = await keysUnder(`${prefix}/models/netsec-phishing`);
    expect(modelKeys).toEqual(
      [
        ...filesUnder(bundleDir).map((f) => `1/bundle/${f}`),
        "1/manifest.json",
        "1/version.json",
        "champion.json",
      ].sort(),
    );
    expect(
      JSON.parse((await getObject(`${prefix}/models/netsec-phishing/champion.json`)).toString()),
    ).toEqual({
      name: "netsec-phishing",
      version: 1,
      run_id: run.run_id,
    });
  });

  it("a re-push uploads nothing", () => {
    const r = runCli(["runs", "push", run.run_id, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, synced: 1, runs: [{ id: run.run_id, uploaded: 0 }] });
    const pushed = (r.json as { runs: { skipped: number }[] }).runs[0]!;
    expect(pushed.skipped).toBeGreaterThan(files.length);
    expect(r.stderr).toMatch(/uploaded 0, skipped \d+/); // the human line: stderr under --json
  });

  it("a push killed midway is finished by the next one, without re-uploading what is complete", async () => {
    const other = `${prefix}-resume`;
    const e = {
      ...process.env,
      ...env,
      NETSEC_S3_URI: `s3://${BUCKET}/${other}`,
      NETSEC_DATASET_MIRROR: MIRROR,
    };
    const child = spawn(process.execPath, [join(ROOT, "src/cli/main.ts"), "runs", "push", run.run_id], {
      cwd: ROOT,
      env: e,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const before = await new Promise<number>((res) => {
      let seen = 0;
      let buf = "";
      child.stderr.on("data", (d: Buffer) => {
        buf += d.toString();
        seen = (buf.match(/^uploaded /gm) ?? []).length;
        if (seen >= 2) child.kill("SIGKILL");
      });
      child.on("exit", () => res(seen));
    });
    expect(before).toBeGreaterThanOrEqual(2);
    const partial = await keysUnder(`${other}/runs/${run.run_id}`);
    expect(partial).not.toContain("manifest.json"); // not complete: the manifest is written last
    expect(partial.length).toBeGreaterThanOrEqual(2);
    const r = runCli(["runs", "push", run.run_id, "--json"], {
      ...env,
      NETSEC_S3_URI: `s3://${BUCKET}/${other}`,
    });
    expect(r.code, r.stderr).toBe(0);
    const pushed = (r.json as { runs: { uploaded: number; skipped: number }[] }).runs[0]!;
    // what the killed push completed is skipped, the rest uploaded; together the whole run and model
    expect(pushed.skipped).toBeGreaterThanOrEqual(partial.length);
    expect(pushed.uploaded).toBeGreaterThan(0);
    const full = runCli(["runs", "push", run.run_id, "--json"], env).json as { runs: { skipped: number }[] };
    expect(pushed.uploaded + pushed.skipped).toBe(full.runs[0]!.skipped);
    expect(await keysUnder(`${other}/runs/${run.run_id}`)).toEqual(
      await keysUnder(`${prefix}/runs/${run.run_id}`),
    );
  });

  it("a bucket down during the run: FINISHED locally, pending, then `runs push` syncs it once it is up", async () => {
    // a private server of its own, on a port where nothing listens yet: down during the run, started after
    const port = await freePort();
    const h = join(tmp.dir, "home-down");
    const down = {
      ...env,
      NETSEC_HOME: h,
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      NETSEC_S3_URI: "s3://down-test/p",
    };
    const r = trainQuickForest(down);
    expect(r.code, r.stderr).toBe(0);
    const res = r.json as { run_id: string; status: string; warnings: string[] };
    expect(res.status).toBe("FINISHED");
    expect(res.warnings.join("\n")).toMatch(/S3: .*`netsec runs push /);
    const shown = runCli(["runs", "show", res.run_id, "--json"], down).json as {
      run: { status: string; s3: { status: string; error: string } };
    };
    expect(shown.run.status).toBe("FINISHED");
    expect(shown.run.s3.status).toBe("pending");
    expect(shown.run.s3.error).toContain(`127.0.0.1:${port}`);
    const server = await startPrivateS3(port, join(tmp.dir, "private-s3"));
    try {
      const p = runCli(["runs", "push", "--json"], down);
      expect(p.code, p.stderr).toBe(0);
      expect(p.json).toMatchObject({
        ok: true,
        synced: 1,
        pending: 0,
        runs: [{ id: res.run_id, status: "synced" }],
      });
      const after = runCli(["runs", "show", res.run_id, "--json"], down).json as {
        run: { s3: { status: string } };
      };
      expect(after.run.s3.status).toBe("synced");
      const keys = await server.keys("down-test", `p/runs/${res.run_id}/`);
      expect(keys).toContain(`p/runs/${res.run_id}/manifest.json`);
    } finally {
      await server.stop();
    }
  }, 300_000);

  it("refused credentials: a clear error naming the variables, the secret nowhere", () => {
    const wrong = `wrong-secret-${suffix}-do-not-print`;
    const r = runCli(["runs", "push", run.run_id, "--json"], { ...env, AWS_SECRET_ACCESS_KEY: wrong });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /S3 refused the credentials for s3:\/\/.*AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    );
    const record = readFileSync(join(home, "runs", run.run_id, "run.json"), "utf8");
    expect(JSON.parse(record).s3).toMatchObject({ status: "pending", error_kind: "auth" });
    for (const text of [r.stdout, r.stderr, record, readFileSync(join(run.artifacts, "run.json"), "utf8")])
      expect(text).not.toContain(wrong);
    // the right credentials again: synced, nothing to upload
    const ok = runCli(["runs", "push", run.run_id, "--json"], env);
    expect(ok.json).toMatchObject({ ok: true, runs: [{ uploaded: 0 }] });
  });

  it("`models pull <name>@champion` into a fresh NETSEC_HOME: `netsec predict` gives the same answers", () => {
    const fresh = { ...s3env, NETSEC_HOME: join(tmp.dir, "home-pulled") };
    const p = runCli(["models", "pull", "netsec-phishing@champion", "--json"], fresh);
    expect(p.code, p.stderr).toBe(0);
    expect(p.json).toMatchObject({
      ok: true,
      name: "netsec-phishing",
      remote_version: 1,
      local_version: 1,
      champion: true,
    });
    const again = runCli(["models", "pull", "netsec-phishing@champion", "--json"], fresh);
    expect(again.json).toMatchObject({ ok: true, local_version: 1, files: 0 });
    const out = (e: Record<string, string | undefined>, name: string): string => {
      const o = join(tmp.dir, name);
      const r = runCli(["predict", "--model", "champion", "--input", PHISHING_CSV, "--output", o], e);
      expect(r.code, r.stderr).toBe(0);
      return readFileSync(o, "utf8");
    };
    const here = out(env, "here.csv");
    expect(here.split("\n").length).toBeGreaterThan(10_000);
    expect(out(fresh, "pulled.csv")).toBe(here);
  });

  it("`runs pull <id>` brings the folder and record into another NETSEC_HOME", () => {
    const other = { ...s3env, NETSEC_HOME: join(tmp.dir, "home-runs-pulled") };
    const r = runCli(["runs", "pull", run.run_id, "--json"], other);
    expect(r.code, r.stderr).toBe(0);
    const dest = join(other.NETSEC_HOME, "artifacts", run.run_id);
    expect(filesUnder(dest)).toEqual(files);
    for (const f of files)
      expect(sha(readFileSync(join(dest, f))), f).toBe(sha(readFileSync(join(run.artifacts, f))));
    const shown = runCli(["runs", "show", run.run_id, "--json"], other).json as {
      run: { id: string; status: string; artifacts: string };
    };
    expect(shown.run).toMatchObject({ id: run.run_id, status: "FINISHED", artifacts: dest });
  });

  it("never uploads dot-files, symbolic links or files holding a secret value", async () => {
    writeFileSync(join(run.artifacts, ".env"), "A=1\n");
    symlinkSync("/etc/hostname", join(run.artifacts, "model_trainer", "linked.txt"));
    writeFileSync(join(run.artifacts, "model_trainer", "notes.txt"), `key ${SECRET}\n`);
    writeFileSync(join(run.artifacts, "model_trainer", "plain.txt"), "nothing secret\n");
    const r = runCli(["runs", "push", run.run_id, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ runs: [{ uploaded: 1 }] }); // plain.txt (and a new manifest)
    const keys = await keysUnder(`${prefix}/runs/${run.run_id}`);
    expect(keys).toContain("artifacts/model_trainer/plain.txt");
    for (const k of [
      "artifacts/.env",
      "artifacts/model_trainer/linked.txt",
      "artifacts/model_trainer/notes.txt",
    ])
      expect(keys).not.toContain(k);
    const manifest = JSON.parse((await getObject(`${prefix}/runs/${run.run_id}/manifest.json`)).toString());
    expect(manifest.excluded).toEqual([
      { path: "artifacts/.env", reason: "dot-file (.env, credentials)" },
      { path: "artifacts/model_trainer/linked.txt", reason: "symbolic link" },
      { path: "artifacts/model_trainer/notes.txt", reason: "holds the value of AWS_SECRET_ACCESS_KEY" },
    ]);
    for (const k of keys)
      expect((await getObject(`${prefix}/runs/${run.run_id}/${k}`)).includes(SECRET), k).toBe(false);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });
});
