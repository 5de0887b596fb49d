/**
 * The MLflow REST client's behaviour at the edges a real server rarely shows on demand: rejected
 * credentials (no secret in the message), retries with backoff on 5xx and timeouts but never on other
 * 4xx, log-batch limits, param truncation, and the alias fallback for servers without aliases. A real
 * HTTP server on 127.0.0.1 plays MLflow; the happy paths run against a real mlflow server in
 * test/integration/mlflow.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { NetsecError } from "../../src/core/errors.ts";
import { artifactTarget, MlflowClient, PARAM_VALUE_LIMIT } from "../../src/tracking/mlflow.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

let server: Server | null = null;
afterEach(async () => {
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  server = null;
});

async function fake(
  handler: (req: Seen, res: ServerResponse, n: number) => void,
): Promise<{ uri: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => {
      body += d.toString();
    });
    req.on("end", () => {
      const s = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(s);
      handler(s, res, seen.length);
    });
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
  const a = server.address() as { port: number };
  return { uri: `http://127.0.0.1:${a.port}`, seen };
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

describe("MlflowClient", () => {
  it("sends basic auth; rejected credentials are a clear error that prints no secret", async () => {
    const { uri, seen } = await fake((_q, res) =>
      json(res, 401, { error_code: "UNAUTHENTICATED", message: "nope" }),
    );
    const c = new MlflowClient(uri, { username: "alice", password: "s3cret-pass" }, { backoffMs: 1 });
    const err = await c.experimentId("x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetsecError);
    expect((err as NetsecError).code).toBe("TRACKING_ERROR");
    expect((err as Error).message).toMatch(/credentials rejected.*HTTP 401.*MLFLOW_TRACKING_USERNAME/);
    expect(JSON.stringify({ m: (err as Error).message, d: (err as NetsecError).details })).not.toContain(
      "s3cret",
    );
    expect(seen).toHaveLength(1); // never retried
    expect(seen[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from("alice:s3cret-pass").toString("base64")}`,
    );
  });

  it("a token is sent as a bearer token; credentials in the URI are redacted from messages", async () => {
    const { uri, seen } = await fake((_q, res) => json(res, 403, {}));
    const withCreds = uri.replace("http://", "http://bob:hunter2@");
    const c = new MlflowClient(withCreds, { token: "tok-123" }, { backoffMs: 1 });
    const err = (await c.experimentId("x").catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/HTTP 403/);
    expect(err.message).not.toContain("hunter2");
    expect(err.message).not.toContain("tok-123");
    expect(seen[0]!.headers.authorization).toBe("Bearer tok-123");
    // without a token, the URI's credentials are basic auth
    await new MlflowClient(withCreds, {}, { backoffMs: 1 }).experimentId("x").catch(() => {});
    expect(seen[1]!.headers.authorization).toBe(`Basic ${Buffer.from("bob:hunter2").toString("base64")}`);
    expect(seen[1]!.url).not.toContain("hunter2");
  });

  it("retries 5xx with backoff and succeeds; never retries other 4xx", async () => {
    const { uri, seen } = await fake((q, res, n) => {
      if (q.url.includes("get-by-name")) {
        if (n < 3) json(res, 503, { error_code: "TEMPORARILY_UNAVAILABLE" });
        else json(res, 200, { experiment: { experiment_id: "7" } });
      } else json(res, 400, { error_code: "INVALID_PARAMETER_VALUE", message: "bad key" });
    });
    const c = new MlflowClient(uri, {}, { backoffMs: 5 });
    expect(await c.experimentId("x")).toBe("7");
    expect(seen).toHaveLength(3);
    const err = (await c.endRun("r", "FINISHED", 1).catch((e: unknown) => e)) as NetsecError;
    expect(err.message).toMatch(/HTTP 400 INVALID_PARAMETER_VALUE bad key/);
    expect(err.details.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(seen).toHaveLength(4);
  });

  it("times out a server that does not answer, retries, then reports it unreachable", async () => {
    const { uri, seen } = await fake(() => {
      // never answers
    });
    const c = new MlflowClient(uri, {}, { timeoutMs: 100, retries: 2, backoffMs: 1 });
    const err = (await c.experimentId("x").catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/unreachable after 3 attempts: no answer within 100 ms/);
    expect(seen).toHaveLength(3);
  });

  it("a closed port is unreachable after the retries", async () => {
    const { uri } = await fake((_q, res) => json(res, 200, {}));
    await new Promise<void>((r) => server!.close(() => r()));
    server = null;
    const c = new MlflowClient(uri, {}, { retries: 1, backoffMs: 1 });
    const err = (await c.experimentId("x").catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(`MLflow at ${uri} is unreachable after 2 attempts: ECONNREFUSED`);
  });

  it("log-batch: chunks within MLflow's limits, every item exactly once, long params truncated", async () => {
    const { uri, seen } = await fake((_q, res) => json(res, 200, {}));
    const c = new MlflowClient(uri);
    const params: Record<string, unknown> = {};
    for (let i = 0; i < 250; i++) params[`p${i}`] = i;
    params.long = "x".repeat(7000);
    params["bad key!"] = { nested: [1, 2] };
    const metrics = Array.from({ length: 1500 }, (_, i) => ({
      key: `m${i % 7}`,
      value: i,
      timestamp: 1,
      step: i,
    }));
    metrics.push({ key: "nan", value: Number.NaN, timestamp: 1, step: 0 });
    await c.logBatch("run1", { params, metrics, tags: { a: "1", b: "2", c: "3" } });
    const bodies = seen.map(
      (s) =>
        JSON.parse(s.body) as {
          params: { key: string; value: string }[];
          metrics: unknown[];
          tags: unknown[];
        },
    );
    for (const b of bodies) {
      expect(b.params.length).toBeLessThanOrEqual(100);
      expect(b.tags.length).toBeLessThanOrEqual(100);
      expect(b.params.length + b.metrics.length + b.tags.length).toBeLessThanOrEqual(1000);
    }
    const allParams = bodies.flatMap((b) => b.params);
    expect(allParams).toHaveLength(252);
    expect(new Set(allParams.map((p) => p.key)).size).toBe(252);
    const long = allParams.find((p) => p.key === "long")!;
    expect(long.value).toHaveLength(PARAM_VALUE_LIMIT);
    expect(long.value.endsWith("...[truncated]")).toBe(true);
    expect(allParams.find((p) => p.key === "bad key_")!.value).toBe('{"nested":[1,2]}');
    expect(bodies.flatMap((b) => b.metrics)).toHaveLength(1500); // NaN is not sent
    expect(bodies.flatMap((b) => b.tags)).toHaveLength(3);
  });

  it("a create that reached the server before the connection dropped is not repeated", async () => {
    let created = false;
    const { uri, seen } = await fake((q, res) => {
      if (q.url.endsWith("/runs/search"))
        json(res, 200, created ? { runs: [{ info: { run_id: "r1", status: "RUNNING" } }] } : {});
      else if (q.url.endsWith("/runs/create")) {
        created = true;
        res.socket?.destroy(); // the run exists, the client never hears so
      } else json(res, 404, {});
    });
    const c = new MlflowClient(uri, {}, { backoffMs: 1 });
    const run = await c.ensureRun("0", "netsec.run_id", "abc", "name", {}, 1);
    expect(run.run_id).toBe("r1");
    expect(seen.filter((q) => q.url.endsWith("/runs/create"))).toHaveLength(1);
    expect(JSON.parse(seen.find((q) => q.url.endsWith("/runs/create"))!.body).tags).toEqual([
      { key: "netsec.run_id", value: "abc" },
    ]);
  });

  it("alias where the server has aliases, a version tag where it has none", async () => {
    const withAliases = await fake((_q, res) => json(res, 200, {}));
    expect(await new MlflowClient(withAliases.uri).setAlias("m", "champion", "3")).toBe("alias");
    expect(withAliases.seen[0]!.url).toBe("/api/2.0/mlflow/registered-models/alias");
    expect(JSON.parse(withAliases.seen[0]!.body)).toEqual({ name: "m", alias: "champion", version: "3" });
    await new Promise<void>((r) => server!.close(() => r()));
    const old = await fake((q, res) =>
      q.url.endsWith("/alias") ? json(res, 404, { error_code: "ENDPOINT_NOT_FOUND" }) : json(res, 200, {}),
    );
    expect(await new MlflowClient(old.uri).setAlias("m", "champion", "3")).toBe("tag");
    expect(old.seen[1]!.url).toBe("/api/2.0/mlflow/model-versions/set-tag");
    expect(JSON.parse(old.seen[1]!.body)).toEqual({
      name: "m",
      version: "3",
      key: "champion",
      value: "true",
    });
  });
});

describe("artifactTarget (where an artifact is PUT, as MLflow's client resolves it)", () => {
  it("proxied roots go through the tracking server, also under a path prefix (Dagshub)", () => {
    expect(
      artifactTarget("mlflow-artifacts:/1/abc/artifacts", "http://127.0.0.1:5000", "model/MLmodel"),
    ).toBe("http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model/MLmodel");
    expect(
      artifactTarget(
        "mlflow-artifacts:/x/r1/artifacts",
        "https://dagshub.com/me/repo.mlflow",
        "a b/c#d.json",
      ),
    ).toBe(
      "https://dagshub.com/me/repo.mlflow/api/2.0/mlflow-artifacts/artifacts/x/r1/artifacts/a%20b/c%23d.json",
    );
    expect(artifactTarget("mlflow-artifacts://other:6000/1/r/artifacts", "https://host", "f")).toBe(
      "https://other:6000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/f",
    );
  });
  it("http(s) roots directly; others (file:, s3:) cannot be written by the client", () => {
    expect(artifactTarget("https://store.example/root/", "http://t", "model/model.onnx")).toBe(
      "https://store.example/root/model/model.onnx",
    );
    expect(artifactTarget("file:///tmp/mlruns/1/r/artifacts", "http://t", "f")).toBeNull();
    expect(artifactTarget("s3://bucket/1/r/artifacts", "http://t", "f")).toBeNull();
  });
  it("credentials are never sent to another origin", async () => {
    const other = await fake((_q, res) => json(res, 200, {}));
    const c = new MlflowClient("http://127.0.0.1:1", { token: "secret-token" });
    await c.uploadBytes(
      { run_id: "r", experiment_id: "1", artifact_uri: `${other.uri}/root`, status: "RUNNING" },
      Buffer.from("x"),
      "f.txt",
    );
    expect(other.seen[0]!.url).toBe("/root/f.txt");
    expect(other.seen[0]!.method).toBe("PUT");
    expect(other.seen[0]!.headers.authorization).toBeUndefined();
  });
});
