import type { Command } from "commander";
import { NetsecError } from "../../core/errors.ts";
import { RunStore } from "../../tracking/run-store.ts";
import { runCommand } from "../context.ts";

export function registerRuns(program: Command): void {
  const runs = program
    .command("runs")
    .description("the local run store: every pipeline run, finished or failed");
  runs
    .command("list")
    .description("list runs, newest first")
    .option("--limit <n>", "how many", "20")
    .option("--json", "print a machine-readable summary as the last line")
    .action((o: { limit: string; json?: boolean }) =>
      runCommand(o, async (ctx) => {
        const list = new RunStore(ctx.config.home).list(Number(o.limit));
        for (const r of list) {
          ctx.say(
            `${r.id}  ${r.status.padEnd(8)} ${r.dataset.padEnd(10)} ${(r.best_model ?? "-").padEnd(20)} F1 ${r.metrics.f1?.toFixed(4) ?? "-"}${r.champion ? "  champion" : ""}${r.failure ? `  (${r.failure.slice(0, 80)})` : ""}`,
          );
        }
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
          })),
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
        const r = new RunStore(ctx.config.home).get(id);
        if (!r)
          throw new NetsecError("RUN_NOT_FOUND", `no run ${id} in ${ctx.config.home}/runs`, { value: id });
        ctx.say(JSON.stringify(r, null, 2));
        ctx.result({ ok: true, run: r });
        return 0;
      }),
    );
}
