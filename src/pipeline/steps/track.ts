/**
 * The run's last steps: MLflow (the parent run opened when the run starts, completed here) and the S3
 * push. Neither fails a run: an unreachable server or refused credentials leave it complete locally,
 * pending for `netsec runs sync` / `netsec runs push`, with a warning saying so.
 */
import type { MlflowClient } from "../../tracking/mlflow.ts";
import type { ObjectStore } from "../../tracking/s3.ts";
import { syncRunToS3 } from "../../tracking/s3-sync.ts";
import { startTracking, syncRun } from "../../tracking/track.ts";
import type { PipelineRun } from "../runner.ts";

/** Opens the MLflow parent run (RUNNING while the pipeline works). */
export async function openTracking(run: PipelineRun, tracker: MlflowClient | null): Promise<void> {
  if (!tracker) return;
  run.rec.mlflow = await startTracking(tracker, run.env, run.rec);
  run.save();
}

/** The track step: the finished (or failed) run logged to MLflow. */
export async function trackStep(run: PipelineRun, tracker: MlflowClient | null): Promise<void> {
  if (!tracker) return;
  const rec = run.rec;
  run.progress("track", 0, `logging the run to MLflow at ${tracker.shownUri}…`);
  const t0 = performance.now();
  rec.mlflow = await syncRun(tracker, run.env, rec);
  rec.steps.track = (performance.now() - t0) / 1000;
  if (rec.mlflow.status === "pending") {
    const auth = rec.mlflow.error_kind === "auth";
    run.warn(
      auth
        ? `MLflow: ${rec.mlflow.error} — the run is kept locally; fix the credentials, then \`netsec runs sync ${rec.id}\` uploads it`
        : `MLflow: ${rec.mlflow.error} — the run is kept locally; \`netsec runs sync ${rec.id}\` uploads it when the server is back`,
    );
    run.progress(
      "track",
      1,
      auth
        ? "MLflow refused the credentials: run kept locally, pending sync"
        : "MLflow unreachable: run kept locally, pending sync",
    );
  } else run.progress("track", 1, `logged to MLflow run ${rec.mlflow.run_id}`);
}

/** NETSEC_S3_URI: the finished run's folder, record and model version, pushed last. */
export async function pushStep(run: PipelineRun, s3: ObjectStore | null): Promise<void> {
  if (!s3) return;
  const rec = run.rec;
  run.event({ step: "s3", progress: 1, message: `pushing the run to ${s3.shownUri}…` });
  rec.s3 = await syncRunToS3(s3, run.env, rec);
  if (rec.s3.status === "pending")
    run.warn(
      `S3: ${rec.s3.error} — the run is kept locally; ${rec.s3.error_kind === "auth" ? "fix the credentials, then " : ""}\`netsec runs push ${rec.id}\` uploads it`,
    );
  run.save();
  run.event({
    step: "s3",
    progress: 1,
    message:
      rec.s3.status === "synced"
        ? `pushed to ${s3.shownUri}: uploaded ${rec.s3.uploaded}, skipped ${rec.s3.skipped}`
        : `S3 unavailable: run kept locally, pending push`,
  });
}
