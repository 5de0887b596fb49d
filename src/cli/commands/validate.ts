import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { homeLayout, isRunId, validateReportPaths } from "../../config/home.ts";
import { NetsecError } from "../../core/errors.ts";
import type { Frame } from "../../core/frame.ts";
import { loadFrame } from "../../datasets/load.ts";
import { type FileFormat, parseFileFormat, readTable } from "../../datasets/readers.ts";
import type { DatasetSchema } from "../../datasets/schema.ts";
import { type DriftReport, detectDrift } from "../../validate/drift.ts";
import { type DriftSettings, DriftSettingsSchema, driftOptions } from "../../validate/drift-settings.ts";
import { type DataProfile, parseProfile } from "../../validate/profile.ts";
import { writeDriftReports } from "../../validate/report/index.ts";
import type { RelationValidation } from "../../validate/sql-validate.ts";
import { validateStore } from "../../validate/store-validate.ts";
import {
  summarizeValidation,
  type ValidationReport,
  ValidationThresholdsSchema,
  Validator,
  writeValidationReport,
} from "../../validate/validate.ts";
import { type Ctx, runCommand } from "../context.ts";
import { resolveSchema, withStore } from "../shared.ts";

interface ValidateOpts {
  dataset?: string;
  schema?: string;
  file?: string[];
  format?: string;
  reference?: string;
  current?: string;
  out?: string;
  store?: string;
  thresholds?: string;
  driftThreshold?: string;
  alpha?: string;
  numericMethod?: string;
  ksThreshold?: string;
  wassersteinThreshold?: string;
  jsThreshold?: string;
  minSampleSize?: string;
  failOnDrift?: boolean;
  json?: boolean;
}

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description(
      "check data against its schema (every problem listed with file, row, column, value) and, with --reference/--current, measure drift per column (effect sizes: KS statistic or Wasserstein, Jensen-Shannon; p-value tests for small samples; PSI)",
    )
    .option("--dataset <name>", "registry dataset (its schema); alone, validates its records in the store")
    .option("--schema <file>", "schema YAML for data that is not built in")
    .option("--file <path...>", "validate these files instead of the store")
    .option(
      "--format <fmt>",
      "override the format guessed from the extension (csv|tsv|jsonl|arff|txt|parquet|zeek)",
    )
    .option(
      "--reference <file|run|profile.json>",
      "drift reference: a data file, a run id, or a saved profile",
    )
    .option("--current <file>", "drift current data (a file in the dataset's native format)")
    .option("--out <dir>", "report directory (default $NETSEC_HOME/reports/validate-<time>)")
    .option("--store <uri>", "record store URI")
    .option("--thresholds <json>", 'validation thresholds, e.g. {"max_missing_rate":0.1}')
    .option("--drift-threshold <share>", "share of drifted columns that means dataset drift", "0.5")
    .option(
      "--alpha <p>",
      "small samples: p-value (KS, chi-squared) below which a column has drifted",
      "0.05",
    )
    .option(
      "--numeric-method <m>",
      "large samples, numeric columns: ks_statistic or wasserstein",
      "ks_statistic",
    )
    .option("--ks-threshold <d>", "KS statistic at or above which a numeric column has drifted", "0.1")
    .option(
      "--wasserstein-threshold <w>",
      "Wasserstein distance (in reference standard deviations) at or above which a numeric column has drifted",
      "0.1",
    )
    .option(
      "--js-threshold <d>",
      "Jensen-Shannon distance at or above which a categorical column has drifted",
      "0.1",
    )
    .option(
      "--min-sample-size <n>",
      "fewest values per sample for an effect size to decide (else the p-value test)",
      "1000",
    )
    .option("--fail-on-drift", "exit non-zero when dataset drift is detected")
    .option("--json", "print a machine-readable summary ({passed, issues, drift}) as the last line")
    .action((o: ValidateOpts) => runCommand(o, (ctx) => validateAction(ctx, o)));
}

async function validateAction(ctx: Ctx, o: ValidateOpts): Promise<number> {
  const schema = resolveSchema(ctx, o);
  // a bad drift flag is refused before any work
  const driftOpts = driftOptions(driftSettings(o));
  let thrRaw: unknown = {};
  if (o.thresholds) {
    try {
      thrRaw = JSON.parse(o.thresholds);
    } catch (e) {
      throw new NetsecError("CONFIG_INVALID", `--thresholds is not JSON: ${(e as Error).message}`, {
        value: o.thresholds,
      });
    }
  }
  const thr = ValidationThresholdsSchema.safeParse(thrRaw);
  if (!thr.success) {
    throw new NetsecError(
      "CONFIG_INVALID",
      `--thresholds: ${thr.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      {},
    );
  }
  const outDir = resolve(o.out ?? homeLayout(ctx.config.home).validateReport(new Date()));
  const format = parseFileFormat(o.format);
  const formatOpt = format ? { format } : {};

  // 1. schema validation: files given, the --current file, or the store
  let validated: RelationValidation;
  const files = o.file ?? (o.current ? [o.current] : []);
  if (files.length > 0) {
    const validator = new Validator(schema, thr.data, !o.current || Boolean(o.file));
    for (const f of files) {
      const table = await readTable({ path: resolve(f) }, { schema, ...formatOpt });
      await validator.table(table);
    }
    validated = { report: validator.finish(), problems: validator.problems };
  } else {
    const meter = ctx.meter("validate", "records");
    validated = await withStore(ctx, o.store, (store) =>
      validateStore(store, schema, thr.data, {
        onProgress: (n) => (meter ? meter.update(n) : ctx.progress(`validated ${n} records`)),
      }),
    );
  }
  const report: ValidationReport = validated.report;
  const written = writeValidationReport(report, validated.problems, outDir);
  for (const l of summarizeValidation(report)) ctx.say(l);

  // 2. drift
  let drift: DriftReport | undefined;
  if (o.reference || o.current) {
    if (!o.reference || !o.current)
      throw new NetsecError("CONFIG_INVALID", "drift needs both --reference and --current", {});
    // extra columns (ids, metadata) are left out of drift when the thresholds allow them
    const allowUnknownColumns = thr.data.allow_unknown_columns;
    const reference = await loadReference(ctx, schema, o.reference, format, allowUnknownColumns);
    const current = (
      await loadFrame({ path: resolve(o.current) }, schema, {
        ...formatOpt,
        requireTarget: false,
        allowUnknownColumns,
      })
    ).frame;
    drift = detectDrift(reference, current, schema, driftOpts);
    const dir = validateReportPaths(outDir).driftReport;
    const paths = await writeDriftReports(drift, dir);
    written.push(...paths);
    const drifted = Object.entries(drift.columns)
      .filter(([, c]) => c.drift_status)
      .map(([n]) => n);
    ctx.say(
      `drift: ${drifted.length}/${Object.keys(drift.columns).length} columns drifted (share ${drift.share_drifted.toFixed(3)}, threshold ${drift.threshold}) — dataset drift: ${drift.dataset_drift ? "YES" : "no"}`,
    );
    if (drifted.length)
      ctx.say(`  drifted: ${drifted.slice(0, 20).join(", ")}${drifted.length > 20 ? ", …" : ""}`);
  }
  ctx.say(`reports: ${outDir}`);
  ctx.result({
    ok: true,
    dataset: schema.name,
    passed: report.passed,
    rows: report.rows,
    errors: report.errors,
    warnings: report.warnings,
    issues: report.issues,
    duplicate_rate: report.duplicate_rate,
    labels: report.labels,
    drift: drift ?? null,
    reports: written,
  });
  if (!report.passed) return 1;
  if (drift?.dataset_drift && o.failOnDrift) return 1;
  return 0;
}

/** The drift flags, checked by the pipeline YAML's `drift:` schema; an error names the flag. */
function driftSettings(o: ValidateOpts): DriftSettings {
  const flags: [keyof DriftSettings, string, string | undefined, "number" | "string"][] = [
    ["threshold", "--drift-threshold", o.driftThreshold, "number"],
    ["alpha", "--alpha", o.alpha, "number"],
    ["numeric_method", "--numeric-method", o.numericMethod, "string"],
    ["ks_threshold", "--ks-threshold", o.ksThreshold, "number"],
    ["wasserstein_threshold", "--wasserstein-threshold", o.wassersteinThreshold, "number"],
    ["js_threshold", "--js-threshold", o.jsThreshold, "number"],
    ["min_sample_size", "--min-sample-size", o.minSampleSize, "number"],
  ];
  const raw: Record<string, unknown> = {};
  for (const [key, , value, type] of flags)
    if (value !== undefined) raw[key] = type === "number" && value.trim() !== "" ? Number(value) : value;
  const parsed = DriftSettingsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const flag = flags.find(([key]) => key === issue.path[0]);
  throw new NetsecError(
    "CONFIG_INVALID",
    `${flag?.[1] ?? String(issue.path[0])} ${JSON.stringify(flag?.[2])}: ${issue.message}`,
    { value: flag?.[2] },
  );
}

/** A drift reference: a data file, a saved profile (.json), or a run id whose artifacts hold one. */
async function loadReference(
  ctx: Ctx,
  schema: DatasetSchema,
  ref: string,
  format: FileFormat | undefined,
  allowUnknownColumns: boolean,
): Promise<Frame | DataProfile> {
  const path = resolve(ref);
  if (existsSync(path)) {
    if (path.endsWith(".json")) {
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(path, "utf8"));
      } catch (e) {
        throw new NetsecError("FILE_UNREADABLE", `${path}: not a JSON profile: ${(e as Error).message}`, {
          file: path,
        });
      }
      return parseProfile(raw, path);
    }
    return (
      await loadFrame({ path }, schema, {
        ...(format ? { format } : {}),
        requireTarget: false,
        allowUnknownColumns,
      })
    ).frame;
  }
  // a run id
  const run = isRunId(ref) ? homeLayout(ctx.config.home).run(ref) : null;
  const candidates = run
    ? [join(run.validation, "reference_profile.json"), join(run.bundle, "reference_profile.json")]
    : [];
  for (const c of candidates) if (existsSync(c)) return JSON.parse(readFileSync(c, "utf8")) as DataProfile;
  throw new NetsecError(
    "FILE_UNREADABLE",
    `--reference ${ref}: no such file, and no run ${ref} with a reference profile under ${homeLayout(ctx.config.home).artifacts}`,
    { file: ref },
  );
}
