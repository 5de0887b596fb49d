/**
 * Retention of `prediction_output/`: every scored upload is kept there from an unauthenticated route,
 * so the folder is pruned after each write (and once at start): outputs older than `maxAgeMs` go,
 * then the oldest outputs until the folder holds at most `maxBytes`. `output.csv` (the newest output,
 * the original project's file) is a second name of the newest output: it counts once (files are
 * counted by inode) and is removed only by age. The output just written is never removed, so its
 * download link works even when it alone is over the budget. Temporary files older than an hour (left
 * by a killed process) go too. One prune runs at a time; writes during a prune ask for one more.
 */
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

interface Entry {
  name: string;
  size: number;
  mtimeMs: number;
  inode: string;
}

/** What a prune removed: file names and the bytes freed. */
export interface PruneResult {
  removed: string[];
  freedBytes: number;
  keptBytes: number;
}

/** Prune `dir` once (see the file comment); `keep` names files never removed (the ones just written). */
export async function pruneOutputs(
  dir: string,
  limits: RetentionLimits,
  opts: { keep?: ReadonlySet<string>; now?: number } = {},
): Promise<PruneResult> {
  const now = opts.now ?? Date.now();
  const keep = opts.keep ?? new Set<string>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return { removed: [], freedBytes: 0, keptBytes: 0 };
  }
  const entries: Entry[] = [];
  const removed: string[] = [];
  for (const name of names) {
    const isTmp = TMP_RE.test(name);
    if (!(OUTPUT_RE.test(name) || name === LATEST || isTmp)) continue;
    let s: Awaited<ReturnType<typeof stat>>;
    try {
      s = await stat(join(dir, name));
    } catch {
      continue; // removed meanwhile
    }
    if (!s.isFile()) continue;
    if (isTmp) {
      // a write in progress is seconds old; an hour-old one was left by a killed process
      if (now - s.mtimeMs > TMP_MAX_AGE_MS && (await remove(dir, name))) removed.push(name);
      continue;
    }
    entries.push({ name, size: s.size, mtimeMs: s.mtimeMs, inode: `${s.dev}:${s.ino}` });
  }
  // bytes per inode, and how many of the listed names point at it
  const nameCount = new Map<string, number>();
  const sizes = new Map<string, number>();
  for (const e of entries) {
    nameCount.set(e.inode, (nameCount.get(e.inode) ?? 0) + 1);
    sizes.set(e.inode, e.size);
  }
  let total = 0;
  for (const size of sizes.values()) total += size;
  let freed = 0;
  const drop = async (e: Entry): Promise<void> => {
    if (!(await remove(dir, e.name))) return;
    removed.push(e.name);
    const left = nameCount.get(e.inode)! - 1;
    nameCount.set(e.inode, left);
    if (left === 0) {
      total -= e.size;
      freed += e.size;
    }
  };
  // oldest first; output.csv and the file just written are not candidates for the size budget
  entries.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : 1));
  const survivors: Entry[] = [];
  for (const e of entries) {
    if (!keep.has(e.name) && now - e.mtimeMs > limits.maxAgeMs) await drop(e);
    else survivors.push(e);
  }
  for (const e of survivors) {
    if (total <= limits.maxBytes) break;
    if (e.name === LATEST || keep.has(e.name)) continue;
    await drop(e);
  }
  return { removed, freedBytes: freed, keptBytes: total };
}

async function remove(dir: string, name: string): Promise<boolean> {
  try {
    await rm(join(dir, name));
    return true;
  } catch {
    return false; // another prune got there first
  }
}

/** Prunes a folder after writes, one prune at a time (writes during a prune ask for one more). */
export class OutputRetention {
  private readonly dir: string;
  private readonly limits: RetentionLimits;
  private readonly log: Logger;
  private running: Promise<void> | null = null;
  /** Files written since the running prune began (kept by the next one), or null: none asked. */
  private pending: Set<string> | null = null;

  constructor(dir: string, limits: RetentionLimits, log: Logger) {
    this.dir = dir;
    this.limits = limits;
    this.log = log;
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
          const r = await pruneOutputs(this.dir, this.limits, { keep });
          if (r.removed.length > 0)
            this.log.info(
              { removed: r.removed.length, freed_bytes: r.freedBytes, kept_bytes: r.keptBytes },
              "prediction_output pruned",
            );
        } catch (e) {
          this.log.warn({ err: (e as Error).message }, "prediction_output could not be pruned");
        }
      }
      this.running = null;
    })();
    return this.running;
  }
}
