/**
 * Schema inference on the flow fixtures (test/datasets/fixtures, made by make-flow-fixtures.ts):
 * the schema is what a person would write, and it loads. Counts are checked against the files
 * themselves, split by hand here, not against the reader.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type InferredSchema, inferSchema } from "../../src/datasets/infer.ts";
import { renderInferredSchema } from "../../src/datasets/infer-yaml.ts";
import { parseSchema } from "../../src/datasets/schema.ts";
import { tempDir, writeFile } from "../helpers/env.ts";

const FIX = join(import.meta.dirname, "fixtures");
const CIC = join(FIX, "cic-like.csv");
const UNSW = join(FIX, "unsw-like.csv");
const MANY = join(FIX, "many-categories.csv");
const tmp = tempDir();
afterAll(tmp.cleanup);

/** A column of a small CSV without quotes, by position, trimmed. */
function columnOf(file: string, index: number): string[] {
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split(",")[index]!.trim());
}

const col = (inf: InferredSchema, name: string) => {
  const c = inf.columns.find((x) => x.spec.name === name);
  if (!c) throw new Error(`no column ${name}`);
  return c;
};

describe("a CIC-IDS2017-like CSV", async () => {
  const inf = await inferSchema(CIC);
  const yaml = renderInferredSchema(inf);

  it("finds the label, its benign value and every label value", () => {
    expect(inf.schema.target).toBe("Label");
    expect(inf.schema.labels.benign).toEqual(["BENIGN"]);
    expect(col(inf, "Label").spec).toMatchObject({ type: "categorical", role: "target" });
    expect(col(inf, "Label").spec.values).toEqual([...new Set(columnOf(CIC, 15))].sort());
    expect(col(inf, "Label").spec.values).toEqual(["BENIGN", "DDoS", "PortScan"]);
    expect(inf.rows).toBe(600);
    expect(inf.sampled).toBe(false);
  });

  it("uses trimmed names and renames the repeated Fwd Header Length, saying both", () => {
    expect(inf.schema.columns.map((c) => c.name)).toEqual([
      "Flow ID",
      "Source IP",
      "Source Port",
      "Destination Port",
      "Protocol",
      "Timestamp",
      "Flow Duration",
      "Total Fwd Packets",
      "Total Length of Fwd Packets",
      "Flow Bytes/s",
      "Flow Packets/s",
      "Fwd Header Length",
      "Bwd Header Length",
      "Init_Win_bytes_forward",
      "Fwd Header Length_2",
      "Label",
    ]);
    expect(inf.renamed).toEqual([{ column: 15, name: "Fwd Header Length", as: "Fwd Header Length_2" }]);
    // every name but three has a leading space in the file
    expect(inf.trimmed).toHaveLength(13);
    expect(inf.trimmed[0]).toEqual({ column: 2, header: " Source IP", as: "Source IP" });
    expect(yaml).toContain('#   column 15 "Fwd Header Length" → Fwd Header Length_2');
    expect(yaml).toContain('#   column 2 " Source IP" → Source IP');
    expect(yaml).toContain(
      '# Fwd Header Length_2 (column 15, a repeated "Fwd Header Length", renamed): integer',
    );
  });

  it("types each column as a person would, with the reason as a comment", () => {
    expect(col(inf, "Flow ID").spec).toMatchObject({ type: "categorical", role: "id" });
    expect(col(inf, "Flow ID").spec.values).toBeUndefined();
    expect(col(inf, "Source IP").spec.values).toHaveLength(new Set(columnOf(CIC, 1)).size);
    expect(col(inf, "Destination Port").spec).toMatchObject({ type: "integer", role: "feature", min: 0 });
    expect(col(inf, "Timestamp").spec).toMatchObject({ type: "timestamp", role: "metadata" });
    expect(col(inf, "Flow Bytes/s").spec).toMatchObject({ type: "number", min: 0 });
    // -1 is in the file: no min
    expect(col(inf, "Init_Win_bytes_forward").spec.min).toBeUndefined();
    expect(Math.min(...columnOf(CIC, 13).map(Number))).toBe(-1);
    expect(yaml).toMatch(
      /# Protocol \(header " Protocol", trimmed\): integer: 2 distinct values in 600 rows, seen 6 … 17/,
    );
  });

  it("counts Infinity and NaN and sets infinity: missing", () => {
    const bytesPerSec = columnOf(CIC, 9);
    const inf1 = bytesPerSec.filter((v) => v === "Infinity").length;
    const nan = bytesPerSec.filter((v) => v === "NaN").length;
    expect(inf1).toBeGreaterThan(0);
    expect(nan).toBeGreaterThan(0);
    expect(col(inf, "Flow Bytes/s").profile).toMatchObject({ infinite: inf1, missing: nan });
    expect(inf.schema.infinity).toBe("missing");
    expect(yaml).toMatch(/^infinity: missing$/m);
  });

  it("writes YAML the schema parser loads, with the same content", () => {
    const s = parseSchema(yaml, "cic.yaml");
    expect(s.raw.columns).toEqual(inf.schema.columns);
    expect(s.raw.labels).toEqual(inf.schema.labels);
    expect(s.target.name).toBe("Label");
    expect(s.featureNames).not.toContain("Flow ID");
    expect(s.featureNames).not.toContain("Timestamp");
    expect(s.featureNames).toContain("Fwd Header Length_2");
  });
});

describe("a UNSW-NB15-like CSV (attack_cat beside a 0/1 label)", async () => {
  const inf = await inferSchema(UNSW);

  it("takes label as the target, 0 as benign, attack_cat as the category column (not a feature)", () => {
    expect(inf.schema.target).toBe("label");
    expect(inf.schema.labels).toEqual({ benign: [0], category_column: "attack_cat" });
    expect(col(inf, "label").spec).toMatchObject({ type: "integer", role: "target", values: [0, 1] });
    expect(col(inf, "attack_cat").spec).toMatchObject({ type: "categorical", role: "metadata" });
    expect(col(inf, "attack_cat").spec.values).toEqual([...new Set(columnOf(UNSW, 10))].sort());
    expect(col(inf, "id").spec).toMatchObject({ type: "integer", role: "id" });
    expect(col(inf, "service").spec.values).toContain("-");
    const s = parseSchema(renderInferredSchema(inf));
    expect(s.featureNames).toEqual([
      "dur",
      "proto",
      "service",
      "state",
      "spkts",
      "dpkts",
      "sbytes",
      "dbytes",
      "rate",
    ]);
  });
});

describe("hundreds of categorical values", () => {
  it("keeps all 300 hosts and says how many", async () => {
    const inf = await inferSchema(MANY);
    const hosts = [...new Set(columnOf(MANY, 0))].sort();
    expect(hosts).toHaveLength(300);
    expect(col(inf, "src_host").spec).toMatchObject({ type: "categorical", role: "feature", values: hosts });
    expect(inf.schema.labels.benign).toEqual(["normal"]);
    const yaml = renderInferredSchema(inf);
    expect(yaml).toContain("# src_host: categorical: 300 distinct values in 1,200 rows (all listed)");
    expect(parseSchema(yaml).column("src_host")!.values).toHaveLength(300);
  });
});

describe("options and refusals", () => {
  it("--target and --benign override the guesses; --sample-rows reads the first rows and says so", async () => {
    const inf = await inferSchema(UNSW, {
      target: "attack_cat",
      benign: ["Normal"],
      sampleRows: 50,
      name: "u",
    });
    expect(inf.schema.target).toBe("attack_cat");
    expect(inf.schema.labels.benign).toEqual(["Normal"]);
    expect(inf.schema.labels.category_column).toBeUndefined();
    expect(inf.rows).toBe(50);
    expect(inf.sampled).toBe(true);
    expect(inf.notes.join()).toMatch(/only the first 50 rows/);
    expect(inf.schema.name).toBe("u");
    expect(parseSchema(renderInferredSchema(inf)).name).toBe("u");
  });

  it("refuses what it cannot tell, naming what to give", async () => {
    const noLabel = writeFile(tmp.dir, "nolabel.csv", "a,b\n1,x\n2,y\n");
    await expect(inferSchema(noLabel)).rejects.toThrow(
      /no column is obviously the label .*give --target COLUMN/,
    );
    await expect(inferSchema(noLabel, { target: "c" })).rejects.toThrow(/--target "c" is not a column/);
    const signs = writeFile(tmp.dir, "signs.csv", "a,Result\n1,-1\n2,1\n");
    await expect(inferSchema(signs)).rejects.toThrow(
      /cannot tell which values of the label column Result are benign .*values: -1, 1/,
    );
    await expect(inferSchema(signs, { benign: ["0"] })).rejects.toThrow(/--benign "0" is not a value/);
    const ok = await inferSchema(signs, { benign: ["1"] });
    expect(ok.schema.labels.benign).toEqual([1]);
  });

  it("a column missing in over 5% of rows is noted (validate's default)", async () => {
    const p = writeFile(
      tmp.dir,
      "gaps.csv",
      `x,label\n${Array.from({ length: 20 }, (_, i) => `${i % 10 === 0 ? "" : i},${i % 2 ? "normal" : "bad"}`).join("\n")}\n`,
    );
    const inf = await inferSchema(p);
    expect(inf.notes.join()).toMatch(/x is missing in 10.0% of the rows/);
  });
});
