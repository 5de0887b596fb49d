/**
 * A batch of Kafka records is scored as `netsec predict` scores the same rows from a file (loadFrame +
 * Predictor.predict): same labels, bit-identical probabilities; malformed records are set aside with
 * their reason and the rest of the batch is still scored.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Predictor } from "../../src/bundle/predictor.ts";
import { closeHelper, helperReady } from "../../src/core/helper.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { fastFrame } from "../../src/stream/fast-frame.ts";
import type { InRecord } from "../../src/stream/kafka.ts";
import { decoder, sampleRecords } from "../../src/stream/records.ts";
import { releaseTexts, SPLIT_MIN_RECORDS, scoreBatch } from "../../src/stream/score.ts";
import { tempDir, writeFile } from "../helpers/env.ts";
import { waitForHelper } from "../helpers/helper-thread.ts";
import { fitFixturePredictor, phishingCsvSlice } from "../serve/fixtures/predictor.ts";

const tmp = tempDir();
afterAll(async () => {
  tmp.cleanup();
  await closeHelper();
});
let p: Predictor;
let csv: string;
let header: string[];
let lines: string[];

beforeAll(async () => {
  p = await fitFixturePredictor({ version: "phishing-nb:1" });
  const text = phishingCsvSlice(300, 1000);
  csv = writeFile(tmp.dir, "slice.csv", text);
  const all = text.trim().split("\n");
  header = all[0]!.replace(/"/g, "").split(",");
  lines = all.slice(1);
});

const rec = (offset: number, value: string, partition = 0): InRecord => ({
  topic: "flows",
  partition,
  offset: BigInt(offset),
  key: null,
  value,
  timestamp: 0,
  ownership: 1,
});

/** A CSV line as `netsec produce` publishes it: one JSON object, the cells as text. */
const asJson = (line: string): string =>
  JSON.stringify(Object.fromEntries(line.split(",").map((v, i) => [header[i]!, v])));

describe("scoreBatch", () => {
  it("gives netsec predict's labels and probabilities, JSON or CSV records alike", async () => {
    const { frame } = await loadFrame({ path: csv }, p.schema, { inputColumns: p.manifest.input_columns });
    const want = p.predict(frame);
    const json = scoreBatch(
      lines.map((l, i) => rec(i, asJson(l))),
      decoder("json", header),
      p,
    );
    const csvRecords = scoreBatch(
      lines.map((l, i) => rec(i, l)),
      decoder("csv", header),
      p,
    );
    // the whole-batch fast paths (netsec stream's default) give the same
    const fastJson = scoreBatch(
      lines.map((l, i) => rec(i, asJson(l))),
      decoder("json", header),
      p,
      fastFrame("json", header),
    );
    const fastCsv = scoreBatch(
      lines.map((l, i) => rec(i, l)),
      decoder("csv", header),
      p,
      fastFrame("csv", header),
    );
    for (const got of [json, csvRecords, fastJson, fastCsv]) {
      expect(got.dead).toEqual([]);
      expect(got.verdicts.map((v) => v.probability)).toEqual(Array.from(want.probability));
      expect(got.verdicts.map((v) => v.label)).toEqual(want.labels);
      expect(got.verdicts.map((v) => v.threat)).toEqual(Array.from(want.isThreat, (t) => t === 1));
      expect(got.verdicts.map((v) => v.key)).toEqual(lines.map((_, i) => `flows/0/${i}`));
      expect(new Set(got.verdicts.map((v) => v.model))).toEqual(new Set(["phishing-nb:1"]));
    }
    // the fixture model calls some of these rows threats and some not
    expect(new Set(json.verdicts.map((v) => v.threat))).toEqual(new Set([true, false]));
  });

  it("scores a batch under SPLIT_MIN_RECORDS records on this thread alone, a larger one with the helper free to take half", async () => {
    expect(await waitForHelper()).toBe(true);
    // whether the model, while predicting, could hand rows to the helper thread
    const helperOffered: boolean[] = [];
    const spy: Predictor = Object.create(p, {
      predict: {
        value: (frame: Parameters<Predictor["predict"]>[0]) => {
          helperOffered.push(helperReady());
          return p.predict(frame);
        },
      },
    });
    const batch = (n: number) =>
      Array.from({ length: n }, (_, i) => rec(i, asJson(lines[i % lines.length]!)));
    const fast = fastFrame("json", header);
    const small = scoreBatch(batch(SPLIT_MIN_RECORDS - 1), decoder("json", header), spy, fast);
    const large = scoreBatch(batch(SPLIT_MIN_RECORDS), decoder("json", header), spy, fast);
    expect(helperOffered).toEqual([false, true]);
    // the same verdicts either way
    expect(small.verdicts.map((v) => v.probability)).toEqual(
      large.verdicts.slice(0, SPLIT_MIN_RECORDS - 1).map((v) => v.probability),
    );
  });

  it("sets malformed records aside with the reason and scores the rest", () => {
    const good = lines.slice(0, 20).map(asJson);
    const obj = JSON.parse(good[0]!) as Record<string, string>;
    const missing = { ...obj };
    delete missing.SSLfinal_State;
    const poison = [
      "{not json",
      JSON.stringify({ ...obj, URL_Length: "long" }),
      JSON.stringify(missing),
      JSON.stringify({ ...obj, Favicon: [1] }),
      JSON.stringify({ ...obj, port: 7 }),
    ];
    // poison at offsets 100.., interleaved with the good records
    const batch: InRecord[] = [];
    good.forEach((g, i) => {
      batch.push(rec(i, g));
      if (i < poison.length) batch.push(rec(100 + i, poison[i]!));
    });
    const r = scoreBatch(batch, decoder("json", header), p);
    // with the fast path, the batch falls back to the general path: the same verdicts and reasons
    expect(scoreBatch(batch, decoder("json", header), p, fastFrame("json", header))).toEqual(r);
    const alone = scoreBatch(
      good.map((g, i) => rec(i, g)),
      decoder("json", header),
      p,
    );
    expect(r.verdicts).toEqual(alone.verdicts);
    const reasons = Object.fromEntries(r.dead.map((d) => [Number(d.record.offset), d.reason]));
    expect(Object.keys(reasons).map(Number).sort()).toEqual([100, 101, 102, 103, 104]);
    expect(reasons[100]).toMatch(/^not JSON: /);
    expect(reasons[101]).toMatch(/^column URL_Length: "long" /);
    expect(reasons[102]).toBe("column SSLfinal_State: absent is required (use null for a missing value)");
    expect(reasons[103]).toBe('key "Favicon": expected a string, number, boolean or null, got an array');
    expect(reasons[104]).toMatch(/^column port: 7 /);
  });
});

describe("releaseTexts", () => {
  it("empties the texts of a scored batch's records but the dead letters', which are published with theirs", () => {
    const good = lines.slice(0, 3).map(asJson);
    const batch = [rec(0, good[0]!), rec(1, "{not json"), rec(2, good[1]!), rec(3, good[2]!)];
    const r = scoreBatch(batch, decoder("json", header), p);
    releaseTexts(batch, r.dead);
    expect(batch.map((x) => x.value)).toEqual(["", "{not json", "", ""]);
    expect(r.dead.map((x) => x.record.value)).toEqual(["{not json"]);
    // the rest of each record (its partition, offset, timestamp: what delivery and the commit read) is kept
    expect(batch.map((x) => Number(x.offset))).toEqual([0, 1, 2, 3]);
    expect(r.verdicts.map((v) => Number(v.offset))).toEqual([0, 2, 3]);

    const clean = good.map((g, i) => rec(10 + i, g));
    releaseTexts(clean, []);
    expect(clean.map((x) => x.value)).toEqual(["", "", ""]);
  });
});

describe("the stream's warm-up records", () => {
  it("are all scored by the fast path, in both formats, none a dead letter", () => {
    const inputs = p.manifest.input_columns;
    for (const format of ["json", "csv"] as const) {
      const texts = sampleRecords(format, header, p.schema.columns, inputs, 600);
      const batch = texts.map((t, i) => rec(i, t));
      // (the fast path takes the whole batch: null would mean a refused record)
      expect(fastFrame(format, header)(texts, p.schema, inputs), format).not.toBeNull();
      const r = scoreBatch(batch, decoder(format, header), p, fastFrame(format, header));
      expect(r.dead, format).toEqual([]);
      expect(r.verdicts.length, format).toBe(600);
    }
  });
});
