/**
 * The monitoring page's charts over time (vega-lite, rendered to SVG by src/validate/charts.ts's
 * `renderSvg`, like every other chart of the project): the share of drifted inputs per window with the
 * dataset-drift threshold, the threat rate per window with the training reference, and the drift score
 * of the inputs that drifted most recently (each divided by its threshold, so 1 is the line).
 */
import type { TopLevelSpec } from "vega-lite";
import type { WindowSummary } from "./monitor.ts";

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

function timeLine(
  values: { t: string; y: number; series: string }[],
  opts: { yTitle: string; rule?: number; ruleLabel?: string; percent?: boolean },
): TopLevelSpec {
  const layers: unknown[] = [
    {
      data: { values },
      mark: { type: "line", point: true, strokeWidth: 2 },
      encoding: {
        x: {
          field: "t",
          type: "temporal",
          axis: { title: "window end", format: "%b %d %H:%M", labelAngle: -30 },
        },
        y: {
          field: "y",
          type: "quantitative",
          axis: { title: opts.yTitle, ...(opts.percent ? { format: "%" } : {}) },
        },
        color: { field: "series", type: "nominal", legend: { orient: "top", title: null } },
      },
    },
  ];
  if (opts.rule !== undefined)
    layers.push({
      data: { values: [{ y: opts.rule, label: opts.ruleLabel ?? "" }] },
      mark: { type: "rule", strokeDash: [4, 4], color: "#d1242f" },
      encoding: { y: { field: "y", type: "quantitative" } },
    });
  return {
    $schema: SCHEMA,
    width: 560,
    height: 160,
    layer: layers,
    config: { background: "white" },
  } as TopLevelSpec;
}

export function shareDriftedChart(windows: readonly WindowSummary[], threshold: number): TopLevelSpec {
  return timeLine(
    windows.map((w) => ({ t: w.end, y: w.share_drifted, series: "inputs drifted" })),
    { yTitle: "share of inputs drifted", rule: threshold, percent: true },
  );
}

export function threatRateChart(windows: readonly WindowSummary[]): TopLevelSpec {
  return timeLine(
    windows.flatMap((w) => [
      { t: w.end, y: w.outputs.threat_rate, series: "threat rate" },
      { t: w.end, y: w.outputs.reference_threat_rate, series: "training reference" },
    ]),
    { yTitle: "threat rate", percent: true },
  );
}

/** Drift score ÷ threshold of the inputs drifted in the latest window (at most `top`), over time. */
export function featureScoreChart(windows: readonly WindowSummary[], top = 8): TopLevelSpec | null {
  const last = windows.at(-1);
  if (!last) return null;
  // p-value tests decide below their threshold: shown as threshold ÷ p so that above 1 is drift too
  const ratio = (f: WindowSummary["features"][string]): number | null =>
    f.score === null
      ? null
      : f.method.endsWith("_test")
        ? Math.min(10, f.threshold / Math.max(f.score, 1e-12))
        : f.score / f.threshold;
  const names = Object.entries(last.features)
    .filter(([, f]) => f.drifted)
    .sort((a, b) => (ratio(b[1]) ?? 0) - (ratio(a[1]) ?? 0))
    .slice(0, top)
    .map(([n]) => n);
  if (names.length === 0) return null;
  const values = windows.flatMap((w) =>
    names.flatMap((n) => {
      const f = w.features[n];
      const y = f ? ratio(f) : null;
      return y === null ? [] : [{ t: w.end, y, series: n }];
    }),
  );
  return timeLine(values, { yTitle: "drift score ÷ threshold", rule: 1 });
}
