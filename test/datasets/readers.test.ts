import { afterAll, describe, expect, it } from "vitest";
import { isNetsecError } from "../../src/core/errors.ts";
import { dedupeHeader, readAllRows, readTable } from "../../src/datasets/readers.ts";
import { getDataset } from "../../src/datasets/registry.ts";
import { KDD_DIR, PHISHING_ARFF, PHISHING_CSV, tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);

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

describe("CSV/TSV", () => {
  it("reads the original project's phishing CSV: quoted header, 11,055 rows", async () => {
    const t = await readTable({ path: PHISHING_CSV });
    expect(t.header).toHaveLength(31);
    expect(t.header[0]).toBe("having_IP_Address");
    expect(t.header[30]).toBe("Result");
    const rows = await readAllRows(t);
    expect(rows).toHaveLength(11055);
    expect(rows[0]!.slice(0, 3)).toEqual(["-1", "1", "1"]);
  });

  it("streams in batches with 1-based first rows", async () => {
    const t = await readTable({ path: PHISHING_CSV }, { batchSize: 5000 });
    const firsts: number[] = [];
    for await (const b of t.batches) firsts.push(b.firstRow);
    expect(firsts).toEqual([1, 5001, 10001]);
  });

  it("reads TSV, treats empty cells as missing, strips a BOM", async () => {
    const p = writeFile(tmp.dir, "a.tsv", "\ufeffx\ty\n1\t\n3\tb\n");
    const t = await readTable({ path: p });
    expect(t.header).toEqual(["x", "y"]);
    expect(await readAllRows(t)).toEqual([
      ["1", null],
      ["3", "b"],
    ]);
  });

  it("names the file and row of a truncated row", async () => {
    const p = writeFile(tmp.dir, "trunc.csv", "a,b,c\n1,2,3\n4,5\n");
    const t = await readTable({ path: p });
    await expectError(readAllRows(t), /trunc\.csv, row 2: expected 3 fields, found 2/);
  });

  it("detects a wrong delimiter in the header", async () => {
    const p = writeFile(tmp.dir, "semi.csv", "a;b;c\n1;2;3\n");
    await expectError(readTable({ path: p }), /delimited by ";"/);
  });

  it("rejects an empty file and a missing file", async () => {
    await expectError(readTable({ path: writeFile(tmp.dir, "empty.csv", "") }), /is empty/);
    await expectError(readTable({ path: `${tmp.dir}/nope.csv` }), /cannot read .*nope\.csv/);
  });

  it("renames a repeated header name X_k (k-th occurrence), skipping names the header already has", async () => {
    // CIC-IDS2017 names " Fwd Header Length" twice, with a leading space
    const t = await readTable({
      path: writeFile(tmp.dir, "dup.csv", " a, b, a,a_3,a\n1,2,3,4,5\n"),
    });
    expect(t.header).toEqual(["a", "b", "a_2", "a_3", "a_4"]);
    expect(t.renamed).toEqual([
      { column: 3, name: "a", as: "a_2" },
      { column: 5, name: "a", as: "a_4" },
    ]);
    expect(await readAllRows(t)).toEqual([["1", "2", "3", "4", "5"]]);
  });

  it("dedupeHeader: one rule for every reader", () => {
    expect(dedupeHeader(["x", "x", "x_2", "y", "x"])).toEqual({
      header: ["x", "x_3", "x_2", "y", "x_4"],
      renamed: [
        { column: 2, name: "x", as: "x_3" },
        { column: 5, name: "x", as: "x_4" },
      ],
    });
  });
});

describe("ARFF", () => {
  it("reads the UCI original (CRLF, no final newline) with the same rows as the CSV", async () => {
    const a = await readTable({ path: PHISHING_ARFF });
    const c = await readTable({ path: PHISHING_CSV });
    expect(a.header).toEqual(c.header);
    const ra = await readAllRows(a);
    const rc = await readAllRows(c);
    expect(ra).toHaveLength(11055);
    expect(ra).toEqual(rc);
  });

  it("handles quoted names, comments and ? as missing", async () => {
    const p = writeFile(
      tmp.dir,
      "q.arff",
      "% comment\n@relation r\n@attribute 'my col' numeric\n@attribute cls {a,b}\n@data\n1,a\n?,'b'\n",
    );
    const t = await readTable({ path: p });
    expect(t.header).toEqual(["my col", "cls"]);
    expect(await readAllRows(t)).toEqual([
      ["1", "a"],
      [null, "b"],
    ]);
  });

  it("renames a repeated attribute as the CSV reader does", async () => {
    const p = writeFile(
      tmp.dir,
      "dup.arff",
      "@relation r\n@attribute a numeric\n@attribute a numeric\n@data\n1,2\n",
    );
    const t = await readTable({ path: p });
    expect(t.header).toEqual(["a", "a_2"]);
    expect(t.renamed).toEqual([{ column: 2, name: "a", as: "a_2" }]);
  });

  it("rejects a file without @data", async () => {
    await expectError(
      readTable({ path: writeFile(tmp.dir, "bad.arff", "@relation x\n@attribute a numeric\n") }),
      /not an ARFF file/,
    );
  });
});

describe("JSON Lines", () => {
  it("reads objects; keys may come in any order; missing keys are null", async () => {
    const p = writeFile(tmp.dir, "a.jsonl", '{"a":1,"b":"x"}\n\n{"b":"y","a":2.5}\n{"a":null}\n');
    const t = await readTable({ path: p });
    expect(t.header).toEqual(["a", "b"]);
    expect(await readAllRows(t)).toEqual([
      [1, "x"],
      [2.5, "y"],
      [null, null],
    ]);
  });

  it("names row and line of invalid JSON", async () => {
    const p = writeFile(tmp.dir, "b.jsonl", '{"a":1}\n{"a":\n');
    const t = await readTable({ path: p });
    await expectError(readAllRows(t), /b\.jsonl, row 2 \(line 2\): invalid JSON/);
  });
});

describe("headerless NSL-KDD text and zip members", () => {
  const schema = getDataset("nsl-kdd", tempDir().dir);

  it("reads KDDTest+.txt in schema column order", async () => {
    const t = await readTable({ path: `${KDD_DIR}/KDDTest+.txt` }, { schema });
    expect(t.header).toHaveLength(43);
    const rows = await readAllRows(t);
    expect(rows).toHaveLength(22544);
    expect(rows[0]![1]).toBe("tcp");
    expect(rows[0]![41]).toBe("neptune");
    expect(rows[0]![42]).toBe("21");
  });

  it("streams KDDTrain+.txt out of NSL_KDD.zip without unpacking (125,973 rows)", async () => {
    const t = await readTable(
      { path: `${KDD_DIR}/NSL_KDD.zip`, member: "KDDTrain+.txt" },
      { schema, batchSize: 20000 },
    );
    let n = 0;
    for await (const b of t.batches) n += b.rows.length;
    expect(n).toBe(125973);
  });

  it("names a missing zip member", async () => {
    await expectError(
      readTable({ path: `${KDD_DIR}/NSL_KDD.zip`, member: "nope.txt" }, { schema }),
      /no member named "nope\.txt"/,
    );
  });

  it("needs a schema for a headerless file", async () => {
    await expectError(readTable({ path: `${KDD_DIR}/KDDTest+.txt` }), /needs a schema/);
  });
});
