/** Rng.int against a BigInt reference of the same rejection rule (limit 2^32 − (2^32 mod n), then r mod n). */
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.ts";

function reference(rng: Rng, n: number): number {
  const N = BigInt(n);
  const limit = 2n ** 32n - (2n ** 32n % N);
  let r = BigInt(rng.nextU32());
  while (r >= limit) r = BigInt(rng.nextU32());
  return Number(r % N);
}

describe("Rng.int", () => {
  it("draws what the BigInt reference draws from the same stream, at the edges of 32 bits too", () => {
    const a = new Rng(11);
    const b = new Rng(11);
    const ns = [
      1,
      2,
      3,
      7,
      1000,
      65_537,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 31 + 1,
      3_000_000_000,
      2 ** 32 - 1,
      2 ** 32,
    ];
    for (const n of ns) {
      for (let i = 0; i < 2000; i++) {
        const v = a.int(n);
        expect(v).toBe(reference(b, n));
        expect(v >= 0 && v < n).toBe(true);
      }
    }
    for (let i = 0; i < 20_000; i++) {
      const n = 1 + ((i * 7919) % 100_003);
      expect(a.int(n)).toBe(reference(b, n));
    }
  });

  it("refuses n outside (0, 2^32]", () => {
    const r = new Rng(1);
    for (const n of [0, -1, 2 ** 32 + 1, Number.NaN]) expect(() => r.int(n)).toThrow(RangeError);
  });
});
