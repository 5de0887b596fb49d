/**
 * The schema features public flow CSVs need: an infinity policy (CIC-IDS2017's `Infinity` in
 * `Flow Bytes/s`) honoured by coercion, ingest and validation, and a category column beside the
 * binary label (UNSW-NB15's `attack_cat`) that `--target category` learns.
 */
import { afterAll, describe, expect, it } from "vitest";
import { allowedSet, coerceCell } from "../../src/datasets/coerce.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { parseSchema } from "../../src/datasets/schema.ts";
import { classSpace, classValues, encodeTarget } from "../../src/pipeline/train.ts";
import { tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);

function schemaYaml(extra: { top?: string; rate?: string; labels?: string; cat?: string } = {}): string {
  return [
    "name: flows",
    "title: flows",
    "target: label",
    `labels: {${extra.labels ?? "benign: [0]"}}`,
    ...(extra.top ? [extra.top] : []),
    "columns:",
    `  - {name: rate, type: number${extra.rate ?? ""}}`,
    "  - {name: n, type: integer}",
    `  - {name: attack_cat, type: categorical${extra.cat ?? ", role: metadata"}}`,
    "  - {name: label, type: integer, values: [0, 1]}",
    "",
  ].join("\n");
}

describe("infinity policy", () => {
  const cell = (yaml: string, column: string, raw: string) => {
    const col = parseSchema(yaml).column(column)!;
    return coerceCell(raw, col, allowedSet(col));
  };

  it("by default an infinite value is a type problem that names the policy", () => {
    for (const raw of ["Infinity", "-Infinity", "inf", "+INF", " Infinity "]) {
      const c = cell(schemaYaml(), "rate", raw);
      expect(c.problem).toBe("type");
      expect(c.message).toMatch(/infinite .*infinity: missing/);
    }
  });

  it("infinity: missing (schema-wide) reads it as missing; a column's own policy wins", () => {
    expect(cell(schemaYaml({ top: "infinity: missing" }), "rate", "Infinity")).toEqual({ value: null });
    expect(cell(schemaYaml({ top: "infinity: missing" }), "n", "-inf")).toEqual({ value: null });
    const mixed = schemaYaml({ top: "infinity: missing", rate: ", infinity: error" });
    expect(cell(mixed, "rate", "Infinity").problem).toBe("type");
    expect(cell(mixed, "n", "Infinity")).toEqual({ value: null });
    // not nullable: missing it is, and a missing value there is a (domain) problem
    const strict = schemaYaml({ rate: ", infinity: missing, nullable: false" });
    expect(cell(strict, "rate", "inf").problem).toBe("missing");
  });

  it("NaN is missing whatever the policy; finite numbers are untouched", () => {
    expect(cell(schemaYaml(), "rate", "NaN")).toEqual({ value: null });
    expect(cell(schemaYaml({ top: "infinity: missing" }), "rate", "1.5e3")).toEqual({ value: 1500 });
    expect(cell(schemaYaml({ top: "infinity: missing" }), "rate", "infinite").problem).toBe("type");
  });

  it("a file with Infinity loads under infinity: missing and is refused without it, naming row and column", async () => {
    const p = writeFile(
      tmp.dir,
      "inf.csv",
      "rate,n,attack_cat,label\n1.5,1,Normal,0\nInfinity,2,DoS,1\nNaN,3,Normal,0\n",
    );
    const ok = await loadFrame({ path: p }, parseSchema(schemaYaml({ top: "infinity: missing" })));
    expect(Array.from(ok.frame.numeric("rate"))).toEqual([1.5, Number.NaN, Number.NaN]);
    await expect(loadFrame({ path: p }, parseSchema(schemaYaml()))).rejects.toThrow(
      /row 2, column rate: "Infinity" is infinite/,
    );
  });

  it("the policy is checked by the schema parser", () => {
    expect(() => parseSchema(schemaYaml({ top: "infinity: zero" }))).toThrow(/infinity/);
  });
});

describe("a category column beside the label", () => {
  const csv = [
    "rate,n,attack_cat,label",
    "1,1,Normal,0",
    "2,2,DoS,1",
    "3,3,Exploits,1",
    "4,4,Normal,0",
    "5,5,DoS,1",
  ].join("\n");

  it("must be a declared, non-feature column other than the target, and not beside a map", () => {
    const bad = (labels: string, cat?: string) =>
      expect(() => parseSchema(schemaYaml({ labels, ...(cat !== undefined ? { cat } : {}) }))).toThrow(
        /category_column/,
      );
    bad("benign: [0], category_column: nope");
    bad("benign: [0], category_column: label");
    bad("benign: [0], category_column: attack_cat", "");
    bad("benign: [0], category_column: attack_cat, categories: {'0': normal}");
    const ok = parseSchema(schemaYaml({ labels: "benign: [0], category_column: attack_cat" }));
    expect(ok.featureNames).toEqual(["rate", "n"]);
  });

  it("target category learns the column's values, each on the side of its rows' labels", async () => {
    const schema = parseSchema(schemaYaml({ labels: "benign: [0], category_column: attack_cat" }));
    const { frame } = await loadFrame({ path: writeFile(tmp.dir, "cat.csv", `${csv}\n`) }, schema);
    expect(classValues(schema, frame, "category")).toEqual(["Normal", "DoS", "Exploits", "Normal", "DoS"]);
    const space = classSpace(schema, frame, "category");
    expect(space.classes).toEqual(["DoS", "Exploits", "Normal"]);
    expect(space.classIsThreat).toEqual([true, true, false]);
    expect(Array.from(encodeTarget(schema, frame, space).y)).toEqual([2, 0, 1, 2, 0]);
  });

  it("a category holding benign and threat rows, or a row without a category, is refused naming it", async () => {
    const schema = parseSchema(schemaYaml({ labels: "benign: [0], category_column: attack_cat" }));
    const mixed = await loadFrame({ path: writeFile(tmp.dir, "mixed.csv", `${csv}\n6,6,DoS,0\n`) }, schema);
    expect(() => classSpace(schema, mixed.frame, "category")).toThrow(
      /category "DoS" holds benign label "0" and threat label "1"/,
    );
    const gap = await loadFrame({ path: writeFile(tmp.dir, "gap.csv", `${csv}\n6,6,,1\n`) }, schema);
    expect(() => classValues(schema, gap.frame, "category")).toThrow(
      /row 6: the category column attack_cat \(labels.category_column\) is missing/,
    );
  });
});

describe("a header naming a column twice", () => {
  it("reaches the schema as X_2; a schema without it is told why", async () => {
    const p = writeFile(tmp.dir, "twice.csv", "rate,n,attack_cat,n,label\n1,2,DoS,2,1\n");
    await expect(loadFrame({ path: p }, parseSchema(schemaYaml()))).rejects.toThrow(
      /unknown column\(s\) "n_2"; "n_2": a name the header repeats, renamed by the readers/,
    );
  });
});
