/**
 * Flow rows out, as they come: CSV (to stdout or a file, written in 64 KiB pieces) or Parquet (the
 * CSV is written to a temporary file beside the target, then DuckDB copies it into a Parquet file
 * with typed columns and renames it over the target: memory stays flat however many flows).
 */
import { randomBytes } from "node:crypto";
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { NetsecError } from "../core/errors.ts";
import { literal } from "../store/duckdb/connection.ts";
import { copySelectToParquet } from "../store/duckdb/parquet.ts";

export interface FlowSink {
  row(values: readonly (string | number)[]): void;
  /** Flush and finish the output. */
  close(): Promise<void>;
}

/** A CSV field: numbers as JavaScript prints them (NaN/Infinity never occur), text quoted when needed. */
function field(v: string | number): string {
  if (typeof v === "number") return String(v);
  return /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

class CsvSink implements FlowSink {
  private buf = "";
  private readonly write: (s: string) => void;
  private readonly done: () => void;

  constructor(header: readonly string[], write: (s: string) => void, done: () => void) {
    this.write = write;
    this.done = done;
    this.buf = `${header.map(field).join(",")}\n`;
  }

  row(values: readonly (string | number)[]): void {
    this.buf += `${values.map(field).join(",")}\n`;
    if (this.buf.length >= 65_536) {
      this.write(this.buf);
      this.buf = "";
    }
  }

  async close(): Promise<void> {
    if (this.buf) this.write(this.buf);
    this.buf = "";
    this.done();
  }
}

/**
 * CSV on stdout (process.stdout writes synchronously to files and pipes on Linux). A reader that
 * stops early (`netsec flows x.pcap | head`) ends the command quietly, as a pipe's writer would.
 */
export function csvToStdout(header: readonly string[]): FlowSink {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  return new CsvSink(
    header,
    (s) => process.stdout.write(s),
    () => {},
  );
}

/** CSV into `path`. */
export function csvToFile(header: readonly string[], path: string): FlowSink {
  const fd = openOut(path);
  return new CsvSink(
    header,
    (s) => writeSync(fd, s),
    () => closeSync(fd),
  );
}

/**
 * Parquet into `path`: `types` gives each column's DuckDB type (VARCHAR, INTEGER, DOUBLE), in order.
 */
export function parquetToFile(header: readonly string[], types: readonly string[], path: string): FlowSink {
  const csvPath = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}.csv`;
  const csv = csvToFile(header, csvPath);
  return {
    row: (v) => csv.row(v),
    async close() {
      await csv.close();
      const columns = `{${header.map((h, i) => `${literal(h)}: ${literal(types[i]!)}`).join(", ")}}`;
      try {
        await copySelectToParquet(
          `SELECT * FROM read_csv(${literal(csvPath)}, header = true, columns = ${columns}, quote = '"', escape = '"')`,
          path,
        );
      } finally {
        rmSync(csvPath, { force: true });
      }
    },
  };
}

function openOut(path: string): number {
  try {
    return openSync(path, "w");
  } catch (e) {
    throw new NetsecError(
      "FILE_UNREADABLE",
      `cannot write ${path}: ${(e as Error).message}`,
      { file: path },
      { cause: e },
    );
  }
}
