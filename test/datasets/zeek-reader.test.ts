/**
 * Zeek logs read as tables: the TSV form (header lines as Zeek's ASCII writer prints them, copied from
 * https://docs.zeek.org/en/master/logs/conn.html) and the JSON-lines form (`LogAscii::use_json=T`).
 * Expected values are read off the hand-written samples.
 */
import { afterAll, describe, expect, it } from "vitest";
import { isNetsecError } from "../../src/core/errors.ts";
import { formatFromName, readAllRows, readTable } from "../../src/datasets/readers.ts";
import { getDataset } from "../../src/datasets/registry.ts";
import { tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);

const FIELDS = [
  "ts",
  "uid",
  "id.orig_h",
  "id.orig_p",
  "id.resp_h",
  "id.resp_p",
  "proto",
  "service",
  "duration",
  "orig_bytes",
  "resp_bytes",
  "conn_state",
  "local_orig",
  "local_resp",
  "missed_bytes",
  "history",
  "orig_pkts",
  "orig_ip_bytes",
  "resp_pkts",
  "resp_ip_bytes",
  "tunnel_parents",
];
const TYPES =
  "time\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]";

const HEADER = [
  "#separator \\x09",
  "#set_separator\t,",
  "#empty_field\t(empty)",
  "#unset_field\t-",
  "#path\tconn",
  "#open\t2020-09-22-16-03-43",
  `#fields\t${FIELDS.join("\t")}`,
  `#types\t${TYPES}`,
];
const TSV = [
  ...HEADER,
  "1600790623.295662\tCZWMcW3OmXjvVHp4nl\t192.168.4.76\t46378\t31.3.245.133\t80\ttcp\thttp\t0.254088\t77\t295\tSF\tT\tF\t0\tShADadFf\t6\t397\t4\t511\t-",
  "1600790624.5\tC1\t192.168.4.76\t5353\t224.0.0.251\t5353\tudp\tdns\t-\t-\t-\tS0\t-\t-\t0\tD\t1\t73\t0\t0\t(empty)",
  "1600790625.25\tC2\t10.0.0.1\t8\t10.0.0.2\t0\ticmp\t-\t1.5\t0\t0\tOTH\tF\tT\t0\t-\t2\t56\t0\t0\tCa\\x09b,Cc",
  "#close\t2020-09-22-17-00-00",
  "",
].join("\n");

async function expectError(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(isNetsecError(e)).toBe(true);
    expect((e as Error).message).toMatch(re);
    return;
  }
  throw new Error("expected an error");
}

describe("Zeek TSV logs", () => {
  it("is the format of a .log file", () => {
    expect(formatFromName("/x/conn.log")).toBe("zeek");
  });

  it("reads #fields as the header, - as missing, (empty) as '', T/F of a bool, \\x escapes, skips #close", async () => {
    const t = await readTable({ path: writeFile(tmp.dir, "conn.log", TSV) });
    expect(t.format).toBe("zeek");
    expect(t.header).toEqual(FIELDS);
    const rows = await readAllRows(t);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual([
      "1600790623.295662",
      "CZWMcW3OmXjvVHp4nl",
      "192.168.4.76",
      "46378",
      "31.3.245.133",
      "80",
      "tcp",
      "http",
      "0.254088",
      "77",
      "295",
      "SF",
      true,
      false,
      "0",
      "ShADadFf",
      "6",
      "397",
      "4",
      "511",
      null,
    ]);
    expect(rows[1]!.slice(8, 14)).toEqual([null, null, null, "S0", null, null]);
    expect(rows[1]![20]).toBe("");
    // a tab inside a value is escaped by Zeek as \x09
    expect(rows[2]![20]).toBe("Ca\tb,Cc");
  });

  it("honours another separator and unset field declared in the header", async () => {
    const text = [
      "#separator \\x7c",
      "#unset_field|?",
      "#fields|a|b",
      "#types|count|bool",
      "1|?",
      "-|T",
      "",
    ].join("\n");
    const rows = await readAllRows(await readTable({ path: writeFile(tmp.dir, "pipe.log", text) }));
    expect(rows).toEqual([
      ["1", null],
      ["-", true],
    ]);
  });

  it("reads concatenated logs with the same fields as one table", async () => {
    const twice = TSV + TSV;
    const rows = await readAllRows(await readTable({ path: writeFile(tmp.dir, "twice.log", twice) }));
    expect(rows).toHaveLength(6);
  });

  it("names file, row and line of a record with the wrong number of fields", async () => {
    const bad = TSV.replace("\tOTH\tF\tT\t", "\tOTH\tF\t");
    const p = writeFile(tmp.dir, "short.log", bad);
    await expectError(
      readAllRows(await readTable({ path: p })),
      /short\.log, row 3 \(line 11\): expected 21 fields, found 20/,
    );
  });

  it("refuses a second #fields header that differs, and a log without #fields", async () => {
    const other = `${TSV}#fields\tts\tuid\n1\tC9\n`;
    await expectError(
      readAllRows(await readTable({ path: writeFile(tmp.dir, "mixed.log", other) })),
      /mixed\.log, line 13: a second "#fields" header differs/,
    );
    await expectError(
      readTable({ path: writeFile(tmp.dir, "nofields.log", "#separator \\x09\n1\t2\n") }),
      /nofields\.log: a Zeek TSV log needs a "#fields"/,
    );
    await expectError(
      readTable({ path: writeFile(tmp.dir, "plain.log", "hello\n") }),
      /plain\.log, line 1: not a Zeek log/,
    );
  });
});

describe("Zeek JSON-lines logs", () => {
  const JSONL = [
    '{"ts":1600790623.295662,"uid":"CZWMcW3OmXjvVHp4nl","id.orig_h":"192.168.4.76","id.orig_p":46378,"id.resp_h":"31.3.245.133","id.resp_p":80,"proto":"tcp","service":"http","duration":0.254088,"orig_bytes":77,"resp_bytes":295,"conn_state":"SF","local_orig":true,"missed_bytes":0,"history":"ShADadFf","orig_pkts":6,"orig_ip_bytes":397,"resp_pkts":4,"resp_ip_bytes":511}',
    "",
    '{"ts":1600790624.5,"uid":"C1","id.orig_h":"192.168.4.76","id.orig_p":5353,"id.resp_h":"224.0.0.251","id.resp_p":5353,"proto":"udp","conn_state":"S0","local_resp":false,"missed_bytes":0,"history":"D","orig_pkts":1,"orig_ip_bytes":73,"resp_pkts":0,"resp_ip_bytes":0,"tunnel_parents":["Ca","Cb"]}',
  ].join("\n");

  it("without a schema: the first record's keys, dotted names as written; absent keys missing", async () => {
    // the second record's tunnel_parents is not among the first record's keys
    const p = writeFile(tmp.dir, "conn.json.log", `${JSONL.split("\n")[0]}\n`);
    const t = await readTable({ path: p });
    expect(t.header.slice(0, 4)).toEqual(["ts", "uid", "id.orig_h", "id.orig_p"]);
    expect((await readAllRows(t))[0]!.slice(12, 14)).toEqual([true, 0]);
  });

  it("with the zeek-conn schema: its columns first, absent fields missing, sets joined by ','", async () => {
    const schema = getDataset("zeek-conn", tmp.dir);
    const t = await readTable({ path: writeFile(tmp.dir, "conn2.log", JSONL) }, { schema });
    expect(t.header).toEqual([...FIELDS, "label"]);
    const rows = await readAllRows(t);
    expect(rows).toHaveLength(2);
    expect(rows[0]![2]).toBe("192.168.4.76");
    expect(rows[0]![13]).toBeNull(); // local_resp unset: Zeek leaves the key out
    expect(rows[1]![7]).toBeNull(); // service
    expect(rows[1]![13]).toBe(false);
    expect(rows[1]![20]).toBe("Ca,Cb");
  });

  it("names the row and field of a key neither in the schema nor the first record", async () => {
    const p = writeFile(tmp.dir, "extra.log", `{"ts":1,"uid":"a"}\n{"ts":2,"community_id":"1:x"}\n`);
    await expectError(
      readAllRows(await readTable({ path: p })),
      /extra\.log, row 2, column community_id: a field that is neither/,
    );
    const q = writeFile(tmp.dir, "bad.log", `{"ts":1,"uid":"a"}\n{"ts":2,\n`);
    await expectError(readAllRows(await readTable({ path: q })), /bad\.log, row 2 \(line 2\): invalid JSON/);
  });
});
