/**
 * Charts as SVG strings, rendered headless with vega-lite → vega (no browser, no canvas). Shared by the
 * drift report and the model trainer's curves. Rendering is async and ~10–30 ms per chart.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vg = compile(spec).spec;
  const view = new vega.View(vega.parse(vg), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const COLORS = { reference: "#6e7781", current: "#d1242f" };

/** Grouped bars of relative frequencies for reference vs current. */
export function comparisonBars(
  rows: { bin: string; reference: number; current: number }[],
  opts: { title?: string; width?: number; height?: number } = {},
): TopLevelSpec {
  const values = rows.flatMap((r, i) => [
    { bin: r.bin, order: i, sample: "reference", share: r.reference },
    { bin: r.bin, order: i, sample: "current", share: r.current },
  ]);
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: opts.width ?? 320,
    height: opts.height ?? 110,
    ...(opts.title ? { title: { text: opts.title, fontSize: 12 } } : {}),
    data: { values },
    mark: { type: "bar" },
    encoding: {
      x: {
        field: "bin",
        type: "ordinal",
        sort: { field: "order" },
        axis: { title: null, labelAngle: -40, labelLimit: 70, labelFontSize: 9 },
      },
      xOffset: { field: "sample", sort: ["reference", "current"] },
      y: { field: "share", type: "quantitative", axis: { title: "share", format: "%", tickCount: 3 } },
      color: {
        field: "sample",
        type: "nominal",
        sort: ["reference", "current"],
        scale: { domain: ["reference", "current"], range: [COLORS.reference, COLORS.current] },
        legend: { orient: "top", title: null, labelFontSize: 10 },
      },
    },
    config: { view: { stroke: null }, background: "white" },
  } as TopLevelSpec;
}

/** A line chart (e.g. ROC or PR curve) from points. */
export function lineChart(
  series: { name: string; points: { x: number; y: number }[] }[],
  opts: {
    title?: string;
    xTitle: string;
    yTitle: string;
    width?: number;
    height?: number;
    diagonal?: boolean;
  },
): TopLevelSpec {
  const values = series.flatMap((s) => s.points.map((p, i) => ({ series: s.name, x: p.x, y: p.y, i })));
  const layers: unknown[] = [
    {
      mark: { type: "line", interpolate: "linear", strokeWidth: 2 },
      encoding: {
        x: { field: "x", type: "quantitative", scale: { domain: [0, 1] }, axis: { title: opts.xTitle } },
        y: { field: "y", type: "quantitative", scale: { domain: [0, 1] }, axis: { title: opts.yTitle } },
        color: { field: "series", type: "nominal", legend: { orient: "bottom-right", title: null } },
        order: { field: "i" },
      },
    },
  ];
  if (opts.diagonal) {
    layers.unshift({
      data: {
        values: [
          { x: 0, y: 0 },
          { x: 1, y: 1 },
        ],
      },
      mark: { type: "line", strokeDash: [4, 4], color: "#999" },
      encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
    });
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: opts.width ?? 360,
    height: opts.height ?? 300,
    ...(opts.title ? { title: opts.title } : {}),
    data: { values },
    layer: layers,
    config: { background: "white" },
  } as TopLevelSpec;
}
