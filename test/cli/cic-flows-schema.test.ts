/**
 * The built-in schema cic-flows: its columns are the ones `netsec flows` writes (plus `Label`), it is
 * listed with the datasets, a CIC-IDS2017-style CSV with those columns (the committed synthetic
 * fixture cic-ids2017-like.csv, made by make-flow-fixtures.ts) trains with it, and the model scores a
 * public pcap given to `netsec predict --input`, one verdict per flow, also through a pipe from
 * `netsec flows` (`--input -`), each threat flow with its top contributing features.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, describe, expect, it } from "vitest";
import { getDataset } from "../../src/datasets/registry.ts";
import { flowColumns } from "../../src/flows/extract.ts";
import { runCli } from "../helpers/cli.ts";
import { MIRROR, ROOT, tempDir } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home") };

describe("built-in schema cic-flows", () => {
  it("declares exactly the columns netsec flows computes, then Label; identities are not features", () => {
    const s = getDataset("cic-flows", tmp.dir);
    expect(s.columnNames).toEqual([...flowColumns("cic"), "Label"]);
    const notFeatures = s.columns.filter((c) => c.role !== "feature").map((c) => c.name);
    expect(notFeatures).toEqual([
      "Flow ID",
      "Source IP",
      "Source Port",
      "Destination IP",
      "Timestamp",
      "Label",
    ]);
    expect(s.isThreat("BENIGN")).toBe(false);
    expect(s.isThreat("PortScan")).toBe(true);
  });

  it("is listed, trains on CIC-IDS2017-style rows and scores a pcap one verdict per flow", () => {
    const list = runCli(["datasets", "list"], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^cic-flows +CIC-IDS2017-style flow records/m);
    const train = join(import.meta.dirname, "../datasets/fixtures/cic-ids2017-like.csv");
    const tr = runCli(
      [
        "train",
        "--dataset",
        "cic-flows",
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
    const scored = join(tmp.dir, "scored.csv");
    const capture = join(MIRROR, "pcap", "simple_http.pcap");
    const r = runCli(["predict", "--model", "champion", "--input", capture, "--output", scored], env);
    expect(r.code, r.stderr).toBe(0);
    const rows = parse(readFileSync(scored, "utf8"), { columns: true }) as Record<string, string>[];
    // the capture's two HTTP connections (test/golden/flows/reference.json)
    expect(rows.map((x) => [x["Source Port"], x["Destination Port"], x.Protocol])).toEqual([
      ["32784", "56789", "6"],
      ["32796", "56789", "6"],
    ]);
    for (const x of rows) {
      expect(["BENIGN", "DDoS", "PortScan"]).toContain(x.prediction); // the fixture's labels
      expect(Number(x.probability)).toBeGreaterThanOrEqual(0);
      expect(Number(x.probability)).toBeLessThanOrEqual(1);
    }
  });

  it("scores what comes on stdin: netsec flows … | netsec predict --input -, or a capture itself", () => {
    const capture = join(MIRROR, "pcap", "simple_http.pcap");
    const netsec = `"${process.execPath}" "${join(ROOT, "src/cli/main.ts")}"`;
    const sh = (cmd: string) =>
      spawnSync("sh", ["-c", cmd], {
        cwd: ROOT,
        env: { ...process.env, ...env, NETSEC_LOG_LEVEL: "warn" },
        encoding: "utf8",
      });
    const out = (name: string): string => join(tmp.dir, name);
    const piped = sh(
      `${netsec} flows "${capture}" | ${netsec} predict --model champion --input - --top-features 3 --output "${out("piped.csv")}"`,
    );
    expect(piped.status, piped.stderr).toBe(0);
    const redirected = sh(
      `${netsec} predict --model champion --input - --top-features 3 --output "${out("stdin.csv")}" < "${capture}"`,
    );
    expect(redirected.status, redirected.stderr).toBe(0);
    // without --output the CSV is all of stdout: the summary line goes to stderr
    const toStdout = sh(
      `${netsec} flows "${capture}" | ${netsec} predict --model champion --input - --top-features 3 > "${out("stdout.csv")}"`,
    );
    expect(toStdout.status, toStdout.stderr).toBe(0);
    expect(toStdout.stderr).toMatch(/2 rows scored with random_forest/);
    const byName = runCli(
      [
        "predict",
        "--model",
        "champion",
        "--input",
        capture,
        "--output",
        out("named.csv"),
        "--top-features",
        "3",
      ],
      env,
    );
    expect(byName.code, byName.stderr).toBe(0);
    // the same two flows and verdicts as when the capture is given by name
    const named = readFileSync(out("named.csv"), "utf8");
    const verdicts = parse(named, { columns: true }) as Record<string, string>[];
    expect(verdicts).toHaveLength(2);
    // each threat flow says why: three features of the flow, with their values
    for (const v of verdicts) {
      const why = v.top_features!;
      if (v.prediction === "BENIGN") expect(why).toBe("");
      else {
        const parts = why.split("; ");
        expect(parts).toHaveLength(3);
        for (const part of parts) {
          const [, name, value] = /^(.+?)=(.*) \([+-]/.exec(part)!;
          expect(v[name!]).toBe(value);
        }
      }
    }
    expect(readFileSync(out("piped.csv"), "utf8")).toBe(named);
    expect(readFileSync(out("stdin.csv"), "utf8")).toBe(named);
    expect(readFileSync(out("stdout.csv"), "utf8")).toBe(named);
  });
});
