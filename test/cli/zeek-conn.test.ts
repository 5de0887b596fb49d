/**
 * A Zeek conn.log end to end with the built-in zeek-conn schema: train on a labelled TSV log (IoT-23's
 * `label` column), score a JSON-lines log of the same connections and the TSV log piped on stdin,
 * ingest, and a bad value named by file, row, column and value. The logs are written here: one
 * benign TLS connection shape and one scan-like shape (a lone SYN, unanswered: conn_state S0, no
 * duration or bytes).
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { ROOT, tempDir } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home") };

const FIELDS =
  "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents".split(
    " ",
  );
const TYPES =
  "time string addr port addr port enum string interval count count string bool bool count string count count count count set[string]".split(
    " ",
  );

/** Connection i: even = benign TLS session, odd = unanswered SYN to a low port (Zeek leaves unset fields "-"). */
function conn(i: number): (string | number)[] {
  const ts = 1600790600 + i + 0.5;
  return i % 2 === 0
    ? [
        ts,
        `CB${i}`,
        "10.0.0.5",
        40000 + i,
        "93.184.216.34",
        443,
        "tcp",
        "ssl",
        1.5 + i / 10,
        500 + i,
        4000 + 7 * i,
        "SF",
        "T",
        "F",
        0,
        "ShADadFf",
        8 + (i % 3),
        900 + i,
        6 + (i % 2),
        4400 + i,
        "-",
      ]
    : [
        ts,
        `CS${i}`,
        "10.0.0.66",
        50000 + i,
        `10.0.1.${i}`,
        20 + i,
        "tcp",
        "-",
        "-",
        "-",
        "-",
        "S0",
        "T",
        "T",
        0,
        "S",
        1,
        44,
        0,
        0,
        "-",
      ];
}

function tsvLog(rows: (string | number)[][], labels: string[] | null): string {
  const f = labels ? [...FIELDS, "label"] : FIELDS;
  const t = labels ? [...TYPES, "string"] : TYPES;
  return [
    "#separator \\x09",
    "#set_separator\t,",
    "#empty_field\t(empty)",
    "#unset_field\t-",
    "#path\tconn",
    "#open\t2020-09-22-16-03-43",
    `#fields\t${f.join("\t")}`,
    `#types\t${t.join("\t")}`,
    ...rows.map((r, i) => [...r, ...(labels ? [labels[i]] : [])].join("\t")),
    "#close\t2020-09-22-17-00-00",
    "",
  ].join("\n");
}

describe("netsec with Zeek conn.log (built-in schema zeek-conn)", () => {
  it("trains on a labelled TSV log, then scores a JSON-lines log one verdict per connection", () => {
    const rows = Array.from({ length: 40 }, (_, i) => conn(i));
    const train = join(tmp.dir, "conn.log");
    writeFileSync(
      train,
      tsvLog(
        rows,
        rows.map((_, i) => (i % 2 === 0 ? "Benign" : "Malicious")),
      ),
    );
    // unset fields are normal in conn.log (an S0 connection has no duration or bytes)
    const pipeline = join(tmp.dir, "pipeline.yaml");
    writeFileSync(pipeline, "validation:\n  thresholds: { max_missing_rate: 1 }\n");
    const tr = runCli(
      [
        "train",
        "--dataset",
        "zeek-conn",
        "--data",
        train,
        "--config",
        pipeline,
        "--models",
        "random_forest",
        "--params",
        '{"n_estimators":10}',
        "--json",
      ],
      env,
    );
    expect(tr.code, tr.stderr).toBe(0);

    // JSON lines as Zeek writes them with LogAscii::use_json=T: unset fields are left out
    const json = [100, 101, 102].map((i) => {
      const r = conn(i);
      const o: Record<string, unknown> = {};
      FIELDS.forEach((k, j) => {
        const v = r[j]!;
        if (v === "-") return;
        o[k] = TYPES[j] === "bool" ? v === "T" : v; // numbers stay JSON numbers
      });
      return JSON.stringify(o);
    });
    const input = join(tmp.dir, "live.log");
    writeFileSync(input, `${json.join("\n")}\n`);
    const scored = join(tmp.dir, "verdicts.csv");
    const r = runCli(["predict", "--model", "champion", "--input", input, "--output", scored], env);
    expect(r.code, r.stderr).toBe(0);
    const out = parse(readFileSync(scored, "utf8"), { columns: true }) as Record<string, string>[];
    expect(out.map((x) => x.uid)).toEqual(["CB100", "CS101", "CB102"]);
    expect(out.map((x) => x["id.resp_p"])).toEqual(["443", "121", "443"]);
    // the two shapes are apart on every feature: the forest tells them apart
    expect(out.map((x) => x.prediction)).toEqual(["benign", "attack", "benign"]);

    // the TSV log on stdin is recognised by its "#separator" line
    const netsec = `"${process.execPath}" "${join(ROOT, "src/cli/main.ts")}"`;
    const piped = spawnSync(
      "sh",
      ["-c", `${netsec} predict --model champion --input - --json < "${train}"`],
      {
        env: { ...process.env, ...env, NETSEC_LOG_LEVEL: "warn" },
        encoding: "utf8",
      },
    );
    expect(piped.status, piped.stderr).toBe(0);
    const summary = JSON.parse(piped.stdout.trim().split("\n").at(-1)!) as { rows: number; threats: number };
    expect([summary.rows, summary.threats]).toEqual([40, 20]);
  });

  it("ingests a TSV log, and names file, row, column and value of a bad count", () => {
    const rows = Array.from({ length: 4 }, (_, i) => conn(i));
    const ok = join(tmp.dir, "ok.log");
    writeFileSync(ok, tsvLog(rows, ["Benign", "Malicious", "Benign", "Malicious"]));
    const r = runCli(["ingest", "--dataset", "zeek-conn", "--file", ok, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!).added).toBe(4);

    rows[2]![9] = "lots";
    const bad = join(tmp.dir, "bad.log");
    writeFileSync(bad, tsvLog(rows, ["Benign", "Malicious", "Benign", "Malicious"]));
    const b = runCli(["ingest", "--dataset", "zeek-conn", "--file", bad], env);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toMatch(/bad\.log, row 3, column orig_bytes: "lots" not a number/);
  });
});
