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

/** A confusion matrix over named classes: counts[actual][predicted], in the order of `classes`. */
export interface ConfusionMatrixData {
  classes: readonly string[];
  counts: readonly (readonly number[])[];
  /**
   * Further actual rows below the classes, with a count per predicted class: rows whose actual class
   * the model does not know (e.g. labels unseen in training), which have no row of their own.
   */
  extraRows?: readonly { name: string; counts: readonly number[] }[];
}

/** Binary counts of a threshold decision (threat = positive). */
export interface BinaryConfusion {
  tn: number;
  fp: number;
  fn: number;
  tp: number;
}

/**
 * A confusion matrix as a heatmap with the counts written in the cells; rows are the actual class,
 * columns the predicted one. Binary: the four counts, threat first (as they are read: tp top-left).
 * Multiclass: K×K over `classes` in their order (plus any `extraRows`), cells sized so that every
 * count stays readable.
 */
export function confusionMatrixChart(
  c: BinaryConfusion,
  labels: { threat: string; benign: string },
  opts?: { title?: string; size?: number },
): TopLevelSpec;
export function confusionMatrixChart(
  m: ConfusionMatrixData,
  opts?: { title?: string; size?: number },
): TopLevelSpec;
export function confusionMatrixChart(
  a: BinaryConfusion | ConfusionMatrixData,
  b?: { threat: string; benign: string } | { title?: string; size?: number },
  c: { title?: string; size?: number } = {},
): TopLevelSpec {
  if ("tp" in a) {
    const labels = b as { threat: string; benign: string };
    return matrixChart(
      {
        classes: [labels.threat, labels.benign],
        counts: [
          [a.tp, a.fn],
          [a.fp, a.tn],
        ],
      },
      c,
    );
  }
  return matrixChart(a, (b as { title?: string; size?: number } | undefined) ?? {});
}

function matrixChart(m: ConfusionMatrixData, opts: { title?: string; size?: number }): TopLevelSpec {
  const K = m.classes.length;
  const extra = m.extraRows ?? [];
  // equal names would merge two rows (and columns) into one band
  const names = [...m.classes, ...extra.map((r) => r.name)];
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined)
    throw new NetsecError(
      "INTERNAL",
      `confusion matrix labels must differ (${JSON.stringify(dup)} appears twice)`,
      { value: dup },
    );
  const bad = [...m.counts, ...extra.map((r) => r.counts)].findIndex((row) => row.length !== K);
  if (m.counts.length !== K || bad >= 0)
    throw new NetsecError("INTERNAL", `confusion matrix: ${K} classes need ${K} counts in each row`, {});
  const values = [
    ...m.counts.flatMap((row, i) =>
      row.map((count, j) => ({ actual: m.classes[i]!, predicted: m.classes[j]!, count })),
    ),
    ...extra.flatMap((r) =>
      r.counts.map((count, j) => ({ actual: r.name, predicted: m.classes[j]!, count })),
    ),
  ].map((v) => ({ ...v, text: String(v.count) })); // a string: no thousands separators in the cell
  // white text on the darker half of the colour scale so every count stays readable
  const half = Math.max(0, ...values.map((v) => v.count)) / 2;
  const rows = K + extra.length;
  // 2×2 keeps its 260 px; more classes get cells wide enough for a 5-digit count
  const cell = K <= 2 ? (opts.size ?? 260) / 2 : Math.max(34, Math.min(70, 520 / K));
  const axis = (
    title: string,
    order: readonly string[],
  ): { field: string; type: "nominal"; sort: string[]; axis: object } => ({
    field: title,
    type: "nominal",
    sort: [...order],
    axis: { title, labelAngle: title === "predicted" && K > 2 ? -40 : 0, labelLimit: K <= 2 ? 160 : 300 },
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: K <= 2 ? (opts.size ?? 260) : cell * K,
    height: K <= 2 ? (opts.size ?? 260) : cell * rows,
    ...(opts.title ? { title: opts.title } : {}),
    data: { values },
    encoding: { x: axis("predicted", m.classes), y: axis("actual", names) },
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
        mark: { type: "text", fontSize: K <= 2 ? 16 : K <= 8 ? 13 : 10 },
        encoding: {
          text: { field: "text", type: "nominal" },
          color: { condition: { test: `datum.count > ${half}`, value: "white" }, value: "black" },
        },
      },
    ],
    config: { view: { stroke: null }, background: "white" },
  } as TopLevelSpec;
}
