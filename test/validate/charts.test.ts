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
});
