/**
 * The whole-batch fast path builds exactly the Frame of the general path (decodeJson / decodeCsv, then
 * recordsToFrame): the same typed values, the same categorical codes and dictionaries. Any record
 * outside its subset (bad JSON, escapes, booleans, a cell with a problem…) gives null, so the batch
 * goes the general way, which words the reasons.
 */

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Frame } from "../../src/core/frame.ts";
import { parseSchema } from "../../src/datasets/schema.ts";
import { recordsToFrame } from "../../src/serve/records.ts";
import { fastCsvFrame, fastJsonFrame } from "../../src/stream/fast-frame.ts";
import { decodeCsv, decodeJson } from "../../src/stream/records.ts";
import { phishingCsvSlice } from "../serve/fixtures/predictor.ts";

/** Flows: a number, a nullable integer with allowed values, an open categorical, a categorical target. */
const schema = parseSchema(`
name: flows
title: flows
target: label
labels: {threat: [attack]}
columns:
  - {name: bytes, type: number, nullable: false}
  - {name: code, type: integer, values: [-1, 0, 1]}
  - {name: proto, type: categorical}
  - {name: label, type: categorical, values: [normal, attack]}
`);
const inputs = ["bytes", "code", "proto"];

/** The general path's Frame of JSON texts (throws when one is bad). */
function general(texts: readonly string[]): Frame {
  const objects = texts.map((t) => {
    const d = decodeJson(t);
    if (!d.ok) throw new Error(d.reason);
    return d.record;
  });
  return recordsToFrame(objects, schema, inputs).frame;
}

const same = (a: Frame | null, b: Frame): void => {
  expect(a).not.toBeNull();
  expect(a!.nRows).toBe(b.nRows);
  expect(a!.columns).toEqual(b.columns);
};

describe("fastJsonFrame", () => {
  it("builds the general path's Frame: values, missing cells, category codes in first-seen order", () => {
    const texts = [
      '{"bytes": "12.5", "code": "-1", "proto": "udp", "label": "attack"}',
      // keys in another order, numbers as JSON numbers, extra keys, whitespace JSON allows
      ' {\n\t"proto" : "tcp" ,"code":1, "bytes":3e2, "note": "x", "n": -0.5 ,\t"z": null }\r\n',
      '{"bytes": 0, "code": null, "proto": null, "label": null}',
      '{"bytes": -0, "code": " 0 ", "proto": "icmp", "label": "normal"}',
      '{"bytes": "7", "code": "NA", "proto": "udp"}',
      '{"bytes": 1E+2, "code": "1", "proto": 1.50, "label": "normal"}',
    ];
    const fast = fastJsonFrame();
    const got = fast(texts, schema, inputs);
    const want = general(texts);
    same(got, want);
    // hand-checked: the values the schema's coercion gives
    expect(Array.from(got!.numeric("bytes"))).toEqual([12.5, 300, 0, -0, 7, 100]);
    expect(Array.from(got!.numeric("code"))).toEqual([-1, 1, Number.NaN, 0, Number.NaN, 1]);
    const proto = got!.column("proto");
    expect(proto.kind === "categorical" && [proto.categories, Array.from(proto.codes)]).toEqual([
      ["udp", "tcp", "icmp", "1.5"],
      [0, 1, -1, 2, 0, 3],
    ]);
    // a second batch on the same decoder (its memo and key-order guesses warm) still agrees
    same(fast(texts.slice().reverse(), schema, inputs), general(texts.slice().reverse()));
  });

  it("tells short texts apart past its scanned memo and with units above one byte", () => {
    // more distinct texts of up to 3 units than a column's scanned memo holds, texts sharing units in
    // another order or length, one-byte units above ASCII, and units above one byte (another memo)
    const protos = ["a", "b", "ab", "ba", "abc", "cba", "aa", "aaa", "é", "¬", "€", "a€", "€€€", "š", "xyzw"];
    const texts = [...protos, ...protos.slice().reverse()].map(
      (p, r) => `{"bytes": ${r}, "code": "${["-1", "0", "1"][r % 3]}", "proto": "${p}"}`,
    );
    const fast = fastJsonFrame();
    const got = fast(texts, schema, inputs);
    same(got, general(texts));
    const proto = got!.column("proto");
    expect(proto.kind === "categorical" && proto.categories).toEqual(protos);
    expect(proto.kind === "categorical" && Array.from(proto.codes)).toEqual([
      ...protos.map((_, i) => i),
      ...protos.map((_, i) => protos.length - 1 - i),
    ]);
    same(fast(texts.slice().reverse(), schema, inputs), general(texts.slice().reverse()));
  });

  it("matches a column name with a surrogate pair by its UTF-16 units", () => {
    const name = "p\u{1F600}";
    const astral = parseSchema(`
name: astral
title: astral
target: label
labels: {threat: [attack]}
columns:
  - {name: "${name}", type: number}
  - {name: label, type: categorical, values: [normal, attack]}
`);
    expect(astral.column(name)).toBeDefined();
    const good = `{"${name}": 1}`;
    const fast = fastJsonFrame();
    const want = recordsToFrame([{ [name]: 1 }, { [name]: 2 }], astral, [name]).frame;
    same(fast([good, `{"${name}": 2}`], astral, [name]), want);
    // the same name cut after its high surrogate is another key (the column is then missing)
    expect(fast([good, '{"p\uD83D": 1}'], astral, [name])).toBeNull();
  });

  it("gives null for every record outside its subset, whether the general path takes it or not", () => {
    const good = '{"bytes": 1, "code": 0, "proto": "tcp"}';
    const outside = [
      "{not json",
      '{"bytes": 1, "code": 0, "proto": "tcp"} x',
      '{"bytes": 1, "code": 0, "proto": "tcp",}',
      '{"bytes": 1, "code": 0, "proto": "t\\u0063p"}', // an escape (valid JSON: the general path reads "tcp")
      '{"bytes": 1, "co\\u0064e": 0, "proto": "tcp"}',
      '{"bytes": 1, "code": 0, "proto": true}',
      '{"bytes": 1, "code": 0, "proto": "tcp", "x": [1]}',
      '{"bytes": 1, "code": 0, "proto": "tcp", "x": {"y": 1}}',
      '{"bytes": 1, "code": 0, "code": 1, "proto": "tcp"}',
      '{"bytes": 1, "proto": "tcp"}',
      '{"bytes": "big", "code": 0, "proto": "tcp"}',
      '{"bytes": null, "code": 0, "proto": "tcp"}',
      '{"bytes": 1, "code": 7, "proto": "tcp"}',
      '{"bytes": 1, "code": 0.5, "proto": "tcp"}',
      '{"bytes": 1, "code": 0, "proto": "tcp", "label": "weird"}',
      '{"bytes": 01, "code": 0, "proto": "tcp"}',
      '{"bytes": 1., "code": 0, "proto": "tcp"}',
      '{"bytes": 1, "code": 0, "proto": "t\tp"}',
      '{"bytes":\u0001 1, "code": 0, "proto": "tcp"}', // a control character where whitespace may be
      '{"bytes": 1, "code": 0, "proto": "tcp"\u000b}',
      "[1, 2, 3]",
      "",
    ];
    const fast = fastJsonFrame();
    expect(fast([good], schema, inputs)).not.toBeNull();
    for (const t of outside)
      expect({ t, frame: fast([good, t, good], schema, inputs) }).toEqual({ t, frame: null });
  });

  it("agrees with the general path on the phishing file's rows", () => {
    const text = phishingCsvSlice(2000);
    const lines = text.trim().split("\n");
    const header = lines[0]!.replace(/"/g, "").split(",");
    const phishing = parseSchema(
      readFileSync(new URL("../../datasets/phishing.yaml", import.meta.url), "utf8"),
    );
    const features = phishing.columnNames.filter((n) => n !== "Result");
    const json = lines
      .slice(1)
      .map((l) => JSON.stringify(Object.fromEntries(l.split(",").map((v, i) => [header[i]!, v]))));
    const want = recordsToFrame(
      json.map((t) => (decodeJson(t) as { ok: true; record: Record<string, string> }).record),
      phishing,
      features,
    ).frame;
    same(fastJsonFrame()(json, phishing, features), want);
    same(fastCsvFrame(header)(lines.slice(1), phishing, features), want);
  });
});

describe("fastCsvFrame", () => {
  const header = ["proto", "label", "bytes", "code"];
  const generalCsv = (lines: readonly string[]): Frame =>
    recordsToFrame(
      lines.map((l) => (decodeCsv(l, header) as { ok: true; record: Record<string, string> }).record),
      schema,
      inputs,
    ).frame;

  it("builds the general path's Frame from CSV lines", () => {
    const lines = ["udp,attack,12.5,-1", "tcp,,3e2,1", "icmp,normal,0,", "udp,normal, 7 ,NA"];
    same(fastCsvFrame(header)(lines, schema, inputs), generalCsv(lines));
  });

  it("gives null for quoted cells, a wrong cell count, a bad cell, or a header without an input", () => {
    const fast = fastCsvFrame(header);
    for (const l of [
      '"udp",normal,1,0',
      "udp,normal,1",
      "udp,normal,1,0,9",
      "udp,normal,x,0",
      "udp,bad,1,0",
      "",
    ])
      expect({ l, frame: fast(["tcp,normal,1,0", l], schema, inputs) }).toEqual({ l, frame: null });
    expect(fastCsvFrame(["proto", "bytes"])(["tcp,1"], schema, inputs)).toBeNull();
  });
});
