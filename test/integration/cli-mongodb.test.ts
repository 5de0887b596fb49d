/** The foundation through the real CLI with the MongoDB record store on a real FerretDB server. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { PHISHING_CSV, tempDir, writeFile } from "../helpers/env.ts";

const uri = process.env.NETSEC_TEST_MONGODB_URI;
if (!uri)
  throw new Error("NETSEC_TEST_MONGODB_URI is not set: the integration global set-up starts FerretDB");
const tmp = tempDir();
afterAll(tmp.cleanup);
const db = `netsec_cli_${Date.now().toString(36)}`;
const env = { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_STORE_URI: `${uri}${db}` };

// Each CLI run talks to a real FerretDB (MongoDB over SQLite), which is slow under CI's shared load: a
// generous per-test limit, and the ETL's two halves in tests of their own.
describe("netsec CLI with NETSEC_STORE_URI=mongodb://… (FerretDB)", { timeout: 240_000 }, () => {
  it("ingesting phishing twice leaves exactly 11,055 records", () => {
    const a = runCli(["ingest", "--dataset", "phishing", "--json"], env);
    expect(a.code, a.stderr).toBe(0);
    expect(a.json).toMatchObject({ added: 11055, total: 11055 });
    const b = runCli(["ingest", "--dataset", "phishing", "--json"], env);
    expect(b.json).toMatchObject({ added: 0, total: 11055 });
  });

  it("validate reads the records back from MongoDB and passes", () => {
    const v = runCli(["validate", "--dataset", "phishing", "--json", "--out", join(tmp.dir, "v")], env);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json).toMatchObject({ passed: true, rows: 11055 });
    const rep = JSON.parse(readFileSync(join(tmp.dir, "v", "validation.json"), "utf8"));
    expect(rep.labels).toEqual({ "1": 6157, "-1": 4898 });
  });

  it("push (the original ETL) is idempotent", () => {
    const p1 = runCli(
      ["push", PHISHING_CSV, "--to", uri, "--db", db, "--collection", "network_data", "--json"],
      env,
    );
    expect(p1.code, p1.stderr).toBe(0);
    expect(p1.json).toMatchObject({ added: 11055, total: 11055 });
    const p2 = runCli(
      ["push", PHISHING_CSV, "--to", uri, "--db", db, "--collection", "network_data", "--json"],
      env,
    );
    expect(p2.json).toMatchObject({ added: 0, total: 11055 });
  });

  it("ingest --mongodb reads the pushed collection, idempotently", () => {
    const embeddedEnv = { NETSEC_HOME: join(tmp.dir, "home2"), NETSEC_STORE_URI: "" };
    const i1 = runCli(
      [
        "ingest",
        "--dataset",
        "phishing",
        "--mongodb",
        uri,
        "--db",
        db,
        "--collection",
        "network_data",
        "--json",
      ],
      embeddedEnv,
    );
    expect(i1.code, i1.stderr).toBe(0);
    expect(i1.json).toMatchObject({ added: 11055, total: 11055 });
    const i2 = runCli(
      [
        "ingest",
        "--dataset",
        "phishing",
        "--mongodb",
        uri,
        "--db",
        db,
        "--collection",
        "network_data",
        "--json",
      ],
      embeddedEnv,
    );
    expect(i2.json).toMatchObject({ added: 0, total: 11055 });
  });

  it("an unreachable MongoDB is one clear error without the password, and exit code 1", () => {
    const r = runCli(["ingest", "--dataset", "phishing", "--json"], {
      ...env,
      NETSEC_STORE_URI: "mongodb://bob:hunter2@127.0.0.1:1/x?serverSelectionTimeoutMS=500",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /STORE_UNAVAILABLE.*cannot reach MongoDB at mongodb:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:1/,
    );
    expect(r.stderr + r.stdout).not.toMatch(/hunter2/);
  });

  it("a bad file leaves the MongoDB store unchanged", () => {
    const lines = readFileSync(PHISHING_CSV, "utf8").split("\n");
    lines[20] = lines[20]!.replace(/^-?1,/, "oops,");
    const bad = writeFile(tmp.dir, "bad.csv", lines.join("\n"));
    const r = runCli(["ingest", "--dataset", "phishing", "--file", bad, "--json"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.csv, row 20, column having_IP_Address: "oops" not a number/);
    const v = runCli(["validate", "--dataset", "phishing", "--json", "--out", join(tmp.dir, "v2")], env);
    expect(v.json).toMatchObject({ rows: 11055 });
  });
});
