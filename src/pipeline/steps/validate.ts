/**
 * The validate step: the run's stored records checked against the schema and the config's thresholds;
 * the report goes to data_validation/. A failed validation stops the run (validation.on_fail stop,
 * the default) or becomes a warning (warn), its reason naming the first offending value of each problem.
 */
import type { RecordStore } from "../../store/types.ts";
import { validateStore } from "../../validate/store-validate.ts";
import { type ValidationReport, writeValidationReport } from "../../validate/validate.ts";
import { type PipelineRun, RunStopped } from "../runner.ts";

export async function validateStep(
  run: PipelineRun,
  store: RecordStore,
  sources: readonly string[],
): Promise<ValidationReport> {
  const total = (run.rec.sources ?? [])
    .filter((s) => sources.includes(s.source))
    .reduce((n, s) => n + s.rows, 0);
  const meter = run.meter("validate", "validated", "records", () => 0.5, total || undefined);
  const { report, problems } = await validateStore(store, run.schema, run.cfg.validation.thresholds, {
    ...(sources.length ? { sources } : {}),
    ...(meter ? { onProgress: (rows: number) => meter.update(rows) } : {}),
  });
  meter?.finish();
  writeValidationReport(report, problems, run.paths.validation);
  return report;
}

/** A failed validation: the run stops (on_fail stop) or goes on with a warning (warn). */
export function judgeValidation(run: PipelineRun, report: ValidationReport): void {
  if (report.passed) return;
  // each problem with its first offending value, so the reason alone says what to fix where
  const msg = `validation failed: ${report.issues
    .filter((i) => i.severity === "error")
    .map((i) => {
      const ex = i.examples[0];
      return ex ? `${i.message}, e.g. ${JSON.stringify(ex.value)} at row ${ex.row} of ${ex.file}` : i.message;
    })
    .slice(0, 5)
    .join("; ")}`;
  if (run.cfg.validation.on_fail === "stop") throw new RunStopped(msg);
  run.warn(msg);
}
