/** A Kafka record's text → an object of scalars, or the reason it goes to the dead-letter topic. */
import { describe, expect, it } from "vitest";
import type { ColumnSpec } from "../../src/datasets/schema.ts";
import { decodeCsv, decodeJson, decoder, sampleRecords } from "../../src/stream/records.ts";

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

describe("sampleRecords", () => {
  const col = (c: Partial<ColumnSpec> & Pick<ColumnSpec, "name" | "type">): ColumnSpec => ({
    role: "feature",
    nullable: true,
    ...c,
  });
  const columns = [
    col({ name: "flag", type: "integer", values: [-1, 1] }),
    col({ name: "bytes", type: "number", min: 0, max: 60 }),
    col({ name: "proto", type: "categorical", values: ["tcp", 'u,d"p'] }),
    col({ name: "service", type: "categorical" }),
    col({ name: "seen", type: "timestamp" }),
    col({ name: "label", type: "categorical", role: "target", values: ["a", "b"] }),
  ];
  const inputs = ["flag", "bytes", "proto", "service", "seen"];

  it("gives each input column its allowed values in turn, else points of its range (JSON)", () => {
    const rows = sampleRecords("json", [], columns, inputs, 8).map((t) => JSON.parse(t));
    // by hand: row r takes values[r % count]; a range [0, 60] in sevenths of r % 7 (0, 10, …, 60)
    expect(rows[0]).toEqual({
      flag: -1,
      bytes: 0,
      proto: "tcp",
      service: "v0",
      seen: "2026-01-01T00:00:00.000Z",
    });
    expect(rows[1]).toEqual({
      flag: 1,
      bytes: 10,
      proto: 'u,d"p',
      service: "v1",
      seen: "2026-01-01T00:00:01.000Z",
    });
    expect(rows.map((r) => r.bytes)).toEqual([0, 10, 20, 30, 40, 50, 60, 0]);
    // the target is not an input: not in the records
    expect(rows.every((r) => !("label" in r))).toBe(true);
  });

  it("writes CSV lines in the declared header's order, quoted where needed, empty for a non-input", () => {
    const header = ["proto", "label", "flag"];
    const lines = sampleRecords("csv", header, columns, inputs, 2);
    expect(lines).toEqual(["tcp,,-1", '"u,d""p",,1']);
    expect(decodeCsv(lines[1]!, header)).toEqual({
      ok: true,
      record: { proto: 'u,d"p', label: "", flag: "1" },
    });
  });
});
