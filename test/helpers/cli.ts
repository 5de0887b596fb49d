/** Run the real CLI in a child process (the project's Node 24), with a private NETSEC_HOME. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { MIRROR, ROOT } from "./env.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (when --json was given). */
  json: Record<string, unknown> | undefined;
}

export function runCli(args: string[], env: Record<string, string | undefined> = {}, cwd = ROOT): CliResult {
  const r = spawnSync(process.execPath, [join(ROOT, "src/cli/main.ts"), ...args], {
    cwd,
    env: { ...process.env, NETSEC_DATASET_MIRROR: MIRROR, NETSEC_LOG_LEVEL: "warn", ...env },
    encoding: "utf8",
    timeout: 300_000,
  });
  const lines = (r.stdout ?? "").trim().split("\n");
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(lines.at(-1) ?? "") as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "", json };
}

/** A quick phishing champion (a 20-tree forest, ~8 s): `netsec train … --json` in the given env. */
export function trainQuickForest(env: Record<string, string | undefined>): CliResult {
  return runCli(
    [
      "train",
      "--dataset",
      "phishing",
      "--models",
      "random_forest",
      "--params",
      '{"n_estimators":20}',
      "--json",
    ],
    env,
  );
}
