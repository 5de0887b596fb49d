/**
 * Charts as SVG strings, rendered headless with vega-lite → vega (no browser, no canvas). Shared by the
 * drift report and the model trainer's curves and confusion matrix. Rendering is async and ~10–30 ms
 * per chart.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { NetsecError } from "../core/errors.ts";

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

/**
 * A 2x2 confusion matrix as a heatmap with the counts written in the cells; rows are the actual class,
 * columns the predicted one, threat first (as the counts are read: tp top-left).
 */
export function confusionMatrixChart(
  c: { tn: number; fp: number; fn: number; tp: number },
  labels: { threat: string; benign: string },
  opts: { title?: string; size?: number } = {},
): TopLevelSpec {
  // equal names would merge the two rows (and columns) into one band
  if (labels.threat === labels.benign)
    throw new NetsecError(
      "INTERNAL",
      `confusion matrix labels must differ (both ${JSON.stringify(labels.threat)})`,
      {},
    );
  const order = [labels.threat, labels.benign];
  const values = [
    { actual: labels.threat, predicted: labels.threat, count: c.tp },
    { actual: labels.threat, predicted: labels.benign, count: c.fn },
    { actual: labels.benign, predicted: labels.threat, count: c.fp },
    { actual: labels.benign, predicted: labels.benign, count: c.tn },
  ].map((v) => ({ ...v, text: String(v.count) })); // a string: no thousands separators in the cell
  // white text on the darker half of the colour scale so every count stays readable
  const half = Math.max(c.tn, c.fp, c.fn, c.tp) / 2;
  const axis = (title: string): { field: string; type: "nominal"; sort: string[]; axis: object } => ({
    field: title,
    type: "nominal",
    sort: order,
    axis: { title, labelAngle: 0, labelLimit: 160 },
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: opts.size ?? 260,
    height: opts.size ?? 260,
    ...(opts.title ? { title: opts.title } : {}),
    data: { values },
    encoding: { x: axis("predicted"), y: axis("actual") },
    layer: [
      {
        mark: { type: "rect" },
        encoding: {
          color: {
            field: "count",
            type: "quantitative",
            scale: { scheme: "blues", zero: true },
            legend: null,
          },
        },
      },
      {
        mark: { type: "text", fontSize: 16 },
        encoding: {
          text: { field: "text", type: "nominal" },
          color: { condition: { test: `datum.count > ${half}`, value: "white" }, value: "black" },
        },
      },
    ],
    config: { view: { stroke: null }, background: "white" },
  } as TopLevelSpec;
}
