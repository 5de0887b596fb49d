/**
 * A model's closed windows' summaries in a file of their own (`monitoring/<model>/windows.jsonl`, one
 * JSON object a line, oldest first), appended as windows close: a closed window never changes, and
 * rewriting all of them (720 by default, about 5 KB each with 30 inputs) with the open window's
 * counts at every 5-second save cost more than the rest of monitoring's saving together
 * (BENCHMARKS.md, "Monitoring's cost on scoring"). Bounded: past twice `retention` lines the file is
 * rewritten with the newest `retention` (atomically), so an append costs one write of its own lines
 * and a rewrite comes once every `retention` windows. The summaries are read back when asked for
 * (`Monitor.view`), never kept in the serving process's heap. Each line is the summary with its
 * window's number (`n`: 1, 2, … per model, see monitor.ts), which `read` leaves out.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import type { Logger } from "../core/log.ts";

const DRIFT_METHODS = ["ks_statistic", "wasserstein", "jensen_shannon", "ks_test", "chi2_test"] as const;
const score = z.number().nullable();

const FeatureSummarySchema = z.object({
  method: z.enum(DRIFT_METHODS),
  score,
  threshold: z.number(),
  drifted: z.boolean(),
  psi: score,
  missing_rate: z.number(),
});
export type FeatureSummary = z.infer<typeof FeatureSummarySchema>;

const OutputSummarySchema = z.object({ score, method: z.enum(DRIFT_METHODS), drifted: z.boolean() });

export const WindowSummarySchema = z.object({
  version: z.string(),
  start: z.string(),
  end: z.string(),
  rows: z.number().int().min(0),
  share_drifted: z.number(),
  dataset_drift: z.boolean(),
  drifted: z.array(z.string()),
  features: z.record(z.string(), FeatureSummarySchema),
  outputs: z.object({
    threat_rate: z.number(),
    reference_threat_rate: z.number(),
    threat_rate_change: z.number(),
    probability: OutputSummarySchema,
    predicted_class: OutputSummarySchema,
  }),
  unseen_share: z.number(),
  alerts: z.array(z.string()),
});
export type WindowSummary = z.infer<typeof WindowSummarySchema>;

/** A closed window's summary and its number (the model's windows closed up to it). */
export interface NumberedWindow {
  seq: number;
  summary: WindowSummary;
}

const SeqSchema = z.object({ n: z.number().int().min(1) });

/**
 * JSON without NaN/Infinity surprises: they become null, as in drift.json — which JSON.stringify does
 * itself (ECMA-262 SerializeJSONProperty: a number that is not finite is written "null"). A replacer
 * function doing the same made every save's summaries 1.5 times as slow (one call per key and value)
 * and changed no byte.
 */
export function toJson(x: unknown): string {
  return JSON.stringify(x);
}

export function writeAtomic(file: string, text: string | Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

const NEWLINE = 0x0a;
/** How much of the file's end `lastSeq` reads first (a line is about 5 KB with 30 inputs). */
const TAIL_BYTES = 64 * 1024;

export class WindowLog {
  private readonly file: string;
  private readonly retention: number;
  private readonly log: Logger;
  /** Lines in the file, counted at the first append (null until then). */
  private lines: number | null = null;

  constructor(file: string, retention: number, log: Logger) {
    this.file = file;
    this.retention = retention;
    this.log = log;
  }

  /** Add closed windows' summaries (oldest first) after those in the file. */
  append(windows: readonly NumberedWindow[]): void {
    if (windows.length === 0) return;
    let text = `${windows.map((w) => toJson({ n: w.seq, ...w.summary })).join("\n")}\n`;
    if (this.lines === null) {
      mkdirSync(dirname(this.file), { recursive: true });
      const kept = existsSync(this.file) ? readFileSync(this.file) : Buffer.alloc(0);
      let n = 0;
      for (let at = kept.indexOf(NEWLINE); at >= 0; at = kept.indexOf(NEWLINE, at + 1)) n++;
      // a line cut short by a crash mid-append: ended here, so the new lines stay lines of their own
      if (kept.length > 0 && kept[kept.length - 1] !== NEWLINE) {
        text = `\n${text}`;
        n++;
      }
      this.lines = n;
    }
    appendFileSync(this.file, text);
    this.lines += windows.length;
    if (this.lines > 2 * this.retention) this.compact();
  }

  /**
   * The file rewritten with its newest `retention` lines: their bytes copied as they are (no string of
   * the whole file and its lines for the collector: up to 1,440 lines of 5 KB, every 720 windows).
   */
  private compact(): void {
    const bytes = readFileSync(this.file);
    if (bytes.length < 2) return;
    // the file ends with a newline (append writes whole lines); back from it past `retention` more
    let start = 0;
    let kept = 0;
    for (
      let at = bytes.lastIndexOf(NEWLINE, bytes.length - 2);
      at >= 0;
      at = bytes.lastIndexOf(NEWLINE, at - 1)
    ) {
      if (++kept === this.retention) {
        start = at + 1;
        break;
      }
      if (at === 0) break;
    }
    const newest = bytes.subarray(start);
    writeAtomic(this.file, newest);
    let n = 0;
    for (let at = newest.indexOf(NEWLINE); at >= 0; at = newest.indexOf(NEWLINE, at + 1)) n++;
    this.lines = n;
  }

  private rawLines(): string[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "");
  }

  /**
   * The number of the newest window in the file (its last line that parses; 0: none), read from the
   * file's end: a server starting on 1,440 lines of 5 KB need not read (and leave to the collector)
   * all of them for the last one.
   */
  lastSeq(): number {
    if (!existsSync(this.file)) return 0;
    const fd = openSync(this.file, "r");
    let tail: string;
    let whole: boolean;
    try {
      const size = fstatSync(fd).size;
      const len = Math.min(size, TAIL_BYTES);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      tail = buf.toString("utf8");
      whole = len === size;
    } finally {
      closeSync(fd);
    }
    const lines = tail.split("\n");
    // unless the tail is the whole file, its first piece may be a line cut by the tail's start
    for (let i = lines.length - 1; i >= (whole ? 0 : 1); i--) {
      if (lines[i]!.trim() === "") continue;
      try {
        return SeqSchema.parse(JSON.parse(lines[i]!)).n;
      } catch {
        // cut short by a crash: the line before it
      }
    }
    if (whole) return 0;
    // no whole line in the tail (lines longer than it): the whole file
    const all = this.rawLines();
    for (let i = all.length - 1; i >= 0; i--) {
      try {
        return SeqSchema.parse(JSON.parse(all[i]!)).n;
      } catch {}
    }
    return 0;
  }

  /** The newest `retention` summaries, oldest first; a line that does not parse is skipped and said. */
  read(): WindowSummary[] {
    const out: WindowSummary[] = [];
    let bad = 0;
    for (const l of this.rawLines().slice(-this.retention)) {
      try {
        out.push(WindowSummarySchema.parse(JSON.parse(l)));
      } catch {
        bad++;
      }
    }
    if (bad > 0)
      this.log.warn({ file: this.file, lines: bad }, "monitoring: unreadable window lines skipped");
    return out;
  }
}
