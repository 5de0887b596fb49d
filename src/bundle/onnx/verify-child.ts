/**
 * The ONNX check ({@link verifyOnnx}'s comparison) in a child process: onnxruntime's session, its
 * arena and its tensors live in a `node` process of their own that exits when the check is done, so
 * they never add to the training process's memory (at 1 M rows the RF(100) session was the train
 * command's peak, ≈ 0.5 GB above everything before it).
 *
 * The parent writes the ONNX bytes and the rows to a temporary directory; the child
 * (verify-child-main.ts) scores them ONNX_CHUNK_ROWS rows at a time, compares each block with netsec's
 * probabilities and labels through the same {@link VerifyTally} as the in-process check, and prints
 * only the outcome (a few numbers and at most 100 row indices per list) as one JSON line.
 *
 * The rows file, all numbers little-endian in the machine's own layout (parent and child are the same
 * binary on the same machine):
 * - u32 byte length, then a UTF-8 JSON {@link CheckHeader};
 * - per block of `blockRows` rows (the last one shorter): each input column's rows (Float64 values,
 *   or Int32 codes into the header's categories for a categorical frame column), then netsec's threat
 *   probabilities (Float64), then, when the header says so, u32 byte length + the labels as a JSON array.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ERROR_CATALOGUE, type ErrorCode, NetsecError } from "../../core/errors.ts";
import type { Column, Frame } from "../../core/frame.ts";
import type { ColumnIR } from "./ir.ts";
import { ONNX_CHUNK_ROWS, type VerifyOutcome } from "./verify.ts";

const CHILD_MAIN = fileURLToPath(new URL("./verify-child-main.ts", import.meta.url));

const ColumnIRSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("numeric"), column: z.string(), impute: z.number().nullable() }),
  z.object({
    kind: z.literal("categorical"),
    column: z.string(),
    impute: z.string().nullable(),
    categories: z.array(z.string()),
  }),
]);

/** What the child needs to read the blocks that follow and to judge them. */
const CheckHeaderSchema = z.object({
  nRows: z.number().int().nonnegative(),
  blockRows: z.number().int().positive(),
  tol: z.number(),
  threshold: z.number().nullable(),
  hasLabels: z.boolean(),
  /** The exported graph's inputs, in feed order: the columns each block carries. */
  columns: z.array(ColumnIRSchema),
  /** How each of those columns is stored in the frame (and so in the blocks). */
  stored: z.array(
    z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("numeric") }),
      z.object({ kind: z.literal("categorical"), categories: z.array(z.string()) }),
    ]),
  ),
});
export type CheckHeader = z.infer<typeof CheckHeaderSchema>;

const LabelsSchema = z.array(z.union([z.string(), z.number()]));

/** What the child prints as its last stdout line: its outcome, or the error that stopped it. */
const ChildReplySchema = z.union([
  z.object({
    outcome: z.object({
      nRows: z.number(),
      // NaN (a NaN probability on either side) travels as null in JSON
      maxAbsDiff: z
        .number()
        .nullable()
        .transform((v) => v ?? Number.NaN),
      failingRows: z.array(z.number()),
      labelMismatches: z.array(z.number()),
      thresholdTies: z.array(z.number()),
      ok: z.boolean(),
    }),
  }),
  z.object({
    error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()) }),
  }),
]);
export type ChildReply = z.input<typeof ChildReplySchema>;

/**
 * {@link verifyOnnx} in a child process: the same rows, tolerance, label rule and outcome (without
 * onnxruntime's outputs). A model onnxruntime refuses is BUNDLE_INVALID; a frame missing an input
 * column or holding it with the wrong kind is SCHEMA_MISMATCH, as in process.
 */
export async function verifyOnnxInChild(
  bytes: Uint8Array,
  columns: readonly ColumnIR[],
  frame: Frame,
  expectedProbabilities: ArrayLike<number>,
  tol = 1e-5,
  expectedLabels?: readonly (string | number)[],
  threshold?: number,
): Promise<VerifyOutcome> {
  if (expectedProbabilities.length !== frame.nRows) {
    throw new RangeError(`expected ${frame.nRows} probabilities, got ${expectedProbabilities.length}`);
  }
  const stored = columns.map((c) => storedColumn(c, frame));
  const dir = mkdtempSync(join(tmpdir(), "netsec-onnx-check-"));
  try {
    const onnxFile = join(dir, "model.onnx");
    const rowsFile = join(dir, "rows.bin");
    writeFileSync(onnxFile, bytes);
    const header: CheckHeader = {
      nRows: frame.nRows,
      blockRows: ONNX_CHUNK_ROWS,
      tol,
      threshold: threshold ?? null,
      hasLabels: expectedLabels !== undefined,
      columns: columns.map((c) =>
        c.kind === "categorical" ? { ...c, categories: [...c.categories] } : { ...c },
      ),
      stored: stored.map((c) =>
        c.kind === "numeric" ? { kind: "numeric" } : { kind: "categorical", categories: [...c.categories] },
      ),
    };
    writeRows(rowsFile, header, stored, expectedProbabilities, expectedLabels);
    return await runChild(rowsFile, onnxFile);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The frame column an input reads, checked as feedsFromFrame checks it. */
function storedColumn(c: ColumnIR, frame: Frame): Column {
  if (!frame.has(c.column)) {
    throw new NetsecError("SCHEMA_MISMATCH", `column ${c.column} is missing from the data`, {
      column: c.column,
    });
  }
  const col = frame.column(c.column);
  if (c.kind === "numeric" && col.kind !== "numeric") {
    throw new NetsecError("SCHEMA_MISMATCH", `column ${c.column} is categorical, the model expects numbers`, {
      column: c.column,
    });
  }
  return col;
}

function writeRows(
  file: string,
  header: CheckHeader,
  stored: readonly Column[],
  expectedProbabilities: ArrayLike<number>,
  expectedLabels: readonly (string | number)[] | undefined,
): void {
  const fd = openSync(file, "w");
  try {
    writeSized(fd, Buffer.from(JSON.stringify(header)));
    for (let from = 0; from < header.nRows; from += header.blockRows) {
      const to = Math.min(header.nRows, from + header.blockRows);
      // views of the frame's own buffers: nothing is copied but the probabilities of one block
      for (const c of stored)
        writeSync(fd, c.kind === "numeric" ? c.values.subarray(from, to) : c.codes.subarray(from, to));
      const p = new Float64Array(to - from);
      for (let i = from; i < to; i++) p[i - from] = expectedProbabilities[i]!;
      writeSync(fd, p);
      if (expectedLabels) writeSized(fd, Buffer.from(JSON.stringify(expectedLabels.slice(from, to))));
    }
  } finally {
    closeSync(fd);
  }
}

function writeSized(fd: number, bytes: Uint8Array): void {
  writeSync(fd, Uint32Array.of(bytes.byteLength));
  writeSync(fd, bytes);
}

/** Reads a rows file back: the header, then one block at a time. */
export class RowsFileReader {
  readonly header: CheckHeader;
  private readonly fd: number;
  private pos = 0;

  constructor(file: string) {
    this.fd = openSync(file, "r");
    this.header = CheckHeaderSchema.parse(JSON.parse(this.sized().toString("utf8")));
  }

  /** The next block: a frame of the input columns, netsec's probabilities and labels for its rows. */
  block(rows: number): {
    columns: Column[];
    probabilities: Float64Array;
    labels: (string | number)[] | undefined;
  } {
    const { header } = this;
    const columns = header.columns.map((c, k): Column => {
      const s = header.stored[k]!;
      return s.kind === "numeric"
        ? { kind: "numeric", name: c.column, values: this.read(new Float64Array(rows)) }
        : {
            kind: "categorical",
            name: c.column,
            codes: this.read(new Int32Array(rows)),
            categories: s.categories,
          };
    });
    const probabilities = this.read(new Float64Array(rows));
    const labels = header.hasLabels
      ? LabelsSchema.parse(JSON.parse(this.sized().toString("utf8")))
      : undefined;
    return { columns, probabilities, labels };
  }

  close(): void {
    closeSync(this.fd);
  }

  private read<T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(into: T): T {
    let done = 0;
    while (done < into.byteLength) {
      const got = readSync(this.fd, into, done, into.byteLength - done, this.pos + done);
      if (got === 0) throw new RangeError("the ONNX check's rows file ends early");
      done += got;
    }
    this.pos += into.byteLength;
    return into;
  }

  private sized(): Buffer {
    const n = this.read(new Uint32Array(1))[0]!;
    const b = this.read(new Uint8Array(n));
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }
}

function runChild(rowsFile: string, onnxFile: string): Promise<VerifyOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD_MAIN, rowsFile, onnxFile], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    child.on("error", (e) =>
      reject(new NetsecError("INTERNAL", `could not start the ONNX check: ${e.message}`, {}, { cause: e })),
    );
    child.on("close", (code, signal) => {
      const reply = parseReply(out.trim().split("\n").pop() ?? "");
      if (reply && "outcome" in reply) return resolve(reply.outcome);
      if (reply) {
        const { code: c, message, details } = reply.error;
        return reject(new NetsecError(isErrorCode(c) ? c : "INTERNAL", message, details));
      }
      reject(
        new NetsecError(
          "INTERNAL",
          `the ONNX check's child process ended (${signal ?? `exit code ${code}`}) without a result: ${err.trim().slice(-2000)}`,
        ),
      );
    });
  });
}

function parseReply(line: string): z.output<typeof ChildReplySchema> | undefined {
  try {
    return ChildReplySchema.parse(JSON.parse(line));
  } catch {
    return undefined;
  }
}

function isErrorCode(c: string): c is ErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, c);
}
