/**
 * The training job the server runs in a worker thread for `POST /train`: the pipeline with the request
 * body as its config (validated by the server with PipelineConfigSchema), progress forwarded.
 */
import { loadConfig } from "../config/env.ts";
import { closePool } from "../core/pool.ts";
import { parsePipelineConfig } from "./config.ts";
import { runPipeline } from "./run.ts";

export async function trainJob(
  config: unknown,
  progress: (p: { step: string; progress: number; message?: string }) => void,
): Promise<unknown> {
  const cfg = parsePipelineConfig(config ?? {}, "POST /train body");
  try {
    const res = await runPipeline(cfg, loadConfig(), (p) => progress(p));
    if (res.status === "FAILED") {
      const { NetsecError } = await import("../core/errors.ts");
      throw new NetsecError("GATE_FAILED", `training run ${res.run_id} failed: ${res.failure}`, {
        run_id: res.run_id,
      });
    }
    return res;
  } finally {
    await closePool();
  }
}
