/**
 * The child process of verify-child.ts: `node verify-child-main.ts <rows file> <model.onnx>`. Loads the
 * graph in onnxruntime, scores the rows file block by block, compares each block with netsec's
 * probabilities and labels ({@link VerifyTally}) and prints one JSON line: `{"outcome": …}`, or
 * `{"error": {code, message, details}}` with exit code 1.
 */
import { readFileSync } from "node:fs";
import { NetsecError, wrapError } from "../../core/errors.ts";
import { Frame } from "../../core/frame.ts";
import { createOnnxSession, runOnnxSession, VerifyTally } from "./verify.ts";
import { RowsFileReader } from "./verify-child.ts";

async function main(rowsFile: string, onnxFile: string): Promise<void> {
  const rows = new RowsFileReader(rowsFile);
  const session = await createOnnxSession(readFileSync(onnxFile));
  try {
    const { nRows, blockRows, tol, threshold, columns } = rows.header;
    const tally = new VerifyTally(tol, threshold ?? undefined);
    for (let from = 0; from < nRows; from += blockRows) {
      const n = Math.min(blockRows, nRows - from);
      const block = rows.block(n);
      const run = await runOnnxSession(session, columns, new Frame(block.columns, n));
      tally.add(from, run, block.probabilities, block.labels);
    }
    process.stdout.write(`${JSON.stringify({ outcome: tally.outcome() })}\n`);
  } finally {
    await session.release();
    rows.close();
  }
}

const [rowsFile, onnxFile] = process.argv.slice(2);
try {
  if (rowsFile === undefined || onnxFile === undefined)
    throw new NetsecError("INTERNAL", "usage: verify-child-main.ts <rows file> <model.onnx>");
  await main(rowsFile, onnxFile);
} catch (e) {
  const err = e instanceof NetsecError ? e : wrapError("the ONNX check", e);
  process.stdout.write(
    `${JSON.stringify({ error: { code: err.code, message: err.message, details: err.details } })}\n`,
  );
  process.exitCode = 1;
}
