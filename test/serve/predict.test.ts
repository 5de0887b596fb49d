/**
 * Scoring routes through app.inject(): formats, outputs on disk, the model version, explanations, and
 * every kind of bad input (4xx naming row, column and value; nothing written).
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Predictor } from "../../src/bundle/predictor.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { fitFixturePredictor, PHISHING_CSV, phishingCsvSlice } from "./fixtures/predictor.ts";
import { makeApp, multipart, type TestApp } from "./helpers.ts";

let p: Predictor;
let t: TestApp;

beforeAll(async () => {
  p = await fitFixturePredictor();
  t = await makeApp(p, { limits: { maxUploadRows: 500, maxRowChars: 4096, maxRecords: 100 } });
});
afterAll(async () => {
  await t.close();
});

const csv50 = (): string => phishingCsvSlice(50);

/** The fixture's own answer for the first n rows, computed without the server. */
async function expected(n: number): Promise<{ threats: number; probs: Float64Array; labels: string[] }> {
  const all = await loadFrame({ path: PHISHING_CSV }, p.schema);
  const idx = Array.from({ length: n }, (_, i) => i);
  const pred = p.predict(all.frame.take(idx));
  return { threats: pred.isThreat.reduce((a, b) => a + b, 0), probs: pred.probability, labels: pred.labels };
}

describe("POST /predict", () => {
  it("answers JSON by default with the model version, keeps the output under its id and as output.csv", async () => {
    const r = await t.app.inject({ method: "POST", url: "/predict", ...multipart(csv50()) });
    expect(r.statusCode).toBe(200);
    expect(r.headers["x-model-version"]).toBe("phishing-nb:1");
    const body = r.json();
    const exp = await expected(50);
    expect(body.model_version).toBe("phishing-nb:1");
    expect(body.rows).toBe(50);
    expect(body.threats).toBe(exp.threats);
    expect(body.predictions).toHaveLength(50);
    body.predictions.forEach((q: { probability: number; label: string; row: number }, i: number) => {
      expect(q.row).toBe(i + 1);
      expect(q.probability).toBeCloseTo(exp.probs[i]!, 12);
      expect(q.label).toBe(exp.labels[i]);
    });
    const kept = join(t.home, "prediction_output", `${body.id}.csv`);
    expect(existsSync(kept)).toBe(true);
    expect(readFileSync(join(t.home, "prediction_output", "output.csv"), "utf8")).toBe(
      readFileSync(kept, "utf8"),
    );
    const dl = await t.app.inject({ method: "GET", url: body.download });
    expect(dl.statusCode).toBe(200);
    expect(dl.body).toBe(readFileSync(kept, "utf8"));
  });

  it("makes the output folder again when it was removed while serving", async () => {
    const first = await t.app.inject({ method: "POST", url: "/predict", ...multipart(phishingCsvSlice(3)) });
    expect(first.statusCode).toBe(200);
    rmSync(join(t.home, "prediction_output"), { recursive: true });
    const r = await t.app.inject({ method: "POST", url: "/predict", ...multipart(phishingCsvSlice(4)) });
    expect(r.statusCode).toBe(200);
    const kept = readFileSync(join(t.home, "prediction_output", `${r.json().id}.csv`), "utf8");
    expect(kept.trim().split("\n")).toHaveLength(5);
    expect(readFileSync(join(t.home, "prediction_output", "output.csv"), "utf8")).toBe(kept);
  });

  it("keeps each of several concurrent uploads under its own id", async () => {
    const rs = await Promise.all(
      [5, 6, 7, 8, 9].map((n) =>
        t.app.inject({ method: "POST", url: "/predict", ...multipart(phishingCsvSlice(n)) }),
      ),
    );
    const ids = rs.map((r) => r.json().id as string);
    expect(new Set(ids).size).toBe(5);
    rs.forEach((r, i) => {
      const kept = readFileSync(join(t.home, "prediction_output", `${ids[i]}.csv`), "utf8");
      expect(kept.trim().split("\n")).toHaveLength(5 + i + 1);
      expect(r.headers["x-prediction-id"]).toBe(ids[i]);
    });
    // output.csv is one of them, whole
    const latest = readFileSync(join(t.home, "prediction_output", "output.csv"), "utf8");
    expect(ids.map((id) => readFileSync(join(t.home, "prediction_output", `${id}.csv`), "utf8"))).toContain(
      latest,
    );
  });

  it("answers CSV: the input rows, then prediction and probability", async () => {
    const input = csv50();
    const r = await t.app.inject({
      method: "POST",
      url: "/predict",
      headers: { ...multipart(input).headers, accept: "text/csv" },
      payload: multipart(input).payload,
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^text\/csv/);
    const lines = r.body.trim().split("\n");
    const inLines = input.trim().split("\n");
    expect(lines).toHaveLength(51);
    expect(lines[0]).toBe(`${inLines[0]!.replace(/"/g, "")},prediction,probability`);
    const exp = await expected(50);
    for (let i = 1; i <= 50; i++) {
      const cells = lines[i]!.split(",");
      // the original cells come back unchanged (all integers here)
      expect(cells.slice(0, 31).join(",")).toBe(inLines[i]);
      expect(cells[31]).toBe(exp.labels[i - 1]);
      expect(Number(cells[32])).toBeCloseTo(exp.probs[i - 1]!, 12);
    }
  });

  it("answers HTML for a browser: a sortable table with threat rows marked and the threat count", async () => {
    const mp = multipart(csv50());
    const r = await t.app.inject({
      method: "POST",
      url: "/predict",
      headers: { ...mp.headers, accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
      payload: mp.payload,
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^text\/html/);
    const exp = await expected(50);
    expect(r.body).toContain(`<span class="tile-value" id="threat-count">${exp.threats}</span>`);
    expect(r.body.match(/<tr class="threat">/g)?.length).toBe(exp.threats);
    expect(r.body.match(/<tr class="benign">/g)?.length).toBe(50 - exp.threats);
    expect(r.body).toContain('class="results sortable"');
    expect(r.body).toContain("phishing");
    expect(r.body).toContain("legitimate");
    expect(r.body).not.toMatch(/<script>|style="/);
  });

  it("takes a text/csv body as well as multipart", async () => {
    const r = await t.app.inject({
      method: "POST",
      url: "/predict?format=json",
      headers: { "content-type": "text/csv" },
      payload: csv50(),
    });
    expect(r.statusCode).toBe(200);
    expect(r.json().rows).toBe(50);
  });

  it("renders a CSV cell and a file name holding markup as text, never as markup", async () => {
    const lines = csv50().trim().split("\n");
    // a column the model does not read is carried through as raw text; put markup in it
    lines[0] = `${lines[0]},note`;
    for (let i = 1; i < lines.length; i++)
      lines[i] = `${lines[i]},${i === 3 ? '"<script>alert(1)</script>"' : ""}`;
    const mp = multipart(`${lines.join("\n")}\n`, { filename: "<img src=x onerror=alert(2)>.csv" });
    const r = await t.app.inject({ method: "POST", url: "/predict?format=html", ...mp });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(r.body).not.toContain("<script>alert(1)");
    expect(r.body).toContain("&lt;img src=x onerror=alert(2)&gt;.csv");
    expect(r.body).not.toContain("<img src=x");
    // and the error page escapes a bad value too
    const bad = csv50().trim().split("\n");
    bad[2] = `<b>x</b>${bad[2]!.slice(bad[2]!.indexOf(","))}`;
    const e = await t.app.inject({
      method: "POST",
      url: "/predict?format=html",
      ...multipart(`${bad.join("\n")}\n`),
    });
    expect(e.statusCode).toBe(422);
    expect(e.body).toContain("&lt;b&gt;x&lt;/b&gt;");
    expect(e.body).not.toContain("<b>x</b>");
  });

  it("sets a strict CSP and security headers on pages", async () => {
    const r = await t.app.inject({ method: "GET", url: "/" });
    const csp = String(r.headers["content-security-policy"]);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(r.headers["x-content-type-options"]).toBe("nosniff");
    expect(r.headers["access-control-allow-origin"]).toBeUndefined();
  });
});

describe("POST /predict: bad input is a 4xx that names row, column and value", () => {
  const header = (): string => csv50().split("\n")[0]!;
  const rows = (): string[] => csv50().trim().split("\n").slice(1);
  const post = (body: string | Buffer, opts: Parameters<typeof multipart>[1] = {}) =>
    t.app.inject({ method: "POST", url: "/predict", ...multipart(body, opts) });

  it("missing column", async () => {
    const h = header().split(",");
    const i = h.indexOf('"SFH"');
    const drop = (l: string): string =>
      l
        .split(",")
        .filter((_, j) => j !== i)
        .join(",");
    const r = await post([drop(header()), ...rows().map(drop)].join("\n"));
    expect(r.statusCode).toBe(422);
    const e = r.json().error;
    expect(e.code).toBe("SCHEMA_MISMATCH");
    expect(e.details.missing).toEqual(["SFH"]);
    expect(e.details.column).toBe("SFH");
    expect(e.message).toContain('missing column(s) "SFH"');
  });

  it("a label outside the schema's labels, or formula text as a label", async () => {
    const rs = rows();
    rs[1] = rs[1]!.replace(/,-?1$/, ',"=HYPERLINK(""http://x"")"');
    rs[4] = rs[4]!.replace(/,-?1$/, ",7");
    const r = await post([header(), ...rs].join("\n"));
    expect(r.statusCode).toBe(422);
    const e = r.json().error;
    expect(e.details).toMatchObject({ row: 2, column: "Result", value: '=HYPERLINK("http://x")' });
    expect(e.details.total).toBe(2);
    expect(e.details.problems[1]).toMatchObject({
      row: 5,
      column: "Result",
      value: "7",
      kind: "unknown_label",
    });
  });

  it("wrong type, with the 1-based data row", async () => {
    const rs = rows();
    rs[2] = rs[2]!.replace(/^-?1,-?[01]/, (m) => `${m.split(",")[0]},abc`);
    const r = await post([header(), ...rs].join("\n"));
    expect(r.statusCode).toBe(422);
    const e = r.json().error;
    expect(e.details).toMatchObject({ row: 3, column: "URL_Length", value: "abc" });
    expect(e.details.problems[0]).toMatchObject({ row: 3, column: "URL_Length", value: "abc", kind: "type" });
    expect(e.message).toContain('row 3, column URL_Length: "abc" not a number');
  });

  it("a value outside the schema's allowed values, every one counted", async () => {
    const rs = rows().map((l, i) => (i === 4 || i === 9 ? `7${l.slice(l.indexOf(","))}` : l));
    const r = await post([header(), ...rs].join("\n"));
    expect(r.statusCode).toBe(422);
    const e = r.json().error;
    expect(e.details.total).toBe(2);
    expect(e.details.problems.map((q: { row: number }) => q.row)).toEqual([5, 10]);
    expect(e.details).toMatchObject({ row: 5, column: "having_IP_Address", value: "7" });
  });

  it("a non-integer in an integer column", async () => {
    const rs = rows();
    rs[0] = `0.5${rs[0]!.slice(rs[0]!.indexOf(","))}`;
    const r = await post([header(), ...rs].join("\n"));
    expect(r.statusCode).toBe(422);
    expect(r.json().error.details.problems[0]).toMatchObject({
      row: 1,
      column: "having_IP_Address",
      kind: "not_integer",
    });
  });

  it("invalid UTF-8", async () => {
    const body = Buffer.concat([
      Buffer.from(`${header()}\n${rows()[0]}\n`),
      Buffer.from([0xff, 0xfe, 0x41]),
      Buffer.from(`\n${rows()[1]}\n`),
    ]);
    const r = await post(body);
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe("PARSE_ERROR");
    expect(r.json().error.message).toContain("not valid UTF-8");
    expect(r.json().error.details.line).toBe(3);
  });

  it("a binary file", async () => {
    const r = await post(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x00, 0x08]), {
      filename: "data.csv",
    });
    expect(r.statusCode).toBe(415);
    expect(r.json().error.message).toContain("NUL");
  });

  it("an empty file and a header without rows", async () => {
    const e = await post("");
    expect(e.statusCode).toBe(400);
    expect(e.json().error.message).toContain("is empty");
    const h = await post(`${header()}\n`);
    expect(h.statusCode).toBe(400);
    expect(h.json().error.message).toContain("no data rows");
  });

  it("a ragged row", async () => {
    const rs = rows();
    rs[6] = rs[6]!.split(",").slice(0, 20).join(",");
    const r = await post([header(), ...rs].join("\n"));
    expect(r.statusCode).toBe(400);
    expect(r.json().error.details).toMatchObject({ row: 7, expected: 31, found: 20 });
  });

  it("an unclosed quote", async () => {
    const r = await post(`${header()}\n"1,1,1\n`);
    expect(r.statusCode).toBe(400);
    expect(r.json().error.code).toBe("PARSE_ERROR");
  });

  it("a huge row: 413 naming the row limit", async () => {
    const r = await post(`${header()}\n${rows()[0]}\n${"1,".repeat(5000)}1\n`);
    expect(r.statusCode).toBe(413);
    const e = r.json().error;
    expect(e.details).toMatchObject({ limit: "maxRowChars", max: 4096, row: 2 });
    expect(e.message).toContain("4096 characters");
  });

  it("too many rows: 413 naming the row limit", async () => {
    const r = await post(phishingCsvSlice(501));
    expect(r.statusCode).toBe(413);
    expect(r.json().error.details).toMatchObject({ limit: "maxRows", max: 500 });
    expect(r.json().error.message).toContain("500 data rows");
  });

  it("a malformed multipart body", async () => {
    const boundary = "XyZ";
    const truncated = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n${header()}\n1,1`;
    const r = await t.app.inject({
      method: "POST",
      url: "/predict",
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      payload: truncated,
    });
    expect(r.statusCode).toBeGreaterThanOrEqual(400);
    expect(r.statusCode).toBeLessThan(500);
    const garbage = await t.app.inject({
      method: "POST",
      url: "/predict",
      headers: { "content-type": "multipart/form-data; boundary=QQ" },
      payload: "not multipart at all",
    });
    expect(garbage.statusCode).toBeGreaterThanOrEqual(400);
    expect(garbage.statusCode).toBeLessThan(500);
    const noBoundary = await t.app.inject({
      method: "POST",
      url: "/predict",
      headers: { "content-type": "multipart/form-data" },
      payload: "x",
    });
    expect(noBoundary.statusCode).toBeGreaterThanOrEqual(400);
    expect(noBoundary.statusCode).toBeLessThan(500);
  });

  it("a part that is not a CSV", async () => {
    const r = await post(Buffer.from([0x89, 0x50, 0x4e, 0x47]), { filename: "chart.png", type: "image/png" });
    expect(r.statusCode).toBe(415);
    expect(r.json().error.details).toMatchObject({ file: "chart.png", value: "image/png" });
  });

  it("a multipart body without a file part", async () => {
    const b = "B0undary";
    const body = `--${b}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--${b}--\r\n`;
    const r = await t.app.inject({
      method: "POST",
      url: "/predict",
      headers: { "content-type": `multipart/form-data; boundary=${b}` },
      payload: body,
    });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.message).toContain("no file part");
  });

  it("a second file part: 400 naming its field, in every answer format; text fields are ignored", async () => {
    const b = "B0undary2";
    const filePart = (field: string, name: string, body: string): string =>
      `--${b}\r\nContent-Disposition: form-data; name="${field}"; filename="${name}"\r\nContent-Type: text/csv\r\n\r\n${body}\r\n`;
    const two = `${filePart("file", "a.csv", csv50())}${filePart("extra", "b.csv", csv50())}--${b}--\r\n`;
    for (const format of ["json", "csv", "html"]) {
      const r = await t.app.inject({
        method: "POST",
        url: `/predict?format=${format}`,
        headers: { "content-type": `multipart/form-data; boundary=${b}`, accept: "application/json" },
        payload: two,
      });
      expect(r.statusCode).toBe(400);
      if (format !== "html") {
        expect(r.json().error.details).toMatchObject({ part: "extra", file: "b.csv" });
        expect(r.json().error.message).toContain("second file part");
      } else expect(r.body).toContain("second file part");
    }
    const three = `${filePart("file", "a.csv", csv50())}${filePart("x", "b.csv", "1")}${filePart("y", "c.csv", "2")}--${b}--\r\n`;
    const r3 = await t.app.inject({
      method: "POST",
      url: "/predict",
      headers: { "content-type": `multipart/form-data; boundary=${b}` },
      payload: three,
    });
    expect(r3.statusCode).toBe(400);
    const withField = `--${b}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n${filePart("file", "a.csv", csv50())}--${b}--\r\n`;
    const ok = await t.app.inject({
      method: "POST",
      url: "/predict",
      headers: { "content-type": `multipart/form-data; boundary=${b}` },
      payload: withField,
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().rows).toBe(50);
  });

  it("JSON sent to the CSV route", async () => {
    const r = await t.app.inject({ method: "POST", url: "/predict", payload: { a: 1 } });
    expect(r.statusCode).toBe(415);
  });

  it("an invalid ?format", async () => {
    const r = await t.app.inject({ method: "POST", url: "/predict?format=xml", ...multipart(csv50()) });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.details.part).toBe("querystring");
  });

  it("answers an HTML error page to an HTML client, with the row, column and value", async () => {
    const rs = rows();
    rs[1] = `9${rs[1]!.slice(rs[1]!.indexOf(","))}`;
    const mp = multipart([header(), ...rs].join("\n"));
    const r = await t.app.inject({
      method: "POST",
      url: "/predict",
      headers: { ...mp.headers, accept: "text/html" },
      payload: mp.payload,
    });
    expect(r.statusCode).toBe(422);
    expect(r.headers["content-type"]).toMatch(/^text\/html/);
    expect(r.body).toContain("having_IP_Address");
    expect(r.body).toMatch(
      /<td class="num">2<\/td><td>having_IP_Address<\/td><td><code>&quot;9&quot;<\/code>/,
    );
  });

  it("wrote nothing for any rejected request", async () => {
    const dir = join(t.home, "prediction_output");
    const before = existsSync(dir) ? readdirSync(dir).length : 0;
    await post("");
    await post(`${header()}\nx\n`);
    const after = existsSync(dir) ? readdirSync(dir).length : 0;
    expect(after).toBe(before);
    expect(existsSync(dir) ? readdirSync(dir).filter((f) => f.includes(".tmp")) : []).toEqual([]);
  });

  it("an upload over the byte limit: 413 naming the limit, nothing written", async () => {
    const small = await makeApp(p, { limits: { maxUploadBytes: 2000 } });
    try {
      const r = await small.app.inject({ method: "POST", url: "/predict", ...multipart(csv50()) });
      expect(r.statusCode).toBe(413);
      expect(r.json().error.details).toMatchObject({ limit: "maxBytes", max: 2000 });
      const raw = await small.app.inject({
        method: "POST",
        url: "/predict",
        headers: { "content-type": "text/csv" },
        payload: csv50(),
      });
      expect(raw.statusCode).toBe(413);
      expect(existsSync(join(small.home, "prediction_output"))).toBe(false);
    } finally {
      await small.close();
    }
  });
});

describe("POST /predict/records", () => {
  const records = (n: number): Record<string, number>[] => {
    const lines = phishingCsvSlice(n).trim().split("\n");
    const h = lines[0]!.replace(/"/g, "").split(",");
    return lines.slice(1).map((l) => Object.fromEntries(l.split(",").map((v, i) => [h[i]!, Number(v)])));
  };

  it("scores records with label, name, probability, version and the top 3 features", async () => {
    const recs = records(20);
    const r = await t.app.inject({ method: "POST", url: "/predict/records", payload: recs });
    expect(r.statusCode).toBe(200);
    expect(r.headers["x-model-version"]).toBe("phishing-nb:1");
    const body = r.json();
    const exp = await expected(20);
    expect(body.count).toBe(20);
    expect(body.threats).toBe(exp.threats);
    body.predictions.forEach((q: Record<string, unknown>, i: number) => {
      expect(q.model_version).toBe("phishing-nb:1");
      expect(q.probability).toBeCloseTo(exp.probs[i]!, 12);
      expect(q.label).toBe(exp.labels[i]);
      expect(q.label_name).toBe(q.label === "-1" ? "phishing" : "legitimate");
      expect(q.is_threat).toBe(q.label === "-1");
      const top = q.top_features as { feature: string; contribution: number; value: number }[];
      expect(top).toHaveLength(3);
      // each value is the record's own value of that feature
      for (const f of top) expect(f.value).toBe(recs[i]![f.feature]);
      expect(Math.abs(top[0]!.contribution)).toBeGreaterThanOrEqual(Math.abs(top[2]!.contribution));
    });
  });

  it("?top_features sets how many features explain each record (0 skips); out of range is a 400", async () => {
    const recs = records(4);
    const none = await t.app.inject({
      method: "POST",
      url: "/predict/records?top_features=0",
      payload: recs,
    });
    expect(none.statusCode).toBe(200);
    const five = await t.app.inject({
      method: "POST",
      url: "/predict/records?top_features=5",
      payload: recs,
    });
    const three = await t.app.inject({ method: "POST", url: "/predict/records", payload: recs });
    none.json().predictions.forEach((q: { top_features: unknown[]; probability: number }, i: number) => {
      expect(q.top_features).toEqual([]);
      expect(q.probability).toBe(three.json().predictions[i].probability);
    });
    five.json().predictions.forEach((q: { top_features: unknown[] }, i: number) => {
      expect(q.top_features).toHaveLength(5);
      // the first three are the default answer's three
      expect(q.top_features.slice(0, 3)).toEqual(three.json().predictions[i].top_features);
    });
    const bad = await t.app.inject({
      method: "POST",
      url: "/predict/records?top_features=11",
      payload: recs,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toMatch(/top_features/);
  });

  it("accepts null for a missing value (nullable columns)", async () => {
    const rec = { ...records(1)[0]!, SFH: null };
    const r = await t.app.inject({ method: "POST", url: "/predict/records", payload: [rec] });
    expect(r.statusCode).toBe(200);
  });

  it.each([
    [
      "a string that is not a number",
      { URL_Length: "long" },
      422,
      { row: 1, column: "URL_Length", value: "long" },
    ],
    ["a boolean for an integer column", { Favicon: true }, 422, { row: 1, column: "Favicon", value: true }],
    ["a value outside the allowed set", { SFH: 4 }, 422, { row: 1, column: "SFH", value: 4 }],
    ["a label outside the schema's labels", { Result: 3 }, 422, { row: 1, column: "Result", value: 3 }],
    ["formula text as a label", { Result: "=1+1" }, 422, { row: 1, column: "Result", value: "=1+1" }],
    ["a nested object", { port: { a: 1 } }, 400, { row: 1, column: "port" }],
    ["an array value", { port: [1] }, 400, { row: 1, column: "port" }],
  ])("%s → %i naming the record, column and value", async (_name, patch, status, where) => {
    const rec = { ...records(1)[0]!, ...(patch as object) };
    const r = await t.app.inject({ method: "POST", url: "/predict/records", payload: [records(1)[0]!, rec] });
    expect(r.statusCode).toBe(status);
    expect(r.json().error.details).toMatchObject({ ...where, row: 2 });
  });

  it("a record missing a column", async () => {
    const { SFH: _drop, ...rec } = records(1)[0]!;
    const r = await t.app.inject({ method: "POST", url: "/predict/records", payload: [rec] });
    expect(r.statusCode).toBe(422);
    expect(r.json().error.details).toMatchObject({ row: 1, column: "SFH" });
  });

  it.each([
    ["not an array", { a: 1 }, 400],
    ["an empty array", [], 400],
    ["an array of numbers", [1, 2], 400],
    ["over the record limit", Array.from({ length: 101 }, () => ({})), 400],
  ])("%s → %i", async (_n, payload, status) => {
    const r = await t.app.inject({ method: "POST", url: "/predict/records", payload: payload as object });
    expect(r.statusCode).toBe(status);
    expect(r.json().error.code).toBe("BAD_REQUEST");
  });

  it("invalid JSON, a wrong content type, an empty body", async () => {
    const bad = await t.app.inject({
      method: "POST",
      url: "/predict/records",
      headers: { "content-type": "application/json" },
      payload: "[{",
    });
    expect(bad.statusCode).toBe(400);
    const type = await t.app.inject({
      method: "POST",
      url: "/predict/records",
      headers: { "content-type": "application/xml" },
      payload: "<a/>",
    });
    expect(type.statusCode).toBe(415);
    const empty = await t.app.inject({
      method: "POST",
      url: "/predict/records",
      headers: { "content-type": "application/json" },
      payload: "",
    });
    expect(empty.statusCode).toBe(400);
  });

  it("a body over the JSON limit: 413", async () => {
    const small = await makeApp(p, { limits: { maxJsonBytes: 1000 } });
    try {
      const r = await small.app.inject({ method: "POST", url: "/predict/records", payload: records(10) });
      expect(r.statusCode).toBe(413);
      expect(r.json().error.code).toBe("PAYLOAD_TOO_LARGE");
    } finally {
      await small.close();
    }
  });
});

describe("without a model", () => {
  it("scoring answers 503 and readiness is 503, liveness 200", async () => {
    const empty = await makeApp(null);
    try {
      const r = await empty.app.inject({ method: "POST", url: "/predict/records", payload: [{ a: 1 }] });
      expect(r.statusCode).toBe(503);
      expect(r.json().error.code).toBe("SERVICE_UNAVAILABLE");
      const c = await empty.app.inject({ method: "POST", url: "/predict", ...multipart("a\n1\n") });
      expect(c.statusCode).toBe(503);
      expect((await empty.app.inject({ method: "GET", url: "/health/ready" })).statusCode).toBe(503);
      expect((await empty.app.inject({ method: "GET", url: "/health/live" })).statusCode).toBe(200);
      const home = await empty.app.inject({ method: "GET", url: "/" });
      expect(home.statusCode).toBe(200);
      expect(home.body).toContain("No model is loaded yet");
    } finally {
      await empty.close();
    }
  });
});

describe("scoring unlabelled data with extra columns", () => {
  /** The first n rows without Result, an `id` column first and a `note` column last. */
  const unlabelled = (n: number, note: (i: number) => string = () => "ok"): string => {
    const lines = phishingCsvSlice(n).trim().split("\n");
    return `${lines
      .map((l, i) => {
        const cells = l.split(",").slice(0, -1);
        return i === 0 ? ["id", ...cells, "note"].join(",") : [`r${i}`, ...cells, note(i)].join(",");
      })
      .join("\n")}\n`;
  };

  it("needs only the model's input columns; other columns come back unchanged (JSON passthrough, CSV columns)", async () => {
    const input = unlabelled(20);
    const exp = await expected(20);
    const j = await t.app.inject({ method: "POST", url: "/predict", ...multipart(input) });
    expect(j.statusCode).toBe(200);
    const body = j.json();
    expect(body.label_metrics).toBeNull();
    body.predictions.forEach((q: Record<string, unknown>, i: number) => {
      expect(q.label).toBe(exp.labels[i]);
      expect(q.probability).toBeCloseTo(exp.probs[i]!, 12);
      expect(q.passthrough).toEqual({ id: `r${i + 1}`, note: "ok" });
    });
    const c = await t.app.inject({
      method: "POST",
      url: "/predict?format=csv",
      headers: { "content-type": "text/csv" },
      payload: input,
    });
    expect(c.statusCode).toBe(200);
    expect(c.headers["x-label-metrics"]).toBeUndefined();
    const inLines = input.trim().split("\n");
    const out = c.body.trim().split("\n");
    expect(out[0]).toBe(`${inLines[0]!.replace(/"/g, "")},prediction,probability`);
    for (let i = 1; i <= 20; i++) {
      expect(out[i]!.startsWith(`${inLines[i]},${exp.labels[i - 1]},`)).toBe(true);
    }
    // and the HTML page
    const h = await t.app.inject({ method: "POST", url: "/predict?format=html", ...multipart(input) });
    expect(h.statusCode).toBe(200);
    expect(h.body.match(/<tr class="threat">/g)?.length ?? 0).toBe(exp.threats);
    expect(h.body).not.toContain('id="label-metrics"');
  });

  it("neutralises formula-like cells in every CSV output; numbers such as -1 stay numbers", async () => {
    const hostile = ['=HYPERLINK("http://x")', "@SUM(A1)", "+cmd", "-2+3", "-1", "\tTAB", "1e5", " =pad"];
    const quoted = (v: string): string => `"${v.replace(/"/g, '""')}"`;
    const input = unlabelled(hostile.length, (i) => quoted(hostile[i - 1]!));
    const want = ['\'=HYPERLINK("http://x")', "'@SUM(A1)", "'+cmd", "'-2+3", "-1", "'\tTAB", "1e5", "' =pad"];
    for (const path of ["/predict?format=csv", "/predict?format=json", "/predict?format=html"]) {
      const r = await t.app.inject({ method: "POST", url: path, ...multipart(input) });
      expect(r.statusCode).toBe(200);
      const kept = readFileSync(
        join(t.home, "prediction_output", `${r.headers["x-prediction-id"]}.csv`),
        "utf8",
      );
      expect(readFileSync(join(t.home, "prediction_output", "output.csv"), "utf8")).toBe(kept);
      const notes = parseCsv(kept)
        .slice(1)
        .map((row) => row[31]);
      expect(notes).toEqual(want);
      // the phishing features (-1/0/1) are untouched
      expect(
        parseCsv(kept)[1]!
          .slice(1, 31)
          .every((v) => /^-?[01]$/.test(v!)),
      ).toBe(true);
      if (path.endsWith("csv")) expect(r.body).toBe(kept);
      if (path.endsWith("json")) {
        // JSON is data: passthrough values are as sent
        expect(
          r.json().predictions.map((q: { passthrough: { note: string } }) => q.passthrough.note),
        ).toEqual(hostile);
      }
    }
    // a hostile column name is neutralised too
    const named = input.replace(/^id,/, '"=cmd()",');
    const n = await t.app.inject({ method: "POST", url: "/predict?format=csv", ...multipart(named) });
    expect(n.statusCode).toBe(200);
    expect(parseCsv(n.body)[0]![0]).toBe("'=cmd()");
  });

  it("a label column, when present, measures the model on the upload (JSON, CSV header, HTML line)", async () => {
    const input = phishingCsvSlice(40);
    const truth = input
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.slice(l.lastIndexOf(",") + 1));
    const exp = await expected(40);
    // by hand: the threat class is Result -1
    let tp = 0;
    let fp = 0;
    let fn = 0;
    truth.forEach((y, i) => {
      const said = exp.labels[i] === "-1";
      if (said && y === "-1") tp++;
      else if (said) fp++;
      else if (y === "-1") fn++;
    });
    const accuracy = truth.filter((y, i) => y === exp.labels[i]).length / 40;
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    const j = (await t.app.inject({ method: "POST", url: "/predict", ...multipart(input) })).json();
    expect(j.label_metrics).toMatchObject({ column: "Result", labelled_rows: 40 });
    expect(j.label_metrics.source).toContain("Result column of the upload");
    expect(j.label_metrics.accuracy).toBeCloseTo(accuracy, 12);
    expect(j.label_metrics.precision).toBeCloseTo(precision, 12);
    expect(j.label_metrics.recall).toBeCloseTo(recall, 12);
    expect(j.label_metrics.f1).toBeCloseTo((2 * precision * recall) / (precision + recall), 12);
    const c = await t.app.inject({ method: "POST", url: "/predict?format=csv", ...multipart(input) });
    expect(c.headers["x-label-metrics"]).toContain("labelled_rows=40");
    expect(c.headers["x-label-metrics"]).toContain(`accuracy=${Number(accuracy.toFixed(6))}`);
    const h = await t.app.inject({ method: "POST", url: "/predict?format=html", ...multipart(input) });
    expect(h.body).toMatch(
      /id="label-metrics">Measured against the upload's own Result column \(40 labelled rows\): accuracy /,
    );
    // rows without a label are left out and counted
    const lines = input.trim().split("\n");
    lines[1] = lines[1]!.replace(/,-?1$/, ",");
    const part = (
      await t.app.inject({ method: "POST", url: "/predict", ...multipart(`${lines.join("\n")}\n`) })
    ).json();
    expect(part.label_metrics.labelled_rows).toBe(39);
  });

  it("POST /predict/records: extra keys are passed through, the label key measures the model", async () => {
    const lines = phishingCsvSlice(10).trim().split("\n");
    const h = lines[0]!.replace(/"/g, "").split(",");
    const recs = lines.slice(1).map(
      (l, i): Record<string, string | number> => ({
        id: `r${i}`,
        ...Object.fromEntries(l.split(",").map((v, k) => [h[k]!, Number(v)])),
      }),
    );
    const r = await t.app.inject({ method: "POST", url: "/predict/records", payload: recs });
    expect(r.statusCode).toBe(200);
    const exp = await expected(10);
    const body = r.json();
    body.predictions.forEach((q: { passthrough: unknown; label: string }, i: number) => {
      expect(q.label).toBe(exp.labels[i]);
      expect(q.passthrough).toEqual({ id: `r${i}`, Result: recs[i]!.Result });
    });
    const acc = recs.filter((x, i) => String(x.Result) === exp.labels[i]).length / 10;
    expect(body.label_metrics).toMatchObject({ labelled_rows: 10, column: "Result" });
    expect(body.label_metrics.accuracy).toBeCloseTo(acc, 12);
    // without the label key: no metrics
    const bare = recs.map(({ Result: _r, id: _i, ...rest }) => rest);
    const b = (await t.app.inject({ method: "POST", url: "/predict/records", payload: bare })).json();
    expect(b.label_metrics).toBeNull();
    expect(b.predictions[0].passthrough).toBeUndefined();
  });
});

/** A small RFC 4180 reader for the tests' checks of output files. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else if (c !== "\r") cell += c;
  }
  if (cell !== "" || row.length > 0) rows.push([...row, cell]);
  return rows;
}
