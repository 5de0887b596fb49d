/** A Kafka record's text → an object of scalars, or the reason it goes to the dead-letter topic. */
import { describe, expect, it } from "vitest";
import { decodeCsv, decodeJson, decoder } from "../../src/stream/records.ts";

describe("decodeJson", () => {
  it("takes a flat object of scalars as it is", () => {
    expect(decodeJson('{"a": -1, "b": "x", "c": null, "d": true}')).toEqual({
      ok: true,
      record: { a: -1, b: "x", c: null, d: true },
    });
  });

  it("names what is wrong with anything else", () => {
    const bad = (text: string): string => {
      const d = decodeJson(text);
      if (d.ok) throw new Error(`accepted ${text}`);
      return d.reason;
    };
    expect(bad('{"a": 1,')).toMatch(/^not JSON: /);
    expect(bad('{"a": 1,')).toContain(` in ${JSON.stringify('{"a": 1,')}`);
    expect(bad("[1, 2]")).toBe("expected a JSON object of feature values, got an array");
    expect(bad("null")).toBe("expected a JSON object of feature values, got null");
    expect(bad("7")).toBe("expected a JSON object of feature values, got number");
    expect(bad('{"a": 1, "b": {"c": 2}}')).toBe(
      'key "b": expected a string, number, boolean or null, got object',
    );
    expect(bad('{"a": [1]}')).toBe('key "a": expected a string, number, boolean or null, got an array');
  });
});

describe("decodeCsv", () => {
  const header = ["a", "b", "c"];

  it("names the cells by the declared header, as text", () => {
    expect(decodeCsv('1,"x,y",', header)).toEqual({ ok: true, record: { a: "1", b: "x,y", c: "" } });
    expect(decoder("csv", header)("-1,0,1")).toEqual({ ok: true, record: { a: "-1", b: "0", c: "1" } });
  });

  it("refuses a line whose field count differs from the header, or two lines", () => {
    expect(decodeCsv("1,2", header)).toEqual({
      ok: false,
      reason: "expected 3 CSV fields (the declared header), found 2",
    });
    expect(decodeCsv("1,2,3\n4,5,6", header)).toEqual({
      ok: false,
      reason: "expected one CSV line, found 2",
    });
    const q = decodeCsv('1,"unterminated,3', header);
    expect(q.ok).toBe(false);
    expect(!q.ok && q.reason).toMatch(/^not a CSV line: /);
  });
});
