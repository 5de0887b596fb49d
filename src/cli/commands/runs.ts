import type { Command } from "commander";
import { NetsecError } from "../../core/errors.ts";
import { type RunRecord, RunStore } from "../../tracking/run-store.ts";
import { mlflowClientFrom, syncRun } from "../../tracking/track.ts";
import { runCommand } from "../context.ts";
import { registerRunsS3 } from "./runs-s3.ts";

export function registerRuns(program: Command): void {
  const runs = program
    .command("runs")
    .description(
      "the local run store: every pipeline run (RUNNING, FINISHED, FAILED, or INTERRUPTED when its process died)",
    );
  runs
    .command("list")
    .description("list runs, newest first")
    .option("--limit <n>", "how many", "20")
    .option("--json", "print a machine-readable summary as the last line")
    .action((o: { limit: string; json?: boolean }) =>
      runCommand(o, async (ctx) => {
        // RUNNING runs whose process is gone are marked INTERRUPTED here (run-store.ts)
        const { runs: list, damaged } = new RunStore(ctx.config.home).scan(Number(o.limit));
        for (const r of list) {
          ctx.say(
            `${r.id}  ${r.status.padEnd(11)} ${r.dataset.padEnd(10)} ${(r.best_model ?? "-").padEnd(20)} F1 ${r.metrics.f1?.toFixed(4) ?? "-"}${r.champion ? "  champion" : ""}${r.failure ? `  (${r.failure.slice(0, 80)})` : ""}`,
          );
        }
        for (const d of damaged)
          ctx.say(
            `${d.id}  UNREADABLE  ${d.file} in ${ctx.config.home}: ${d.reason} — restore it, or delete the run's directory`,
          );
        ctx.result({
          ok: true,
          runs: list.map((r) => ({
            id: r.id,
            status: r.status,
            dataset: r.dataset,
            best_model: r.best_model,
            metrics: r.metrics,
            champion: r.champion,
            failure: r.failure,
            ...(r.interrupted_at ? { interrupted_at: r.interrupted_at } : {}),
          })),
          damaged,
        });
        return 0;
      }),
    );
  runs
    .command("show")
    .description("one run: steps, leaderboard, metrics, artifacts")
    .argument("<id>", "run id")
    .option("--json", "print a machine-readable summary as the last line")
    .action((id: string, o: { json?: boolean }) =>
      runCommand(o, async (ctx) => {
        const store = new RunStore(ctx.config.home);
        const r = store.get(id);
        if (!r) throw new NetsecError("RUN_NOT_FOUND", `no run ${id} in ${store.root}`, { value: id });
        ctx.say(JSON.stringify(r, null, 2));
        ctx.result({ ok: true, run: r });
        return 0;
      }),
    );
  runs
    .command("sync")
    .description(
      "upload runs to MLflow (MLFLOW_TRACKING_URI): the given run, or every run still pending; idempotent — nothing is duplicated",
    )
    .argument("[id]", "run id (default: every pending run)")
    .option("--all", "every finished or failed run, not only pending ones")
    .option("--json", "print a machine-readable summary as the last line")
    .action((id: string | undefined, o: { all?: boolean; json?: boolean }) =>
      runCommand(o, async (ctx) => {
        const client = mlflowClientFrom(ctx.config);
        if (!client)
          throw new NetsecError(
            "CONFIG_INVALID",
            "runs sync needs MLFLOW_TRACKING_URI (and credentials if the server requires them)",
            {
              variable: "MLFLOW_TRACKING_URI",
            },
          );
        const store = new RunStore(ctx.config.home);
        let todo: RunRecord[];
        if (id) {
          const r = store.get(id);
          if (!r) throw new NetsecError("RUN_NOT_FOUND", `no run ${id} in ${store.root}`, { value: id });
          if (r.status === "RUNNING")
            throw new NetsecError(
              "CONFIG_INVALID",
              `run ${id} is still running; sync it when it has finished`,
              { value: id },
            );
          todo = [r];
        } else {
          todo = store
            .list(100_000)
            .filter((r) => r.status !== "RUNNING" && (o.all || r.mlflow?.status === "pending"))
            .reverse();
        }
        const results: { id: string; status: string; mlflow_run_id: string | null; error: string | null }[] =
          [];
        for (const r of todo) {
          ctx.say(`${r.id}: uploading to ${client.shownUri}…`);
          const st = await syncRun(client, ctx.config, r);
          const fresh = store.get(r.id) ?? r;
          fresh.mlflow = st;
          store.save(fresh);
          ctx.say(
            st.status === "synced"
              ? `${r.id}: synced as MLflow run ${st.run_id}${st.model_version ? ` (model version ${st.model_version})` : ""}`
              : `${r.id}: still pending — ${st.error}`,
          );
          results.push({ id: r.id, status: st.status, mlflow_run_id: st.run_id, error: st.error });
        }
        if (!todo.length) ctx.say("nothing to sync");
        const failed = results.filter((r) => r.status !== "synced").length;
        ctx.result({ ok: failed === 0, synced: results.length - failed, pending: failed, runs: results });
        return failed ? 1 : 0;
      }),
    );
  registerRunsS3(runs);
}
