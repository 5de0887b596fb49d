import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { RateLimitSetting } from "../../config/env.ts";
import { NetsecError } from "../../core/errors.ts";
import { PipelineConfigSchema } from "../../pipeline/config.ts";
import { startServer } from "../../serve/server.ts";
import { DEFAULT_LIMITS, type RunDetail, type RunSummary, type ServeLimits } from "../../serve/types.ts";
import { alertChannelsFrom } from "../../stream/alert-topic.ts";
import { RunStore } from "../../tracking/run-store.ts";
import { runCommand } from "../context.ts";

export function runSource(home: string): {
  list(o?: { limit?: number }): RunSummary[];
  get(id: string): RunDetail | null;
} {
  const store = new RunStore(home);
  const summary = (r: NonNullable<ReturnType<RunStore["get"]>>): RunSummary => ({
    id: r.id,
    status: r.status,
    started: r.started,
    finished: r.finished,
    dataset: r.dataset,
    best_model: r.best_model,
    metrics: r.metrics,
    champion: r.champion,
    failure: r.failure,
  });
  return {
    list: (o) => {
      const { runs, damaged } = store.scan(o?.limit ?? 100);
      // a damaged run.json is listed with the reason, never a 500 for the whole list
      const unreadable = damaged.map((d) => ({
        id: d.id,
        status: "UNREADABLE",
        failure: `${d.file} under NETSEC_HOME cannot be read (${d.reason}); restore it or delete the run's directory`,
      }));
      return [...runs.map(summary), ...unreadable].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    },
    get: (id) => {
      const r = store.get(id);
      return r
        ? {
            ...summary(r),
            leaderboard: r.leaderboard,
            params: r.best_params ?? {},
            warnings: r.warnings,
            steps: r.steps,
          }
        : null;
    },
  };
}

interface ServeFlags {
  model?: string;
  host?: string;
  port?: string;
  scoringThreads?: string;
  maxUploadMb?: string;
  maxUploadRows?: string;
  maxRecords?: string;
  maxScoring?: string;
  scoringQueue?: string;
  rateLimit?: string;
  dataDir?: string[];
  outputMaxMb?: string;
  outputMaxAgeDays?: string;
}

/** `--rate-limit`: requests per minute per client, or off (the same rule as NETSEC_RATE_LIMIT). */
function rateLimit(v: string): number | false {
  const r = RateLimitSetting.safeParse(v);
  if (!r.success)
    throw new NetsecError(
      "CONFIG_INVALID",
      `--rate-limit must be a whole number of requests per minute (1 or more) or off, not ${JSON.stringify(v)}`,
      { value: v },
    );
  return r.data;
}

function integer(v: string, flag: string, min: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new NetsecError(
      "CONFIG_INVALID",
      `${flag} must be a whole number >= ${min}, not ${JSON.stringify(v)}`,
      {
        value: v,
      },
    );
  }
  return n;
}

function positive(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    throw new NetsecError("CONFIG_INVALID", `${flag} must be a number > 0, not ${JSON.stringify(v)}`, {
      value: v,
    });
  }
  return n;
}

/** A registered model name (the registry's own pattern). */
function modelName(v: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(v))
    throw new NetsecError(
      "CONFIG_INVALID",
      `--model must be a registered model name, not ${JSON.stringify(v)}`,
      {
        value: v,
      },
    );
  return v;
}

/** A TCP port (0 = any free port). */
function port(v: string): number {
  const n = integer(v, "--port", 0);
  if (n > 65535)
    throw new NetsecError("CONFIG_INVALID", `--port must be at most 65535, not ${JSON.stringify(v)}`, {
      value: v,
    });
  return n;
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "serve predictions (HTTP API, web page, docs, metrics) from the registry's champion; POST /train runs the pipeline in a worker",
    )
    .option("--host <host>", "listen address (default HOST or 127.0.0.1)")
    .option("--port <port>", "port (default PORT or 8000)")
    .option(
      "--model <name>",
      "the registered model whose champion is served (default: the only one, or the most recently promoted)",
    )
    .option(
      "--scoring-threads <n>",
      "worker threads scoring CSV uploads off the event loop (default: one per core, at most 4; 0 = inline)",
    )
    .option(
      "--max-upload-mb <n>",
      `largest CSV upload in MiB (default ${DEFAULT_LIMITS.maxUploadBytes / 2 ** 20})`,
    )
    .option(
      "--max-upload-rows <n>",
      `most data rows in a CSV upload (default ${DEFAULT_LIMITS.maxUploadRows})`,
    )
    .option(
      "--max-records <n>",
      `most records in one POST /predict/records (default ${DEFAULT_LIMITS.maxRecords})`,
    )
    .option(
      "--max-scoring <n>",
      "scoring requests (POST /predict, /predict/records) worked on at once (default: one per scoring thread, at least 1)",
    )
    .option(
      "--scoring-queue <n>",
      `scoring requests waiting for a slot; one more is a 503 with Retry-After (default ${DEFAULT_LIMITS.scoringQueue})`,
    )
    .option(
      "--rate-limit <n|off>",
      "requests per minute per client address, or off (default NETSEC_RATE_LIMIT or 1200)",
    )
    .option(
      "--data-dir <dir>",
      "a directory whose files POST /train may read; repeat for more (default NETSEC_DATA_DIRS, `:`-separated; none = file-based training over HTTP refused)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      "--output-max-mb <n>",
      "most MiB kept under prediction_output/, oldest outputs removed first (default NETSEC_OUTPUT_MAX_MB or 256)",
    )
    .option(
      "--output-max-age-days <n>",
      "outputs under prediction_output/ older than this are removed (default NETSEC_OUTPUT_MAX_AGE_DAYS or 7)",
    )
    .action((o: ServeFlags) =>
      runCommand({}, async (ctx) => {
        const limits: Partial<ServeLimits> = {};
        if (o.maxUploadMb !== undefined)
          limits.maxUploadBytes = Math.round(positive(o.maxUploadMb, "--max-upload-mb") * 2 ** 20);
        if (o.maxUploadRows !== undefined)
          limits.maxUploadRows = integer(o.maxUploadRows, "--max-upload-rows", 1);
        if (o.maxRecords !== undefined) limits.maxRecords = integer(o.maxRecords, "--max-records", 1);
        if (o.maxScoring !== undefined) limits.maxScoring = integer(o.maxScoring, "--max-scoring", 1);
        if (o.scoringQueue !== undefined) limits.scoringQueue = integer(o.scoringQueue, "--scoring-queue", 0);
        if (o.outputMaxMb !== undefined)
          limits.outputMaxBytes = Math.round(positive(o.outputMaxMb, "--output-max-mb") * 2 ** 20);
        if (o.outputMaxAgeDays !== undefined)
          limits.outputMaxAgeMs = Math.round(
            positive(o.outputMaxAgeDays, "--output-max-age-days") * 86_400_000,
          );
        const limit = o.rateLimit !== undefined ? rateLimit(o.rateLimit) : undefined;
        const srv = await startServer(ctx.config, {
          handleSignals: true,
          alertChannels: alertChannelsFrom(ctx.config),
          ...(o.host ? { host: o.host } : {}),
          ...(o.port !== undefined ? { port: port(o.port) } : {}),
          ...(o.model !== undefined ? { model: modelName(o.model) } : {}),
          ...(o.scoringThreads !== undefined
            ? { scoringThreads: integer(o.scoringThreads, "--scoring-threads", 0) }
            : {}),
          limits,
          ...(limit !== undefined
            ? { rateLimit: limit === false ? false : { max: limit, timeWindowMs: 60_000 } }
            : {}),
          ...(o.dataDir ? { dataDirs: o.dataDir.map((d) => resolve(d)) } : {}),
          training: {
            runner: {
              module: fileURLToPath(new URL("../../pipeline/job.ts", import.meta.url)),
              export: "trainJob",
            },
            configSchema: PipelineConfigSchema,
          },
          runs: runSource(ctx.config.home),
        });
        ctx.say(
          `netsec serving on ${srv.url} (model: ${srv.app.netsec.holder.current()?.version ?? "none yet — run netsec train"})`,
        );
        await new Promise<void>(() => {});
        return 0;
      }),
    );
}
