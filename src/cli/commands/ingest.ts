import { resolve } from "node:path";
import type { Command } from "commander";
import { NetsecError, redactUri } from "../../core/errors.ts";
import { type IngestResult, ingestDocuments, ingestFile } from "../../datasets/ingest.ts";
import { parseFileFormat } from "../../datasets/readers.ts";
import { fetchDataset } from "../../datasets/registry.ts";
import { readCollection } from "../../store/mongo-source.ts";
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
    .option("--format <fmt>", "override the format guessed from the extension (csv|tsv|jsonl|arff|txt)")
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
          const common = {
            onProgress: (m: string) => ctx.progress(m),
            ...(o.allowUnknownColumns ? { allowUnknownColumns: true } : {}),
          };
          if (o.mongodb !== undefined) {
            const uri = o.mongodb || ctx.config.MONGODB_URI;
            if (!uri) throw new NetsecError("CONFIG_INVALID", "--mongodb needs a URI (or MONGODB_URI)", {});
            const db = o.db ?? ctx.config.MONGODB_DB;
            const coll = o.collection ?? ctx.config.MONGODB_COLLECTION;
            const location = `${redactUri(uri)} ${db}.${coll}`;
            results.push(
              await ingestDocuments(
                store,
                schema,
                {
                  source: `mongo:${db}.${coll}`,
                  location,
                  name: coll,
                  batches: () => readCollection(uri, db, coll, 2000),
                },
                common,
              ),
            );
          } else if (o.file?.length) {
            for (const f of o.file) {
              results.push(
                await ingestFile(
                  store,
                  schema,
                  { path: resolve(f) },
                  { ...common, ...(format ? { format } : {}) },
                ),
              );
            }
          } else {
            const splitName = o.split ?? schema.raw.default_split;
            let names: string[];
            if (o.allFiles || !splitName) {
              names = schema.raw.files.filter((f) => f.format !== "zip").map((f) => f.name);
            } else {
              const sp = schema.raw.splits[splitName];
              if (!sp) {
                throw new NetsecError(
                  "CONFIG_INVALID",
                  `dataset ${schema.name} has no split ${JSON.stringify(splitName)}; splits: ${Object.keys(schema.raw.splits).join(", ")}`,
                  {
                    value: splitName,
                  },
                );
              }
              names = [...sp.train, ...(sp.test ?? [])];
            }
            if (names.length === 0) {
              throw new NetsecError(
                "CONFIG_INVALID",
                `dataset ${schema.name} lists no files; give --file`,
                {},
              );
            }
            const files = await fetchDataset(
              schema,
              {
                home: ctx.config.home,
                mirror: ctx.config.NETSEC_DATASET_MIRROR,
                onProgress: (m) => ctx.progress(m),
              },
              names,
            );
            for (const f of files) {
              results.push(
                await ingestFile(store, schema, f.ref, {
                  ...common,
                  sha256: f.sha256,
                  ...(f.format !== "zip" ? { format: f.format } : {}),
                }),
              );
            }
          }
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
