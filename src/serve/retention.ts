/**
 * Retention of `prediction_output/`: every scored upload is kept there from an unauthenticated route,
 * so the folder is pruned after each write (and once at start): outputs older than `maxAgeMs` go,
 * then the oldest outputs until the folder holds at most `maxBytes`. `output.csv` (the newest output,
 * the original project's file) is a second name of the newest output: it counts once (files are
 * counted by inode) and is removed only by age. The output just written is never removed, so its
 * download link works even when it alone is over the budget. Temporary files older than an hour (left
 * by a killed process) go too, at full scans. One prune runs at a time; writes during a prune ask for
 * one more.
 *
 * `pruneOutputs` scans the whole folder (one readdir, one stat per file: ~5 ms at 3,000 files).
 * `OutputRetention` does that once at start and keeps the result as an in-memory index; after a write
 * it stats only the files just written and `output.csv`, and prunes from the index. Another process
 * may share the folder (two servers on one home), so the index is rebuilt by a full scan when it is
 * older than `RESCAN_MS`, when a removal fails or when a file it lists is gone.
 */
import type { Stats } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../core/log.ts";

export interface RetentionLimits {
  /** Most bytes kept in the folder (output.csv included). */
  maxBytes: number;
  /** Outputs last written longer ago than this (ms) are removed. */
  maxAgeMs: number;
}

const OUTPUT_RE = /^pred-[0-9]{8}-[0-9]{6}-[a-f0-9]{8}\.csv$/;
const LATEST = "output.csv";
const TMP_RE = /\.tmp-\d+-[a-f0-9]{8}$/;
const TMP_MAX_AGE_MS = 3600_000;
/** Oldest in-memory index (ms since its full scan) an `OutputRetention` prunes from; then it rescans. */
export const RESCAN_MS = 60_000;

interface Entry {
  name: string;
  size: number;
  mtimeMs: number;
  /** `dev:ino`: output.csv and the newest output share one. */
  inode: string;
}

/** What a prune removed: file names and the bytes freed. */
export interface PruneResult {
  removed: string[];
  freedBytes: number;
  keptBytes: number;
}

const entryOf = (name: string, s: Stats): Entry => ({
  name,
  size: s.size,
  mtimeMs: s.mtimeMs,
  inode: `${s.dev}:${s.ino}`,
});

/** Oldest first; equal times by name (the order the budget removes them in). */
const older = (a: Entry, b: Entry): number =>
  a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The outputs of one folder as last seen: bytes per inode (each counted once, however many of the
 * listed names point at it) and the names oldest first.
 */
class OutputIndex {
  /** Date.now() of the full scan this index was built from. */
  readonly builtAt: number;
  private readonly byName = new Map<string, Entry>();
  private readonly inodes = new Map<string, { size: number; names: number }>();
  /** Sorted by `older`; writes land at the end, so inserts are appends in practice. */
  private readonly order: Entry[];
  private total = 0;

  /** `entries`: one per name, in any order. */
  constructor(builtAt: number, entries: Entry[]) {
    this.builtAt = builtAt;
    for (const e of entries) this.count(e);
    this.order = [...entries].sort(older);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Add or replace the entry of `e.name`. */
  put(e: Entry): void {
    this.forget(e.name);
    this.count(e);
    this.order.splice(this.position(e), 0, e);
  }

  /** Account for `e` (a name not listed yet) by name and inode; not in `order`. */
  private count(e: Entry): void {
    this.byName.set(e.name, e);
    const at = this.inodes.get(e.inode);
    if (at) {
      this.total += e.size - at.size;
      at.size = e.size;
      at.names++;
    } else {
      this.inodes.set(e.inode, { size: e.size, names: 1 });
      this.total += e.size;
    }
  }

  /** Drop `name` from the index (not the disk); the bytes its inode freed (0 while another name holds it). */
  forget(name: string): number {
    const e = this.byName.get(name);
    if (!e) return 0;
    this.byName.delete(name);
    this.order.splice(this.position(e), 1); // names are unique, so `e` is exactly there
    const ino = this.inodes.get(e.inode)!;
    if (--ino.names > 0) return 0;
    this.inodes.delete(e.inode);
    this.total -= ino.size;
    return ino.size;
  }

  /** First index in `order` whose entry is not older than `e` (binary search). */
  private position(e: Entry): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (older(this.order[mid]!, e) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Remove outputs past the age limit, then the oldest until within the budget (output.csv and `keep`
   * are not candidates for the budget). `failed`: a removal failed (the file is dropped from the index
   * and not counted as freed; the caller rescans).
   */
  async evict(
    dir: string,
    limits: RetentionLimits,
    keep: ReadonlySet<string>,
    now: number,
  ): Promise<PruneResult & { failed: boolean }> {
    const removed: string[] = [];
    let freed = 0;
    let failed = false;
    const drop = async (e: Entry): Promise<void> => {
      if (await remove(dir, e.name)) {
        removed.push(e.name);
        freed += this.forget(e.name);
      } else {
        this.forget(e.name);
        failed = true;
      }
    };
    // past the age limit: a prefix of the oldest-first order
    const expired: Entry[] = [];
    for (const e of this.order) {
      if (now - e.mtimeMs <= limits.maxAgeMs) break;
      if (!keep.has(e.name)) expired.push(e);
    }
    for (const e of expired) await drop(e);
    let i = 0;
    while (this.total > limits.maxBytes && i < this.order.length) {
      const e = this.order[i]!;
      if (e.name === LATEST || keep.has(e.name)) i++;
      else await drop(e); // gone from `order` either way: `i` now names the next one
    }
    return { removed, freedBytes: freed, keptBytes: this.total, failed };
  }
}

/** Read the whole folder: its outputs, and the stale temporary files removed. Null: no folder. */
async function scanOutputs(
  dir: string,
  now: number,
): Promise<{ entries: Entry[]; removedTmp: string[] } | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  const entries: Entry[] = [];
  const removedTmp: string[] = [];
  for (const name of names) {
    const isTmp = TMP_RE.test(name);
    if (!(OUTPUT_RE.test(name) || name === LATEST || isTmp)) continue;
    let s: Stats;
    try {
      s = await stat(join(dir, name));
    } catch {
      continue; // removed meanwhile
    }
    if (!s.isFile()) continue;
    if (isTmp) {
      // a write in progress is seconds old; an hour-old one was left by a killed process
      if (now - s.mtimeMs > TMP_MAX_AGE_MS && (await remove(dir, name))) removedTmp.push(name);
      continue;
    }
    entries.push(entryOf(name, s));
  }
  return { entries, removedTmp };
}

/** A full scan and prune: the result, and the index of what stayed. */
async function scanAndPrune(
  dir: string,
  limits: RetentionLimits,
  keep: ReadonlySet<string>,
  now: number,
): Promise<{ result: PruneResult; index: OutputIndex }> {
  const scan = await scanOutputs(dir, now);
  const index = new OutputIndex(now, scan?.entries ?? []);
  const r = await index.evict(dir, limits, keep, now);
  return {
    result: {
      removed: [...(scan?.removedTmp ?? []), ...r.removed],
      freedBytes: r.freedBytes,
      keptBytes: r.keptBytes,
    },
    index,
  };
}

/** Prune `dir` once by a full scan (see the file comment); `keep` names files never removed (the ones just written). */
export async function pruneOutputs(
  dir: string,
  limits: RetentionLimits,
  opts: { keep?: ReadonlySet<string>; now?: number } = {},
): Promise<PruneResult> {
  return (await scanAndPrune(dir, limits, opts.keep ?? new Set(), opts.now ?? Date.now())).result;
}

async function remove(dir: string, name: string): Promise<boolean> {
  try {
    await rm(join(dir, name));
    return true;
  } catch {
    return false; // another prune got there first
  }
}

/**
 * Prunes a folder after writes, one prune at a time (writes during a prune ask for one more): a full
 * scan first and every `RESCAN_MS`, the in-memory index in between.
 */
export class OutputRetention {
  private readonly dir: string;
  private readonly limits: RetentionLimits;
  private readonly log: Logger;
  private readonly now: () => number;
  private running: Promise<void> | null = null;
  /** Files written since the running prune began (kept by the next one), or null: none asked. */
  private pending: Set<string> | null = null;
  /** The folder as of the last prune; null: scan it in full next time. */
  private index: OutputIndex | null = null;

  /** `now`: the clock (ms; tests move it past `RESCAN_MS` and the age limit). */
  constructor(dir: string, limits: RetentionLimits, log: Logger, opts: { now?: () => number } = {}) {
    this.dir = dir;
    this.limits = limits;
    this.log = log;
    this.now = opts.now ?? Date.now;
  }

  /** Prune now, or once more after the running prune; `written` is the file just written (kept). */
  prune(written?: string): Promise<void> {
    this.pending ??= new Set();
    if (written !== undefined) this.pending.add(written);
    this.running ??= (async () => {
      while (this.pending) {
        const keep = this.pending;
        this.pending = null;
        try {
          const r = await this.pruneOnce(keep);
          if (r.removed.length > 0)
            this.log.info(
              { removed: r.removed.length, freed_bytes: r.freedBytes, kept_bytes: r.keptBytes },
              "prediction_output pruned",
            );
        } catch (e) {
          this.index = null;
          this.log.warn({ err: (e as Error).message }, "prediction_output could not be pruned");
        }
      }
      this.running = null;
    })();
    return this.running;
  }

  private async pruneOnce(keep: ReadonlySet<string>): Promise<PruneResult> {
    const now = this.now();
    const index = this.index;
    if (!index || now - index.builtAt > RESCAN_MS || !(await this.refresh(index, keep)))
      return this.rescan(keep, now);
    const r = await index.evict(this.dir, this.limits, keep, now);
    if (!r.failed) return r;
    // a file was gone or could not go: another process changed the folder, so read it again
    const again = await this.rescan(keep, now);
    return {
      removed: [...r.removed, ...again.removed],
      freedBytes: r.freedBytes + again.freedBytes,
      keptBytes: again.keptBytes,
    };
  }

  private async rescan(keep: ReadonlySet<string>, now: number): Promise<PruneResult> {
    this.index = null;
    const { result, index } = await scanAndPrune(this.dir, this.limits, keep, now);
    this.index = index;
    return result;
  }

  /**
   * Bring the index up to date after writes: stat the files written and output.csv (its inode moves
   * to the newest output). False: a file the index lists is gone (rescan).
   */
  private async refresh(index: OutputIndex, written: ReadonlySet<string>): Promise<boolean> {
    for (const name of [...written, LATEST]) {
      if (name !== LATEST && !OUTPUT_RE.test(name)) continue;
      let s: Stats | null = null;
      try {
        s = await stat(join(this.dir, name));
      } catch {
        // not there: another process removed it (or nothing was written under that name)
      }
      if (s?.isFile()) index.put(entryOf(name, s));
      else if (index.has(name)) return false;
    }
    return true;
  }
}
