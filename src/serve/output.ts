/**
 * Prediction outputs: every scored upload is kept as `<home>/prediction_output/<id>.csv` (input rows +
 * `prediction` + `probability`), and the newest also as `prediction_output/output.csv` like the
 * original project. Both are written to a temporary file and renamed, so a reader never sees half a
 * file and concurrent requests never mix their rows. Ids are generated here, never taken from input.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Prediction } from "../bundle/predictor.ts";
import type { Frame } from "../core/frame.ts";
import { PREDICTION_ID_RE } from "./schemas.ts";

export function newPredictionId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  return `pred-${t}-${randomBytes(4).toString("hex")}`;
}

export function outputDir(home: string): string {
  return join(home, "prediction_output");
}

/** Path of a kept output; the id must match the strict pattern (callers validate user-supplied ids first). */
export function outputPath(home: string, id: string): string {
  if (!PREDICTION_ID_RE.test(id)) throw new RangeError(`invalid prediction id ${JSON.stringify(id)}`);
  return join(outputDir(home), `${id}.csv`);
}

function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return "";
  const s = typeof v === "number" ? String(v) : v;
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The output CSV text: the upload's columns in their order, then prediction and probability. */
export function predictionCsv(
  header: readonly string[],
  frame: Frame,
  extras: Map<string, (string | null)[]>,
  pred: Prediction,
): string {
  // one cell writer per column, resolved once: numbers need no quoting, category strings are escaped once
  const cells = header.map((h): ((r: number) => string) => {
    const ex = extras.get(h);
    if (ex) return (r) => csvCell(ex[r] ?? null);
    const c = frame.column(h);
    if (c.kind === "numeric") {
      const v = c.values;
      return (r) => (Number.isNaN(v[r]!) ? "" : String(v[r]!));
    }
    const cats = c.categories.map(csvCell);
    const codes = c.codes;
    return (r) => (codes[r]! < 0 ? "" : cats[codes[r]!]!);
  });
  const labelCell = new Map<string, string>();
  const lines: string[] = new Array(frame.nRows + 1);
  lines[0] = [...header, "prediction", "probability"].map(csvCell).join(",");
  for (let r = 0; r < frame.nRows; r++) {
    let line = "";
    for (let j = 0; j < cells.length; j++) line += `${cells[j]!(r)},`;
    const label = pred.labels[r]!;
    let lc = labelCell.get(label);
    if (lc === undefined) {
      lc = csvCell(label);
      labelCell.set(label, lc);
    }
    lines[r + 1] = `${line}${lc},${pred.probability[r]!}`;
  }
  return `${lines.join("\n")}\n`;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** Keep the output under its id and as output.csv; returns the kept path. */
export async function savePredictionOutput(home: string, id: string, csv: string): Promise<string> {
  const dir = outputDir(home);
  await mkdir(dir, { recursive: true });
  const path = outputPath(home, id);
  await writeAtomic(path, csv);
  await writeAtomic(join(dir, "output.csv"), csv);
  return path;
}
