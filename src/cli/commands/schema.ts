import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { NetsecError } from "../../core/errors.ts";
import { fmt, inferSchema } from "../../datasets/infer.ts";
import { renderInferredSchema } from "../../datasets/infer-yaml.ts";
import type { FileFormat } from "../../datasets/readers.ts";
import { parseSchema } from "../../datasets/schema.ts";
import { runCommand } from "../context.ts";

interface InferOpts {
  target?: string;
  benign?: string[];
  out?: string;
  name?: string;
  sampleRows?: string;
  format?: FileFormat;
  force?: boolean;
  json?: boolean;
}

export function registerSchema(program: Command): void {
  const sc = program.command("schema").description("dataset schemas: infer one from a data file");

  sc.command("infer")
    .description(
      "read a data file (csv, tsv, jsonl, arff) and write a schema YAML to edit: types, categorical vs numeric, ranges, the label column, benign labels, a category column; header names are trimmed and repeated ones renamed X_2, X_3… as the readers do",
    )
    .argument("<file>", "the data file")
    .option(
      "--target <column>",
      "the label column (default: a column named label, class, result, attack_cat…)",
    )
    .option(
      "--benign <value...>",
      "label values that are benign (default: BENIGN/normal/…, or 0 of a 0/1 label)",
    )
    .option("--out <file>", "where to write the YAML (default ./<name>.yaml; - for stdout)")
    .option("--name <name>", "dataset name (default: from the file name)")
    .option("--sample-rows <n>", "read only the first n data rows (default: the whole file)")
    .option("--format <fmt>", "override the format guessed from the extension (csv|tsv|jsonl|arff)")
    .option("--force", "overwrite --out if it exists")
    .option("--json", "print a machine-readable summary as the last line")
    .action((file: string, o: InferOpts) =>
      runCommand(o, async (ctx) => {
        let sampleRows: number | undefined;
        if (o.sampleRows !== undefined) {
          sampleRows = Number(o.sampleRows);
          if (!Number.isInteger(sampleRows) || sampleRows < 1)
            throw new NetsecError(
              "CONFIG_INVALID",
              `--sample-rows ${o.sampleRows}: give a positive integer`,
              {
                value: o.sampleRows,
              },
            );
        }
        const path = resolve(file);
        const meter = ctx.meter(`${file}: read`, "rows");
        const inf = await inferSchema(path, {
          ...(o.target !== undefined ? { target: o.target } : {}),
          ...(o.benign ? { benign: o.benign } : {}),
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(sampleRows !== undefined ? { sampleRows } : {}),
          ...(o.format ? { format: o.format } : {}),
          onProgress: (rows) =>
            meter ? meter.update(rows) : ctx.progress(`${file}: ${fmt(rows)} rows read`),
        });
        const yaml = renderInferredSchema(inf);
        // what we write must load: a failure here is our bug, reported as such
        parseSchema(yaml, "(inferred)");
        const out = o.out ?? `${inf.schema.name}.yaml`;
        if (out === "-") process.stdout.write(yaml);
        else {
          if (existsSync(out) && !o.force)
            throw new NetsecError(
              "CONFLICT",
              `${out} exists; give --force to overwrite it or --out another file`,
              {
                file: out,
              },
            );
          writeFileSync(out, yaml);
        }
        const say = out === "-" ? (l: string) => ctx.note(l) : (l: string) => ctx.say(l);
        const types = new Map<string, number>();
        for (const c of inf.columns) types.set(c.spec.type, (types.get(c.spec.type) ?? 0) + 1);
        say(
          `${file}: ${fmt(inf.rows)} rows${inf.sampled ? " (a sample)" : ""}, ${inf.columns.length} columns (${[...types].map(([t, n]) => `${n} ${t}`).join(", ")})`,
        );
        say(
          `label column ${inf.schema.target} (${inf.targetWhy}); benign ${inf.schema.labels.benign!.join(", ")} (${inf.benignWhy})`,
        );
        if (inf.schema.labels.category_column !== undefined)
          say(`category column ${inf.schema.labels.category_column} (role metadata, labels.category_column)`);
        if (inf.trimmed.length)
          say(
            `${inf.trimmed.length} header name(s) had spaces around them and are used trimmed (as every reader does): ${inf.trimmed.map((t) => JSON.stringify(t.header)).join(", ")}`,
          );
        for (const r of inf.renamed)
          say(
            `header column ${r.column} repeats ${JSON.stringify(r.name)}: renamed ${r.as} (the readers rename it the same way)`,
          );
        for (const c of inf.columns) {
          if (c.profile.infinite > 0)
            say(
              `${c.spec.name}: ${fmt(c.profile.infinite)} infinite value(s), read as missing (infinity: missing)`,
            );
          if (c.spec.type === "categorical" && c.spec.role !== "target" && (c.spec.values?.length ?? 0) > 100)
            say(`${c.spec.name}: categorical with ${fmt(c.spec.values!.length)} values, all listed`);
          if (c.spec.role === "id") say(`${c.spec.name}: identifier-like, role id (not a feature)`);
        }
        for (const n of inf.notes) say(`check: ${n}`);
        if (out !== "-")
          say(`wrote ${out}; next: netsec ingest --schema ${shellWord(out)} --file ${shellWord(file)}`);
        ctx.result({
          ok: true,
          out: out === "-" ? null : resolve(out),
          name: inf.schema.name,
          rows: inf.rows,
          sampled: inf.sampled,
          target: inf.schema.target,
          benign: inf.schema.labels.benign,
          category_column: inf.schema.labels.category_column ?? null,
          infinity: inf.schema.infinity ?? null,
          trimmed: inf.trimmed,
          renamed: inf.renamed,
          notes: inf.notes,
          columns: inf.columns.map((c) => ({
            name: c.spec.name,
            type: c.spec.type,
            role: c.spec.role,
            values: c.spec.values?.length ?? null,
            distinct: c.profile.overflow ? null : c.profile.distinct.size,
            missing: c.profile.missing,
            infinite: c.profile.infinite,
            min: c.profile.min <= c.profile.max ? c.profile.min : null,
            max: c.profile.min <= c.profile.max ? c.profile.max : null,
          })),
        });
        return 0;
      }),
    );
}

/** A path as one shell word (single-quoted when it holds anything but plain characters). */
function shellWord(s: string): string {
  return /^[\w./+-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}
