/**
 * `netsec runs push [id|--all]` and `netsec runs pull <id>`: a run's folder, record and model version to
 * and from the bucket of NETSEC_S3_URI (see src/tracking/s3-sync.ts for the layout and what is left out).
 */
import type { Command } from "commander";
import type { Config } from "../../config/env.ts";
import { NetsecError } from "../../core/errors.ts";
import { type RunRecord, RunStore } from "../../tracking/run-store.ts";
import { type ObjectStore, s3StoreFrom } from "../../tracking/s3.ts";
import { pullRun, syncRunToS3 } from "../../tracking/s3-sync.ts";
import { runCommand } from "../context.ts";

/** The configured bucket, or a CONFIG_INVALID naming the variables. */
export function requireS3(config: Readonly<Config>, what: string): ObjectStore {
  const store = s3StoreFrom(config);
  if (!store)
    throw new NetsecError(
      "CONFIG_INVALID",
      `${what} needs NETSEC_S3_URI=s3://<bucket>/<prefix> (and AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY for an S3-compatible server)`,
      { variable: "NETSEC_S3_URI" },
    );
  return store;
}

export function registerRunsS3(runs: Command): void {
  runs
    .command("push")
    .description(
      "upload runs to the bucket of NETSEC_S3_URI (folder, record, model version): the given run, or every run still pending; only what the bucket lacks is uploaded",
    )
    .argument("[id]", "run id (default: every pending run)")
    .option("--all", "every finished or failed run, not only pending ones")
    .option("--json", "print a machine-readable summary as the last line")
    .action((id: string | undefined, o: { all?: boolean; json?: boolean }) =>
      runCommand(o, async (ctx) => {
        const bucket = requireS3(ctx.config, "runs push");
        const store = new RunStore(ctx.config.home);
        let todo: RunRecord[];
        if (id) {
          const r = store.get(id);
          if (!r) throw new NetsecError("RUN_NOT_FOUND", `no run ${id} in ${store.root}`, { value: id });
          if (r.status === "RUNNING")
            throw new NetsecError("CONFLICT", `run ${id} is still running; push it when it has finished`, {
              value: id,
            });
          todo = [r];
        } else {
          todo = store
            .list(100_000)
            .filter((r) => r.status !== "RUNNING" && (o.all || r.s3?.status === "pending"))
            .reverse();
        }
        const results: {
          id: string;
          status: string;
          uploaded: number;
          skipped: number;
          error: string | null;
        }[] = [];
        for (const r of todo) {
          ctx.say(`${r.id}: pushing to ${bucket.shownUri}…`);
          const st = await syncRunToS3(bucket, ctx.config, r, (what, key) => ctx.note(`${what} ${key}`));
          const fresh = store.get(r.id) ?? r;
          fresh.s3 = st;
          store.save(fresh);
          ctx.say(
            st.status === "synced"
              ? `${r.id}: uploaded ${st.uploaded}, skipped ${st.skipped}${st.excluded.length ? `, excluded ${st.excluded.length} (${st.excluded.map((x) => `${x.path}: ${x.reason}`).join("; ")})` : ""}`
              : `${r.id}: still pending — ${st.error}`,
          );
          results.push({
            id: r.id,
            status: st.status,
            uploaded: st.uploaded,
            skipped: st.skipped,
            error: st.error,
          });
        }
        if (!todo.length) ctx.say("nothing to push");
        const failed = results.filter((r) => r.status !== "synced").length;
        ctx.result({ ok: failed === 0, synced: results.length - failed, pending: failed, runs: results });
        return failed ? 1 : 0;
      }),
    );
  runs
    .command("pull")
    .description("bring a run's folder and record from the bucket of NETSEC_S3_URI into this NETSEC_HOME")
    .argument("<id>", "run id")
    .option("--json", "print a machine-readable summary as the last line")
    .action((id: string, o: { json?: boolean }) =>
      runCommand(o, async (ctx) => {
        const bucket = requireS3(ctx.config, "runs pull");
        const r = await pullRun(bucket, ctx.config, new RunStore(ctx.config.home), id);
        ctx.say(`${id}: ${r.files} files from ${bucket.shownUri}/runs/${id} into ${r.record.artifacts}`);
        ctx.result({ ok: true, id, files: r.files, artifacts: r.record.artifacts });
        return 0;
      }),
    );
}
