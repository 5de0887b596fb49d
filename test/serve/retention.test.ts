/**
 * Retention of prediction_output/: outputs past the age limit go, then the oldest until the folder is
 * within its byte budget; output.csv (a second name of the newest output) counts once and is removed
 * only by age; the output just written always stays; stale temporary files go. Checked on files with
 * chosen sizes and times, and through the server: uploads past the budget leave the folder within it.
 */
import { existsSync, linkSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pruneOutputs } from "../../src/serve/retention.ts";
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
function folder(files: Record<string, [number, number]>): string {
  const dir = join(tmp.dir, `out-${n++}`);
  mkdirSync(dir);
  for (const [name, [bytes, age]] of Object.entries(files)) {
    const p = join(dir, name);
    writeFileSync(p, Buffer.alloc(bytes, 65));
    const t = (NOW - age) / 1000;
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
