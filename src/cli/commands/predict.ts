import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { BundlePredictor } from "../../bundle/bundle.ts";
import { describeLabelMetrics, type LabelMetrics, labelMetrics } from "../../bundle/label-metrics.ts";
import { ONNX_MODEL_FILE } from "../../bundle/mlmodel.ts";
import { OnnxPredictor, onnxFileAt, resolveOnnxSchema } from "../../bundle/onnx/predictor.ts";
import type { Contribution } from "../../bundle/predictor.ts";
import { ModelRegistry } from "../../bundle/registry.ts";
import { NetsecError } from "../../core/errors.ts";
import type { Frame } from "../../core/frame.ts";
import { safeCsv } from "../../core/spreadsheet-safe.ts";
import { isMissingToken, parseNumber } from "../../datasets/coerce.ts";
import { loadFrame } from "../../datasets/load.ts";
import type { RawValue } from "../../datasets/readers.ts";
import { readAllRows, readTable } from "../../datasets/readers.ts";
import type { DatasetSchema } from "../../datasets/schema.ts";
import { captureAsFlowsCsv } from "../../flows/capture-input.ts";
import { monitoredName, recordOutsideServer } from "../../monitor/monitor.ts";
import { type ParquetColumn, writeParquet } from "../../store/duckdb/parquet.ts";
import { alertChannelsFrom } from "../../stream/alert-topic.ts";
import { type Ctx, runCommand } from "../context.ts";
import { intOption } from "../int-option.ts";
import { spoolStdin } from "../stdin-input.ts";

interface PredictOptions {
  model: string;
  input: string;
  output?: string;
  engine?: string;
  schema?: string;
  topFeatures?: string;
  json?: boolean;
}

/** What either engine hands to the shared output code. */
interface Scored {
  /** The input as read: the label column's values when it has one. */
  frame: Frame;
  labels: readonly string[];
  isThreat: Uint8Array;
  probability: ArrayLike<number>;
  /** The --json summary's engine-specific part. */
  summary: {
    engine: "bundle" | "onnx";
    model: string | null;
    bundle: string | null;
    threshold: number | null;
    onnx?: string;
  };
  /** For the human line: "<model> (<version>)". */
  describe: string;
  /** The top k contributing features of the given rows (bundle engine only: onnxruntime has none). */
  explain?: (rows: Int32Array, k: number) => Contribution[][];
}

/**
 * Both engines parse the input the same way, so a bad file gives the same error on either: the
 * model's input columns (required) and the label column when present are checked against the schema;
 * other columns are only passed through to the output.
 */
async function loadInput(input: string, schema: DatasetSchema, inputColumns: readonly string[]) {
  return loadFrame({ path: input }, schema, { inputColumns });
}

/** The label column's values (null where a row has none), or null when the input has no label column. */
function labelsOf(frame: Frame, schema: DatasetSchema): (string | null)[] | null {
  const target = schema.target.name;
  if (!frame.has(target)) return null;
  return Array.from({ length: frame.nRows }, (_, r) => {
    const v = frame.value(r, target);
    return v === null ? null : String(v);
  });
}

export function registerPredict(program: Command): void {
  program
    .command("predict")
    .description(
      "score a file with a model bundle, the registry's champion, or its ONNX export (onnxruntime); adds `prediction` and `probability` columns",
    )
    .requiredOption(
      "--model <path|champion|name@alias>",
      "a bundle directory, `champion`, <name>[@alias|:version], or an exported model.onnx (or the onnx/ folder holding it)",
    )
    .requiredOption(
      "--input <file>",
      "data to score (the dataset's native format, Parquet, a pcap/pcapng capture, or - for CSV, a Zeek TSV log or a capture on stdin): the model's input columns; the label column is optional (when present, checked and used to report accuracy); other columns are passed through",
    )
    .option(
      "--output <file>",
      "where to write the scored rows: CSV, or Parquet (typed columns) when the name ends in .parquet; default: CSV on stdout",
    )
    .option(
      "--engine <bundle|onnx>",
      "score with netsec's bundle or with the bundle's onnx/model.onnx under onnxruntime; default: onnx for an ONNX path, else bundle",
    )
    .option(
      "--schema <yaml>",
      "ONNX only: the dataset schema to read --input with; default: the bundle.json next to the onnx/ folder, else the registry's dataset named in the model's metadata",
    )
    .option(
      "--top-features <k>",
      "add a `top_features` column: each threat row's k (1-10) most contributing features with their values and signed contributions (bundle engine only); default: no column",
    )
    .option("--json", "print a machine-readable summary as the last line")
    .action((o: PredictOptions) =>
      runCommand(o, async (ctx) => {
        if (o.engine !== undefined && o.engine !== "bundle" && o.engine !== "onnx") {
          throw new NetsecError(
            "CONFIG_INVALID",
            `--engine must be bundle or onnx, got ${JSON.stringify(o.engine)}`,
            { value: o.engine },
          );
        }
        const topK = o.topFeatures === undefined ? 0 : intOption("--top-features", o.topFeatures, 1, 10);
        // `-`: stdin, spooled to a temporary file (the input is read twice)
        const stdin = o.input === "-" ? await spoolStdin() : null;
        if (stdin) process.once("exit", stdin.cleanup);
        const given = stdin ? stdin.path : resolve(o.input);
        // a packet capture (by its magic number) is scored as its CIC flow records (src/flows/)
        const capture = await captureAsFlowsCsv(given);
        if (capture) process.once("exit", capture.cleanup);
        const input = capture ? capture.csv : given;
        const onnxPath = onnxFileAt(o.model);
        let scored: Scored;
        let schema: DatasetSchema;
        if (onnxPath) {
          if (o.engine === "bundle") {
            throw new NetsecError(
              "CONFIG_INVALID",
              `--model ${o.model} is an ONNX model, not a bundle: drop --engine bundle or pass the bundle directory`,
              { value: o.model },
            );
          }
          if (topK > 0) throw onnxCannotExplain(o.model);
          ({ scored, schema } = await scoreOnnx(ctx, onnxPath, input, o.schema));
        } else {
          const registered = existsSync(resolve(o.model))
            ? null
            : new ModelRegistry(ctx.config.home).resolve(o.model);
          const dir = registered ? registered.dir : resolve(o.model);
          if (o.engine === "onnx") {
            const file = join(dir, "onnx", ONNX_MODEL_FILE);
            if (!existsSync(file)) {
              throw new NetsecError(
                "BUNDLE_INVALID",
                `bundle ${dir} has no ONNX export (${file} is missing); score it with --engine bundle`,
                { file },
              );
            }
            if (topK > 0) throw onnxCannotExplain(o.model);
            ({ scored, schema } = await scoreOnnx(ctx, file, input, o.schema));
          } else {
            if (o.schema !== undefined) {
              throw new NetsecError(
                "CONFIG_INVALID",
                "--schema applies to ONNX models only: a bundle carries its own schema",
                { value: o.schema },
              );
            }
            const p = new BundlePredictor(dir);
            schema = p.schema;
            const { frame } = await loadInput(input, schema, p.manifest.input_columns);
            const pred = p.predict(frame);
            // the batch goes into the model's monitoring windows, as a served batch does
            await recordOutsideServer(
              ctx.config,
              {
                name: registered ? registered.name : monitoredName(p.version, p.manifest.dataset),
                version: registered ? `${registered.name}:${registered.version.version}` : p.version,
                runId: p.manifest.run_id,
                dir,
              },
              { frame, ...pred },
              ctx.log,
              alertChannelsFrom(ctx.config),
            );
            scored = {
              ...pred,
              frame,
              summary: {
                engine: "bundle",
                model: p.manifest.model,
                bundle: dir,
                threshold: p.manifest.threshold,
              },
              describe: `${p.manifest.model} (${p.version})`,
              explain: (rows, k) => p.explainAll(frame.take(rows), k),
            };
          }
        }
        // echo the input rows as read (raw text, every column), plus the two columns; formula-like
        // cells neutralised for spreadsheets
        const table = await readTable({ path: input }, { schema });
        const rows = await readAllRows(table);
        if (rows.length !== scored.labels.length)
          throw new NetsecError("INTERNAL", "row count changed between reads", {});
        let threats = 0;
        for (let i = 0; i < rows.length; i++) threats += scored.isThreat[i]!;
        const why = topK > 0 ? topFeaturesColumn(scored, topK) : null;
        const parquet = o.output?.toLowerCase().endsWith(".parquet") === true;
        const text = parquet
          ? ""
          : safeCsv(
              rows.map((r, i) => [
                ...r.map((v) => (v === null ? "" : String(v))),
                scored.labels[i]!,
                scored.probability[i]!.toPrecision(8),
                ...(why ? [why[i]!] : []),
              ]),
              [...table.header, "prediction", "probability", ...(why ? ["top_features"] : [])],
            );
        const truth = labelsOf(scored.frame, schema);
        const metrics: LabelMetrics | null = truth
          ? labelMetrics(truth, scored.isThreat, schema, input)
          : null;
        // stdout is written synchronously so that --json's object really is the last line
        if (parquet)
          await writeParquet(resolve(o.output!), [
            ...scoredColumns(table.header, rows, schema, scored.labels, scored.probability),
            ...(why ? [{ name: "top_features", type: "VARCHAR" as const, values: why }] : []),
          ]);
        else if (o.output) writeFileSync(resolve(o.output), text);
        else process.stdout.write(text);
        const t = scored.summary.threshold;
        // with the CSV on stdout the human lines go to stderr, so a pipe or redirect gets only the CSV
        const tell = (line: string): void => (o.output ? ctx.say(line) : ctx.note(line));
        tell(
          `${rows.length} rows scored with ${scored.describe}; ${threats} threat(s)${t === null ? "" : ` at threshold ${t.toFixed(4)}`}${o.output ? ` → ${o.output}` : ""}`,
        );
        if (metrics) tell(`label column ${metrics.column} ${describeLabelMetrics(metrics)}`);
        ctx.result({
          ok: true,
          engine: scored.summary.engine,
          model: scored.summary.model,
          bundle: scored.summary.bundle,
          ...(scored.summary.onnx ? { onnx: scored.summary.onnx } : {}),
          rows: rows.length,
          threats,
          threshold: t,
          output: o.output ? resolve(o.output) : null,
          label_metrics: metrics,
        });
        return 0;
      }),
    );
}

function onnxCannotExplain(model: string): NetsecError {
  return new NetsecError(
    "CONFIG_INVALID",
    `--top-features needs netsec's bundle engine: onnxruntime gives no per-feature contributions for ${model}; score the bundle directory or drop --top-features`,
    { value: model },
  );
}

/**
 * One cell per row: for a threat, its k most contributing features as `name=value (+contribution)`
 * joined by "; ", largest first (contributions in the model's raw score units, as the API's
 * top_features); empty for a row that is not a threat. Only threat rows are explained, so the cost
 * follows the threats, not the file.
 */
function topFeaturesColumn(scored: Scored, k: number): string[] {
  const cells: string[] = new Array(scored.isThreat.length).fill("");
  if (!scored.explain) return cells;
  const threatRows: number[] = [];
  for (let i = 0; i < scored.isThreat.length; i++) if (scored.isThreat[i] === 1) threatRows.push(i);
  if (threatRows.length === 0) return cells;
  const all = scored.explain(Int32Array.from(threatRows), k);
  for (const [j, row] of threatRows.entries()) {
    cells[row] = all[j]!.map((c) => {
      const sign = c.contribution >= 0 ? "+" : "";
      return `${c.feature}=${c.value ?? ""} (${sign}${c.contribution.toPrecision(4)})`;
    }).join("; ");
  }
  return cells;
}

/** Score with onnxruntime: schema found as resolveOnnxSchema says, inputs checked against it first. */
async function scoreOnnx(
  ctx: Ctx,
  file: string,
  input: string,
  schemaFile: string | undefined,
): Promise<{ scored: Scored; schema: DatasetSchema }> {
  let bundle: string | null = null;
  const p = await OnnxPredictor.open(file, (metadata) => {
    const s = resolveOnnxSchema({ onnxFile: file, metadata, home: ctx.config.home, schemaFile });
    bundle = s.bundleDir;
    return s.schema;
  });
  try {
    const { frame } = await loadInput(
      input,
      p.schema,
      p.columns.map((c) => c.column),
    );
    const pred = await p.predict(frame);
    return {
      schema: p.schema,
      scored: {
        ...pred,
        frame,
        summary: { engine: "onnx", model: p.model, bundle, threshold: p.threshold, onnx: file },
        describe: `${p.model ?? "an ONNX model"} (onnxruntime, ${file})`,
      },
    };
  } finally {
    await p.close();
  }
}

/**
 * The scored rows as typed columns (for a Parquet output): every input column, then `prediction`
 * (text) and `probability` (DOUBLE). An input column is DOUBLE when its values are numbers already
 * (a Parquet input), or when the schema declares it numeric and every value reads as a number or a
 * missing value (NULL); any other column is text as read. Nothing is neutralised: Parquet is data,
 * not a spreadsheet.
 */
function scoredColumns(
  header: readonly string[],
  rows: readonly (readonly RawValue[])[],
  schema: DatasetSchema,
  labels: readonly string[],
  probability: ArrayLike<number>,
): ParquetColumn[] {
  const cols: ParquetColumn[] = header.map((name, j) => {
    const values = rows.map((r) => r[j] ?? null);
    const type = schema.column(name)?.type;
    const nums = numbersOf(values, type === "integer" || type === "number");
    return nums
      ? { name, type: "DOUBLE", values: nums }
      : { name, type: "VARCHAR", values: values.map((v) => (v === null ? null : String(v))) };
  });
  cols.push({ name: "prediction", type: "VARCHAR", values: labels });
  cols.push({ name: "probability", type: "DOUBLE", values: probability });
  return cols;
}

/** A column's values as numbers (null for missing), or null when it is not a numeric column. */
function numbersOf(values: readonly RawValue[], numericSpec: boolean): (number | null)[] | null {
  const out: (number | null)[] = new Array(values.length);
  for (const [i, v] of values.entries()) {
    if (v === null || typeof v === "number") out[i] = v;
    else if (!numericSpec) return null;
    else if (typeof v === "string" && isMissingToken(v)) out[i] = null;
    else {
      const n = parseNumber(v);
      if (n === null) return null;
      out[i] = n;
    }
  }
  return out;
}
