import { resolve } from "node:path";
import type { Command } from "commander";
import { NetsecError } from "../../core/errors.ts";
import { migrateSqlite } from "../../store/migrate.ts";
import { isSqliteFile, openStore } from "../../store/open.ts";
import { runCommand } from "../context.ts";

interface MigrateOpts {
  from: string;
  to?: string;
  json?: boolean;
}

export function registerStore(program: Command): void {
  const st = program.command("store").description("the record store: migrate a retired SQLite store");

  st.command("migrate")
    .description(
      "copy every record and source entry of a SQLite record store (netsec before DuckDB) into the record store; idempotent: re-running adds nothing",
    )
    .requiredOption("--from <uri>", "the SQLite store: sqlite:<path> (e.g. sqlite:$NETSEC_HOME/store.db)")
    .option("--to <uri>", "the store to copy into (default NETSEC_STORE_URI or duckdb under NETSEC_HOME)")
    .option("--json", "print a machine-readable summary ({records, added, …}) as the last line")
    .action((o: MigrateOpts) =>
      runCommand(o, async (ctx) => {
        const path = resolve(o.from.startsWith("sqlite:") ? o.from.slice("sqlite:".length) : o.from);
        if (!isSqliteFile(path))
          throw new NetsecError("FILE_UNREADABLE", `--from ${o.from}: ${path} is not a SQLite database`, {
            file: path,
          });
        const store = openStore(o.to ?? ctx.config.storeUri, {
          waitSeconds: ctx.config.NETSEC_STORE_WAIT_SECONDS,
          migrating: true,
        });
        await store.open();
        let r: Awaited<ReturnType<typeof migrateSqlite>>;
        try {
          ctx.say(`copying ${path} into ${store.location}`);
          r = await migrateSqlite(path, store, (done, total) =>
            ctx.progress(`${done}/${total} records copied`),
          );
        } finally {
          await store.close();
        }
        ctx.say(
          `${r.records} record(s) of ${r.sources} source(s) read, ${r.added} added to ${r.to}; the SQLite file is unchanged (remove it when you no longer need it)`,
        );
        ctx.result({ ok: true, ...r });
        return 0;
      }),
    );
}
