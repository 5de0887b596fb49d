/**
 * The streaming tokenizer against csv-parse (the independent reference, with the options the upload
 * path used before: bom, trim, skip_empty_lines, relax_column_count): the same records for generated
 * files cut into chunks at random places, errors where csv-parse errors, and hand-written cases.
 */
import { parse } from "csv-parse/sync";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CsvSyntaxError, CsvTokenizer, recordValues } from "../../src/datasets/csv-tokenizer.ts";

interface Tokenized {
  records: string[][];
  raw: string[];
  lines: number[];
}

function tokenize(text: string, cuts: number[] = [], max = Number.POSITIVE_INFINITY): Tokenized {
  const out: Tokenized = { records: [], raw: [], lines: [] };
  const tok = new CsvTokenizer((r) => {
    out.records.push(recordValues(r));
    out.raw.push(r.text.slice(r.recordStart, r.recordEnd));
    out.lines.push(r.line);
  }, max);
  let at = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    if (c <= at || c >= text.length) continue;
    tok.push(text.slice(at, c));
    at = c;
  }
  tok.push(text.slice(at));
  tok.end();
  return out;
}

function reference(text: string): string[][] {
  return parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true, trim: true });
}

/** A field as a CSV writer could produce it, plus stray whitespace around it. */
const field = fc.oneof(
  fc.constantFrom("", "1", "-1", "0.5", "abc", " x ", "\t7", "1e3", "é", "\u00a0y"),
  fc.stringMatching(/^[a-z0-9 .+-]{0,6}$/),
  fc
    .string({ unit: fc.constantFrom("a", ",", '"', "\n", "\r\n", " ", "b"), maxLength: 6 })
    .map((s) => `"${s.replace(/"/g, '""')}"`),
  fc.constantFrom('  "q"  ', '"a,b"', '""', '"line\nbreak"'),
);

const file = fc
  .record({
    rows: fc.array(fc.array(field, { minLength: 1, maxLength: 5 }), { minLength: 0, maxLength: 8 }),
    eol: fc.constantFrom("\n", "\r\n"),
    blank: fc.array(fc.nat(8), { maxLength: 3 }),
    finalEol: fc.boolean(),
    bom: fc.boolean(),
  })
  .map(({ rows, eol, blank, finalEol, bom }) => {
    const lines = rows.map((r) => r.join(","));
    for (const b of blank) lines.splice(Math.min(b, lines.length), 0, b % 2 ? "" : "   ");
    return (bom ? "\ufeff" : "") + lines.join(eol) + (finalEol && lines.length ? eol : "");
  });

describe("CsvTokenizer vs csv-parse", () => {
  it("the same records for generated files, however they are chunked", () => {
    fc.assert(
      fc.property(file, fc.array(fc.nat(200), { maxLength: 6 }), (text, cuts) => {
        const want = reference(text);
        expect(tokenize(text, cuts).records).toEqual(want);
      }),
      { numRuns: 2000 },
    );
  });

  it("an error exactly where csv-parse has one (stray quotes, unclosed quotes)", () => {
    const noisy = fc
      .tuple(file, fc.array(fc.tuple(fc.nat(300), fc.constantFrom('"', 'x"', '" y', ",")), { maxLength: 3 }))
      .map(([text, ins]) => {
        let t = text;
        for (const [at, s] of ins) {
          const i = Math.min(at, t.length);
          t = t.slice(0, i) + s + t.slice(i);
        }
        return t;
      });
    fc.assert(
      fc.property(noisy, fc.array(fc.nat(300), { maxLength: 4 }), (text, cuts) => {
        // one line ending in the whole file: csv-parse keeps the first it sees, where a lone \r or \n
        // elsewhere is whitespace to it and a line break here (see the header of csv-tokenizer.ts)
        fc.pre(!text.includes("\r") || !/\r(?!\n)|(?<!\r)\n/.test(text));
        // a byte-order mark is one only at the start (the noise can move one inside)
        fc.pre(text.lastIndexOf("\ufeff") <= 0);
        let want: string[][] | null = null;
        try {
          want = reference(text);
        } catch {
          want = null;
        }
        let got: string[][] | CsvSyntaxError;
        try {
          got = tokenize(text, cuts).records;
        } catch (e) {
          got = e as CsvSyntaxError;
        }
        if (want === null) expect(got).toBeInstanceOf(CsvSyntaxError);
        else if (got instanceof CsvSyntaxError) {
          // stricter than csv-parse in one place only: a second quoted section after a closed quoted
          // field and whitespace ('"" ""', which csv-parse joins into one field) is an error here
          expect(got.code).toBe("INVALID_CLOSING_QUOTE");
          expect(got.message).toContain('"\\"" after the closing quote');
        } else expect(got).toEqual(want);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("CsvTokenizer", () => {
  it("trims fields, keeps quoted content verbatim, unescapes doubled quotes", () => {
    const t = tokenize(' a , "b ""c"" , d" ,  \n"multi\nline",x\n');
    expect(t.records).toEqual([
      ["a", 'b "c" , d', ""],
      ["multi\nline", "x"],
    ]);
    expect(t.lines).toEqual([1, 2]);
  });

  it("skips blank lines and counts lines for \\n, \\r\\n and a lone \\r", () => {
    const t = tokenize("h1,h2\r\n\r\n1,2\r  \n3,4\n\n5,6");
    expect(t.records).toEqual([
      ["h1", "h2"],
      ["1", "2"],
      ["3", "4"],
      ["5", "6"],
    ]);
    expect(t.lines).toEqual([1, 3, 5, 7]);
    expect(t.raw).toEqual(["h1,h2", "1,2", "3,4", "5,6"]);
  });

  it("mixed line endings read row by row (csv-parse keeps the first ending it sees for the whole file)", () => {
    expect(tokenize("a,b\r\n1,2\n3,4\r5,6").records).toEqual([
      ["a", "b"],
      ["1", "2"],
      ["3", "4"],
      ["5", "6"],
    ]);
  });

  it("a record split at every possible place reads the same", () => {
    const text = 'h,"q ""x"""\r\n1, "a\r\nb" \r\n2,3';
    const whole = tokenize(text).records;
    for (let i = 1; i < text.length; i++) expect(tokenize(text, [i]).records).toEqual(whole);
  });

  it("a record over the limit fails as soon as it is seen, naming its line and record", () => {
    const big = `a,b\n1,2\n${"9,".repeat(100)}`;
    let err: CsvSyntaxError | undefined;
    const tok = new CsvTokenizer(() => undefined, 50);
    try {
      tok.push(big); // no line break yet: the record is incomplete but already too long
    } catch (e) {
      err = e as CsvSyntaxError;
    }
    expect(err?.code).toBe("MAX_RECORD_SIZE");
    expect(err?.line).toBe(3);
    expect(err?.record).toBe(2);
    // a record of exactly the limit passes
    expect(tokenize(`${"x".repeat(50)}\n`, [], 50).records).toEqual([["x".repeat(50)]]);
  });

  it("refuses a second quoted section in one field, which csv-parse joins", () => {
    expect(parse('a\n"" ""\n', { trim: true })).toEqual([["a"], [""]]);
    expect(() => tokenize('a\n"" ""\n')).toThrow(/line 2: "\\"" after the closing quote/);
  });

  it("names the line of an unclosed quote and of a stray quote", () => {
    const e1 = (() => {
      try {
        tokenize('a,b\n1,2\n"3,4\n5,6\n');
      } catch (e) {
        return e as CsvSyntaxError;
      }
      return undefined;
    })();
    expect(e1?.code).toBe("QUOTE_NOT_CLOSED");
    expect(e1?.line).toBe(3);
    expect(() => tokenize('a,b\n1,x"y\n')).toThrow(/line 2: a quote inside the unquoted field "x\\""/);
    expect(() => tokenize('a,b\n1,"x"y\n')).toThrow(/line 2: "y" after the closing quote/);
  });
});
