import { resolve } from "node:path";
import type { Command } from "commander";
import { NetsecError, redactUri } from "../../core/errors.ts";
import { parseNumber } from "../../datasets/coerce.ts";
import { fileRecordId } from "../../datasets/ingest.ts";
import {
  checkHeaderAgainstSchema,
  headerError,
  typedBatches,
  typeProblemsError,
} from "../../datasets/load.ts";
import { parseFileFormat, readTable } from "../../datasets/readers.ts";
import { sha256OfRef } from "../../datasets/registry.ts";
import type { DatasetSchema } from "../../datasets/schema.ts";
import { pushToCollection } from "../../store/mongo-source.ts";
import type { RecordData } from "../../store/types.ts";
import { runCommand } from "../context.ts";
import { resolveSchema } from "../shared.ts";

interface PushOpts {
  to?: string;
  db?: string;
  collection?: string;
  dataset?: string;
  schema?: string;
  format?: string;
  json?: boolean;
}

export function registerPush(program: Command): void {
  program
    .command("push")
    .description(
      "push a data file into a MongoDB collection, one document per row (the original project's ETL, made idempotent: _id = file SHA-256 + row)",
    )
    .argument("<file>", "data file (.csv .tsv .jsonl .arff, or headerless .txt with --dataset/--schema)")
    .option("--to <uri>", "MongoDB URI (default MONGODB_URI)")
    .option("--db <name>", "database (default MONGODB_DB)")
    .option("--collection <name>", "collection (default MONGODB_COLLECTION)")
    .option("--dataset <name>", "type and check values with this dataset's schema")
    .option("--schema <file>", "type and check values with this schema file")
    .option(
      "--format <fmt>",
      "override the format guessed from the extension (csv|tsv|jsonl|arff|txt|parquet|zeek)",
    )
    .option("--json", "print a machine-readable summary ({added, total}) as the last line")
    .action((file: string, o: PushOpts) =>
      runCommand(o, async (ctx) => {
        const format = parseFileFormat(o.format);
        const uri = o.to ?? ctx.config.MONGODB_URI;
        if (!uri) throw new NetsecError("CONFIG_INVALID", "push needs --to <mongodb uri> or MONGODB_URI", {});
        const db = o.db ?? ctx.config.MONGODB_DB;
        const coll = o.collection ?? ctx.config.MONGODB_COLLECTION;
        const schema = o.dataset || o.schema ? resolveSchema(ctx, o) : undefined;
        const ref = { path: resolve(file) };
        const { sha256 } = await sha256OfRef(ref);
        const readOpts = {
          ...(schema ? { schema } : {}),
          ...(format ? { format } : {}),
          batchSize: 2000,
        };
        if (schema) await checkFile(ref, schema, readOpts);
        const table = await readTable(ref, readOpts);
        const batches = schema ? typedDocs(table, schema, sha256) : untypedDocs(table, sha256);
        const r = await pushToCollection(uri, db, coll, batches);
        ctx.say(
          `${file} → ${redactUri(uri)} ${db}.${coll}: ${r.added} document(s) added, ${r.total} in the collection`,
        );
        ctx.result({
          ok: true,
          file: ref.path,
          sha256,
          db,
          collection: coll,
          added: r.added,
          total: r.total,
        });
        return 0;
      }),
    );
}

async function checkFile(
  ref: { path: string },
  schema: DatasetSchema,
  readOpts: Parameters<typeof readTable>[1],
): Promise<void> {
  const t = await readTable(ref, readOpts);
  const hc = checkHeaderAgainstSchema(t.header, schema, true);
  if (hc.missing.length || hc.unknown.length) throw headerError(t.label, hc, schema);
  const bad = [];
  let count = 0;
  for await (const b of typedBatches(t, schema, hc)) {
    for (const p of b.problems) {
      if (p.kind === "type" || p.kind === "not_integer") {
        count++;
        if (bad.length < 100) bad.push(p);
      }
    }
  }
  if (count) throw typeProblemsError(t.label, bad, count);
}

async function* typedDocs(
  table: Awaited<ReturnType<typeof readTable>>,
  schema: DatasetSchema,
  sha: string,
): AsyncGenerator<{ id: string; data: RecordData }[]> {
  const hc = checkHeaderAgainstSchema(table.header, schema, true);
  for await (const b of typedBatches(table, schema, hc)) {
    yield b.rows.map((data, i) => ({ id: fileRecordId(sha, b.firstRow + i), data: data as RecordData }));
  }
}

async function* untypedDocs(
  table: Awaited<ReturnType<typeof readTable>>,
  sha: string,
): AsyncGenerator<{ id: string; data: RecordData }[]> {
  for await (const b of table.batches) {
    yield b.rows.map((row, i) => {
      const data: RecordData = {};
      table.header.forEach((h, j) => {
        const v = row[j];
        if (v === null || v === undefined) data[h] = null;
        else if (typeof v === "string") data[h] = parseNumber(v) ?? v;
        else if (typeof v === "boolean") data[h] = v ? 1 : 0;
        else data[h] = v;
      });
      return { id: fileRecordId(sha, b.firstRow + i), data };
    });
  }
}
