/** Wiring shared by CLI commands: resolving schemas and stores from options and config. */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { homeLayout } from "../config/home.ts";
import { NetsecError } from "../core/errors.ts";
import { getDataset, schemaPaths } from "../datasets/registry.ts";
import { type DatasetSchema, loadSchemaFile } from "../datasets/schema.ts";
import { openStore, storeOptionsFrom } from "../store/open.ts";
import type { RecordStore } from "../store/types.ts";
import type { Ctx } from "./context.ts";

/**
 * The schema named by `--dataset` or given by `--schema <yaml>`. A schema file given for a dataset
 * that is not built in is registered under $NETSEC_HOME/datasets so later commands know it by name.
 */
export function resolveSchema(ctx: Ctx, o: { dataset?: string; schema?: string }): DatasetSchema {
  if (o.schema) {
    const s = loadSchemaFile(resolve(o.schema));
    if (o.dataset && o.dataset !== s.name) {
      throw new NetsecError(
        "CONFIG_INVALID",
        `--dataset ${o.dataset} but the schema ${o.schema} names dataset ${s.name}`,
        {
          value: o.dataset,
        },
      );
    }
    const known = schemaPaths(ctx.config.home).get(s.name);
    const layout = homeLayout(ctx.config.home);
    const userDir = layout.userSchemas;
    const target = layout.userSchema(s.name);
    if (known && !known.startsWith(userDir)) {
      if (readFileSync(known, "utf8") !== readFileSync(resolve(o.schema), "utf8")) {
        ctx.say(
          `note: ${s.name} is a built-in dataset; using the schema file ${o.schema} for this command only`,
        );
      }
    } else if (
      !existsSync(target) ||
      readFileSync(target, "utf8") !== readFileSync(resolve(o.schema), "utf8")
    ) {
      mkdirSync(userDir, { recursive: true });
      copyFileSync(resolve(o.schema), target);
      ctx.say(`registered schema ${s.name} in ${target}`);
    }
    return s;
  }
  if (!o.dataset) {
    throw new NetsecError("CONFIG_INVALID", "give --dataset <name> or --schema <file.yaml>", {});
  }
  return getDataset(o.dataset, ctx.config.home);
}

export async function withStore<T>(
  ctx: Ctx,
  uri: string | undefined,
  fn: (store: RecordStore) => Promise<T>,
): Promise<T> {
  const store = openStore(uri ?? ctx.config.storeUri, storeOptionsFrom(ctx.config));
  await store.open();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
