/** Scoring a frame a block of rows at a time gives the scores of one call, in row order. */
import { describe, expect, it } from "vitest";
import type { Scores } from "../../src/bundle/predictor.ts";
import { Frame } from "../../src/core/frame.ts";
import { rowBlocks, scoresInBlocks } from "../../src/pipeline/row-blocks.ts";

/** 7 rows, x = row. */
const frame = new Frame([{ kind: "numeric", name: "x", values: Float64Array.from([0, 1, 2, 3, 4, 5, 6]) }]);

/** Two classes per row: P(class 1) = x / 10, P(class 0) = 1 - x / 10; the threat score is P(class 1). */
const scorer = {
  calls: [] as number[],
  scores(rows: Frame): Scores {
    this.calls.push(rows.nRows);
    const x = rows.numeric("x");
    const proba = new Float64Array(rows.nRows * 2);
    for (let r = 0; r < rows.nRows; r++) {
      proba[2 * r] = 1 - x[r]! / 10;
      proba[2 * r + 1] = x[r]! / 10;
    }
    return { proba, threat: Float64Array.from(x, (v) => v / 10) };
  },
};

describe("rowBlocks / scoresInBlocks", () => {
  it("splits the rows into consecutive views of at most `size` rows", () => {
    const blocks = [...rowBlocks(frame, 3)];
    expect(blocks.map((b) => [b.from, Array.from(b.rows.numeric("x"))])).toEqual([
      [0, [0, 1, 2]],
      [3, [3, 4, 5]],
      [6, [6]],
    ]);
    expect(blocks[1]!.rows.numeric("x").buffer).toBe(frame.numeric("x").buffer);
  });

  it("concatenates each block's probabilities (row-major) and threat scores in row order", () => {
    scorer.calls = [];
    const s = scoresInBlocks(scorer, frame, 3);
    expect(scorer.calls).toEqual([3, 3, 1]);
    // hand-computed: row r has [1 - r/10, r/10]
    expect(Array.from(s.proba)).toEqual([1, 0, 0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4, 0.5, 0.5, 0.4, 0.6]);
    expect(Array.from(s.threat)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    scorer.calls = [];
    scoresInBlocks(scorer, frame, 7);
    expect(scorer.calls).toEqual([7]);
  });
});
