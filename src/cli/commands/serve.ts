import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { PipelineConfigSchema } from "../../pipeline/config.ts";
import { startServer } from "../../serve/server.ts";
import type { RunDetail, RunSummary } from "../../serve/types.ts";
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
    list: (o) => store.list(o?.limit ?? 100).map(summary),
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

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "serve predictions (HTTP API, web page, docs, metrics) from the registry's champion; POST /train runs the pipeline in a worker",
    )
    .option("--host <host>", "listen address (default HOST or 127.0.0.1)")
    .option("--port <port>", "port (default PORT or 8000)")
    .action((o: { host?: string; port?: string }) =>
      runCommand({}, async (ctx) => {
        const srv = await startServer(ctx.config, {
          handleSignals: true,
          ...(o.host ? { host: o.host } : {}),
          ...(o.port ? { port: Number(o.port) } : {}),
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
