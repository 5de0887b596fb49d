/**
 * The path from packets to verdicts: a model trained on CIC-IDS2017-style CSV rows (the committed
 * cic-like fixture) scores a packet capture given to `netsec predict --input`, one verdict per flow
 * with the flow's identity columns passed through.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { MIRROR, tempDir } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home") };

describe("netsec predict --input <capture>", () => {
  it("scores each flow of a pcap with a model trained on CIC-style rows", () => {
    const train = join(import.meta.dirname, "../datasets/fixtures/cic-like.csv");
    const schema = join(tmp.dir, "cic.yaml");
    expect(runCli(["schema", "infer", train, "--out", schema], env).code).toBe(0);
    // addresses identify a flow, they are not features (the fixture's 20 addresses would be its categories)
    const yaml = readFileSync(schema, "utf8").replace(
      /- \{name: Source IP, [^\n]*/,
      "- {name: Source IP, type: categorical, role: id}",
    );
    writeFileSync(schema, yaml);
    const tr = runCli(
      [
        "train",
        "--schema",
        schema,
        "--data",
        train,
        "--models",
        "random_forest",
        "--params",
        '{"n_estimators":10}',
        "--json",
      ],
      env,
    );
    expect(tr.code, tr.stderr).toBe(0);
    const capture = join(MIRROR, "pcap", "simple_http.pcap");
    const scored = join(tmp.dir, "scored.csv");
    const r = runCli(["predict", "--model", "champion", "--input", capture, "--output", scored], env);
    expect(r.code, r.stderr).toBe(0);
    const rows = parse(readFileSync(scored, "utf8"), { columns: true }) as Record<string, string>[];
    // the capture's two HTTP connections (see test/golden/flows/reference.json)
    expect(rows.map((x) => [x["Source IP"], x["Source Port"], x["Destination Port"]])).toEqual([
      ["127.0.0.1", "32784", "56789"],
      ["127.0.0.1", "32796", "56789"],
    ]);
    for (const x of rows) {
      expect(["BENIGN", "DDoS", "PortScan"]).toContain(x.prediction);
      expect(Number(x.probability)).toBeGreaterThanOrEqual(0);
      expect(x.Timestamp).toMatch(/^2024-11-27T17:45:16\.\d{6}Z$/);
    }
  });
});
