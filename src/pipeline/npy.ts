/**
 * NPY v1.0 files (numpy's own array format, what `numpy.load` reads) for the transformed matrices in
 * data_transformation/: the original project saved train.npy/test.npy, and NPY lets anyone reload
 * them without netsec and without pickles.
 *
 * Layout: magic "\x93NUMPY", version 1.0, a little-endian uint16 header length, then an ASCII dict
 * `{'descr': '<f8', 'fortran_order': False, 'shape': (r, c), }` padded with spaces and ended by "\n"
 * so the data starts at a multiple of 64 bytes, then the values in C (row-major) order, nothing after.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { NetsecError, wrapError } from "../core/errors.ts";
import type { Matrix } from "../core/frame.ts";
import { type BinnedMatrix, decodeRows } from "../models/tree/binned-matrix.ts";

export type NpyDescr = "<f8" | "<i8";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]; // \x93NUMPY + version 1.0
const ALIGN = 64;
// rows are transposed into a buffer of about this many bytes at a time: a whole NSL-KDD matrix
// (126k × 122 float64) would otherwise need a second full-size copy just to change the order
const CHUNK_BYTES = 1 << 20;

/** The header of an NPY v1.0 file (magic through the final "\n"), a multiple of 64 bytes long. */
export function npyHeader(descr: NpyDescr, shape: readonly number[]): Uint8Array {
  if (shape.length === 0 || shape.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw new NetsecError("INTERNAL", `invalid NPY shape [${shape.join(", ")}]`, { value: shape });
  // a 1-tuple needs its trailing comma in Python syntax: (n,)
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = MAGIC.length + 2 + dict.length + 1;
  const total = Math.ceil(unpadded / ALIGN) * ALIGN;
  const headerLen = total - MAGIC.length - 2;
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[8] = headerLen & 0xff;
  out[9] = headerLen >> 8; // < 65536: the dict is a few dozen characters
  const text = dict + " ".repeat(total - unpadded) + "\n";
  for (let i = 0; i < text.length; i++) out[MAGIC.length + 2 + i] = text.charCodeAt(i);
  return out;
}

/**
 * Write `rows` rows of `cols` 8-byte values after the header; `fill(view, r0, r1)` puts rows r0..r1-1
 * into `view` (little-endian, row-major) starting at byte 0.
 */
function writeRows(
  path: string,
  header: Uint8Array,
  rows: number,
  cols: number,
  fill: (view: DataView, r0: number, r1: number) => void,
): void {
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / (8 * Math.max(1, cols))));
  const buf = new Uint8Array(Math.min(rows, perChunk) * cols * 8);
  const view = new DataView(buf.buffer);
  let fd: number | undefined;
  try {
    fd = openSync(path, "w");
    writeSync(fd, header);
    for (let r0 = 0; r0 < rows; r0 += perChunk) {
      const r1 = Math.min(rows, r0 + perChunk);
      fill(view, r0, r1);
      writeSync(fd, buf, 0, (r1 - r0) * cols * 8);
    }
  } catch (e) {
    throw wrapError(`writing ${path}`, e, "INTERNAL", { file: path });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * A float64 matrix as a 2-D NPY file of shape (nRows, nCols), converting netsec's column-major order.
 * A binned training matrix is written as the float64 values it was binned from, decoded a chunk of
 * rows at a time (never whole).
 */
export function writeNpyMatrix(path: string, m: Matrix | BinnedMatrix): void {
  const { nRows, nCols } = m;
  if ("bins" in m) {
    writeRows(path, npyHeader("<f8", [nRows, nCols]), nRows, nCols, (view, r0, r1) =>
      putRows(view, decodeRows(m, null, r0, r1), 0, r1 - r0),
    );
    return;
  }
  if (m.data.length < nRows * nCols)
    throw new NetsecError(
      "INTERNAL",
      `matrix holds ${m.data.length} values, expected ${nRows} × ${nCols}`,
      {},
    );
  writeRows(path, npyHeader("<f8", [nRows, nCols]), nRows, nCols, (view, r0, r1) => putRows(view, m, r0, r1));
}

/**
 * A float64 matrix of shape (nRows, nCols) given as consecutive blocks of rows (`blocks`, in row
 * order, each column-major) as a 2-D NPY file: one block in memory at a time, never the whole matrix.
 */
export function writeNpyBlocks(path: string, nRows: number, nCols: number, blocks: Iterable<Matrix>): void {
  const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / (8 * Math.max(1, nCols))));
  const buf = new Uint8Array(Math.min(nRows, perChunk) * nCols * 8);
  const view = new DataView(buf.buffer);
  let fd: number | undefined;
  let written = 0;
  try {
    fd = openSync(path, "w");
    writeSync(fd, npyHeader("<f8", [nRows, nCols]));
    for (const m of blocks) {
      if (m.nCols !== nCols || written + m.nRows > nRows)
        throw new NetsecError(
          "INTERNAL",
          `a block of ${m.nRows} × ${m.nCols} after ${written} rows does not fit ${nRows} × ${nCols}`,
          {},
        );
      for (let r0 = 0; r0 < m.nRows; r0 += perChunk) {
        const r1 = Math.min(m.nRows, r0 + perChunk);
        putRows(view, m, r0, r1);
        writeSync(fd, buf, 0, (r1 - r0) * nCols * 8);
      }
      written += m.nRows;
    }
    if (written !== nRows)
      throw new NetsecError("INTERNAL", `the blocks hold ${written} rows, expected ${nRows}`, {});
  } catch (e) {
    throw wrapError(`writing ${path}`, e, "INTERNAL", { file: path });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Rows r0..r1-1 of a column-major matrix into `view`, row-major, little-endian, from byte 0. */
function putRows(view: DataView, m: Matrix, r0: number, r1: number): void {
  const { nRows, nCols, data } = m;
  for (let r = r0; r < r1; r++) {
    const o = (r - r0) * nCols * 8;
    for (let c = 0; c < nCols; c++) view.setFloat64(o + c * 8, data[c * nRows + r]!, true);
  }
}

/** Integer labels as a 1-D int64 NPY file (numpy's default integer dtype). */
export function writeNpyInt64(path: string, values: Int32Array): void {
  writeRows(path, npyHeader("<i8", [values.length]), values.length, 1, (view, r0, r1) => {
    for (let r = r0; r < r1; r++) {
      const v = values[r]!;
      // int32 → int64: low word as is, high word the sign extension
      view.setInt32((r - r0) * 8, v, true);
      view.setInt32((r - r0) * 8 + 4, v < 0 ? -1 : 0, true);
    }
  });
}
