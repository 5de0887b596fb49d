/**
 * `--input -`: data piped on stdin (`netsec flows capture.pcap | netsec predict --input -`). Scoring
 * reads its input twice (the frame, then the rows echoed to the output), so stdin is first streamed
 * to a temporary file (constant memory), named for what its first bytes are: a pcap/pcapng capture
 * (scored as its flows, by its magic number), a Zeek TSV log (`#separator`: `stdin.log`), else CSV
 * with a header (`stdin.csv`, what `netsec flows` writes).
 */
import { closeSync, createWriteStream, mkdtempSync, openSync, readSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { NetsecError } from "../core/errors.ts";

export interface SpooledInput {
  /** The temporary file holding what came on stdin. */
  path: string;
  cleanup(): void;
}

export async function spoolStdin(
  input: Readable & { isTTY?: boolean } = process.stdin,
): Promise<SpooledInput> {
  if (input.isTTY) {
    throw new NetsecError(
      "CONFIG_INVALID",
      "--input - reads the data from stdin: pipe it in (… | netsec predict --input -)",
      {
        value: "-",
      },
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "netsec-stdin-"));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const raw = join(dir, "stdin");
    await pipeline(input, createWriteStream(raw));
    const head = Buffer.alloc(10);
    const fd = openSync(raw, "r");
    const n = readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    const path = join(
      dir,
      head.subarray(0, n).toString("latin1").startsWith("#separator") ? "stdin.log" : "stdin.csv",
    );
    renameSync(raw, path);
    return { path, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}
