/**
 * Every environment variable netsec reads, declared once with its type, default and meaning (as
 * MLflow's client does). The config is parsed from process.env plus an optional `.env` file (process
 * environment wins), validated with zod, frozen, and passed down — nothing else reads process.env.
 */
import { existsSync, readFileSync } from "node:fs";
import { delimiter, resolve } from "node:path";
import { z } from "zod";
import { NetsecError } from "../core/errors.ts";
import { homeLayout } from "./home.ts";

const optionalString = z
  .string()
  .optional()
  .transform((s) => (s === undefined || s.trim() === "" ? undefined : s.trim()));

const port = z.coerce.number().int().min(0).max(65535);

export const ENV_VARS = {
  NETSEC_HOME: {
    doc: "Where the record store, artifacts, registry and run store live.",
    default: "./.netsec",
  },
  NETSEC_STORE_URI: {
    doc: "Record store: `duckdb:<path>` (default: $NETSEC_HOME/store.duckdb) or `mongodb://…`.",
  },
  NETSEC_STORE_WAIT_SECONDS: {
    doc: "How long a command waits for the DuckDB record store while another process uses it, then fails with STORE_BUSY.",
    default: "30",
  },
  NETSEC_DUCKDB_MEMORY_LIMIT: {
    doc: "Memory the DuckDB record store may use for its queries (ingest, validation, read-back), as DuckDB writes sizes (`800MB`, `1.5GB`); beyond it DuckDB spills to `<store>.tmp`. Default: 1/16 of the machine's memory, at least 1 GiB.",
  },
  NETSEC_DUCKDB_THREADS: {
    doc: "Threads the DuckDB record store runs a query on. Default: DuckDB's, the number of cores.",
  },
  NETSEC_DATASET_MIRROR: {
    doc: "A directory laid out like the dataset mirror (<dataset>/<file>), read before the network.",
  },
  NETSEC_LOG_LEVEL: {
    doc: "pino log level (fatal, error, warn, info, debug, trace, silent).",
    default: "info",
  },
  NETSEC_PROGRESS: {
    doc: "Rows/s and ETA lines on stderr for long steps: `auto` (only when stderr is a terminal), `on`, `off`.",
    default: "auto",
  },
  NETSEC_API_TOKEN: { doc: "Bearer token required by every state-changing API route.", secret: true },
  NETSEC_SEED: { doc: "Default seed for splits, CV and models.", default: "42" },
  MONGODB_URI: {
    doc: "MongoDB URI for `push` / `ingest --mongodb` and, if NETSEC_STORE_URI is unset, not the store.",
    secret: true,
  },
  MONGODB_DB: { doc: "Database of the source collection (push / ingest --mongodb).", default: "netsec" },
  MONGODB_COLLECTION: { doc: "Source collection (push / ingest --mongodb).", default: "network_data" },
  MLFLOW_TRACKING_URI: {
    doc: "MLflow tracking server (self-hosted or Dagshub). Unset = local tracking only.",
  },
  MLFLOW_TRACKING_USERNAME: { doc: "Basic-auth user (Dagshub).", secret: true },
  MLFLOW_TRACKING_PASSWORD: { doc: "Basic-auth password (Dagshub token).", secret: true },
  MLFLOW_TRACKING_TOKEN: { doc: "Bearer token for MLflow.", secret: true },
  MLFLOW_EXPERIMENT_NAME: { doc: "MLflow experiment name.", default: "netsec" },
  NETSEC_S3_URI: {
    doc: "S3-compatible bucket for run artifacts and registered models: `s3://<bucket>/<prefix>`. Unset = no sync.",
  },
  AWS_ENDPOINT_URL: {
    doc: "S3 endpoint of an S3-compatible server (MinIO, SeaweedFS, …); path-style addressing.",
  },
  AWS_ENDPOINT_URL_S3: { doc: "S3 endpoint, for S3 only (wins over AWS_ENDPOINT_URL)." },
  AWS_ACCESS_KEY_ID: {
    doc: "S3 access key (unset: the AWS SDK's default chain, e.g. instance roles).",
    secret: true,
  },
  AWS_SECRET_ACCESS_KEY: { doc: "S3 secret key.", secret: true },
  AWS_SESSION_TOKEN: { doc: "S3 session token (temporary credentials).", secret: true },
  AWS_REGION: { doc: "S3 region.", default: "us-east-1" },
  AWS_DEFAULT_REGION: { doc: "S3 region when AWS_REGION is unset." },
  HOST: { doc: "Address `netsec serve` listens on.", default: "127.0.0.1" },
  PORT: { doc: "Port `netsec serve` listens on.", default: "8000" },
  NETSEC_RATE_LIMIT: {
    doc: "`netsec serve`: requests per minute per client address, or `off` (`--rate-limit`).",
    default: "1200",
  },
  NETSEC_DATA_DIRS: {
    doc: "`netsec serve`: directories (separated by `:`) whose files `POST /train` may read (`--data-dir`); unset = none.",
  },
  NETSEC_OUTPUT_MAX_MB: {
    doc: "`netsec serve`: most MiB kept under prediction_output/, oldest outputs removed first (`--output-max-mb`).",
    default: "256",
  },
  NETSEC_OUTPUT_MAX_AGE_DAYS: {
    doc: "`netsec serve`: outputs under prediction_output/ older than this many days are removed (`--output-max-age-days`).",
    default: "7",
  },
  NETSEC_MONITOR: {
    doc: 'Monitoring of scored traffic (windows, drift, alerts; README "Monitoring"): `on` or `off`.',
    default: "on",
  },
  NETSEC_MONITOR_WINDOW_ROWS: {
    doc: "A monitoring window closes once it has this many scored rows…",
    default: "10000",
  },
  NETSEC_MONITOR_WINDOW_MIN_SECONDS: {
    doc: "…and is at least this many seconds old (0: at the rows alone; heavy traffic then closes windows many times a second)…",
    default: "60",
  },
  NETSEC_MONITOR_WINDOW_MINUTES: {
    doc: "…or once it is this many minutes old, whatever its rows.",
    default: "60",
  },
  NETSEC_MONITOR_RETENTION: {
    doc: "Closed monitoring windows kept per model (the oldest dropped first).",
    default: "720",
  },
  NETSEC_ALERT_COOLDOWN_MINUTES: {
    doc: "A monitoring alert rule fires at most once per model in this many minutes.",
    default: "60",
  },
  NETSEC_ALERT_WEBHOOK_URL: {
    doc: "Monitoring alerts are POSTed here as JSON (unset: the log only). Treated as a secret (it may hold a token).",
    secret: true,
  },
  NETSEC_ALERT_WEBHOOK_SECRET: {
    doc: "Key of the HMAC-SHA256 signature of each alert's body (header x-netsec-signature: sha256=<hex>).",
    secret: true,
  },
  NETSEC_ALERT_KAFKA_BROKERS: {
    doc: "Monitoring alerts are also published to a Kafka topic: its bootstrap brokers (HOST:PORT[,HOST:PORT…]); needs NETSEC_ALERT_KAFKA_TOPIC.",
  },
  NETSEC_ALERT_KAFKA_TOPIC: {
    doc: "The topic monitoring alerts are published to (created with one partition when missing), each keyed by model.",
  },
} as const;

/** A rate limit: a whole number of requests per minute (>= 1), or `off` (false). */
export const RateLimitSetting = z
  .string()
  .trim()
  .regex(/^(?:off|[1-9][0-9]{0,8})$/i, "a whole number of requests per minute (1 or more) or `off`")
  .transform((s): number | false => (s.toLowerCase() === "off" ? false : Number(s)));

/** A positive amount (MiB, days): plain decimal digits with an optional fraction. */
export const PositiveSetting = z
  .string()
  .trim()
  .regex(/^(?:[0-9]+(?:\.[0-9]+)?)$/, "a number > 0 in plain digits")
  .transform(Number)
  .refine((n) => n > 0, "a number > 0 in plain digits");

export const EnvSchema = z.object({
  NETSEC_HOME: z.string().default("./.netsec"),
  NETSEC_STORE_URI: optionalString,
  NETSEC_STORE_WAIT_SECONDS: z.coerce.number().min(0).max(86_400).default(30),
  NETSEC_DUCKDB_MEMORY_LIMIT: optionalString.pipe(
    z
      .string()
      .regex(/^[0-9]+(?:\.[0-9]+)?\s*(?:[KMGT]i?B)$/i, "a size such as 800MB or 1.5GB")
      .optional(),
  ),
  NETSEC_DUCKDB_THREADS: z.coerce.number().int().min(1).max(1024).optional(),
  NETSEC_DATASET_MIRROR: optionalString,
  NETSEC_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  NETSEC_PROGRESS: z.enum(["auto", "on", "off"]).default("auto"),
  NETSEC_API_TOKEN: optionalString,
  NETSEC_SEED: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(42),
  MONGODB_URI: optionalString,
  MONGODB_DB: z.string().default("netsec"),
  MONGODB_COLLECTION: z.string().default("network_data"),
  MLFLOW_TRACKING_URI: optionalString,
  MLFLOW_TRACKING_USERNAME: optionalString,
  MLFLOW_TRACKING_PASSWORD: optionalString,
  MLFLOW_TRACKING_TOKEN: optionalString,
  MLFLOW_EXPERIMENT_NAME: z.string().default("netsec"),
  NETSEC_S3_URI: optionalString,
  AWS_ENDPOINT_URL: optionalString,
  AWS_ENDPOINT_URL_S3: optionalString,
  AWS_ACCESS_KEY_ID: optionalString,
  AWS_SECRET_ACCESS_KEY: optionalString,
  AWS_SESSION_TOKEN: optionalString,
  AWS_REGION: optionalString,
  AWS_DEFAULT_REGION: optionalString,
  HOST: z.string().default("127.0.0.1"),
  PORT: port.default(8000),
  NETSEC_RATE_LIMIT: RateLimitSetting.default(1200),
  NETSEC_DATA_DIRS: optionalString.transform((s) =>
    s === undefined ? [] : s.split(delimiter).filter((d) => d.trim() !== ""),
  ),
  NETSEC_OUTPUT_MAX_MB: PositiveSetting.default(256),
  NETSEC_OUTPUT_MAX_AGE_DAYS: PositiveSetting.default(7),
  NETSEC_MONITOR: z.enum(["on", "off"]).default("on"),
  NETSEC_MONITOR_WINDOW_ROWS: z.coerce.number().int().min(1).max(1e9).default(10_000),
  NETSEC_MONITOR_WINDOW_MIN_SECONDS: z.coerce.number().min(0).max(1e9).default(60),
  NETSEC_MONITOR_WINDOW_MINUTES: PositiveSetting.default(60),
  NETSEC_MONITOR_RETENTION: z.coerce.number().int().min(1).max(1e6).default(720),
  NETSEC_ALERT_COOLDOWN_MINUTES: z.coerce.number().min(0).max(1e6).default(60),
  NETSEC_ALERT_WEBHOOK_URL: optionalString.pipe(z.string().url().optional()),
  NETSEC_ALERT_WEBHOOK_SECRET: optionalString,
  NETSEC_ALERT_KAFKA_BROKERS: optionalString,
  NETSEC_ALERT_KAFKA_TOPIC: optionalString,
});

export type EnvConfig = z.infer<typeof EnvSchema>;

/** Names of variables whose values must never be logged or written to artifacts. */
export const SECRET_VARS: readonly string[] = Object.entries(ENV_VARS)
  .filter(([, v]) => "secret" in v && v.secret)
  .map(([k]) => k);

/** Parse a .env file: KEY=VALUE lines, # comments, optional quotes. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    else v = v.replace(/\s+#.*$/, "");
    out[m[1]!] = v;
  }
  return out;
}

export interface Config extends EnvConfig {
  /** Absolute NETSEC_HOME. */
  readonly home: string;
  /** The record store URI actually used. */
  readonly storeUri: string;
}

/**
 * Build the config from an environment (default process.env) and the `.env` in `cwd` if present.
 * Every invalid variable is listed in one error.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Readonly<Config> {
  const dotenvPath = resolve(cwd, ".env");
  const fromFile = existsSync(dotenvPath) ? parseDotenv(readFileSync(dotenvPath, "utf8")) : {};
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const k of Object.keys(ENV_VARS)) if (env[k] !== undefined) merged[k] = env[k];
  const r = EnvSchema.safeParse(merged);
  if (!r.success) {
    const problems = r.error.issues.map((i) => {
      const key = String(i.path[0]);
      const shown = SECRET_VARS.includes(key) ? "(hidden)" : JSON.stringify(merged[key]);
      return `${key}=${shown}: ${i.message}`;
    });
    throw new NetsecError("CONFIG_INVALID", `invalid environment: ${problems.join("; ")}`, { problems });
  }
  const home = resolve(cwd, r.data.NETSEC_HOME);
  const storeUri = r.data.NETSEC_STORE_URI ?? `duckdb:${homeLayout(home).duckdbStore}`;
  const dataDirs = r.data.NETSEC_DATA_DIRS.map((d) => resolve(cwd, d));
  return Object.freeze({ ...r.data, NETSEC_DATA_DIRS: dataDirs, home, storeUri });
}

/** The config with secrets replaced, for logs and `--json` output. */
export function redactConfig(c: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) out[k] = SECRET_VARS.includes(k) && v !== undefined ? "***" : v;
  return out;
}
