import type { Command } from "commander";
import { fetchDataset, getDataset, scanDatasets, schemaPaths } from "../../datasets/registry.ts";
import { runCommand } from "../context.ts";

export function registerDatasets(program: Command): void {
  const ds = program
    .command("datasets")
    .description("the dataset registry: built-in schemas, canonical files, SHA-256, cache and mirror");

  ds.command("list")
    .description("list known datasets (built-in and $NETSEC_HOME/datasets/*.yaml)")
    .option("--json", "print a machine-readable summary as the last line")
    .action((o: { json?: boolean }) =>
      runCommand(o, async (ctx) => {
        const paths = schemaPaths(ctx.config.home);
        const { schemas, invalid } = scanDatasets(ctx.config.home);
        const list = schemas.map((s) => ({
          name: s.name,
          title: s.raw.title,
          schema: paths.get(s.name),
          target: s.target.name,
          features: s.features.length,
          files: s.raw.files.map((f) => ({
            name: f.name,
            url: f.url ?? null,
            member_of: f.member_of ?? null,
            sha256: f.sha256,
            rows: f.rows ?? null,
          })),
          splits: Object.keys(s.raw.splits),
        }));
        for (const d of list) {
          ctx.say(
            `${d.name.padEnd(12)} ${d.title} — ${d.features} features, target ${d.target}, ${d.files.length} file(s), splits: ${d.splits.join(", ")}`,
          );
        }
        // a schema that does not load is listed with its reason; the others stay usable
        for (const d of invalid)
          ctx.say(`${d.name.padEnd(12)} INVALID — ${d.reason.split("\n")[0]} (fix or remove ${d.file})`);
        ctx.result({ ok: true, datasets: list, invalid });
        return 0;
      }),
    );

  ds.command("fetch")
    .description(
      "resolve every file of a dataset (cache, then NETSEC_DATASET_MIRROR, then the canonical URL) and verify SHA-256",
    )
    .argument("<name>", "dataset name, e.g. phishing or nsl-kdd")
    .option("--file <name...>", "only these files")
    .option("--offline", "never download")
    .option("--json", "print a machine-readable summary as the last line")
    .action((name: string, o: { json?: boolean; file?: string[]; offline?: boolean }) =>
      runCommand(o, async (ctx) => {
        const schema = getDataset(name, ctx.config.home);
        const files = await fetchDataset(
          schema,
          {
            home: ctx.config.home,
            mirror: ctx.config.NETSEC_DATASET_MIRROR,
            offline: Boolean(o.offline),
            onProgress: (m) => ctx.progress(m),
          },
          o.file,
        );
        for (const f of files) {
          const where = f.ref.member ? `${f.ref.path}!${f.ref.member}` : f.ref.path;
          ctx.say(`${f.name.padEnd(26)} sha256 ${f.sha256.slice(0, 12)}… verified (${f.origin}) ${where}`);
        }
        ctx.result({
          ok: true,
          dataset: schema.name,
          files: files.map((f) => ({
            name: f.name,
            path: f.ref.path,
            member: f.ref.member ?? null,
            sha256: f.sha256,
            verified: true,
            origin: f.origin,
            bytes: f.bytes,
            rows: f.rows ?? null,
          })),
        });
        return 0;
      }),
    );
}
