/**
 * The ONNX check ({@link verifyOnnx}'s comparison) in a child process: onnxruntime's session, its
 * arena and its tensors — and, for a bundle, the export itself (the pipeline IR and the protobuf of
 * every tree) — live in a `node` process of their own that exits when the check is done, so they
 * never add to the training process's memory (at 1 M rows the RF(100) export and session were the
 * train command's peak).
 *
 * The parent writes the rows (and the ONNX bytes, when it has them) to a temporary directory; the
 * child (verify-child-main.ts) scores them ONNX_CHUNK_ROWS rows at a time, compares each block with
 * netsec's probabilities and labels through the same {@link VerifyTally} as the in-process check, and
 * prints only the outcome (a few numbers and at most 100 row indices per list) as one JSON line.
 *
 * The rows file, all numbers little-endian in the machine's own layout (parent and child are the same
 * binary on the same machine):
 * - u32 byte length, then a UTF-8 JSON {@link CheckHeader} (the job, the stored columns);
 * - per block of `blockRows` rows (the last one shorter): each stored column's rows (Float64 values,
 *   or Int32 codes into the header's categories for a categorical column), then netsec's threat
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

/**
 * What the child does with the rows: check given ONNX bytes (`verify`), or build the pipeline's ONNX
 * from a bundle directory itself, check it and, when it agrees, write the MLflow model directory
 * (`bundle`: the export's graph and bytes never exist in the parent either).
 */
const JobSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("verify"),
    /** The exported graph's inputs. */
    columns: z.array(ColumnIRSchema),
    /** The decision threshold on the threat probability, when the labels come from one. */
    threshold: z.number().nullable(),
  }),
  z.object({
    kind: z.literal("bundle"),
    bundleDir: z.string(),
    /** Where the MLflow model directory goes (written only when the check passes). */
    outDir: z.string(),
    classLabels: z.array(z.string()),
    classIsThreat: z.array(z.boolean()),
    threshold: z.number(),
    dataset: z.string(),
    netsecVersion: z.string(),
    metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    runId: z.string().nullable(),
  }),
]);
export type CheckJob = z.infer<typeof JobSchema>;

/** What the child needs to read the blocks that follow and to judge them. */
const CheckHeaderSchema = z.object({
  nRows: z.number().int().nonnegative(),
  blockRows: z.number().int().positive(),
  tol: z.number(),
  hasLabels: z.boolean(),
  /** The frame columns each block carries, by name, as the frame stores them. */
  stored: z.array(
    z.discriminatedUnion("kind", [
      z.object({ name: z.string(), kind: z.literal("numeric") }),
      z.object({ name: z.string(), kind: z.literal("categorical"), categories: z.array(z.string()) }),
    ]),
  ),
  job: JobSchema,
});
export type CheckHeader = z.infer<typeof CheckHeaderSchema>;

const LabelsSchema = z.array(z.union([z.string(), z.number()]));

const OutcomeSchema = z.object({
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
});

/** What the child prints as its last stdout line: its outcome, or the error that stopped it. */
const ChildReplySchema = z.union([
  z.object({
    outcome: OutcomeSchema,
    /** `bundle` jobs: the exported model's name, the files written (none when the check failed), the ONNX size. */
    export: z.object({ model: z.string(), files: z.array(z.string()), bytes: z.number() }).optional(),
  }),
  z.object({
    error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()) }),
  }),
]);
export type ChildReply = z.input<typeof ChildReplySchema>;
type Reply = Extract<z.output<typeof ChildReplySchema>, { outcome: unknown }>;

/** The rows to check on: a frame, netsec's threat probabilities for its rows, and its labels. */
export interface CheckRows {
  frame: Frame;
  probabilities: ArrayLike<number>;
  labels?: readonly (string | number)[] | undefined;
  /** Default 1e-5. */
  tol?: number | undefined;
}

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
  const job: CheckJob = {
    kind: "verify",
    columns: columns.map((c) =>
      c.kind === "categorical" ? { ...c, categories: [...c.categories] } : { ...c },
    ),
    threshold: threshold ?? null,
  };
  const stored = columns.map((c) => storedColumn(c, frame));
  const rows = { frame, probabilities: expectedProbabilities, labels: expectedLabels, tol };
  return (await inChild(job, stored, rows, bytes)).outcome;
}

/**
 * The bundle's ONNX export, made, checked on `rows` and written to `outDir` (when it agrees) by a child
 * process that loads the bundle in `job.bundleDir` itself. `inputs`: the frame columns the bundle
 * reads (its input_columns). Returns the outcome and what the export wrote.
 */
export async function exportBundleOnnxInChild(
  job: Omit<Extract<CheckJob, { kind: "bundle" }>, "kind">,
  inputs: readonly string[],
  rows: CheckRows,
): Promise<Reply> {
  const stored = inputs.map((name) => rows.frame.column(name));
  return inChild({ kind: "bundle", ...job }, stored, rows);
}

async function inChild(
  job: CheckJob,
  stored: readonly Column[],
  rows: CheckRows,
  onnx?: Uint8Array,
): Promise<Reply> {
  const n = rows.frame.nRows;
  if (rows.probabilities.length !== n) {
    throw new RangeError(`expected ${n} probabilities, got ${rows.probabilities.length}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "netsec-onnx-check-"));
  try {
    const rowsFile = join(dir, "rows.bin");
    const header: CheckHeader = {
      nRows: n,
      blockRows: ONNX_CHUNK_ROWS,
      tol: rows.tol ?? 1e-5,
      hasLabels: rows.labels !== undefined,
      stored: stored.map((c) =>
        c.kind === "numeric"
          ? { name: c.name, kind: "numeric" }
          : { name: c.name, kind: "categorical", categories: [...c.categories] },
      ),
      job,
    };
    writeRows(rowsFile, header, stored, rows.probabilities, rows.labels);
    const args = [CHILD_MAIN, rowsFile];
    if (onnx) {
      const onnxFile = join(dir, "model.onnx");
      writeFileSync(onnxFile, onnx);
      args.push(onnxFile);
    }
    return await runChild(args);
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

  /** The next block: its columns (named as stored), netsec's probabilities and labels for its rows. */
  block(rows: number): {
    columns: Column[];
    probabilities: Float64Array;
    labels: (string | number)[] | undefined;
  } {
    const { header } = this;
    const columns = header.stored.map(
      (s): Column =>
        s.kind === "numeric"
          ? { kind: "numeric", name: s.name, values: this.read(new Float64Array(rows)) }
          : {
              kind: "categorical",
              name: s.name,
              codes: this.read(new Int32Array(rows)),
              categories: s.categories,
            },
    );
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

function runChild(args: string[]): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // --expose-gc: the child collects the export's garbage before it loads onnxruntime's session
    const child = spawn(process.execPath, ["--expose-gc", ...args], { stdio: ["ignore", "pipe", "pipe"] });
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
      if (reply && "outcome" in reply) return resolve(reply);
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
