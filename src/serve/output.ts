/**
 * Prediction outputs: every scored upload is kept as `<home>/prediction_output/<id>.csv` (input rows +
 * `prediction` + `probability`, formula-like cells neutralised for spreadsheets, see
 * core/spreadsheet-safe.ts), and the newest also as `prediction_output/output.csv` like the
 * original project. Both are written to a temporary file and renamed, so a reader never sees half a
 * file and concurrent requests never mix their rows. Ids are generated here, never taken from input.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Prediction } from "../bundle/predictor.ts";
import { safeCsvCell } from "../core/spreadsheet-safe.ts";
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

/**
 * The output CSV text: the header (names quoted only where needed), then the upload's rows as they
 * were in the file (values keep their spelling and quoting, columns the model does not read stay;
 * the reader has already neutralised formula-like cells in them), each followed by the predicted
 * label and the probability of the threat class.
 */
export function predictionCsv(header: readonly string[], lines: readonly string[], pred: Prediction): string {
  const labelCell = new Map<string, string>();
  const out: string[] = new Array(lines.length + 1);
  out[0] = [...header, "prediction", "probability"].map(safeCsvCell).join(",");
  for (let r = 0; r < lines.length; r++) {
    const label = pred.labels[r]!;
    let lc = labelCell.get(label);
    if (lc === undefined) {
      lc = safeCsvCell(label);
      labelCell.set(label, lc);
    }
    out[r + 1] = `${lines[r]!},${lc},${pred.probability[r]!}`;
  }
  return `${out.join("\n")}\n`;
}

/**
 * The `predictions` array of POST /predict's JSON answer, as text (1,000 rows make 1,000 objects
 * otherwise, only to be stringified): row (1-based), label, label_name, probability, is_threat, and,
 * when the upload has columns the model does not read, `passthrough`: those columns' values as sent
 * (text, null when empty; JSON is data, so nothing is neutralised here).
 */
export function predictionsJson(
  pred: Prediction,
  rows: number,
  passthrough: ReadonlyMap<string, readonly (string | null)[]> = new Map(),
): string {
  const extra = [...passthrough].map(([name, values]) => [JSON.stringify(name), values] as const);
  const parts: string[] = new Array(rows);
  const middle = new Map<string, string>();
  for (let r = 0; r < rows; r++) {
    const label = pred.labels[r]!;
    const threat = pred.isThreat[r] === 1;
    const key = `${threat ? 1 : 0}${label}`;
    let mid = middle.get(key);
    if (mid === undefined) {
      mid = `,"label":${JSON.stringify(label)},"label_name":${JSON.stringify(pred.labelNames[r]!)},"probability":`;
      middle.set(key, mid);
    }
    const prob = pred.probability[r]!;
    const pass =
      extra.length === 0
        ? ""
        : `,"passthrough":{${extra.map(([k, v]) => `${k}:${JSON.stringify(v[r] ?? null)}`).join(",")}}`;
    parts[r] = `{"row":${r + 1}${mid}${Number.isFinite(prob) ? prob : "null"},"is_threat":${threat}${pass}}`;
  }
  return `[${parts.join(",")}]`;
}

/** Rows per label name, and how many are threats. */
export function labelCounts(pred: Prediction): { byName: [string, number][]; threats: number } {
  const byName = new Map<string, number>();
  let threats = 0;
  for (let i = 0; i < pred.labelNames.length; i++) {
    const n = pred.labelNames[i]!;
    byName.set(n, (byName.get(n) ?? 0) + 1);
    threats += pred.isThreat[i]!;
  }
  return { byName: [...byName], threats };
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** Output folders made by this process (one mkdir per folder, not per request). */
const madeDirs = new Set<string>();

/**
 * Keep the output under its id and as output.csv; returns the kept path. output.csv is the same file
 * under a second name: a hard link made beside it and renamed over it (atomic, no second copy), or a
 * second atomic write where the file system has no hard links.
 */
export async function savePredictionOutput(home: string, id: string, csv: string): Promise<string> {
  const dir = outputDir(home);
  const path = outputPath(home, id);
  if (!madeDirs.has(dir)) {
    await mkdir(dir, { recursive: true });
    madeDirs.add(dir);
  }
  try {
    await writeAtomic(path, csv);
  } catch (e) {
    // the folder was removed since: make it again
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    await mkdir(dir, { recursive: true });
    await writeAtomic(path, csv);
  }
  const latest = join(dir, "output.csv");
  const tmp = `${latest}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await link(path, tmp);
    await rename(tmp, latest);
  } catch {
    await rm(tmp, { force: true });
    await writeAtomic(latest, csv);
  }
  return path;
}
