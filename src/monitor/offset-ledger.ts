/**
 * Which stream records monitoring has already counted: per Kafka partition, the offsets counted so
 * far as disjoint ranges, in one file per consumer group and topic that every member on the
 * NETSEC_HOME shares (`monitoring/stream-offsets-<digest>.json`).
 *
 * Kafka delivers at least once: a batch whose commit is refused, or committed by a member that lost
 * its partitions in a rebalance (the client rejoins and retries the commit in the new generation), is
 * scored again by the partition's new owner. The store drops the second verdict by its key; the
 * ledger does the same for monitoring, so each record's verdict is counted once whichever member
 * made it. A member claims a batch's offsets under a lock file (held for one read and one write of a
 * small file) and counts only the rows it claimed.
 *
 * Bounded: at most MAX_RANGES ranges per partition (consecutive offsets merge into one range, so a
 * partition read in order keeps one); past that the lowest ranges are forgotten, and a group reset
 * to offsets that old is counted again.
 */
import {
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import type { Logger } from "../core/log.ts";

/** Ranges kept per partition (see the file comment). */
export const MAX_RANGES = 256;
/** How long a claim waits for another member's lock before giving the batch's counts up (ms). */
const LOCK_WAIT_MS = 5000;
/** A lock file older than this is a dead member's, whatever it says (ms). */
const LOCK_STALE_MS = 30_000;

/** One scored row's record: its partition and offset. */
export interface RowOffset {
  partition: number;
  offset: bigint;
}

/** [first, last] offsets counted, inclusive. */
type Range = [bigint, bigint];

const LedgerSchema = z.object({
  format: z.literal("netsec-offset-ledger"),
  version: z.literal(1),
  /** partition → ranges as decimal strings (Kafka offsets are int64: past JSON's exact integers). */
  partitions: z.record(z.string().regex(/^\d+$/), z.array(z.tuple([z.string(), z.string()]))),
});

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number): void => {
  Atomics.wait(sleeper, 0, 0, ms);
};

/** Whether a lock file names a live process (an unreadable, fresh one counts as held). */
function lockHeld(file: string): boolean {
  try {
    const text = readFileSync(file, "utf8");
    const pid = Number(text);
    if (Number.isInteger(pid) && pid > 0) {
      process.kill(pid, 0);
      return true;
    }
    // created, its pid not written yet (or garbage): held unless old
    return Date.now() - statSync(file).mtimeMs < LOCK_STALE_MS;
  } catch (e) {
    // ESRCH: the pid is gone; ENOENT: released meanwhile; EPERM: alive under another user
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Run `fn` holding `file`.lock (created exclusively; a dead holder's lock is moved aside). */
function withLock<T>(file: string, fn: () => T): T {
  const lock = `${file}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx" });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    if (!lockHeld(lock)) {
      // a dead member's lock: moved aside by a rename (of two processes doing this, one moves it);
      // if what was moved is a live member's new lock after all, it is put back
      const aside = `${lock}.${process.pid}.stale`;
      try {
        renameSync(lock, aside);
        if (lockHeld(aside))
          try {
            linkSync(aside, lock);
          } catch {}
        rmSync(aside, { force: true });
      } catch {}
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${lock} held by another process for ${LOCK_WAIT_MS} ms`);
    sleep(2);
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Index of the first range whose last offset is ≥ x. */
function firstEndingAtOrAfter(ranges: readonly Range[], x: bigint): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ranges[mid]![1] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function covered(ranges: readonly Range[], x: bigint): boolean {
  const i = firstEndingAtOrAfter(ranges, x);
  return i < ranges.length && ranges[i]![0] <= x;
}

/** `ranges` with the sorted, distinct `offsets` added, merged where they touch, at most MAX_RANGES. */
function merged(ranges: readonly Range[], offsets: readonly bigint[]): Range[] {
  const all: Range[] = [...ranges];
  let run: Range | null = null;
  for (const o of offsets) {
    if (run && o === run[1] + 1n) run[1] = o;
    else {
      if (run) all.push(run);
      run = [o, o];
    }
  }
  if (run) all.push(run);
  all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Range[] = [];
  for (const r of all) {
    const last = out.at(-1);
    if (last && r[0] <= last[1] + 1n) {
      if (r[1] > last[1]) last[1] = r[1];
    } else out.push([r[0], r[1]]);
  }
  return out.length > MAX_RANGES ? out.slice(out.length - MAX_RANGES) : out;
}

export class OffsetLedger {
  private readonly file: string;
  private readonly log: Logger;

  /** `file`: the ledger of one consumer group and topic (homeLayout's `streamOffsets`). */
  constructor(file: string, log: Logger) {
    this.file = file;
    this.log = log;
  }

  private read(): Map<number, Range[]> {
    const out = new Map<number, Range[]>();
    if (!existsSync(this.file)) return out;
    try {
      const x = LedgerSchema.parse(JSON.parse(readFileSync(this.file, "utf8")));
      for (const [p, ranges] of Object.entries(x.partitions))
        out.set(
          Number(p),
          ranges.map(([a, b]) => [BigInt(a), BigInt(b)]),
        );
    } catch (e) {
      // damaged: moved aside; what it held may be counted once more, never lost
      renameSync(this.file, `${this.file}.damaged`);
      this.log.error(
        { file: this.file, err: (e as Error).message },
        "monitoring: stream offset ledger damaged; moved aside, starting anew",
      );
    }
    return out;
  }

  private write(ledger: Map<number, Range[]>): void {
    const partitions: Record<string, [string, string][]> = {};
    for (const [p, ranges] of [...ledger].sort((a, b) => a[0] - b[0]))
      partitions[String(p)] = ranges.map(([a, b]) => [String(a), String(b)]);
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ format: "netsec-offset-ledger", version: 1, partitions }));
    renameSync(tmp, this.file);
  }

  /**
   * Claim `rows` (one per scored row, in row order): marks each offset counted and returns which rows
   * are claimed here, 1 per row (0: counted before, by any member, or earlier in these rows).
   */
  claim(rows: readonly RowOffset[]): Uint8Array {
    const mine = new Uint8Array(rows.length);
    if (rows.length === 0) return mine;
    mkdirSync(dirname(this.file), { recursive: true });
    withLock(this.file, () => {
      const ledger = this.read();
      // per partition, the offsets claimed here, in row order: rising as a consumer's batches are, so
      // sorted already and without repeats; a set (and a sort) only once one does not rise
      const fresh = new Map<
        number,
        { ranges: readonly Range[]; offsets: bigint[]; seen: Set<bigint> | null }
      >();
      for (let i = 0; i < rows.length; i++) {
        const { partition, offset } = rows[i]!;
        let f = fresh.get(partition);
        if (!f) fresh.set(partition, (f = { ranges: ledger.get(partition) ?? [], offsets: [], seen: null }));
        if (f.seen === null && f.offsets.length > 0 && offset <= f.offsets[f.offsets.length - 1]!)
          f.seen = new Set(f.offsets);
        if (f.seen?.has(offset) || covered(f.ranges, offset)) continue;
        f.seen?.add(offset);
        f.offsets.push(offset);
        mine[i] = 1;
      }
      for (const [p, f] of fresh) {
        if (f.offsets.length === 0) continue;
        if (f.seen !== null) f.offsets.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        ledger.set(p, merged(f.ranges, f.offsets));
      }
      this.write(ledger);
    });
    return mine;
  }
}
