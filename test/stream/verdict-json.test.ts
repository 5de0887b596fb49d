/**
 * The published verdict's text is JSON.stringify's for the documented object, field for field and
 * byte for byte: keys with quotes, backslashes, control and non-ASCII characters, a record without a
 * key, probabilities at the edges (0, 1, tiny, NaN), offsets up to 2^53.
 */
import { describe, expect, it } from "vitest";
import type { Verdict } from "../../src/stream/score.ts";
import { VerdictJson } from "../../src/stream/verdict-json.ts";

const base: Verdict = {
  key: "flows/3/17",
  topic: "flows",
  partition: 3,
  offset: 17n,
  recordKey: "k1",
  timestamp: 1_765_000_000_123,
  model: "netsec-phishing:4",
  label: "-1",
  labelName: "phishing",
  threat: true,
  probability: 0.8125,
};

/** The object form, as README "netsec stream" documents a verdict. */
const object = (v: Verdict, key: string) => ({
  key,
  topic: v.topic,
  partition: v.partition,
  offset: Number(v.offset),
  record_key: v.recordKey,
  model: v.model,
  label: v.label,
  label_name: v.labelName,
  threat: v.threat,
  probability: v.probability,
  record_timestamp: v.timestamp,
});

describe("VerdictJson", () => {
  it("writes JSON.stringify's text of the verdict object", () => {
    const cases: Verdict[] = [
      base,
      { ...base, recordKey: null, threat: false, probability: 0, label: "1", labelName: "legitimate" },
      { ...base, recordKey: 'a "quoted" \\ key\n\t\u0001 é ☃ 😀', probability: 1 },
      { ...base, topic: 'we"ird/tópic', offset: 9_007_199_254_740_991n, probability: 1e-300 },
      { ...base, probability: Number.NaN, model: "m\\odel:1", labelName: "a\u2028b" },
      { ...base, probability: 0.1 + 0.2, partition: 0, offset: 0n, timestamp: -1 },
    ];
    const w = new VerdictJson();
    for (const v of [...cases, ...cases]) {
      const key = `${v.topic}/${v.partition}/${v.offset}`;
      expect(w.text(v, key)).toBe(JSON.stringify(object(v, key)));
    }
  });
});
