/**
 * Retention of prediction_output/: outputs past the age limit go, then the oldest until the folder is
 * within its byte budget; output.csv (a second name of the newest output) counts once and is removed
 * only by age; the output just written always stays; stale temporary files go. Checked on files with
 * chosen sizes and times, and through the server: uploads past the budget leave the folder within it.
 * OutputRetention prunes from an in-memory index between full scans: checked against the full scan
 * (`pruneOutputs`) on a twin folder, and against files another process adds or removes.
 */
import {
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { OutputRetention, type PruneResult, pruneOutputs, RESCAN_MS } from "../../src/serve/retention.ts";
import { tempDir } from "../helpers/env.ts";
import { fitFixturePredictor, phishingCsvSlice } from "./fixtures/predictor.ts";
import { makeApp } from "./helpers.ts";

const tmp = tempDir("netsec-retention-");
afterAll(() => tmp.cleanup());

const NOW = Date.parse("2025-06-01T12:00:00Z");
const HOUR = 3600_000;
const DAY = 24 * HOUR;

let n = 0;
/** A fresh folder with files: name → [bytes, age in ms]. */
function folder(files: Record<string, [number, number]>, now = NOW): string {
  const dir = join(tmp.dir, `out-${n++}`);
  mkdirSync(dir);
  for (const [name, [bytes, age]] of Object.entries(files)) {
    const p = join(dir, name);
    writeFileSync(p, Buffer.alloc(bytes, 65));
    const t = (now - age) / 1000;
    utimesSync(p, t, t);
  }
  return dir;
}

const id = (k: number): string => `pred-20250601-1200${String(k).padStart(2, "0")}-0000000${k}.csv`;

describe("pruneOutputs", () => {
  it("removes outputs past the age limit, whatever the byte budget", async () => {
    const dir = folder({ [id(1)]: [10, 8 * DAY], [id(2)]: [10, 6 * DAY], [id(3)]: [10, HOUR] });
    const r = await pruneOutputs(dir, { maxBytes: 1e9, maxAgeMs: 7 * DAY }, { now: NOW });
    expect(r.removed).toEqual([id(1)]);
    expect(readdirSync(dir).sort()).toEqual([id(2), id(3)]);
    expect(r.keptBytes).toBe(20);
  });

  it("then removes the oldest until the folder is within its budget", async () => {
    // 4 outputs of 100 bytes, budget 250: the two oldest go (400 → 300 → 200)
    const dir = folder({
      [id(4)]: [100, 1 * HOUR],
      [id(1)]: [100, 4 * HOUR],
      [id(3)]: [100, 2 * HOUR],
      [id(2)]: [100, 3 * HOUR],
    });
    const r = await pruneOutputs(dir, { maxBytes: 250, maxAgeMs: 7 * DAY }, { now: NOW });
    expect(r.removed).toEqual([id(1), id(2)]);
    expect(r).toMatchObject({ freedBytes: 200, keptBytes: 200 });
    expect(readdirSync(dir).sort()).toEqual([id(3), id(4)]);
  });

  it("output.csv, a hard link of the newest output, counts once and stays; the file just written stays", async () => {
    const dir = folder({ [id(1)]: [100, 3 * HOUR], [id(2)]: [100, 2 * HOUR], [id(3)]: [300, HOUR] });
    linkSync(join(dir, id(3)), join(dir, "output.csv"));
    // 500 bytes on disk (not 800); budget 350: id(1) and id(2) go, id(3) (kept) and output.csv stay
    const r = await pruneOutputs(
      dir,
      { maxBytes: 350, maxAgeMs: 7 * DAY },
      { now: NOW, keep: new Set([id(3)]) },
    );
    expect(r.removed).toEqual([id(1), id(2)]);
    expect(r.keptBytes).toBe(300);
    expect(readdirSync(dir).sort()).toEqual(["output.csv", id(3)]);
    // the just-written output alone over the budget: still kept (its download link must work)
    const again = await pruneOutputs(
      dir,
      { maxBytes: 10, maxAgeMs: 7 * DAY },
      { now: NOW, keep: new Set([id(3)]) },
    );
    expect(again.removed).toEqual([]);
    // without the keep, the output goes but output.csv (the newest, same bytes) stays
    const third = await pruneOutputs(dir, { maxBytes: 10, maxAgeMs: 7 * DAY }, { now: NOW });
    expect(third.removed).toEqual([id(3)]);
    expect(third.freedBytes).toBe(0);
    expect(readdirSync(dir)).toEqual(["output.csv"]);
    // output.csv past the age limit goes too
    const t = (NOW - 8 * DAY) / 1000;
    utimesSync(join(dir, "output.csv"), t, t);
    expect((await pruneOutputs(dir, { maxBytes: 10, maxAgeMs: 7 * DAY }, { now: NOW })).removed).toEqual([
      "output.csv",
    ]);
  });

  it("removes temporary files an hour old (a killed write), not fresh ones; leaves other files alone", async () => {
    const dir = folder({
      [`${id(1)}.tmp-123-0a0b0c0d`]: [50, 2 * HOUR],
      "output.csv.tmp-123-0a0b0c0e": [50, 60_000],
      "notes.txt": [50, 30 * DAY],
    });
    const r = await pruneOutputs(dir, { maxBytes: 0, maxAgeMs: DAY }, { now: NOW });
    expect(r.removed).toEqual([`${id(1)}.tmp-123-0a0b0c0d`]);
    expect(readdirSync(dir).sort()).toEqual(["notes.txt", "output.csv.tmp-123-0a0b0c0e"]);
  });

  it("a missing folder is nothing to prune", async () => {
    expect(await pruneOutputs(join(tmp.dir, "none"), { maxBytes: 0, maxAgeMs: 0 })).toEqual({
      removed: [],
      freedBytes: 0,
      keptBytes: 0,
    });
  });
});

/** A file written `age` ms before `now` (its mtime), like savePredictionOutput: output.csv linked to it if `latest`. */
function write(dir: string, name: string, bytes: number, mtimeMs: number, latest = true): void {
  const p = join(dir, name);
  writeFileSync(p, Buffer.alloc(bytes, 66));
  utimesSync(p, mtimeMs / 1000, mtimeMs / 1000);
  if (!latest) return;
  linkSync(p, join(dir, "output.csv.tmp-1-00000000"));
  renameSync(join(dir, "output.csv.tmp-1-00000000"), join(dir, "output.csv"));
}

/** Bytes on disk under `dir`, each inode once. */
function diskBytes(dir: string): number {
  const seen = new Set<number>();
  let bytes = 0;
  for (const f of readdirSync(dir)) {
    const s = statSync(join(dir, f));
    if (!seen.has(s.ino)) bytes += s.size;
    seen.add(s.ino);
  }
  return bytes;
}

/** An OutputRetention on `dir` with a clock the test moves; `pruned` collects its "pruned" log lines. */
function retention(dir: string, limits: { maxBytes: number; maxAgeMs: number }, clock: { now: number }) {
  const pruned: PruneResult[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      const line = JSON.parse(String(chunk));
      if (line.msg === "prediction_output pruned")
        pruned.push({ removed: line.removed, freedBytes: line.freed_bytes, keptBytes: line.kept_bytes });
      cb();
    },
  });
  const r = new OutputRetention(dir, limits, pino({ level: "info" }, sink), { now: () => clock.now });
  return { r, pruned };
}

const out = (k: number): string => `pred-20250601-120000-${k.toString(16).padStart(8, "0")}.csv`;

describe("OutputRetention between full scans", () => {
  // from the real time (not NOW): ages agree with Date.now(), the default clock, within a minute or two
  const T = Date.now();
  it("prunes after each write exactly as a full scan of the same folder would", async () => {
    const limits = { maxBytes: 600, maxAgeMs: DAY };
    const start = {
      [out(1)]: [90, DAY - 5_000], // past the age limit after the third write
      [out(2)]: [150, 10 * HOUR],
      [out(3)]: [70, 5 * HOUR],
      [`${out(3)}.tmp-7-0a0b0c0d`]: [30, 2 * HOUR], // a killed write: the start scan removes it
    } satisfies Record<string, [number, number]>;
    const a = folder(start, T);
    const b = folder(start, T);
    for (const d of [a, b]) linkSync(join(d, out(3)), join(d, "output.csv"));
    const clock = { now: T };
    const { r } = retention(a, limits, clock);
    await r.prune();
    await pruneOutputs(b, limits, { now: T });
    expect(readdirSync(a).sort()).toEqual(readdirSync(b).sort());
    // the 700-byte write alone is over the budget: it stays (with output.csv), every other output goes
    const sizes = [120, 40, 300, 80, 500, 60, 700, 90, 200, 10];
    for (const [i, size] of sizes.entries()) {
      clock.now += 2_000;
      const name = out(100 + i);
      for (const d of [a, b]) write(d, name, size, clock.now);
      await r.prune(name);
      await pruneOutputs(b, limits, { now: clock.now, keep: new Set([name]) });
      expect(readdirSync(a).sort(), `after write ${i}`).toEqual(readdirSync(b).sort());
      if (size <= limits.maxBytes) expect(diskBytes(a)).toBeLessThanOrEqual(limits.maxBytes);
      else expect(readdirSync(a).sort()).toEqual(["output.csv", name]);
    }
    expect(existsSync(join(a, out(1)))).toBe(false);
    expect(readdirSync(a).sort()).toEqual(["output.csv", out(107), out(108), out(109)]);
  });

  it("sees a file another process added only at the next full scan, RESCAN_MS after the last", async () => {
    const limits = { maxBytes: 250, maxAgeMs: DAY };
    const dir = folder({ [out(1)]: [100, 2 * HOUR] }, T);
    const clock = { now: T };
    const { r } = retention(dir, limits, clock);
    await r.prune();
    // another server writes 200 bytes: 400 on disk, but this index knows of 200 after its own write
    write(dir, out(2), 200, T - HOUR, false);
    clock.now += 1_000;
    write(dir, out(3), 100, clock.now);
    await r.prune(out(3));
    expect(readdirSync(dir).sort()).toEqual(["output.csv", out(1), out(2), out(3)]);
    // past RESCAN_MS the next write rescans: the two oldest go (410 → 310 → 110)
    clock.now += RESCAN_MS + 1;
    write(dir, out(4), 10, clock.now);
    await r.prune(out(4));
    expect(readdirSync(dir).sort()).toEqual(["output.csv", out(3), out(4)]);
    expect(diskBytes(dir)).toBe(110);
  });

  it("a file another process removed is not counted as freed; the folder is read again", async () => {
    const limits = { maxBytes: 250, maxAgeMs: DAY };
    const dir = folder({ [out(1)]: [100, 4 * HOUR], [out(2)]: [100, 3 * HOUR], [out(3)]: [50, 2 * HOUR] }, T);
    const clock = { now: T };
    const { r, pruned } = retention(dir, limits, clock);
    await r.prune();
    expect(pruned).toEqual([]);
    // another server removed out(1) and wrote 100 bytes, after this one wrote out(4) (written first,
    // so the file system cannot give out(4) the inode of out(1): the index must find out(1) gone)
    clock.now += 1_000;
    write(dir, out(4), 150, clock.now);
    rmSync(join(dir, out(1)));
    write(dir, out(5), 100, T - HOUR, false);
    await r.prune(out(4));
    // the index says 400 bytes: out(1) cannot go (not counted), out(2) goes, 200 left by the index;
    // the folder read again holds 300: out(3) goes too. 150 bytes freed, not the 250 the index thought
    expect(readdirSync(dir).sort()).toEqual(["output.csv", out(4), out(5)]);
    expect(pruned).toEqual([{ removed: 2, freedBytes: 150, keptBytes: 250 }]);
  });
});

describe("the server keeps prediction_output/ within its budget", () => {
  it("after each upload, oldest first; the newest output and output.csv stay downloadable", async () => {
    const csv = phishingCsvSlice(200);
    const budget = Math.round(csv.length * 3.5);
    const t = await makeApp(await fitFixturePredictor(), { limits: { outputMaxBytes: budget } });
    try {
      const dir = join(t.home, "prediction_output");
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await t.app.inject({
          method: "POST",
          url: "/predict?format=json",
          headers: { "content-type": "text/csv" },
          payload: csv,
        });
        expect(r.statusCode).toBe(200);
        ids.push(r.json().id);
        await t.app.netsec.retention.prune();
        const files = readdirSync(dir);
        let bytes = 0;
        const seen = new Set<number>();
        for (const f of files) {
          const s = statSync(join(dir, f));
          if (!seen.has(s.ino)) bytes += s.size;
          seen.add(s.ino);
        }
        expect(bytes).toBeLessThanOrEqual(budget);
      }
      const files = readdirSync(dir).sort();
      expect(files).toContain("output.csv");
      // each output is the upload plus two columns: the two newest fit in 3.5 uploads' bytes
      expect(files.filter((f) => f.startsWith("pred-"))).toEqual(
        ids
          .slice(-2)
          .map((i) => `${i}.csv`)
          .sort(),
      );
      expect(existsSync(join(dir, `${ids[0]}.csv`))).toBe(false);
      const latest = await t.app.inject({ method: "GET", url: `/predictions/${ids.at(-1)}.csv` });
      expect(latest.statusCode).toBe(200);
      const gone = await t.app.inject({ method: "GET", url: `/predictions/${ids[0]}.csv` });
      expect(gone.statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });
});
