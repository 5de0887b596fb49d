/**
 * The training-row digest's hashes are the documented ones (bundles keep them across versions): the
 * first 8 bytes (little-endian) of SHA-256 of each row's text, written out here by hand.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { rowHashes, trainDigest } from "../../src/bundle/train-digest.ts";
import { Frame } from "../../src/core/frame.ts";

const sha64 = (text: string): bigint => createHash("sha256").update(text, "utf8").digest().readBigUInt64LE(0);

describe("train digest", () => {
  const frame = new Frame(
    [
      { kind: "numeric", name: "bytes", values: Float64Array.of(1.5, Number.NaN, -0, 1e21) },
      { kind: "categorical", name: "proto", codes: Int32Array.of(0, -1, 1, 0), categories: ["tcp", "udp"] },
      { kind: "numeric", name: "label", values: Float64Array.of(1, 2, 3, 4) },
    ],
    4,
  );

  it("hashes each row's cells as text, each followed by U+0001 (missing category U+0000)", () => {
    const h = rowHashes(frame, ["bytes", "proto"]);
    expect(Array.from(h)).toEqual([
      sha64("1.5\u0001tcp\u0001"),
      sha64("NaN\u0001\u0000\u0001"),
      sha64("0\u0001udp\u0001"),
      sha64("1e+21\u0001tcp\u0001"),
    ]);
  });

  it("keeps the distinct hashes, sorted", () => {
    const twice = frame.take([0, 1, 0, 2, 1]);
    const d = trainDigest(twice, ["bytes", "proto"]);
    const want = [
      sha64("1.5\u0001tcp\u0001"),
      sha64("NaN\u0001\u0000\u0001"),
      sha64("0\u0001udp\u0001"),
    ].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(Array.from(d)).toEqual(want);
  });
});
