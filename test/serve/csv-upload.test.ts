/**
 * readCsvUpload's numeric fast path (plain decimals read from the characters) against the general
 * path it replaces: for generated files, every cell is typed, or refused with the same problem, as
 * coerceCell types it (the reference); plainDecimal equals Number() wherever it answers; and the rows
 * kept for the output are the file's own text.
 */
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NetsecError } from "../../src/core/errors.ts";
import { allowedSet, coerceCell } from "../../src/datasets/coerce.ts";
import { getDataset } from "../../src/datasets/registry.ts";
import { parseSchema } from "../../src/datasets/schema.ts";
import { plainDecimal, readCsvBytes, readCsvUpload, readPlain } from "../../src/serve/csv-upload.ts";
import { PHISHING_CSV } from "../helpers/env.ts";

const schema = parseSchema(
  [
    "name: t",
    "title: t",
    "target: y",
    "labels: {threat: [1]}",
    "columns:",
    "  - {name: a, type: integer, values: [-1, 0, 1]}",
    "  - {name: b, type: number, min: 0, max: 10}",
    "  - {name: c, type: number, nullable: true}",
    "  - {name: d, type: categorical, values: [tcp, udp]}",
    "  - {name: y, type: integer, values: [0, 1]}",
  ].join("\n"),
);
const INPUTS = ["a", "b", "c", "d"];
const limits = { maxBytes: 1 << 20, maxRows: 1000, maxRowChars: 4096 };

function read(text: string, chunk = 7) {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += chunk) parts.push(text.slice(i, i + chunk));
  return readCsvUpload(Readable.from(parts.map((p) => Buffer.from(p))), "t.csv", schema, INPUTS, limits);
}

const numberCell = fc.constantFrom(
  "1",
  "-1",
  "0",
  "-0",
  "+1",
  " 1 ",
  "1.0",
  "1.",
  ".5",
  "0.25",
  "00.5",
  "5.75",
  "10",
  "10.0000000000001",
  "1e0",
  "2.5E1",
  '"1"',
  '" 0.5 "',
  "123456789012345678",
  "0.1234567890123456",
  "",
  "NA",
  "?",
  "nan",
  "abc",
  "1,5".replace(",", ""),
  "-3",
  "99",
  "0.5.1",
  "--1",
  "+",
  ".",
);
const catCell = fc.constantFrom("tcp", "udp", " tcp ", '"udp"', "icmp", "", "TCP");

describe("the upload's numeric fast path vs coerceCell", () => {
  it("types every cell as coerceCell does, and refuses the same cells", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(numberCell, numberCell, numberCell, catCell, fc.constantFrom("0", "1")), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.integer({ min: 1, max: 64 }),
        async (rows, chunk) => {
          const text = `a,b,c,d,y\n${rows.map((r) => r.join(",")).join("\n")}\n`;
          // the reference: each cell's value after CSV unquoting and trimming, through coerceCell
          const unq = (s: string) =>
            s
              .trim()
              .replace(/^"(.*)"$/, "$1")
              .trim();
          const want: (number | string | null)[][] = [];
          const problems: { row: number; column: string; kind: string }[] = [];
          rows.forEach((r, i) => {
            const vals = INPUTS.map((name, j) => {
              const raw = unq(r[j]!);
              const spec = schema.column(name)!;
              const chk = coerceCell(raw === "" ? null : raw, spec, allowedSet(spec));
              if (chk.problem) problems.push({ row: i + 1, column: name, kind: chk.problem });
              return chk.value;
            });
            want.push(vals);
          });
          if (problems.length > 0) {
            const e = await read(text, chunk).then(
              () => null,
              (err: unknown) => err as NetsecError,
            );
            expect(e).toBeInstanceOf(NetsecError);
            expect(e!.details.total).toBe(problems.length);
            const listed = e!.details.problems as { row: number; column: string; kind: string }[];
            expect(listed.map(({ row, column, kind }) => ({ row, column, kind }))).toEqual(
              problems.slice(0, 50),
            );
            return;
          }
          const got = await read(text, chunk);
          expect(got.rows).toBe(rows.length);
          rows.forEach((_, i) => {
            INPUTS.forEach((name, j) => {
              const w = want[i]![j]!;
              const v = got.frame.value(i, name);
              if (typeof w === "number") expect(Object.is(v, w) || v === w).toBe(true);
              else expect(v).toBe(w);
            });
          });
        },
      ),
      { numRuns: 400 },
    );
  });

  it("plainDecimal is Number(text) wherever it answers, and NaN for what it leaves to coerceCell", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("", "-", "+"),
        fc.stringMatching(/^[0-9]{0,16}$/),
        fc.option(fc.stringMatching(/^[0-9]{0,16}$/)),
        (sign, int, frac) => {
          const s = frac === null ? `${sign}${int}` : `${sign}${int}.${frac}`;
          const got = plainDecimal(`,${s},`, 1, 1 + s.length);
          const digits = int.length + (frac?.length ?? 0);
          if (digits === 0 || digits > 15) expect(got).toBeNaN();
          else expect(Object.is(got, Number(s))).toBe(true);
        },
      ),
      { numRuns: 5000 },
    );
    for (const s of ["1e3", "0x10", "1_000", " 1", "Infinity", "NaN", "1.2.3"])
      expect(plainDecimal(s, 0, s.length)).toBeNaN();
  });

  it("keeps each row's own text for the output, whatever its spelling or quoting", async () => {
    const text = 'a,b,c,d,y\r\n1.0,+2,"3",udp,1\r\n\r\n  -1 , 0.50 ,,"tcp",0\r\n';
    const got = await read(text, 5);
    expect(got.lines).toEqual(['1.0,+2,"3",udp,1', '  -1 , 0.50 ,,"tcp",0']);
    expect(got.header).toEqual(["a", "b", "c", "d", "y"]);
    expect(got.frame.value(1, "b")).toBe(0.5);
    expect(got.frame.value(1, "c")).toBeNull();
    expect(got.extras.get("y")).toEqual(["1", "0"]);
  });

  it("passes extra columns through, checks the label, and neutralises formula-like cells on both paths", async () => {
    const text = "id,a,b,c,d,note\n=1+1,1,2,,tcp,@SUM(A1)\nr2,-1,0.5,3,udp,-1\nr3,0,1,,tcp,+cmd\n";
    const bytes = Buffer.from(text);
    const plain = readPlain(bytes, "t.csv", schema, INPUTS, limits);
    expect(plain).not.toBeNull();
    const streamed = await read(text);
    for (const got of [plain!, streamed]) {
      expect(got.lines).toEqual(["'=1+1,1,2,,tcp,'@SUM(A1)", "r2,-1,0.5,3,udp,-1", "r3,0,1,,tcp,'+cmd"]);
      expect(got.extras.get("note")).toEqual(["@SUM(A1)", "-1", "+cmd"]);
      expect(got.labels).toBeNull();
    }
    // with the label: checked (a formula or an unknown label is refused naming row, column, value)
    const labelled = await read("a,b,c,d,y\n1,2,,tcp,1\n0,2,,tcp,\n");
    expect(labelled.labels).toEqual(["1", null]);
    for (const bad of ["=1+1", "7"]) {
      const e = await read(`a,b,c,d,y\n1,2,,tcp,1\n0,2,,tcp,${bad}\n`).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NetsecError);
      expect((e as NetsecError).details).toMatchObject({ row: 2, column: "y", value: bad });
    }
  });

  it("an upload in memory (the one-pass path for plain files) is read exactly as the tokenizer reads it", async () => {
    const headers = [
      "a,b,c,d,y",
      "a,b,c,d,y",
      "a,b,c,d,y",
      '"a","b","c","d","y"',
      '"a","b","c","d","y"',
      "\ufeffa,b,c,d,y",
      "y,d,c,b,a",
      "a,b,c,d",
      "a,b,c,d,y,z",
      "a,b,,d,y",
      "a, b,c,d,y",
      '"a,b",c,d,y',
      "",
    ];
    const wild = fc.oneof(
      numberCell,
      catCell,
      fc.constantFrom("2", " ", "\t1", "1\t", "x\u00a0", "=1+1", "@x", "-x", "+", '"=a,b"'),
    );
    // per column a value that fits the schema (a, b, c, d, y), now and then any cell
    const fits = [
      fc.constantFrom("-1", "0", "1"),
      fc.constantFrom("0", "2.5", "10", "7", "0.125"),
      fc.constantFrom("", "3", "-4.5", "1e3"),
      fc.constantFrom("tcp", "udp"),
      fc.constantFrom("0", "1"),
    ];
    const cells = fc.tuple(
      fc.tuple(...fits.map((f) => fc.oneof({ arbitrary: f, weight: 30 }, { arbitrary: wild, weight: 1 }))),
      fc.array(wild, { maxLength: 1 }),
    );
    const ending = fc.oneof(
      { arbitrary: fc.constantFrom("\n", "\r\n"), weight: 20 },
      { arbitrary: fc.constantFrom("\r", "\n\n", "\n \n"), weight: 1 },
    );
    const row = fc.tuple(
      cells.map(([five, more]): string[] => [...five, ...more]),
      ending,
    );
    const asOk = (r: Awaited<ReturnType<typeof readCsvUpload>>) => ({
      ok: true,
      header: r.header,
      lines: r.lines,
      rows: r.rows,
      bytes: r.bytes,
      extras: [...r.extras],
      labels: r.labels,
      frame: r.frame.columns.map((c) => ({ ...c })),
    });
    const asErr = (e: unknown) => {
      if (!(e instanceof NetsecError)) throw e;
      return { ok: false, code: e.code, message: e.message, details: e.details };
    };
    let plain = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...headers),
        fc.constantFrom("\n", "\r\n"),
        fc.array(row, { maxLength: 8 }),
        fc.boolean(),
        fc.record({ maxRows: fc.integer({ min: 1, max: 10 }), maxRowChars: fc.integer({ min: 8, max: 60 }) }),
        async (header, headerEnd, rows, lastEnding, small) => {
          // mostly plain rows that fit the schema, so that many files take the one-pass path
          let text = `${header}${headerEnd}`;
          rows.forEach(([cells, end], i) => {
            text += cells.join(",") + (i < rows.length - 1 || lastEnding ? end : "");
          });
          const lim = small.maxRows < 4 ? { ...limits, ...small } : limits;
          const bytes = Buffer.from(text);
          const want = await readCsvUpload(Readable.from([bytes]), "t.csv", schema, INPUTS, lim).then(
            asOk,
            asErr,
          );
          const got = await readCsvBytes(bytes, "t.csv", schema, INPUTS, lim).then(asOk, asErr);
          expect(got).toEqual(want);
          if (readPlain(bytes, "t.csv", schema, INPUTS, lim) !== null) plain++;
        },
      ),
      { numRuns: 3000 },
    );
    // the generator reaches both paths
    expect(plain).toBeGreaterThan(100);
  });

  it("plain uploads take the one-pass path (same result as the tokenizer's path, on the phishing rows)", async () => {
    const text = readFileSync(PHISHING_CSV, "utf8");
    const bytes = Buffer.from(text);
    const phishing = getDataset("phishing", tmpdir());
    const inputs = phishing.features.map((c) => c.name);
    const big = { maxBytes: 1 << 24, maxRows: 100_000, maxRowChars: 4096 };
    const want = await readCsvUpload(Readable.from([bytes]), "p.csv", phishing, inputs, big);
    const got = readPlain(bytes, "p.csv", phishing, inputs, big)!;
    expect(got).not.toBeNull();
    expect(got.rows).toBe(11055);
    expect(got.lines).toEqual(want.lines);
    expect(got.header).toEqual(want.header);
    expect(got.extras).toEqual(want.extras);
    expect(got.frame.columns).toEqual(want.frame.columns);
  });
});

describe("a CIC-IDS2017-style upload", () => {
  // names with spaces, one named twice, Infinity in a rate: read as the file readers read them
  const cic = parseSchema(
    [
      "name: cic",
      "title: cic",
      "target: Label",
      "labels: {benign: [BENIGN]}",
      "infinity: missing",
      "columns:",
      "  - {name: Fwd Header Length, type: integer}",
      "  - {name: Flow Bytes/s, type: number}",
      "  - {name: Fwd Header Length_2, type: integer}",
      "  - {name: Label, type: categorical, role: target, values: [BENIGN, DDoS]}",
    ].join("\n"),
  );
  const inputs = ["Fwd Header Length", "Flow Bytes/s", "Fwd Header Length_2"];
  const text = " Fwd Header Length,Flow Bytes/s, Fwd Header Length\n40,Infinity,40\n60,12.5,61\n";

  it("both paths rename the repeated name X_2 and read Infinity as missing", async () => {
    const bytes = Buffer.from(text);
    const viaTokenizer = await readCsvUpload(Readable.from([bytes]), "c.csv", cic, inputs, limits);
    const onePass = readPlain(bytes, "c.csv", cic, inputs, limits);
    for (const got of [viaTokenizer, onePass ?? viaTokenizer]) {
      expect(got.header).toEqual(["Fwd Header Length", "Flow Bytes/s", "Fwd Header Length_2"]);
      expect(Array.from(got.frame.numeric("Flow Bytes/s"))).toEqual([Number.NaN, 12.5]);
      expect(Array.from(got.frame.numeric("Fwd Header Length_2"))).toEqual([40, 61]);
    }
  });
});
