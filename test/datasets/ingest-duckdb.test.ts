/**
 * Ingest into the DuckDB store: the read_csv way and the row readers' way store the same records
 * (checked against each other and against hand-written expectations), files the row readers read
 * differently fall back to them with their errors, and reading back gives the row path's Frame.
 */
import { join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { afterAll, describe, expect, it } from "vitest";
import { NetsecError } from "../../src/core/errors.ts";
import { ingestFile } from "../../src/datasets/ingest.ts";
import { ingestFileDuckDb, statsClear } from "../../src/datasets/ingest-duckdb.ts";
import { getDataset, sha256OfRef } from "../../src/datasets/registry.ts";
import { parseSchema } from "../../src/datasets/schema.ts";
import { loadStoreFrame } from "../../src/datasets/store-frame.ts";
import { DuckDbStore } from "../../src/store/duckdb/store.ts";
import type { StoredRecord } from "../../src/store/types.ts";
import { KDD_DIR, PHISHING_CSV, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir("netsec-ingest-duckdb-");
afterAll(tmp.cleanup);
const home = join(tmp.dir, "home");

const flows = parseSchema(`
name: flows
title: flows
target: label
labels: {benign: [BENIGN]}
columns:
  - {name: n, type: integer, min: 0}
  - {name: rate, type: number, infinity: missing}
  - {name: proto, type: categorical, values: [tcp, udp]}
  - {name: label, type: categorical}
`);

async function open(): Promise<DuckDbStore> {
  const s = new DuckDbStore(":memory:");
  await s.open();
  return s;
}

async function all(store: DuckDbStore, dataset: string): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for await (const b of store.scan({ dataset })) out.push(...b);
  return out;
}

/** Ingest one file both ways; the messages say which way each went. */
async function bothWays(schema: typeof flows, path: string, format?: "csv" | "txt" | "tsv") {
  const ref = { path };
  const sha = (await sha256OfRef(ref)).sha256;
  const res = [];
  for (const rowPathOnly of [false, true]) {
    const store = await open();
    const said: string[] = [];
    const r = await ingestFileDuckDb(store, schema, ref, sha, {
      rowPathOnly,
      onProgress: (m) => said.push(m),
      ...(format ? { format } : {}),
    });
    res.push({ r, records: await all(store, schema.name), said, store });
  }
  return { fast: res[0]!, rows: res[1]! };
}

describe("DuckDB ingest: read_csv and the row readers store the same records", () => {
  it("a flow file with spaces, missing spellings, blank and CRLF lines, quotes and domain problems", async () => {
    const file = writeFile(
      tmp.dir,
      "flows.csv",
      [
        "n,rate,proto,label",
        "1,0.5,tcp,BENIGN",
        "2, 1e3 , udp ,DoS",
        "",
        '3,NA,"tcp",BENIGN\r',
        "4,nan,icmp,none",
        "5,inf,N/A,DoS",
        "-6,-Infinity,udp,BENIGN",
        '7,?,TCP," spaced "',
      ].join("\n"),
    );
    const { fast, rows } = await bothWays(flows, file);
    // hand-written: what coerce.ts makes of every cell (inf is missing under `infinity: missing`)
    expect(rows.records.map((r) => [r.row, r.data])).toEqual([
      [1, { n: 1, rate: 0.5, proto: "tcp", label: "BENIGN" }],
      [2, { n: 2, rate: 1000, proto: "udp", label: "DoS" }],
      [3, { n: 3, rate: null, proto: "tcp", label: "BENIGN" }],
      [4, { n: 4, rate: null, proto: "icmp", label: null }],
      [5, { n: 5, rate: null, proto: null, label: "DoS" }],
      [6, { n: -6, rate: null, proto: "udp", label: "BENIGN" }],
      [7, { n: 7, rate: null, proto: "TCP", label: "spaced" }],
    ]);
    // inf in a number column (and the mixed line ends) send the file row by row; the read_csv way
    // is checked on the same values below
    expect(fast.said.join("\n")).toMatch(/row by row/);
    expect(fast.records).toEqual(rows.records);
    // icmp, TCP (not allowed), -6 (below min): three warnings either way
    expect(rows.r.warnings).toBe(3);
    expect(fast.r.warnings).toBe(3);
  });

  it("the same file without infinities goes through read_csv and stores the same", async () => {
    const file = writeFile(
      tmp.dir,
      "flows-finite.csv",
      'n,rate,proto,label\n1,0.5,tcp,BENIGN\n2, 1e3 , udp ,DoS\n\n3,NA,"tcp",BENIGN\n4,nan,icmp,none\n5,2,N/A,DoS\n-6,-1.5,udp,BENIGN\n7,?,TCP," spaced "\n',
    );
    const { fast, rows } = await bothWays(flows, file);
    expect(fast.said.join("\n")).not.toMatch(/row by row/);
    expect(fast.records).toEqual(rows.records);
    expect(fast.records.map((r) => r.data.label)).toEqual([
      "BENIGN",
      "DoS",
      "BENIGN",
      null,
      "DoS",
      "BENIGN",
      "spaced",
    ]);
    expect(fast.r).toMatchObject({ rows: 7, added: 7, warnings: 3 });
    expect(rows.r).toMatchObject({ rows: 7, added: 7, warnings: 3 });
  });

  it("category cells: edges trimmed (tabs, no-break spaces, BOM), missing spellings in any case", async () => {
    const labels = [
      "BENIGN",
      "\tDoS ",
      "DoS\u00a0",
      "\ufeffBENIGN",
      "nA",
      "NoNe",
      " n/a ",
      "\u00a0NULL\u00a0",
      "nulls",
      "Port\u00a0Scan",
      "a longer label",
      "?",
      "NaN",
      "x",
    ];
    const file = writeFile(
      tmp.dir,
      "labels.csv",
      `n,rate,proto,label\n${labels.map((l, i) => `${i + 1},1,tcp,${l}`).join("\n")}\n`,
    );
    const { fast, rows } = await bothWays(flows, file);
    expect(fast.said.join("\n")).not.toMatch(/row by row/);
    // hand-written: what coerce.ts makes of each label
    expect(rows.records.map((r) => r.data.label)).toEqual([
      "BENIGN",
      "DoS",
      "DoS",
      "BENIGN",
      null,
      null,
      null,
      null,
      "nulls",
      "Port\u00a0Scan",
      "a longer label",
      null,
      null,
      "x",
    ]);
    expect(fast.records).toEqual(rows.records);
  });

  it("phishing and NSL-KDD (headerless txt) go through read_csv and store what the row readers store", async () => {
    const kdd = getDataset("nsl-kdd", home);
    for (const [schema, path] of [
      [getDataset("phishing", home), PHISHING_CSV],
      [kdd, join(KDD_DIR, "KDDTest+.txt")],
    ] as const) {
      const { fast, rows } = await bothWays(schema, path);
      expect(fast.said.join("\n")).not.toMatch(/row by row/);
      expect(fast.records.length).toBe(rows.records.length);
      expect(fast.records).toEqual(rows.records);
      expect(fast.r.warnings).toBe(rows.r.warnings);
    }
  });

  it("data rows are numbered as the row readers number them (120,000 lines with blank ones among them)", async () => {
    const lines = ["n,rate,proto,label"];
    for (let i = 1; i <= 120_000; i++) {
      if (i % 977 === 0) lines.push("");
      lines.push(`${i},${i / 7},${i % 2 ? "tcp" : "udp"},${i % 3 ? "BENIGN" : "DoS"}`);
    }
    const file = writeFile(tmp.dir, "numbered.csv", `${lines.join("\n")}\n`);
    const store = await open();
    await ingestFile(store, flows, { path: file });
    const bad = await store.withTable("flows", async (conn, table) =>
      Number((await conn.runAndReadAll(`SELECT count_if(__row <> n) FROM ${table}`)).getRows()[0]![0]),
    );
    expect(await store.count({ dataset: "flows" })).toBe(120_000);
    expect(bad).toBe(0);
  });
  it("data rows keep the file's order when DuckDB reads the file on several threads (50 MB)", async () => {
    // DuckDB reads a file in buffers of 32 MiB (READ_CSV_BUFFER_BYTES), one per thread at a time:
    // at 50 MB an insert that does not keep the order numbers rows wrong (checked); long labels
    // make the bytes with fewer rows
    const rows = 400_000;
    const pad = "x".repeat(100);
    const lines = ["n,rate,proto,label"];
    for (let i = 1; i <= rows; i++)
      lines.push(`${i},${i / 7},${i % 2 ? "tcp" : "udp"},${i % 3 ? "BENIGN" : "DoS"}${pad}`);
    const file = writeFile(tmp.dir, "ordered.csv", `${lines.join("\n")}\n`);
    const store = await open();
    // more threads than cores: DuckDB reads several pieces of the file at once
    await store.connection.run("SET threads = 4");
    const said: string[] = [];
    const r = await ingestFile(store, flows, { path: file }, { onProgress: (m) => said.push(m) });
    expect(said.join("\n")).not.toMatch(/row by row/);
    expect(r.rows).toBe(rows);
    const bad = await store.withTable("flows", async (conn, table) =>
      Number((await conn.runAndReadAll(`SELECT count_if(__row <> n) FROM ${table}`)).getRows()[0]![0]),
    );
    expect(bad).toBe(0);
  });

  it("missing-value spellings deep in a number column of a 600,000-row file are NULL and counted", async () => {
    // read_csv first reads with '' as the only NULL (`?` then fails its cast, `nan` reads as NaN),
    // then again with every spelling: still read_csv, not row by row, and the same values
    const schema = parseSchema(`
name: strict
title: strict
target: label
labels: {benign: [BENIGN]}
columns:
  - {name: n, type: integer}
  - {name: rate, type: number, nullable: false}
  - {name: label, type: categorical}
`);
    const rows = 600_000;
    const missing = new Map([
      [599_990, "?"],
      [599_991, "nan"],
      [599_992, "NULL"],
      [599_993, "N/A"],
    ]);
    const lines = ["n,rate,label"];
    for (let i = 1; i <= rows; i++) lines.push(`${i},${missing.get(i) ?? i / 4},${i % 3 ? "BENIGN" : "DoS"}`);
    const file = writeFile(tmp.dir, "spellings.csv", `${lines.join("\n")}\n`);
    const store = await open();
    const said: string[] = [];
    const r = await ingestFile(store, schema, { path: file }, { onProgress: (m) => said.push(m) });
    expect(said.join("\n")).not.toMatch(/row by row/);
    // each missing cell is a domain problem (rate is not nullable): counted, stored as NULL
    expect(r).toMatchObject({ rows, added: rows, warnings: missing.size });
    const [nulls, wrong, numbered] = await store.withTable(
      "strict",
      async (conn, table) =>
        (
          await conn.runAndReadAll(
            `SELECT list(n ORDER BY n) FILTER (rate IS NULL), count_if(rate <> n / 4), count_if(__row = n) FROM ${table}`,
          )
        ).getRows()[0]!,
    );
    expect((nulls as { items: unknown[] }).items.map(Number)).toEqual([...missing.keys()]);
    expect(Number(wrong)).toBe(0);
    expect(Number(numbered)).toBe(rows);
  });
});

describe("DuckDB ingest: files read_csv takes differently are refused as the row readers refuse them", () => {
  const refused = async (name: string, text: string): Promise<NetsecError> => {
    const store = await open();
    const err = await ingestFile(store, flows, { path: writeFile(tmp.dir, name, text) }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NetsecError);
    expect(await store.count()).toBe(0);
    expect((await store.listSources()).filter((s) => s.status === "complete")).toEqual([]);
    return err as NetsecError;
  };

  it("1_000 in a number column (DuckDB reads 1000)", async () => {
    const e = await refused("underscore.csv", "n,rate,proto,label\n1,1_000,tcp,BENIGN\n2,3,udp,DoS\n");
    expect(e.message).toMatch(/underscore\.csv, row 1, column rate: "1_000" not a number/);
  });

  it("a fraction in an integer column, and an infinity where the policy is error", async () => {
    const schema = parseSchema(`
name: strict
title: strict
target: label
labels: {benign: [BENIGN]}
columns:
  - {name: n, type: integer}
  - {name: rate, type: number}
  - {name: label, type: categorical}
`);
    for (const [text, msg] of [
      ["n,rate,label\n1,2,BENIGN\n2.5,3,DoS\n", /row 2, column n: "2.5" not an integer/],
      ["n,rate,label\n1,Infinity,BENIGN\n", /row 1, column rate: "Infinity" is infinite/],
    ] as const) {
      const store = await open();
      const e = await ingestFile(store, schema, { path: writeFile(tmp.dir, "strict.csv", text) }).catch(
        (x: unknown) => x as NetsecError,
      );
      expect((e as NetsecError).message).toMatch(msg);
      expect(await store.count()).toBe(0);
    }
  });

  it("a file that does not exist: FILE_UNREADABLE naming it, whichever way it would be read", async () => {
    for (const name of ["missing.csv", "missing.jsonl"]) {
      const path = join(tmp.dir, name);
      const e = await ingestFile(await open(), flows, { path }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NetsecError);
      expect(e).toMatchObject({ code: "FILE_UNREADABLE", details: { file: path } });
      expect((e as NetsecError).message).toContain(path);
    }
  });

  it("a stray quote inside a value, and a ragged row", async () => {
    expect((await refused("quote.csv", 'n,rate,proto,label\n1,2,tc"p,BENIGN\n')).code).toBe("PARSE_ERROR");
    const e = await refused("ragged.csv", "n,rate,proto,label\n1,2,tcp,BENIGN\n2,3,udp\n");
    expect(e.message).toMatch(/ragged\.csv, row 2: expected 4 fields, found 3/);
  });
});

describe("DuckDB ingest: idempotent by (dataset, source, row)", () => {
  it("re-running adds nothing; a source partly stored gets exactly its missing rows", async () => {
    const store = await open();
    const path = PHISHING_CSV;
    const schema = getDataset("phishing", home);
    const sha = (await sha256OfRef({ path })).sha256;
    // rows 1..100 of the file already there (as a MongoDB-style batch insert would leave them)
    const first = await ingestFile(await open(), schema, { path });
    expect(first).toMatchObject({ rows: 11055, added: 11055 });
    const some: StoredRecord[] = [];
    for await (const b of (
      await (async () => {
        const s = await open();
        await ingestFile(s, schema, { path });
        return s;
      })()
    ).scan({ dataset: "phishing" }, 100)) {
      some.push(...b);
      break;
    }
    expect(await store.insertBatch(some)).toBe(100);
    const r = await ingestFile(store, schema, { path });
    expect(r).toMatchObject({ rows: 11055, added: 11055 - 100, total: 11055 });
    const again = await ingestFile(store, schema, { path });
    expect(again).toMatchObject({ rows: 11055, added: 0, total: 11055 });
    const rows = (await all(store, "phishing")).map((x) => x.row);
    expect(rows).toEqual(Array.from({ length: 11055 }, (_, i) => i + 1));
    expect((await store.listSources("phishing"))[0]).toMatchObject({
      source: sha,
      status: "complete",
      rows: 11055,
    });
  });
});

describe("DuckDB ingest: the source id is the file's SHA-256, hashed in the pass that scans it", () => {
  it("for a file read_csv takes, and for one the scan sends row by row (hashed to its end)", async () => {
    // 1 MB+ of rows, then a line whose scan stops early: a quote before a digit_digit underscore
    const lines = ["n,rate,proto,label"];
    for (let i = 1; i <= 60_000; i++) lines.push(`${i},${i / 7},${i % 2 ? "tcp" : "udp"},BENIGN`);
    const plain = writeFile(tmp.dir, "hashed.csv", `${lines.join("\n")}\n`);
    lines.splice(2, 0, '0,1,"tcp",x1_2y');
    const odd = writeFile(tmp.dir, "hashed-odd.csv", `${lines.join("\n")}\n`);
    for (const [path, rowByRow] of [
      [plain, false],
      [odd, true],
    ] as const) {
      const store = await open();
      const said: string[] = [];
      const r = await ingestFile(store, flows, { path }, { onProgress: (m) => said.push(m) });
      const sha = (await sha256OfRef({ path })).sha256;
      expect(r.source).toBe(sha);
      expect((await store.listSources("flows")).map((s) => s.source)).toEqual([sha]);
      expect(r).toMatchObject({ added: rowByRow ? 60_001 : 60_000 });
    }
  });
});

describe("DuckDB ingest: the scan across its 1 MiB chunks", () => {
  /** A flows file whose line `target` has its first `_` at byte `at` (a filler line pads it there). */
  const placed = (target: string, at: number, after: string[] = []) => {
    const head = "n,rate,proto,label\n1,2,tcp,BENIGN\n";
    const fillerFixed = "2,3,udp,\n".length;
    const pad = at - head.length - fillerFixed - target.indexOf("_");
    const text = `${head}2,3,udp,${"x".repeat(pad)}\n${target}\n${after.join("\n")}`;
    expect(Buffer.byteLength(text.slice(0, text.indexOf(target) + target.indexOf("_")))).toBe(at);
    return text;
  };

  it("a 1_000 split by a chunk boundary is seen, on either side of the underscore", async () => {
    for (const at of [2 ** 20, 2 ** 20 - 1, 2 ** 20 + 1]) {
      const path = writeFile(
        tmp.dir,
        "split-underscore.csv",
        placed("3,1_000,tcp,BENIGN", at, ["4,5,udp,DoS"]),
      );
      const store = await open();
      const e = await ingestFile(store, flows, { path }).catch((x: unknown) => x);
      expect((e as NetsecError).message, `underscore at ${at}`).toMatch(
        /row 3, column rate: "1_000" not a number/,
      );
      expect(await store.count()).toBe(0);
    }
  });

  it("lines longer than a chunk are counted, and the file stored whole", async () => {
    // 1.5 MiB, and 2.5 MiB (a whole chunk inside one line)
    for (const size of [1.5 * 2 ** 20, 2.5 * 2 ** 20]) {
      const long = `4,5,udp,${"y".repeat(size)}`;
      const text = placed("3,1,tcp,x_1", 2 ** 20 - 3, [long, "5,6,tcp,BENIGN", ""]);
      const path = writeFile(tmp.dir, "long-line.csv", text);
      const store = await open();
      const said: string[] = [];
      const r = await ingestFile(store, flows, { path }, { onProgress: (m) => said.push(m) });
      expect(said.join("\n")).toMatch(/writing about 5 rows/);
      expect(r).toMatchObject({ rows: 5, added: 5 });
      const stored = await all(store, "flows");
      expect(stored.map((x) => [x.row, x.data.n])).toEqual([
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
        [5, 5],
      ]);
      expect((stored[3]!.data.label as string).length).toBe(size);
    }
  });
});

describe("DuckDB ingest: a kill between the insert's commit and the numbering's", () => {
  it("leaves rows at __row 0 under an `ingesting` source: the re-run stores the file exactly once", async () => {
    const lines = ["n,rate,proto,label"];
    for (let i = 1; i <= 1000; i++) lines.push(`${i},${i / 7},${i % 2 ? "tcp" : "udp"},BENIGN`);
    const path = writeFile(tmp.dir, "killed.csv", `${lines.join("\n")}\n`);
    const store = await open();
    await ingestFile(store, flows, { path });
    // what the process leaves when killed after the insert committed and before the numbering did
    await store.connection.run(`UPDATE "records_flows" SET __row = 0`);
    const [src] = await store.listSources("flows");
    await store.putSource({ ...src!, status: "ingesting" });
    const said: string[] = [];
    const r = await ingestFile(store, flows, { path }, { onProgress: (m) => said.push(m) });
    expect(said.join("\n")).not.toMatch(/row by row/);
    expect(r).toMatchObject({ rows: 1000, added: 1000, total: 1000 });
    const stored = await all(store, "flows");
    expect(stored.map((x) => x.row)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(stored.every((x) => x.row === x.data.n)).toBe(true);
    expect((await store.listSources("flows"))[0]).toMatchObject({ status: "complete", rows: 1000 });
  });
});

describe("DuckDB ingest: the checks run on committed rows", () => {
  /** A store file that dies (as a killed process would) when the ingest opens its n-th transaction. */
  class DiesAt extends DuckDbStore {
    private opened = 0;
    private readonly at: number;
    constructor(path: string, at: number) {
      super(path);
      this.at = at;
    }
    override async transaction<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
      if (++this.opened === this.at) throw new Error("killed");
      return super.transaction(fn);
    }
  }
  const flowLines = (n: number, odd: (i: number) => string | null) => {
    const lines = ["n,rate,proto,label"];
    for (let i = 1; i <= n; i++) lines.push(odd(i) ?? `${i},${i / 7},${i % 2 ? "tcp" : "udp"},BENIGN`);
    return `${lines.join("\n")}\n`;
  };

  it("a check failing after the insert's commit leaves no rows of the file (store file reopened)", async () => {
    // read_csv takes 2.5 in an integer column as a number: only the checks after the commit see it
    const path = writeFile(
      tmp.dir,
      "late-fraction.csv",
      flowLines(50_000, (i) => (i === 40_000 ? "2.5,1,tcp,BENIGN" : null)),
    );
    const file = join(tmp.dir, "late-fraction.duckdb");
    const store = new DuckDbStore(file);
    await store.open();
    const e = await ingestFile(store, flows, { path }).catch((x: unknown) => x);
    expect((e as NetsecError).message).toMatch(
      /late-fraction\.csv, row 40000, column n: "2\.5" not an integer/,
    );
    await store.close();
    const again = new DuckDbStore(file);
    await again.open();
    expect(await again.count({ dataset: "flows" })).toBe(0);
    expect((await again.listSources("flows")).map((s) => s.status)).toEqual(["ingesting"]);
    await again.close();
  });

  it("killed after the insert's commit, before the checks': the re-run stores the file exactly once", async () => {
    // an infinity (missing under the schema's policy) sends the file row by row once checked
    for (const [name, odd] of [
      ["killed-clean.csv", () => null],
      ["killed-inf.csv", (i: number) => (i === 900 ? "900,inf,tcp,BENIGN" : null)],
    ] as const) {
      const path = writeFile(tmp.dir, name, flowLines(1000, odd));
      const file = join(tmp.dir, `${name}.duckdb`);
      const dying = new DiesAt(file, 2);
      await dying.open();
      await expect(ingestFile(dying, flows, { path })).rejects.toThrow("killed");
      await dying.close();
      // what the kill left: every row committed at __row 0, the source still `ingesting`
      const store = new DuckDbStore(file);
      await store.open();
      expect(await store.count({ dataset: "flows" })).toBe(1000);
      expect((await store.listSources("flows"))[0]).toMatchObject({ status: "ingesting", rows: 1000 });
      const r = await ingestFile(store, flows, { path });
      expect(r).toMatchObject({ rows: 1000, added: 1000, total: 1000 });
      const stored = await all(store, "flows");
      expect(stored.map((x) => x.row)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
      expect(stored.every((x) => x.row === x.data.n)).toBe(true);
      expect(stored.filter((x) => x.data.rate === null).map((x) => x.row)).toEqual(
        name === "killed-inf.csv" ? [900] : [],
      );
      expect((await store.listSources("flows"))[0]).toMatchObject({ status: "complete", rows: 1000 });
      await store.close();
    }
  });
});

describe("DuckDB ingest: column statistics spare the min/max of columns they clear", () => {
  it("statsClear reads DuckDB's statistics: finite and inside the bounds, or no value at all", () => {
    const stats = (lo: string, hi: string) => `[Min: ${lo}, Max: ${hi}][Has Null: false, Has No Null: true]`;
    expect(statsClear(stats("0.0", "42908.0"), { min: 0 })).toBe(true);
    expect(statsClear(stats("-1e-300", "1.2345678901234568e+17"), {})).toBe(true);
    expect(statsClear(stats("inf", "-inf"), { min: 0 })).toBe(true); // only NULLs
    expect(statsClear(stats("-6.0", "7.0"), { min: 0 })).toBe(false);
    expect(statsClear(stats("0.0", "1.0000000000000002"), { max: 1 })).toBe(false);
    expect(statsClear(stats("0.0", "nan"), {})).toBe(false);
    expect(statsClear(stats("0.0", "inf"), {})).toBe(false);
    expect(statsClear(stats("-inf", "0.0"), {})).toBe(false);
    expect(statsClear(stats("NULL", "NULL"), {})).toBe(false);
    expect(statsClear(undefined, {})).toBe(false);
  });

  it("a file's warnings and refusals are its own, whatever rows the table already holds", async () => {
    const store = await open();
    const file = (name: string, rows: string[]) =>
      ({ path: writeFile(tmp.dir, name, `n,rate,proto,label\n${rows.join("\n")}\n`) }) as const;
    // n below its min 0 (a warning), then a clean file: the table's statistics now span -6, the
    // clean file's rows do not
    const low = await ingestFile(store, flows, file("low.csv", ["1,2,tcp,BENIGN", "-6,3,udp,DoS"]));
    expect(low).toMatchObject({ added: 2, warnings: 1 });
    const clean = await ingestFile(store, flows, file("clean.csv", ["4,2,tcp,BENIGN", "5,3,udp,DoS"]));
    expect(clean).toMatchObject({ added: 2, warnings: 0, total: 4 });
    // statistics that clear a column still leave an infinity of a later file to be seen
    const said: string[] = [];
    const inf = await ingestFile(store, flows, file("inf.csv", ["6,inf,tcp,BENIGN", "7,1,udp,DoS"]), {
      onProgress: (m) => said.push(m),
    });
    expect(said.join("\n")).toMatch(/row by row/);
    expect(inf).toMatchObject({ added: 2, warnings: 0, total: 6 });
    const rates = (await all(store, "flows")).filter((r) => r.source === inf.source).map((r) => r.data.rate);
    expect(rates).toEqual([null, 1]);
  });
});

describe("loadStoreFrame from DuckDB: columns, not rows", () => {
  it("gives the row path's Frame for phishing and NSL-KDD (two files, and one of them alone)", async () => {
    const store = await open();
    const kdd = getDataset("nsl-kdd", home);
    const phishing = getDataset("phishing", home);
    await ingestFile(store, phishing, { path: PHISHING_CSV });
    const test = await ingestFile(store, kdd, { path: join(KDD_DIR, "KDDTest+.txt") });
    await ingestFile(store, kdd, { path: join(KDD_DIR, "KDDTrain+_20Percent.txt") });
    for (const [schema, sources] of [
      [phishing, undefined],
      [kdd, undefined],
      [kdd, [test.source]],
    ] as const) {
      const opts = sources ? { sources } : {};
      const cols = await loadStoreFrame(store, schema, opts);
      const rows = await loadStoreFrame(store, schema, { ...opts, rowByRow: true });
      expect(cols.frame.nRows).toBe(rows.frame.nRows);
      expect(cols.frame.columns).toEqual(rows.frame.columns);
      expect(cols.sourceIndex).toEqual(rows.sourceIndex);
      expect(cols.sourceRow).toEqual(rows.sourceRow);
      expect(cols.sources).toEqual(rows.sources);
    }
    const k = await loadStoreFrame(store, kdd);
    expect(k.frame.nRows).toBe(22544 + 25192);
    // a value checked by hand: KDDTest+.txt's first line is 0,tcp,private,REJ,0,0,…,neptune,21
    const first = k.sourceIndex[0] === k.sources.findIndex((s) => s.source === test.source) ? 0 : 25192;
    expect(k.frame.row(first)).toMatchObject({
      protocol_type: "tcp",
      service: "private",
      flag: "REJ",
      label: "neptune",
    });
  });
});
