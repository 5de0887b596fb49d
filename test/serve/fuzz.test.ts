/**
 * Fuzzing the scoring routes with fast-check: 1,400 generated malformed uploads and JSON bodies.
 * Property: never a 5xx, never a crash (the server still answers afterwards), and every 4xx is the
 * catalogue's error shape. Seeded, so a failure replays.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fitFixturePredictor, phishingCsvSlice } from "./fixtures/predictor.ts";
import { makeApp, multipart, type TestApp } from "./helpers.ts";

let t: TestApp;
let header: string[];
let rows: string[][];

beforeAll(async () => {
  t = await makeApp(await fitFixturePredictor(), {
    limits: { maxUploadBytes: 64 * 1024, maxUploadRows: 200, maxRowChars: 2048, maxRecords: 50 },
  });
  const lines = phishingCsvSlice(8).trim().split("\n");
  header = lines[0]!.split(",");
  rows = lines.slice(1).map((l) => l.split(","));
});
afterAll(async () => t.close());

function checkAnswer(status: number, body: string, contentType: unknown): void {
  expect(status).toBeLessThan(500);
  if (status >= 400 && String(contentType).startsWith("application/json")) {
    const e = JSON.parse(body).error;
    expect(typeof e.code).toBe("string");
    expect(e.status).toBe(status);
    expect(typeof e.message).toBe("string");
  }
}

const cellValue = fc.oneof(
  fc.constantFrom(
    "1",
    "-1",
    "0",
    "",
    "NaN",
    "1e309",
    "-0",
    "0x1",
    "1.5",
    "+1",
    " 1 ",
    '"',
    '""',
    "<script>",
    "\u0000",
    "∞",
    "١",
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
  fc.integer().map(String),
  fc.double().map(String),
);

/** null most of the time, so that many generated files keep most of their structure. */
const rarely = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ arbitrary: fc.constant(null), weight: 4 }, { arbitrary: a, weight: 1 });

/** A structured mutation of the valid CSV. */
const mutatedCsv = fc
  .record({
    dropCol: rarely(fc.nat(30)),
    addCol: rarely(fc.string({ maxLength: 10 })),
    renameCol: rarely(fc.tuple(fc.nat(30), fc.string({ maxLength: 10 }))),
    cells: rarely(fc.array(fc.tuple(fc.nat(7), fc.nat(31), cellValue), { minLength: 1, maxLength: 6 })),
    dropCells: rarely(fc.array(fc.tuple(fc.nat(7), fc.nat(31)), { minLength: 1, maxLength: 2 })),
    nRows: fc.integer({ min: 0, max: 8 }),
    delimiter: fc.constantFrom(",", ",", ",", ",", ",", ";", "\t", "|"),
    eol: fc.constantFrom("\n", "\r\n", "\r"),
    bom: fc.boolean(),
    truncate: rarely(fc.nat(3000)),
  })
  .map((m) => {
    let h = [...header];
    let rs = rows.slice(0, m.nRows).map((r) => [...r]);
    if (m.renameCol) h[m.renameCol[0] % h.length] = m.renameCol[1];
    for (const [r, c, v] of m.cells ?? []) if (rs[r]) rs[r]![c % rs[r]!.length] = v;
    for (const [r, c] of m.dropCells ?? []) rs[r]?.splice(c % 31, 1);
    if (m.dropCol !== null) {
      const c = m.dropCol % h.length;
      h = h.filter((_, i) => i !== c);
      rs = rs.map((r) => r.filter((_, i) => i !== c));
    }
    if (m.addCol !== null) {
      h.push(m.addCol);
      rs = rs.map((r) => [...r, "1"]);
    }
    let text = [h, ...rs].map((r) => r.join(m.delimiter)).join(m.eol);
    if (m.bom) text = `\ufeff${text}`;
    if (m.truncate !== null) text = text.slice(0, m.truncate);
    return Buffer.from(text);
  });

/** Random bytes spliced into a valid CSV (bad encodings, NULs, stray quotes). */
const byteNoise = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.nat(), fc.integer({ min: 1, max: 8 }))
  .map(([noise, pos, n]) => {
    const base = Buffer.from(phishingCsvSlice(n));
    const at = pos % (base.length + 1);
    return Buffer.concat([base.subarray(0, at), Buffer.from(noise), base.subarray(at)]);
  });

const anyUpload = fc.oneof(
  mutatedCsv,
  byteNoise,
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
);

describe("fuzz: malformed CSV uploads never cause a 5xx", () => {
  it("multipart uploads with mutated content, names and types (600 runs)", async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        anyUpload,
        fc.constantFrom(
          "data.csv",
          "data.csv",
          "x.txt",
          "a.png",
          "",
          "../../etc/passwd",
          "<b>.csv",
          "résumé.csv",
        ),
        fc.constantFrom(
          "text/csv",
          "text/csv",
          "application/vnd.ms-excel",
          "application/octet-stream",
          "image/png",
          "",
          "text/csv; charset=latin1",
        ),
        fc.constantFrom("json", "html", "csv"),
        async (content, filename, type, format) => {
          const mp = multipart(content, { filename, type });
          const r = await t.app.inject({ method: "POST", url: `/predict?format=${format}`, ...mp });
          statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
          checkAnswer(r.statusCode, r.body, r.headers["content-type"]);
        },
      ),
      { numRuns: 600, seed: 20250101 },
    );
    // the generators reach every layer: accepted files, parse errors, schema errors, wrong media types
    for (const s of [200, 400, 415, 422]) expect(statuses.get(s) ?? 0).toBeGreaterThan(5);
  });

  it("raw multipart bytes corrupted: boundaries, headers, truncation (250 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat()),
        fc.constantFrom(
          "multipart/form-data; boundary=----netsecTestBoundary7MA4YWxkTrZu0gW",
          "multipart/form-data",
          "multipart/form-data; boundary=",
          "multipart/mixed; boundary=x",
        ),
        async (flips, cut, ctype) => {
          const { payload } = multipart(phishingCsvSlice(3));
          const b = Buffer.from(payload);
          for (const [pos, byte] of flips) b[pos % b.length] = byte;
          const body = cut === null ? b : b.subarray(0, cut % b.length);
          const r = await t.app.inject({
            method: "POST",
            url: "/predict",
            headers: { "content-type": ctype },
            payload: body,
          });
          checkAnswer(r.statusCode, r.body, r.headers["content-type"]);
        },
      ),
      { numRuns: 250, seed: 7 },
    );
  });

  it("text/csv bodies (100 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(anyUpload, async (content) => {
        const r = await t.app.inject({
          method: "POST",
          url: "/predict",
          headers: { "content-type": "text/csv" },
          payload: content,
        });
        checkAnswer(r.statusCode, r.body, r.headers["content-type"]);
      }),
      { numRuns: 100, seed: 11 },
    );
  });
});

describe("fuzz: malformed JSON bodies never cause a 5xx", () => {
  const validRecord = (): Record<string, unknown> =>
    Object.fromEntries(header.map((h, i) => [h.replace(/"/g, ""), Number(rows[0]![i])]));

  it("records with mutated keys and values (300 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            drop: fc.option(fc.nat(30)),
            set: fc.array(
              fc.tuple(
                fc.oneof(
                  fc.nat(30).map((i) => header[i]!.replace(/"/g, "")),
                  fc.string({ maxLength: 8 }),
                ),
                fc.jsonValue({ maxDepth: 2 }),
              ),
              { maxLength: 3 },
            ),
          }),
          { minLength: 0, maxLength: 60 },
        ),
        async (muts) => {
          const body = muts.map((m) => {
            const rec = validRecord();
            if (m.drop !== null) delete rec[Object.keys(rec)[m.drop % 31]!];
            for (const [k, v] of m.set) rec[k] = v;
            return rec;
          });
          const r = await t.app.inject({ method: "POST", url: "/predict/records", payload: body });
          checkAnswer(r.statusCode, r.body, r.headers["content-type"]);
        },
      ),
      { numRuns: 300, seed: 3 },
    );
  });

  it("arbitrary JSON and arbitrary text with a JSON content type (150 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v) ?? "null"),
          fc.string({ maxLength: 200 }),
        ),
        fc.constantFrom("/predict/records", "/train"),
        async (text, url) => {
          const r = await t.app.inject({
            method: "POST",
            url,
            headers: { "content-type": "application/json", authorization: "Bearer x" },
            payload: text,
          });
          checkAnswer(r.statusCode, r.body, r.headers["content-type"]);
        },
      ),
      { numRuns: 150, seed: 5 },
    );
  });

  it("the server still answers after all of it", async () => {
    expect((await t.app.inject({ method: "GET", url: "/health/ready" })).statusCode).toBe(200);
    const r = await t.app.inject({ method: "POST", url: "/predict/records", payload: [validRecord()] });
    expect(r.statusCode).toBe(200);
    const logs = t.logs.filter((l) => l.includes('"level":50'));
    expect(logs).toEqual([]);
  });
});
