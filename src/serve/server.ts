/**
 * The only file that listens. `startServer(config, options)` wires the app from the environment
 * config: the local model registry's champion (loaded with the bundle loader), training jobs in a
 * worker thread, the run store, limits, then listens on HOST:PORT and returns the bound URL.
 * `netsec serve` calls it; tests and the benchmark call it with port 0.
 */

import { availableParallelism } from "node:os";
import type { FastifyInstance } from "fastify";
import { ModelRegistry } from "../bundle/registry.ts";
import type { Config } from "../config/env.ts";
import { createLogger, type Logger } from "../core/log.ts";
import type { AlertChannel } from "../monitor/alerts.ts";
import { monitorSettingsFrom } from "../monitor/monitor.ts";
import { buildApp } from "./app.ts";
import { resolveDataDirs } from "./data-dirs.ts";
import { type BundleLoader, type ModelSource, registryModelSource } from "./model-holder.ts";
import type { AppDeps, RunSource, ServeLimits } from "./types.ts";

export interface StartOptions {
  logger?: Logger;
  /** Override HOST / PORT (0 = any free port). */
  host?: string;
  port?: number;
  /** The model source; default: the registry under NETSEC_HOME with `loadPredictor`. */
  models?: ModelSource;
  /** The registered model whose champion is served (default: see registryModelSource). */
  model?: string;
  /** The bundle loader for the default model source; default: src/bundle/load.ts `loadPredictor`. */
  loadPredictor?: BundleLoader;
  /** Training runner (module + export run in a worker); unset = POST /train answers 503. */
  training?: AppDeps["training"];
  runs?: RunSource;
  limits?: Partial<ServeLimits>;
  /** Threads scoring CSV uploads; default: one per core, at most 4 (the event loop mostly waits). */
  scoringThreads?: number;
  /** Requests per minute per client, or false; default NETSEC_RATE_LIMIT (1,200). */
  rateLimit?: AppDeps["rateLimit"];
  /** Directories POST /train may read files from; default NETSEC_DATA_DIRS (none). */
  dataDirs?: readonly string[];
  corsOrigins?: readonly string[];
  /** Other places monitoring alerts go besides the log and webhook (the CLI's Kafka topic). */
  alertChannels?: readonly AlertChannel[];
  /** Registry poll interval; default 5,000 ms. */
  modelPollMs?: number;
  /** Close gracefully on SIGINT/SIGTERM (the CLI sets this). */
  handleSignals?: boolean;
}

export interface RunningServer {
  app: FastifyInstance;
  /** http://host:port actually bound. */
  url: string;
  close(): Promise<void>;
}

/** The lead's bundle loader, imported lazily so the server starts (not ready) even before it exists. */
async function defaultLoader(
  dir: string,
  version: string,
): Promise<import("../bundle/predictor.ts").Predictor> {
  const spec = new URL("../bundle/load.ts", import.meta.url).href;
  let mod: { loadPredictor?: (dir: string, version?: string) => unknown };
  try {
    mod = (await import(spec)) as typeof mod;
  } catch (e) {
    throw new Error(`the bundle loader (src/bundle/load.ts) is not available: ${(e as Error).message}`);
  }
  if (typeof mod.loadPredictor !== "function")
    throw new Error("src/bundle/load.ts does not export loadPredictor");
  return (await mod.loadPredictor(dir, version)) as import("../bundle/predictor.ts").Predictor;
}

export function defaultScoringThreads(): number {
  return Math.min(4, Math.max(1, availableParallelism()));
}

export async function startServer(config: Readonly<Config>, opts: StartOptions = {}): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(config.NETSEC_LOG_LEVEL, "netsec-serve");
  const models =
    opts.models ??
    registryModelSource(new ModelRegistry(config.home), opts.loadPredictor ?? defaultLoader, {
      ...(opts.model ? { name: opts.model } : {}),
    });
  const deps: AppDeps = {
    logger,
    home: config.home,
    apiToken: config.NETSEC_API_TOKEN,
    models,
    modelPollMs: opts.modelPollMs ?? 5000,
    ...(opts.training ? { training: opts.training } : {}),
    ...(opts.runs ? { runs: opts.runs } : {}),
    limits: {
      outputMaxBytes: Math.round(config.NETSEC_OUTPUT_MAX_MB * 2 ** 20),
      outputMaxAgeMs: Math.round(config.NETSEC_OUTPUT_MAX_AGE_DAYS * 24 * 3600 * 1000),
      ...opts.limits,
    },
    // real paths, checked at start: a missing directory is a configuration error
    dataDirs: resolveDataDirs(opts.dataDirs ?? config.NETSEC_DATA_DIRS),
    scoringThreads: opts.scoringThreads ?? defaultScoringThreads(),
    rateLimit:
      opts.rateLimit ??
      (config.NETSEC_RATE_LIMIT === false ? false : { max: config.NETSEC_RATE_LIMIT, timeWindowMs: 60_000 }),
    ...(opts.corsOrigins ? { corsOrigins: opts.corsOrigins } : {}),
    monitoring:
      config.NETSEC_MONITOR === "off"
        ? false
        : {
            settings: monitorSettingsFrom(config),
            webhook: config.NETSEC_ALERT_WEBHOOK_URL
              ? { url: config.NETSEC_ALERT_WEBHOOK_URL, secret: config.NETSEC_ALERT_WEBHOOK_SECRET }
              : null,
            channels: opts.alertChannels ?? [],
          },
  };
  if (!config.NETSEC_API_TOKEN)
    logger.warn("NETSEC_API_TOKEN is not set: POST /train and other state-changing routes are disabled");
  const app = await buildApp(deps);
  const host = opts.host ?? config.HOST;
  const port = opts.port ?? config.PORT;
  await app.listen({ host, port });
  const addr = app.server.address();
  const bound = typeof addr === "object" && addr ? addr.port : port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${bound}`;
  logger.info({ url, model: app.netsec.holder.current()?.version ?? null }, "netsec serving");
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= app.close().then(() => undefined);
    return closing;
  };
  if (opts.handleSignals) {
    const onSignal = (sig: string): void => {
      logger.info({ signal: sig }, "shutting down");
      void close().then(() => process.exit(0));
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  }
  return { app, url, close };
}
