/** Test helpers: the dataset mirror, temp dirs. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
/** The read-only mirror of the real datasets (CI points NETSEC_DATASET_MIRROR there). */
export const MIRROR = process.env.NETSEC_DATASET_MIRROR ?? resolve(ROOT, "../shared/datasets");
export const PHISHING_CSV = join(MIRROR, "phishing", "phisingData.csv");
export const PHISHING_ARFF = join(MIRROR, "phishing", "Training Dataset.arff");
export const KDD_DIR = join(MIRROR, "nsl-kdd");

export function tempDir(prefix = "netsec-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeFile(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
