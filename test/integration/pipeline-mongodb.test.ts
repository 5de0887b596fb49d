/**
 * `netsec train` with `source.kind: mongodb` on a real FerretDB server: the collection is pushed with
 * `netsec push` (the original's ETL), read into the (SQLite) record store by the pipeline, and trained on.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { PHISHING_CSV, tempDir, writeFile } from "../helpers/env.ts";
import { parquetRows } from "../helpers/parquet.ts";

const uri = process.env.NETSEC_TEST_MONGODB_URI;
if (!uri)
  throw new Error("NETSEC_TEST_MONGODB_URI is not set: the integration global set-up starts FerretDB");
const tmp = tempDir("netsec-pipeline-mongo-");
afterAll(tmp.cleanup);
const db = `netsec_train_${Date.now().toString(36)}`;
const collection = "phishing_small";

describe("netsec train with source.kind mongodb (FerretDB)", { timeout: 240_000 }, () => {
  it("reads the pushed collection, trains on it and names the collection in the run record", async () => {
    const lines = readFileSync(PHISHING_CSV, "utf8").trim().split("\n");
    const small = writeFile(tmp.dir, "small.csv", `${lines.slice(0, 1501).join("\n")}\n`);
    const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: "" };
    const push = runCli(["push", small, "--to", uri, "--db", db, "--collection", collection, "--json"], env);
    expect(push.code, push.stderr).toBe(0);
    expect(push.json).toMatchObject({ added: 1500, total: 1500 });
    // the URI from the environment (MONGODB_URI), database and collection from the pipeline config
    const cfg = writeFile(
      tmp.dir,
      "mongo.yaml",
      [
        "dataset: phishing",
        `source: { kind: mongodb, mongodb: { db: ${db}, collection: ${collection} } }`,
        "models: [logistic_regression, decision_tree]",
        "gates: { max_train_cv_gap: 1 }",
      ].join("\n"),
    );
    const r = runCli(["train", "--config", cfg, "--json"], { ...env, MONGODB_URI: uri });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ status: "FINISHED", champion: true });
    const show = runCli(["runs", "show", String(r.json!.run_id), "--json"], env);
    const run = show.json!.run as {
      sources: { source: string; location: string; rows: number; role: string }[];
    };
    expect(run.sources).toEqual([
      {
        source: `mongo:${db}.${collection}`,
        location: expect.stringContaining(` ${db}.${collection}`),
        rows: 1500,
        role: "train",
      },
    ]);
    // every pushed row was read: the run's train and test snapshots hold 1,500 rows together
    const a = String(r.json!.artifacts);
    const count = async (f: string) => (await parquetRows(join(a, "data_ingestion/ingested", f))).length;
    expect((await count("train.parquet")) + (await count("test.parquet"))).toBe(1500);
  });
});
