/**
 * netsec train with hist_gradient_boosting on NSL-KDD (KDDTrain+_20Percent → every 8th row of KDDTest+,
 * with services unseen in training): by default the model splits protocol_type, service and flag as
 * category sets (its saved state reads their one-hot blocks as category features and holds category
 * nodes), and the run succeeds: the bundle step verifies the ONNX export against the model on the
 * test rows (it fails the run on any disagreement, as it did before category splits were exported).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { KDD_DIR, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir("netsec-hgbcat-");
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "", MONGODB_URI: "" };
const lines = (file: string): string[] => readFileSync(file, "utf8").trim().split("\n");
const TEST = writeFile(
  tmp.dir,
  "KDDTest-eighth.txt",
  `${lines(join(KDD_DIR, "KDDTest+.txt"))
    .filter((_, i) => i % 8 === 0)
    .join("\n")}\n`,
);

describe("netsec train: hist_gradient_boosting with native categorical splits (NSL-KDD)", () => {
  it("splits the schema's categorical columns natively and exports them to ONNX", () => {
    const r = runCli(
      [
        "train",
        "--dataset",
        "nsl-kdd",
        "--data",
        join(KDD_DIR, "KDDTrain+_20Percent.txt"),
        "--test-data",
        TEST,
        "--models",
        "hist_gradient_boosting",
        "--params",
        '{"max_iter":20}',
        "--json",
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const bundle = r.json!.bundle as string;
    const model = JSON.parse(readFileSync(join(bundle, "model.json"), "utf8"));
    expect(model.params.categorical_features ?? model.params.categoricalFeatures).toEqual([
      "protocol_type",
      "service",
      "flag",
    ]);
    expect(model.state.inputs.blockNames).toEqual(["protocol_type", "service", "flag"]);
    const categoryNodes = (model.state.trees as { categorical?: { node: number[] } }[])
      .flatMap((t) => t.categorical?.node ?? [])
      .filter((c) => c >= 0).length;
    expect(categoryNodes).toBeGreaterThan(0);
  });
});
