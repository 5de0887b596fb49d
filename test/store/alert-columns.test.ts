/**
 * A write's alerts as columns (the form they cross to the writer thread in): every field of every row
 * kept, the shared strings once each, and the cheap "keys distinct" check.
 */
import { describe, expect, it } from "vitest";
import { alertColumnBuffers, alertColumns, keysDistinct } from "../../src/store/alert-columns.ts";
import type { StreamAlert } from "../../src/store/alerts.ts";

const alert = (topic: string, partition: number, offset: number, model = "m:1"): StreamAlert => ({
  topic,
  partition,
  offset: BigInt(offset),
  recordKey: offset % 3 === 0 ? null : `k${offset}`,
  model,
  label: offset % 2 === 0 ? "-1" : "1",
  labelName: offset % 2 === 0 ? "phishing" : "legitimate",
  threat: offset % 2 === 0,
  probability: offset / 100,
  scoredAt: "2026-12-07T08:00:00.000Z",
});

describe("alert columns", () => {
  it("keep every field of every row, each distinct string tuple once", () => {
    const alerts = [
      alert("flows", 0, 10),
      alert("flows", 0, 11),
      alert("flows", 1, 12),
      alert("flows", 1, 13, "m:2"),
      alert("flows", 2, 14),
      alert("flows", 2, 2 ** 40),
    ];
    const c = alertColumns(alerts);
    expect(c.length).toBe(6);
    // (flows, m:1, -1), (flows, m:1, 1), (flows, m:2, 1): the 4th row's model makes a third tuple
    expect(c.shared.length).toBe(3);
    const back = Array.from({ length: c.length }, (_, i) => ({
      ...c.shared[c.sharedIndex[i]!]!,
      partition: c.partition[i],
      offset: c.offset[i],
      recordKey: c.recordKey[i],
      threat: c.threat[i] === 1,
      probability: c.probability[i],
    }));
    expect(back).toEqual(alerts);
    expect(alertColumnBuffers(c).every((b) => b instanceof ArrayBuffer)).toBe(true);
  });

  it("tell keys distinct only when one topic's partitions each rise", () => {
    expect(keysDistinct(alertColumns([alert("a", 0, 1), alert("a", 1, 1), alert("a", 0, 2)]))).toBe(true);
    expect(keysDistinct(alertColumns([alert("a", 0, 2), alert("a", 0, 1)]))).toBe(false);
    expect(keysDistinct(alertColumns([alert("a", 0, 1), alert("a", 0, 1)]))).toBe(false);
    expect(keysDistinct(alertColumns([alert("a", 0, 1), alert("b", 0, 2)]))).toBe(false);
  });
});
