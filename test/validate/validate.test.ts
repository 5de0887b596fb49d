import { afterAll, describe, expect, it } from "vitest";
import { loadFrame } from "../../src/datasets/load.ts";
import { readTable } from "../../src/datasets/readers.ts";
import { getDataset } from "../../src/datasets/registry.ts";
import { parseSchema } from "../../src/datasets/schema.ts";
import { DEFAULT_THRESHOLDS, Validator } from "../../src/validate/validate.ts";
import { KDD_DIR, PHISHING_CSV, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);

const schema = parseSchema(`
name: toy
title: toy
target: label
labels: {threat: [attack]}
columns:
  - {name: port, type: integer, min: 0, max: 65535}
  - {name: proto, type: categorical, values: [tcp, udp]}
  - {name: rate, type: number, min: 0, max: 1}
  - {name: flag, type: integer, values: [0, 1], nullable: false}
  - {name: label, type: categorical, role: target, values: [normal, attack]}
`);

async function validate(text: string, thresholds = DEFAULT_THRESHOLDS) {
  const p = writeFile(tmp.dir, `v${Math.random().toString(36).slice(2)}.csv`, text);
  const v = new Validator(schema, thresholds);
  await v.table(await readTable({ path: p }));
  return { report: v.finish(), problems: v.problems, path: p };
}

describe("schema validation collects every problem", () => {
  it("a clean file passes", async () => {
    const rows = ["port,proto,rate,flag,label"];
    for (let i = 0; i < 20; i++)
      rows.push(`${i},${i % 2 ? "tcp" : "udp"},0.${i % 10},${i % 2},${i % 3 ? "normal" : "attack"}`);
    const { report } = await validate(`${rows.join("\n")}\n`);
    expect(report.issues.filter((i) => i.severity === "error")).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.rows).toBe(20);
    expect(report.labels).toEqual({ normal: 13, attack: 7 });
  });

  it("lists type, range, allowed-set, missing and label problems with file, row, column and value", async () => {
    const text = [
      "port,proto,rate,flag,label",
      "80,tcp,0.5,1,normal",
      "http,tcp,0.5,1,normal", // row 2: type
      "70000,icmp,1.5,1,attack", // row 3: range, allowed, range
      "22,udp,0.1,,normal", // row 4: missing in non-nullable
      "22.5,udp,0.1,0,weird", // row 5: not integer, unknown label
      ...Array.from({ length: 10 }, (_, i) => `${i},tcp,0.2,0,${i % 2 ? "attack" : "normal"}`),
    ].join("\n");
    const { report, problems, path } = await validate(text);
    expect(report.passed).toBe(false);
    const has = (row: number, column: string, kind: string, value: unknown) =>
      expect(problems).toContainEqual(expect.objectContaining({ file: path, row, column, kind, value }));
    has(2, "port", "type", "http");
    has(3, "port", "above_max", "70000");
    has(3, "proto", "not_allowed", "icmp");
    has(3, "rate", "above_max", "1.5");
    has(4, "flag", "missing", null);
    has(5, "port", "not_integer", "22.5");
    has(5, "label", "unknown_label", "weird");
    expect(problems).toHaveLength(7);
    const checks = report.issues.map((i) => `${i.check}:${i.column}`).sort();
    expect(checks).toEqual(
      expect.arrayContaining([
        "above_max:port",
        "above_max:rate",
        "missing:flag",
        "not_allowed:proto",
        "not_integer:port",
        "type:port",
        "unknown_label:label",
      ]),
    );
  });

  it("missing and unknown columns are errors naming them", async () => {
    const { report } = await validate("port,proto,rate,colour,label\n1,tcp,0.1,red,normal\n");
    const msgs = report.issues.map((i) => i.message).join("\n");
    expect(msgs).toMatch(/required column "flag" is missing/);
    expect(msgs).toMatch(/column "colour" is not in schema toy/);
    expect(report.passed).toBe(false);
  });

  it("thresholds decide: missing rate and invalid rate", async () => {
    const rows = ["port,proto,rate,flag,label"];
    for (let i = 0; i < 20; i++)
      rows.push(`${i < 3 ? "" : i},tcp,${i === 0 ? 2 : 0.1},1,${i % 2 ? "attack" : "normal"}`);
    const strict = await validate(`${rows.join("\n")}\n`);
    expect(strict.report.passed).toBe(false); // 15% missing > 5%, 5% invalid > 0
    const lenient = await validate(`${rows.join("\n")}\n`, {
      ...DEFAULT_THRESHOLDS,
      max_missing_rate: 0.2,
      max_invalid_rate: 0.1,
    });
    expect(lenient.report.issues.filter((i) => i.severity === "error")).toEqual([]);
    expect(lenient.report.passed).toBe(true);
    expect(lenient.report.columns.port!.missing).toBe(3);
    expect(lenient.report.columns.rate!.invalid).toBe(1);
  });

  it("a label set without threats fails", async () => {
    const rows = ["port,proto,rate,flag,label"];
    for (let i = 0; i < 12; i++) rows.push(`${i},tcp,0.1,1,normal`);
    const { report } = await validate(`${rows.join("\n")}\n`);
    expect(report.issues.find((i) => i.check === "label_set")?.message).toMatch(
      /needs both a threat and a benign label/,
    );
  });
});

describe("real data", () => {
  it("phishing passes with its 47.7% duplicate rate reported", async () => {
    const s = getDataset("phishing", tmp.dir);
    const v = new Validator(s);
    await v.table(await readTable({ path: PHISHING_CSV }));
    const r = v.finish();
    expect(r.passed).toBe(true);
    expect(r.rows).toBe(11055);
    expect(r.labels).toEqual({ "1": 6157, "-1": 4898 });
    // 5,849 distinct rows of which 64 feature vectors occur with both labels (datasets README):
    // 5,785 distinct feature vectors, so 11,055 - 5,785 = 5,270 rows repeat an earlier feature vector.
    expect(r.duplicates).toBe(5270);
    expect(r.duplicate_rate).toBeCloseTo(5270 / 11055, 10);
  });

  it("NSL-KDD KDDTest+ passes: every service, flag and the 17 unseen attacks are declared", async () => {
    const s = getDataset("nsl-kdd", tmp.dir);
    const v = new Validator(s);
    await v.table(await readTable({ path: `${KDD_DIR}/KDDTest+.txt` }, { schema: s }));
    const r = v.finish();
    expect(r.issues.filter((i) => i.severity === "error")).toEqual([]);
    expect(r.rows).toBe(22544);
    expect(r.labels.normal).toBe(9711);
  });

  it("loadFrame refuses non-numeric values in numeric columns, naming row, column and value", async () => {
    const s = getDataset("phishing", tmp.dir);
    const lines = (await import("node:fs")).readFileSync(PHISHING_CSV, "utf8").split("\n");
    lines[5] = lines[5]!.replace(/^-?1,/, "abc,");
    const p = writeFile(tmp.dir, "bad-phishing.csv", lines.join("\n"));
    await expect(loadFrame({ path: p }, s)).rejects.toThrow(
      /bad-phishing\.csv, row 5, column having_IP_Address: "abc" not a number/,
    );
  });
});
