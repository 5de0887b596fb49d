/** The confusion matrix chart rendered to SVG through vega-lite → vega. */
import { describe, expect, it } from "vitest";
import { confusionMatrixChart, renderSvg } from "../../src/validate/charts.ts";

describe("confusionMatrixChart", () => {
  it("renders the four counts as text with the label names on 'actual' and 'predicted' axes", async () => {
    const svg = await renderSvg(
      confusionMatrixChart(
        { tn: 1234, fp: 56, fn: 78, tp: 9012 },
        { threat: "-1 (threat)", benign: "1 (benign)" },
        { title: "cm" },
      ),
    );
    expect(svg.startsWith("<svg")).toBe(true);
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const n of ["1234", "56", "78", "9012", "-1 (threat)", "1 (benign)", "actual", "predicted"])
      expect(texts).toContain(n);
  });

  it("refuses two classes with one name", () => {
    expect(() => confusionMatrixChart({ tn: 1, fp: 1, fn: 1, tp: 1 }, { threat: "x", benign: "x" })).toThrow(
      /must differ/,
    );
  });

  it("K×K: every count in a cell of its own, class names on both axes, an extra actual row", async () => {
    const counts = [
      [1095, 285, 94],
      [18, 1779, 138],
      [54, 120, 313],
    ];
    const svg = await renderSvg(
      confusionMatrixChart(
        {
          classes: ["dos (threat)", "normal (benign)", "probe (threat)"],
          counts,
          extraRows: [{ name: "unseen in training (2 labels)", counts: [7, 0, 31] }],
        },
        { title: "cm" },
      ),
    );
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
    // the only numbers drawn are the cells': 3 × 3 plus the extra row, each once
    const numbers = texts.filter((t) => /^\d+$/.test(t)).map(Number);
    expect(numbers.sort((a, b) => a - b)).toEqual([...counts.flat(), 7, 0, 31].sort((a, b) => a - b));
    for (const n of ["dos (threat)", "normal (benign)", "probe (threat)"])
      expect(texts.filter((t) => t === n)).toHaveLength(2); // an x and a y label
    expect(texts).toContain("unseen in training (2 labels)");
  });

  it("refuses duplicate class names and ragged counts", () => {
    expect(() =>
      confusionMatrixChart({
        classes: ["a", "b", "a"],
        counts: [
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ],
      }),
    ).toThrow(/"a" appears twice/);
    expect(() => confusionMatrixChart({ classes: ["a", "b"], counts: [[1, 0], [0]] })).toThrow(/2 counts/);
  });
});
