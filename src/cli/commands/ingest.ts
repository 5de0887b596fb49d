import { resolve } from "node:path";
import type { Command } from "commander";
import { NetsecError } from "../../core/errors.ts";
import type { IngestResult } from "../../datasets/ingest.ts";
import { parseFileFormat } from "../../datasets/readers.ts";
import { isCapture } from "../../flows/capture-input.ts";
import {
  datasetFileNames,
  datasetSources,
  type IngestSource,
  ingestSources,
  mongoSource,
} from "../../pipeline/steps/ingest.ts";
import { runCommand } from "../context.ts";
import { resolveSchema, withStore } from "../shared.ts";

interface IngestOpts {
  dataset?: string;
  schema?: string;
  file?: string[];
  format?: string;
  split?: string;
  allFiles?: boolean;
  mongodb?: string;
  db?: string;
  collection?: string;
  store?: string;
  allowUnknownColumns?: boolean;
  json?: boolean;
}

export function registerIngest(program: Command): void {
  program
    .command("ingest")
    .description(
      "load records into the record store (DuckDB by default, MongoDB with NETSEC_STORE_URI=mongodb://…); idempotent: re-running adds nothing",
    )
    .option("--dataset <name>", "a registry dataset; alone, ingests the files of its default split")
    .option("--schema <file>", "a dataset schema YAML (for data that is not built in)")
    .option(
      "--file <path...>",
      "data file(s): .csv .tsv .jsonl .arff, or headerless .txt in schema column order",
    )
    .option(
      "--format <fmt>",
      "override the format guessed from the extension (csv|tsv|jsonl|arff|txt|parquet|zeek)",
    )
    .option("--split <name>", "with --dataset alone: ingest this split's files")
    .option("--all-files", "with --dataset alone: ingest every data file of the dataset")
    .option("--mongodb <uri>", "read documents from a MongoDB collection (default MONGODB_URI)")
    .option("--db <name>", "database of --mongodb (default MONGODB_DB)")
    .option("--collection <name>", "collection of --mongodb (default MONGODB_COLLECTION)")
    .option("--store <uri>", "record store URI (default NETSEC_STORE_URI or duckdb under NETSEC_HOME)")
    .option("--allow-unknown-columns", "ignore columns the schema does not declare")
    .option("--json", "print a machine-readable summary ({added, total, …}) as the last line")
    .action((o: IngestOpts) =>
      runCommand(o, async (ctx) => {
        const format = parseFileFormat(o.format);
        const schema = resolveSchema(ctx, o);
        const results: IngestResult[] = [];
        await withStore(ctx, o.store, async (store) => {
          ctx.say(`record store: ${store.location}`);
          let sources: IngestSource[];
          if (o.mongodb !== undefined) {
            const m = mongoSource(
              { uri: o.mongodb || undefined, db: o.db, collection: o.collection },
              ctx.config,
              () => new NetsecError("CONFIG_INVALID", "--mongodb needs a URI (or MONGODB_URI)", {}),
            );
            sources = [{ kind: "mongodb", ...m, role: "train", name: m.collection }];
          } else if (o.file?.length) {
            for (const f of o.file)
              if (isCapture(resolve(f)))
                throw new NetsecError(
                  "FILE_UNREADABLE",
                  `${f} is a packet capture, not a table of records: make flow records with \`netsec flows ${f} --out flows.csv\` (then label them to train), or score it with \`netsec predict --input ${f}\``,
                  { file: f },
                );
            sources = o.file.map((f) => ({
              kind: "file",
              ref: { path: resolve(f) },
              ...(format ? { format } : {}),
              role: "train",
              name: f,
            }));
          } else {
            const names = datasetFileNames(schema, o.split ?? schema.raw.default_split, Boolean(o.allFiles));
            sources = await datasetSources(schema, names, ctx.config, { onProgress: (m) => ctx.progress(m) });
          }
          // with meters on, a file's rows/s and ETA replace its per-batch "rows stored" lines
          results.push(
            ...(await ingestSources(store, schema, sources, {
              ...(o.allowUnknownColumns ? { allowUnknownColumns: true } : {}),
              ...(ctx.metersOn
                ? {
                    onRows: (name) => {
                      const meter = ctx.meter(`${name}: stored`, "rows");
                      return meter ? (done, total) => meter.update(done, total) : undefined;
                    },
                  }
                : { onProgress: (m) => ctx.progress(m) }),
            })),
          );
        });
        for (const r of results) {
          ctx.say(
            `${r.location}: ${r.rows} rows, ${r.added} added${r.warnings ? `, ${r.warnings} value(s) outside the schema (see \`netsec validate\`)` : ""} (${r.seconds.toFixed(1)} s)`,
          );
        }
        const added = results.reduce((a, r) => a + r.added, 0);
        const total = results.at(-1)?.total ?? 0;
        ctx.say(`${schema.name}: ${added} record(s) added, ${total} in the store`);
        ctx.result({
          ok: true,
          dataset: schema.name,
          added,
          total,
          sources: results.map((r) => ({
            source: r.source,
            location: r.location,
            rows: r.rows,
            added: r.added,
            warnings: r.warnings,
          })),
        });
        return 0;
      }),
    );
}
