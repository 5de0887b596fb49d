import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { stringify } from "csv-stringify/sync";
import { BundlePredictor } from "../../bundle/bundle.ts";
import { ONNX_MODEL_FILE } from "../../bundle/mlmodel.ts";
import { OnnxPredictor, onnxFileAt, resolveOnnxSchema } from "../../bundle/onnx/predictor.ts";
import { ModelRegistry } from "../../bundle/registry.ts";
import { NetsecError } from "../../core/errors.ts";
import { loadFrame } from "../../datasets/load.ts";
import { readAllRows, readTable } from "../../datasets/readers.ts";
import type { DatasetSchema } from "../../datasets/schema.ts";
import { type Ctx, runCommand } from "../context.ts";

interface PredictOptions {
  model: string;
  input: string;
  output?: string;
  engine?: string;
  schema?: string;
  json?: boolean;
}

/** What either engine hands to the shared output code. */
interface Scored {
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
}

/** Both engines parse the input the same way, so a bad file gives the same error on either. */
async function loadInput(input: string, schema: DatasetSchema) {
  return loadFrame({ path: input }, schema, { requireTarget: false, allowUnknownColumns: true });
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
      "data to score (the dataset's native format; the label column is optional)",
    )
    .option("--output <file>", "where to write the scored rows (CSV); default: stdout")
    .option(
      "--engine <bundle|onnx>",
      "score with netsec's bundle or with the bundle's onnx/model.onnx under onnxruntime; default: onnx for an ONNX path, else bundle",
    )
    .option(
      "--schema <yaml>",
      "ONNX only: the dataset schema to read --input with; default: the bundle.json next to the onnx/ folder, else the registry's dataset named in the model's metadata",
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
        const input = resolve(o.input);
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
          ({ scored, schema } = await scoreOnnx(ctx, onnxPath, input, o.schema));
        } else {
          const dir = existsSync(resolve(o.model))
            ? resolve(o.model)
            : new ModelRegistry(ctx.config.home).resolve(o.model).dir;
          if (o.engine === "onnx") {
            const file = join(dir, "onnx", ONNX_MODEL_FILE);
            if (!existsSync(file)) {
              throw new NetsecError(
                "BUNDLE_INVALID",
                `bundle ${dir} has no ONNX export (${file} is missing); score it with --engine bundle`,
                { file },
              );
            }
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
            const pred = p.predict((await loadInput(input, schema)).frame);
            scored = {
              ...pred,
              summary: {
                engine: "bundle",
                model: p.manifest.model,
                bundle: dir,
                threshold: p.manifest.threshold,
              },
              describe: `${p.manifest.model} (${p.version})`,
            };
          }
        }
        // echo the input rows as read (raw text), plus the two columns
        const table = await readTable({ path: input }, { schema });
        const rows = await readAllRows(table);
        if (rows.length !== scored.labels.length)
          throw new NetsecError("INTERNAL", "row count changed between reads", {});
        let threats = 0;
        const records = rows.map((r, i) => {
          if (scored.isThreat[i]) threats++;
          return [
            ...r.map((v) => (v === null ? "" : String(v))),
            scored.labels[i],
            scored.probability[i]!.toPrecision(8),
          ];
        });
        const text = stringify(records, {
          header: true,
          columns: [...table.header, "prediction", "probability"],
        });
        // stdout is written synchronously so that --json's object really is the last line
        if (o.output) writeFileSync(resolve(o.output), text);
        else process.stdout.write(text);
        const t = scored.summary.threshold;
        ctx.say(
          `${rows.length} rows scored with ${scored.describe}; ${threats} threat(s)${t === null ? "" : ` at threshold ${t.toFixed(4)}`}${o.output ? ` → ${o.output}` : ""}`,
        );
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
        });
        return 0;
      }),
    );
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
    const pred = await p.predict((await loadInput(input, p.schema)).frame);
    return {
      schema: p.schema,
      scored: {
        ...pred,
        summary: { engine: "onnx", model: p.model, bundle, threshold: p.threshold, onnx: file },
        describe: `${p.model ?? "an ONNX model"} (onnxruntime, ${file})`,
      },
    };
  } finally {
    await p.close();
  }
}
