/**
 * A digest of the rows a model was trained on, kept in its bundle (`train_rows.bin`), so that a later
 * run re-scoring the model can leave out the rows it has already seen (a model scored on its own
 * training rows looks better than it is, and would wrongly keep its place as champion).
 *
 * Each row is reduced to a 64-bit hash of its raw input feature vector (the bundle's `input_columns`,
 * numbers as their shortest decimal text, categories as their text, missing as U+0000): the first 8
 * bytes of SHA-256. The file holds the distinct hashes, sorted, as little-endian u64 — 8 bytes per
 * distinct training vector: 46.8 KB for phishing (5,849 distinct of 11,055 rows), at most 1.0 MB for
 * NSL-KDD's 125,973 training rows. Two different vectors share a hash with probability about n²/2⁶⁵
 * (1e-9 for NSL-KDD): negligible. Labels are not hashed: a vector seen in training is seen, whatever
 * its label.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NetsecError } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";

export const TRAIN_DIGEST_FILE = "train_rows.bin";

/** Each row's 64-bit hash over `columns` (see the module doc). */
export function rowHashes(frame: Frame, columns: readonly string[]): BigUint64Array {
  const cols = columns.map((c) => frame.column(c));
  const out = new BigUint64Array(frame.nRows);
  // the row's text (each cell followed by U+0001) hashed in one update: two calls into the hash a
  // row instead of two a cell, 1.7x less CPU (the digest of a 1 M-row file was most of the bundle step)
  for (let i = 0; i < frame.nRows; i++) {
    let text = "";
    for (const c of cols)
      text += `${c.kind === "numeric" ? String(c.values[i]) : c.codes[i]! < 0 ? "\u0000" : c.categories[c.codes[i]!]!}\u0001`;
    out[i] = createHash("sha256").update(text).digest().readBigUInt64LE(0);
  }
  return out;
}

/** The sorted distinct hashes of a frame's rows. */
export function trainDigest(frame: Frame, columns: readonly string[]): BigUint64Array {
  const sorted = rowHashes(frame, columns).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++)
    if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i]!;
  return sorted.slice(0, n);
}

/** Write the digest into a bundle directory; returns what the manifest records. */
export function writeTrainDigest(
  dir: string,
  frame: Frame,
  columns: readonly string[],
): { file: typeof TRAIN_DIGEST_FILE; rows: number; distinct: number } {
  return writeDigest(dir, trainDigest(frame, columns), frame.nRows);
}

/** A digest made earlier by trainDigest (of `rows` rows) written as writeTrainDigest writes it. */
export function writeDigest(
  dir: string,
  d: BigUint64Array,
  rows: number,
): { file: typeof TRAIN_DIGEST_FILE; rows: number; distinct: number } {
  writeFileSync(join(dir, TRAIN_DIGEST_FILE), new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  return { file: TRAIN_DIGEST_FILE, rows, distinct: d.length };
}

/** A bundle's digest, or null for bundles made before digests existed. */
export function readTrainDigest(
  dir: string,
  recorded: { distinct: number } | undefined,
): BigUint64Array | null {
  if (!recorded) return null;
  const path = join(dir, TRAIN_DIGEST_FILE);
  if (!existsSync(path))
    throw new NetsecError("BUNDLE_INVALID", `model bundle file ${path} is missing`, { file: path });
  const bytes = readFileSync(path);
  if (bytes.byteLength !== recorded.distinct * 8)
    throw new NetsecError(
      "BUNDLE_INVALID",
      `model bundle file ${path}: ${bytes.byteLength} bytes, expected ${recorded.distinct * 8} (${recorded.distinct} hashes)`,
      { file: path },
    );
  const out = new BigUint64Array(recorded.distinct);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Is `h` in the sorted digest? (binary search) */
export function digestHas(sorted: BigUint64Array, h: bigint): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid]!;
    if (v === h) return true;
    if (v < h) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
