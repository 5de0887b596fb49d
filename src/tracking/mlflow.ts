/**
 * MLflow tracking over its REST API on `fetch` (no npm MLflow package is fit for this): the only file
 * that talks to MLflow. Works with a self-hosted `mlflow server --serve-artifacts` and with Dagshub.
 *
 * - Auth: MLFLOW_TRACKING_USERNAME/PASSWORD (HTTP basic, as Dagshub) or MLFLOW_TRACKING_TOKEN (bearer).
 *   Credentials never appear in messages or logs (the URI is shown redacted).
 * - Retries with exponential backoff and jitter on network errors, timeouts, 429 and 5xx; never on
 *   other 4xx. One error type: NetsecError TRACKING_ERROR carrying MLflow's error_code and status.
 * - Limits: log-batch chunks of ≤ 100 params, ≤ 100 tags, ≤ 1000 metrics and ≤ 1000 items in all; param
 *   values truncated to 6,000 characters (MLflow's limit) with a marker.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { NetsecError, redactUri } from "../core/errors.ts";

export interface MlflowAuth {
  username?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
}

export interface MlflowOptions {
  timeoutMs?: number;
  retries?: number;
  /** Base backoff in ms (doubled per retry, with jitter). */
  backoffMs?: number;
}

export const PARAM_VALUE_LIMIT = 6000;
const TRUNCATED = "...[truncated]";

export interface RunInfo {
  run_id: string;
  experiment_id: string;
  artifact_uri: string;
  status: string;
}

export class MlflowClient {
  readonly uri: string;
  readonly shownUri: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(uri: string, auth: MlflowAuth = {}, opts: MlflowOptions = {}) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new NetsecError(
        "CONFIG_INVALID",
        `MLFLOW_TRACKING_URI ${JSON.stringify(redactUri(uri))} is not a URL`,
        {
          variable: "MLFLOW_TRACKING_URI",
        },
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new NetsecError(
        "CONFIG_INVALID",
        `MLFLOW_TRACKING_URI must be an http(s) tracking server, not ${redactUri(uri)}`,
        {
          variable: "MLFLOW_TRACKING_URI",
        },
      );
    }
    // credentials written into the URI (https://user:token@host) become basic auth, never part of a URL
    const uriUser = decodeURIComponent(url.username);
    const uriPassword = decodeURIComponent(url.password);
    url.username = "";
    url.password = "";
    this.uri = url.toString().replace(/\/+$/, "");
    this.shownUri = this.uri;
    this.headers = { "content-type": "application/json" };
    const user = auth.username ?? (uriUser || undefined);
    const password = auth.password ?? (uriPassword || undefined);
    if (auth.token) this.headers.authorization = `Bearer ${auth.token}`;
    else if (user !== undefined && password !== undefined) {
      this.headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    }
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.retries = opts.retries ?? 3;
    this.backoffMs = opts.backoffMs ?? 300;
  }

  /** One HTTP call with retries; returns parsed JSON (or {} for empty bodies). */
  async request(
    method: string,
    path: string,
    body?: unknown,
    raw?: { data: Buffer; contentType: string },
    retries = this.retries,
  ): Promise<Record<string, unknown>> {
    const absolute = /^https?:\/\//.test(path);
    const url = absolute ? path : `${this.uri}${path}`;
    // credentials go only to the tracking server's own origin
    const headers =
      absolute && new URL(path).origin !== new URL(this.uri).origin
        ? Object.fromEntries(Object.entries(this.headers).filter(([k]) => k !== "authorization"))
        : this.headers;
    let lastErr: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        const wait = this.backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random());
        await new Promise((r) => setTimeout(r, wait));
      }
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: raw ? { ...headers, "content-type": raw.contentType } : headers,
          ...(raw ? { body: raw.data } : body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (e) {
        lastErr = e;
        continue; // network error or timeout: retry
      }
      const text = await res.text();
      let json: Record<string, unknown> = {};
      try {
        json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        json = { message: text.slice(0, 300) };
      }
      if (res.ok) return json;
      if (res.status === 401 || res.status === 403) {
        throw new NetsecError(
          "TRACKING_ERROR",
          `MLflow credentials rejected by ${this.shownUri} (HTTP ${res.status}); check MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN`,
          {
            uri: this.shownUri,
            status: res.status,
          },
        );
      }
      const err = new NetsecError(
        "TRACKING_ERROR",
        `MLflow ${method} ${path.split("?")[0]} at ${this.shownUri} failed: HTTP ${res.status} ${String(json.error_code ?? "")} ${String(json.message ?? "").slice(0, 300)}`,
        { uri: this.shownUri, status: res.status, error_code: json.error_code ?? null },
      );
      if (res.status === 429 || res.status >= 500) {
        lastErr = err;
        continue;
      }
      throw err;
    }
    if (lastErr instanceof NetsecError) throw lastErr;
    const e = lastErr as Error & { cause?: { code?: string; message?: string } };
    const why =
      e?.name === "TimeoutError"
        ? `no answer within ${this.timeoutMs} ms`
        : (e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(lastErr));
    throw new NetsecError(
      "TRACKING_ERROR",
      `MLflow at ${this.shownUri} is unreachable after ${retries + 1} attempts: ${why}`,
      { uri: this.shownUri },
    );
  }

  async experimentId(name: string): Promise<string> {
    try {
      const r = await this.request(
        "GET",
        `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`,
      );
      return String((r.experiment as { experiment_id: string }).experiment_id);
    } catch (e) {
      if (!(e instanceof NetsecError) || e.details.error_code !== "RESOURCE_DOES_NOT_EXIST") throw e;
    }
    try {
      const r = await this.request("POST", "/api/2.0/mlflow/experiments/create", { name });
      return String(r.experiment_id);
    } catch (e) {
      // created concurrently by someone else
      if (e instanceof NetsecError && e.details.error_code === "RESOURCE_ALREADY_EXISTS")
        return this.experimentId(name);
      throw e;
    }
  }

  async createRun(
    experimentId: string,
    name: string,
    tags: Record<string, string>,
    startTime: number,
    retries = this.retries,
  ): Promise<RunInfo> {
    const r = await this.request(
      "POST",
      "/api/2.0/mlflow/runs/create",
      {
        experiment_id: experimentId,
        run_name: name,
        start_time: startTime,
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      },
      undefined,
      retries,
    );
    return (r.run as { info: RunInfo }).info;
  }

  /**
   * The run tagged `key=value`, created if there is none. Creating is not idempotent, so a create that
   * failed in transit is never blindly repeated: the search runs again first (the create may have
   * reached the server before the connection dropped).
   */
  async ensureRun(
    experimentId: string,
    key: string,
    value: string,
    name: string,
    tags: Record<string, string>,
    startTime: number,
  ): Promise<RunInfo> {
    let lastErr: unknown;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** (attempt - 1)));
      const found = await this.findRunByTag(experimentId, key, value);
      if (found) return found;
      try {
        return await this.createRun(experimentId, name, { ...tags, [key]: value }, startTime, 0);
      } catch (e) {
        if (e instanceof NetsecError && typeof e.details.status === "number" && e.details.status < 500)
          throw e;
        lastErr = e;
      }
    }
    throw lastErr;
  }

  async findRunByTag(experimentId: string, key: string, value: string): Promise<RunInfo | null> {
    const r = await this.request("POST", "/api/2.0/mlflow/runs/search", {
      experiment_ids: [experimentId],
      filter: `tags.\`${key}\` = '${value.replace(/'/g, "\\'")}'`,
      max_results: 10,
    });
    const runs = (r.runs as { info: RunInfo }[] | undefined) ?? [];
    return runs[0]?.info ?? null;
  }

  /** log-batch within MLflow's limits; identical metric entries are deduplicated by the server. */
  async logBatch(
    runId: string,
    data: {
      params?: Record<string, unknown>;
      metrics?: { key: string; value: number; timestamp: number; step: number }[];
      tags?: Record<string, string>;
    },
  ): Promise<void> {
    const params = Object.entries(data.params ?? {}).map(([key, v]) => {
      const value = typeof v === "string" ? v : JSON.stringify(v);
      return {
        key: sanitiseKey(key),
        value:
          value.length > PARAM_VALUE_LIMIT
            ? value.slice(0, PARAM_VALUE_LIMIT - TRUNCATED.length) + TRUNCATED
            : value,
      };
    });
    const metrics = (data.metrics ?? [])
      .filter((m) => Number.isFinite(m.value))
      .map((m) => ({ ...m, key: sanitiseKey(m.key) }));
    const tags = Object.entries(data.tags ?? {}).map(([key, value]) => ({
      key,
      value: value.slice(0, 5000),
    }));
    let pi = 0;
    let mi = 0;
    let ti = 0;
    while (pi < params.length || mi < metrics.length || ti < tags.length) {
      const p = params.slice(pi, pi + 100);
      const t = tags.slice(ti, ti + 100);
      const m = metrics.slice(mi, mi + Math.min(1000, 1000 - p.length - t.length));
      pi += p.length;
      ti += t.length;
      mi += m.length;
      await this.request("POST", "/api/2.0/mlflow/runs/log-batch", {
        run_id: runId,
        params: p,
        metrics: m,
        tags: t,
      });
    }
  }

  async endRun(runId: string, status: "FINISHED" | "FAILED" | "KILLED", endTime: number): Promise<void> {
    await this.request("POST", "/api/2.0/mlflow/runs/update", { run_id: runId, status, end_time: endTime });
  }

  /** Upload one file through the proxied artifact API (`mlflow server --serve-artifacts`). */
  async uploadArtifact(run: RunInfo, localPath: string, artifactPath: string): Promise<void> {
    await this.uploadBytes(run, readFileSync(localPath), artifactPath);
  }

  /** Upload bytes as one artifact file. */
  async uploadBytes(run: RunInfo, data: Buffer, artifactPath: string): Promise<void> {
    const target = artifactTarget(run.artifact_uri, this.uri, artifactPath);
    if (!target) {
      throw new NetsecError(
        "TRACKING_ERROR",
        `run ${run.run_id} stores artifacts at ${redactUri(run.artifact_uri)}, which netsec cannot write over HTTP; start mlflow server with --serve-artifacts (mlflow-artifacts:/ URIs) or use an http(s) artifact root`,
        { uri: this.shownUri },
      );
    }
    await this.request("PUT", target, undefined, {
      data,
      contentType: "application/octet-stream",
    });
  }

  /** Upload every file under `dir` to `artifactPath/<relative path>`. Returns the number of files. */
  async uploadDir(
    run: RunInfo,
    dir: string,
    artifactPath: string,
    skip: (rel: string) => boolean = () => false,
  ): Promise<number> {
    let n = 0;
    const walk = async (d: string): Promise<void> => {
      for (const e of readdirSync(d).sort()) {
        const p = join(d, e);
        const rel = relative(dir, p);
        if (skip(rel)) continue;
        if (statSync(p).isDirectory()) await walk(p);
        else {
          await this.uploadArtifact(run, p, artifactPath ? `${artifactPath}/${rel}` : rel);
          n++;
        }
      }
    };
    await walk(dir);
    return n;
  }

  async registerVersion(name: string, source: string, runId: string): Promise<string> {
    try {
      await this.request("POST", "/api/2.0/mlflow/registered-models/create", { name });
    } catch (e) {
      if (!(e instanceof NetsecError) || e.details.error_code !== "RESOURCE_ALREADY_EXISTS") throw e;
    }
    // idempotent: an existing version for this run is reused
    const existing = await this.request(
      "GET",
      `/api/2.0/mlflow/model-versions/search?filter=${encodeURIComponent(`name='${name}' and run_id='${runId}'`)}`,
    );
    const found = (existing.model_versions as { version: string }[] | undefined)?.[0];
    if (found) return String(found.version);
    const r = await this.request("POST", "/api/2.0/mlflow/model-versions/create", {
      name,
      source,
      run_id: runId,
    });
    const version = String((r.model_version as { version: string }).version);
    for (let i = 0; i < 50; i++) {
      const g = await this.request(
        "GET",
        `/api/2.0/mlflow/model-versions/get?name=${encodeURIComponent(name)}&version=${version}`,
      );
      const st = (g.model_version as { status: string }).status;
      if (st === "READY") break;
      if (st === "FAILED_REGISTRATION")
        throw new NetsecError("TRACKING_ERROR", `MLflow could not register ${name} v${version}`, {});
      await new Promise((res) => setTimeout(res, 200));
    }
    return version;
  }

  /** Point `alias` at `version`; servers without aliases get a version tag `<alias>=true` instead. */
  async setAlias(name: string, alias: string, version: string): Promise<"alias" | "tag"> {
    try {
      await this.request("POST", "/api/2.0/mlflow/registered-models/alias", { name, alias, version });
      return "alias";
    } catch (e) {
      if (
        !(e instanceof NetsecError) ||
        (e.details.status !== 404 && e.details.error_code !== "ENDPOINT_NOT_FOUND")
      )
        throw e;
      await this.request("POST", "/api/2.0/mlflow/model-versions/set-tag", {
        name,
        version,
        key: alias,
        value: "true",
      });
      return "tag";
    }
  }
}

/** MLflow keys: alphanumerics, _ - . space / only. */
export function sanitiseKey(k: string): string {
  return k.replace(/[^A-Za-z0-9_\-. /]/g, "_").slice(0, 250);
}

/**
 * Where one artifact file is PUT, as MLflow's own client resolves it: `mlflow-artifacts:/<path>` (and
 * `mlflow-artifacts://host:port/<path>`) through the tracking server's proxied artifact API, `http(s)://`
 * roots directly (MLflow's HTTP artifact repository). Null for roots only the server can write (file:, s3:…).
 */
export function artifactTarget(
  artifactUri: string,
  trackingUri: string,
  artifactPath: string,
): string | null {
  const enc = (p: string): string =>
    p
      .split("/")
      .filter((x) => x !== "")
      .map(encodeURIComponent)
      .join("/");
  const proxied = /^mlflow-artifacts:(?:\/\/([^/]+))?\/?(.*)$/.exec(artifactUri);
  if (proxied) {
    const tracking = new URL(trackingUri);
    const base = proxied[1] ? `${tracking.protocol}//${proxied[1]}` : trackingUri.replace(/\/+$/, "");
    return `${base}/api/2.0/mlflow-artifacts/artifacts/${enc(`${proxied[2]}/${artifactPath}`)}`;
  }
  if (/^https?:\/\//.test(artifactUri)) return `${artifactUri.replace(/\/+$/, "")}/${enc(artifactPath)}`;
  return null;
}
