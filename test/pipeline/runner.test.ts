/** The pipeline runner: the run record it keeps, step timings, progress fractions, meters, the end of a run. */
import { existsSync, readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/env.ts";
import { getDataset } from "../../src/datasets/registry.ts";
import { parsePipelineConfig } from "../../src/pipeline/config.ts";
import { type PipelineProgress, PipelineRun } from "../../src/pipeline/runner.ts";
import { tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-runner-");
afterAll(tmp.cleanup);

function newRun(meters: boolean, events: PipelineProgress[]): PipelineRun {
  const env = loadConfig({ NETSEC_HOME: tmp.dir }, tmp.dir);
  const cfg = parsePipelineConfig({ dataset: "phishing" }, "test");
  const prepared = PipelineRun.prepare(cfg, env);
  return new PipelineRun(prepared, getDataset("phishing", env.home), false, (p) => events.push(p), {
    meters,
  });
}

describe("PipelineRun", () => {
  it("saves the record RUNNING, times each step into it, and reports each step's share of the run", async () => {
    const events: PipelineProgress[] = [];
    const run = newRun(false, events);
    const recordFile = `${tmp.dir}/runs/${run.id}/run.json`;
    expect(JSON.parse(readFileSync(recordFile, "utf8")).status).toBe("RUNNING");
    const out = await run.step("validate", async () => 7);
    expect(out).toBe(7);
    expect(Object.keys(run.rec.steps)).toEqual(["validate"]);
    expect(run.rec.steps.validate).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(readFileSync(recordFile, "utf8")).steps).toHaveProperty("validate");
    // without MLflow there are 9 steps: validate is the 2nd (index 1), tune the 5th (index 4)
    expect(events[0]).toEqual({ step: "validate", progress: 1 / 9, message: "validate…" });
    run.progress("tune", 0.5, "half way", true);
    // progress names the step's stage: tune is part of "train"
    expect(events.at(-1)).toEqual({ step: "train", progress: 4.5 / 9, message: "half way", keep: true });
    await run.finish(
      "FAILED",
      "gate: test f1 0.5 is below min_score 0.6",
      async () => {},
      async () => {},
    );
    const res = run.result();
    expect(res).toMatchObject({
      status: "FAILED",
      failure: "gate: test f1 0.5 is below min_score 0.6",
      champion: false,
    });
    expect(res.bundle).toBeNull(); // no winner yet: no bundle to look at
    expect(existsSync(run.paths.summary)).toBe(true);
    expect(JSON.parse(readFileSync(recordFile, "utf8")).status).toBe("FAILED");
  });

  it("gives meters only when asked; their lines are progress events of the step", () => {
    const off = newRun(false, []);
    expect(off.meter("ingest", "a.csv: stored", "rows", () => 0.3, 100)).toBeNull();
    const events: PipelineProgress[] = [];
    const on = newRun(true, events);
    const m = on.meter("ingest", "a.csv: stored", "rows", () => 0.3, 100);
    expect(m).not.toBeNull();
    m!.update(10);
    expect(events.at(-1)).toEqual({
      step: "ingest",
      progress: 0.3 / 9,
      message: "a.csv: stored: 10/100 rows (10.0%)",
    });
  });
});
