/**
 * The rows a bench script hands to its Python peers (read by bench/peer_rows.py): X column-major float64
 * (nRows values per column), y int32, and shape.json with the row and feature counts.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Matrix } from "../src/core/frame.ts";

export function writePeerRows(
  dir: string,
  train: { X: Matrix; y: Int32Array },
  test: { X: Matrix; y: Int32Array },
): void {
  const put = (name: string, a: Float64Array | Int32Array) =>
    writeFileSync(join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  put("Xtr.f64", train.X.data);
  put("ytr.i32", train.y);
  put("Xte.f64", test.X.data);
  put("yte.i32", test.y);
  writeFileSync(
    join(dir, "shape.json"),
    JSON.stringify({ train: train.X.nRows, test: test.X.nRows, features: train.X.nCols }),
  );
}
