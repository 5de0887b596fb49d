/**
 * A packet capture given where a data file is expected (`netsec predict --input x.pcap`): recognised
 * by its magic number whatever its name, turned into CIC flow records (default flow settings) in a
 * temporary CSV that the caller reads as usual and then removes. Each record keeps its identity
 * columns (Flow ID, addresses, ports, protocol, timestamp), which scoring passes through.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureFormat } from "./capture.ts";
import { type ExtractSummary, extractFlows, flowColumns } from "./extract.ts";
import { csvToFile } from "./write.ts";

/** Whether `path` starts with a pcap or pcapng magic number (false for anything unreadable). */
export function isCapture(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const head = new Uint8Array(4);
    return readSync(fd, head, 0, 4, 0) === 4 && captureFormat(head) !== null;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface CaptureAsCsv {
  /** The flows as CSV (CIC features). */
  csv: string;
  summary: ExtractSummary;
  /** Remove the temporary file. */
  cleanup(): void;
}

/** The capture's CIC flows in a temporary CSV, or null when `path` is not a capture. */
export async function captureAsFlowsCsv(path: string): Promise<CaptureAsCsv | null> {
  if (!isCapture(path)) return null;
  const dir = mkdtempSync(join(tmpdir(), "netsec-flows-"));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const csv = join(dir, "flows.csv");
    const sink = csvToFile(flowColumns("cic"), csv);
    const summary = await extractFlows(path, (row) => sink.row(row), { features: "cic" });
    await sink.close();
    return { csv, summary, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}
