/** `netsec models pull <name>@champion|<name>@<version>`: a model version from the bucket of NETSEC_S3_URI. */
import type { Command } from "commander";
import { pullModel } from "../../tracking/s3-sync.ts";
import { runCommand } from "../context.ts";
import { requireS3 } from "./runs-s3.ts";

export function registerModels(program: Command): void {
  const models = program.command("models").description("registered models in S3-compatible storage");
  models
    .command("pull")
    .description(
      "install a model version from the bucket of NETSEC_S3_URI into the local registry (@champion also makes it the local champion)",
    )
    .argument("<ref>", "<name>@champion or <name>@<version>")
    .option("--json", "print a machine-readable summary as the last line")
    .action((ref: string, o: { json?: boolean }) =>
      runCommand(o, async (ctx) => {
        const bucket = requireS3(ctx.config, "models pull");
        const r = await pullModel(bucket, ctx.config, ref);
        ctx.say(
          `${ref}: ${r.files ? `${r.files} files from ${bucket.shownUri}/models/${r.name}/${r.remote_version}` : "already here"} → local ${r.name} version ${r.local_version}${r.champion ? " (champion)" : ""}`,
        );
        ctx.result({ ok: true, ...r });
        return 0;
      }),
    );
}
