import { describe, expect, it } from "vitest";
import { againstLimit } from "../../src/pipeline/steps/gate.ts";

describe("a gate's figure next to its limit", () => {
  it("has 4 decimals unless that reads as the limit; then as many as tell them apart", () => {
    expect(againstLimit(0.0734, 0.05)).toBe("0.0734");
    expect(againstLimit(0.12345678, 0.05)).toBe("0.1235");
    // 0.0500 would read as the limit 0.05 it exceeds
    expect(againstLimit(0.05001, 0.05)).toBe("0.05001");
    expect(againstLimit(0.0500004, 0.05)).toBe("0.0500004");
    // below a min_score of 0.6 by a hair
    expect(againstLimit(0.59999, 0.6)).toBe("0.59999");
    // equal to 12 decimals: the full number
    expect(againstLimit(0.05 + 1e-15, 0.05)).toBe(String(0.05 + 1e-15));
  });
});
