/**
 * The phishing champion the stream benchmarks score with: `netsec train --dataset phishing --models
 * random_forest --params '{"n_estimators":100}'` into `home`, in a child process (its threads and memory
 * are gone before the measuring starts). Throws with the child's stderr when it fails.
 */
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

export function trainPhishingForest(
  home: string,
  env: NodeJS.ProcessEnv,
  root = resolve(import.meta.dirname, ".."),
): void {
  const trained = spawnSync(
    process.execPath,
    [
      join(root, "src/cli/main.ts"),
      "train",
      "--dataset",
      "phishing",
      "--models",
      "random_forest",
      "--params",
      '{"n_estimators":100}',
    ],
    { env: { ...env, NETSEC_HOME: home }, encoding: "utf8" },
  );
  if (trained.status !== 0) throw new Error(`netsec train failed:\n${trained.stderr}`);
}
