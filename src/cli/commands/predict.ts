import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { stringify } from "csv-stringify/sync";
import { BundlePredictor } from "../../bundle/bundle.ts";
import { ModelRegistry } from "../../bundle/registry.ts";
import { NetsecError } from "../../core/errors.ts";
import { loadFrame } from "../../datasets/load.ts";
import { readAllRows, readTable } from "../../datasets/readers.ts";
import { runCommand } from "../context.ts";

export function registerPredict(program: Command): void {
  program
    .command("predict")
    .description(
      "score a file with a model bundle (or the registry's champion); adds `prediction` and `probability` columns",
    )
    .requiredOption(
      "--model <path|champion|name@alias>",
      "a bundle directory, `champion`, or <name>[@alias|:version]",
    )
    .requiredOption(
      "--input <file>",
      "data to score (the dataset's native format; the label column is optional)",
    )
    .option("--output <file>", "where to write the scored rows (CSV); default: stdout")
    .option("--json", "print a machine-readable summary as the last line")
    .action((o: { model: string; input: string; output?: string; json?: boolean }) =>
      runCommand(o, async (ctx) => {
        const dir = existsSync(resolve(o.model))
          ? resolve(o.model)
          : new ModelRegistry(ctx.config.home).resolve(o.model).dir;
        const p = new BundlePredictor(dir);
        const input = resolve(o.input);
        const loaded = await loadFrame({ path: input }, p.schema, {
          requireTarget: false,
          allowUnknownColumns: true,
        });
        const pred = p.predict(loaded.frame);
        // echo the input rows as read (raw text), plus the two columns
        const table = await readTable({ path: input }, { schema: p.schema });
        const rows = await readAllRows(table);
        if (rows.length !== pred.labels.length)
          throw new NetsecError("INTERNAL", "row count changed between reads", {});
        let threats = 0;
        const records = rows.map((r, i) => {
          if (pred.isThreat[i]) threats++;
          return [
            ...r.map((v) => (v === null ? "" : String(v))),
            pred.labels[i],
            pred.probability[i]!.toPrecision(8),
          ];
        });
        const text = stringify(records, {
          header: true,
          columns: [...table.header, "prediction", "probability"],
        });
        // stdout is written synchronously so that --json's object really is the last line
        if (o.output) writeFileSync(resolve(o.output), text);
        else process.stdout.write(text);
        ctx.say(
          `${rows.length} rows scored with ${p.manifest.model} (${p.version}); ${threats} threat(s) at threshold ${p.manifest.threshold.toFixed(4)}${o.output ? ` → ${o.output}` : ""}`,
        );
        ctx.result({
          ok: true,
          model: p.manifest.model,
          bundle: dir,
          rows: rows.length,
          threats,
          threshold: p.manifest.threshold,
          output: o.output ? resolve(o.output) : null,
        });
        return 0;
      }),
    );
}
