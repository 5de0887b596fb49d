/**
 * A CSV upload scored end to end (parse against the schema, score, the output CSV and the JSON
 * predictions as text) in one function, so that a scoring thread can do all of it while the event
 * loop only receives bytes and answers: `POST /predict` in every format (for HTML, the page's rows and
 * their explanations too). The same function
 * runs inline where there is no scoring thread. A user's mistake comes back as a value (code, message,
 * details), not a thrown error, so it crosses threads whole and is answered with the same 4xx.
 */
import { type LabelMetrics, labelMetrics } from "../bundle/label-metrics.ts";
import type { Contribution, Prediction, Predictor } from "../bundle/predictor.ts";
import { predictorFor } from "../bundle/score-task.ts";
import { type ErrorCode, NetsecError } from "../core/errors.ts";
import { monitorReferenceFor } from "../monitor/reference.ts";
import { batchCounter, type FlatCounts } from "../monitor/window-counter.ts";
import { type ParsedUpload, readCsvBytes, type UploadLimits } from "./csv-upload.ts";
import { labelCounts, predictionCsv, predictionsJson } from "./output.ts";
import type { ResultRow } from "./views/pages.ts";

export type CsvScore =
  | {
      ok: true;
      rows: number;
      bytes: number;
      threats: number;
      /** Rows per label name. */
      labels: [string, number][];
      /** The output CSV (input rows + prediction + probability). */
      csv: string;
      /** The JSON `predictions` array (for a JSON answer). */
      predictions: string | null;
      /** Metrics against the upload's label column, when it has one with labelled rows. */
      labelMetrics: LabelMetrics | null;
      /** The HTML answer's first rows, threats explained (when asked for with `htmlRows`). */
      shown: ResultRow[] | null;
      /** The upload's header (the HTML table's columns). */
      header: string[];
      /**
       * The upload's counts for monitoring (src/monitor/window-counter.ts: one flat array, cheap to
       * hand from a scoring thread) when asked for; null when not asked or the bundle has no
       * monitoring reference (`monitor` says which).
       */
      counts: FlatCounts | null;
      monitor: "counted" | "no_reference" | "off";
    }
  | { ok: false; error: { code: ErrorCode; message: string; details: Record<string, unknown> } };

/**
 * `htmlRows` > 0: also the HTML answer's first `htmlRows` rows with the three top contributions of
 * each threat among them (explanations are the slow part of a page: they run here too, off the loop).
 */
export async function scoreCsv(
  p: Predictor,
  label: string,
  bytes: Uint8Array,
  limits: UploadLimits,
  json: boolean,
  htmlRows = 0,
  monitor = false,
): Promise<CsvScore> {
  try {
    const parsed = await readCsvBytes(bytes, label, p.schema, p.manifest.input_columns, limits);
    // counted here, on the scoring thread: the inputs straight after the parse, while the columns it
    // wrote are still in the CPU's caches, the outputs straight after the scoring (counted after the
    // output text, as before, the same counting cost twice as much CPU: BENCHMARKS.md, issue 19)
    const ref = monitor && p.dir ? monitorReferenceFor(p.dir) : null;
    const counter = ref ? batchCounter(ref) : null;
    counter?.countInputs(parsed.frame);
    const pred = p.predict(parsed.frame);
    counter?.countOutputs(pred, parsed.frame.nRows);
    const monitored = counter ? counter.flat() : null;
    const counts = labelCounts(pred);
    return {
      ok: true,
      rows: parsed.rows,
      bytes: parsed.bytes,
      threats: counts.threats,
      labels: counts.byName,
      csv: predictionCsv(parsed.header, parsed.lines, pred),
      predictions: json ? predictionsJson(pred, parsed.rows, parsed.extras) : null,
      labelMetrics: uploadLabelMetrics(parsed, pred, p, label),
      shown: htmlRows > 0 ? shownRows(p, parsed, pred, htmlRows) : null,
      header: parsed.header,
      counts: monitored,
      monitor: !monitor || !p.dir ? "off" : ref ? "counted" : "no_reference",
    };
  } catch (e) {
    if (e instanceof NetsecError && e.status < 500)
      return { ok: false, error: { code: e.code, message: e.message, details: { ...e.details } } };
    throw e;
  }
}

/** labelMetrics of a parsed upload: null without a label column. */
export function uploadLabelMetrics(
  parsed: Pick<ParsedUpload, "labels">,
  pred: Pick<Prediction, "isThreat">,
  p: Pick<Predictor, "schema">,
  label: string,
): LabelMetrics | null {
  return parsed.labels ? labelMetrics(parsed.labels, pred.isThreat, p.schema, `the upload ${label}`) : null;
}

/**
 * The `x-label-metrics` header of a CSV answer (whose body has no room for them): the label column,
 * labelled rows, accuracy, and precision, recall and F1 of the threat class.
 */
export function labelMetricsHeader(m: LabelMetrics): string {
  const f = (x: number): string => String(Number(x.toFixed(6)));
  return `column=${encodeURIComponent(m.column)}; labelled_rows=${m.labelled_rows}; accuracy=${f(m.accuracy)}; precision=${f(m.precision)}; recall=${f(m.recall)}; f1=${f(m.f1)}; source=upload-label-column`;
}

/** The first n rows of the HTML table, threats explained (the preprocessing run once for them all). */
function shownRows(p: Predictor, parsed: ParsedUpload, pred: Prediction, limit: number): ResultRow[] {
  const n = Math.min(parsed.rows, limit);
  const threatRows: number[] = [];
  for (let r = 0; r < n; r++) if (pred.isThreat[r] === 1) threatRows.push(r);
  const why = new Map<number, Contribution[]>();
  if (threatRows.length > 0 && p.explainAll) {
    const all = p.explainAll(parsed.frame.take(Int32Array.from(threatRows)), 3);
    for (let i = 0; i < threatRows.length; i++) why.set(threatRows[i]!, all[i]!);
  }
  const shown: ResultRow[] = new Array(n);
  for (let r = 0; r < n; r++) {
    const isThreat = pred.isThreat[r] === 1;
    shown[r] = {
      row: r + 1,
      labelName: pred.labelNames[r]!,
      isThreat,
      probability: pred.probability[r]!,
      inputs: parsed.header.map((h) => {
        const ex = parsed.extras.get(h);
        return ex ? (ex[r] ?? null) : parsed.frame.value(r, h);
      }),
      why: isThreat ? (why.get(r) ?? p.explain(parsed.frame, r, 3)) : null,
    };
  }
  return shown;
}

export interface ScoreCsvArgs {
  dir: string;
  runId: string;
  label: string;
  bytes: Uint8Array;
  limits: UploadLimits;
  json: boolean;
  htmlRows?: number;
  /** Count the upload for monitoring too. */
  monitor?: boolean;
}

/** The scoring thread's task: the bundle (loaded once per thread) scores the upload. */
export function scoreCsvTask(a: ScoreCsvArgs): Promise<CsvScore> {
  return scoreCsv(
    predictorFor(a.dir, a.runId),
    a.label,
    a.bytes,
    a.limits,
    a.json,
    a.htmlRows ?? 0,
    a.monitor ?? false,
  );
}

/** A failed CsvScore as the error it was. */
export function csvScoreError(r: Extract<CsvScore, { ok: false }>): NetsecError {
  return new NetsecError(r.error.code, r.error.message, r.error.details);
}

declare module "../core/tasks.ts" {
  interface TaskFns {
    "serve.scoreCsv": typeof scoreCsvTask;
  }
}
