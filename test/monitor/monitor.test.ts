/**
 * Windows of scored traffic on a real bundle (a phishing random forest trained by the CLI): closing
 * by rows and by time, a new version opening its own window, history kept across a restart, bounded
 * retention, alerts with their cooldown, a bundle without a monitoring reference, and `netsec predict`
 * + `netsec monitor` sharing the windows.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BundlePredictor } from "../../src/bundle/bundle.ts";
import { ModelRegistry } from "../../src/bundle/registry.ts";
import { homeLayout } from "../../src/config/home.ts";
import type { Frame } from "../../src/core/frame.ts";
import type { Logger } from "../../src/core/log.ts";
import { Rng } from "../../src/core/rng.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { type Alert, AlertSink } from "../../src/monitor/alerts.ts";
import { Monitor, NO_REFERENCE_MESSAGE, type ScoringModel } from "../../src/monitor/monitor.ts";
import { MONITOR_REFERENCE_FILE, readMonitorReference } from "../../src/monitor/reference.ts";
import { countBatch } from "../../src/monitor/window-counter.ts";
import { runCli } from "../helpers/cli.ts";
import { PHISHING_CSV, tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-monitor-");
afterAll(tmp.cleanup);
const home = join(tmp.dir, "home");
const env = { NETSEC_HOME: home, NETSEC_STORE_URI: "", MONGODB_URI: "" };

let bundle: string;
let bp: BundlePredictor;
let frame: Frame;
let shuffled: Frame;

beforeAll(async () => {
  const r = runCli(
    ["train", "--dataset", "phishing", "--models", "random_forest", "--params", '{"n_estimators":10}'],
    env,
  );
  expect(r.code, r.stderr).toBe(0);
  bundle = new ModelRegistry(home).resolve("champion").dir;
  bp = new BundlePredictor(bundle);
  frame = (await loadFrame({ path: PHISHING_CSV }, bp.schema)).frame;
  const order = Uint32Array.from({ length: frame.nRows }, (_, i) => i);
  new Rng(3).shuffle(order);
  shuffled = frame.take(order);
}, 120_000);

const model = (over: Partial<ScoringModel> = {}): ScoringModel => ({
  name: "phish",
  version: "phish:1",
  runId: bp.manifest.run_id,
  dir: bundle,
  ...over,
});

/**
 * The counts of rows [from, from + n) of the phishing data in a seeded random order (so any run of
 * rows is a sample of the training distribution; the file itself is ordered), scored by the bundle.
 */
function batch(from: number, n: number, f: Frame = shuffled) {
  const part = f.take(Int32Array.from({ length: n }, (_, i) => from + i));
  return countBatch(readMonitorReference(bundle)!, { frame: part, ...bp.predict(part) });
}

/** The closed windows' file of a home's "phish" model, parsed line by line. */
function windowLines(h: string): unknown[] {
  return readFileSync(homeLayout(h).monitorModel("phish").windows, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      // each line: the summary with its window's number, n
      const { n: _n, ...summary } = JSON.parse(l);
      return summary;
    });
}

function capture(): { logs: string[]; log: Logger } {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _e, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  return { logs, log: pino({ level: "info" }, sink) };
}

class Recorder extends AlertSink {
  readonly alerts: Alert[] = [];
  override deliver(a: Alert): void {
    this.alerts.push(a);
  }
}

describe("monitoring windows", () => {
  it("the bundle carries a monitoring reference of its training rows and outputs", () => {
    const ref = readMonitorReference(bundle)!;
    expect(Object.keys(ref.inputs).sort()).toEqual([...bp.manifest.input_columns].sort());
    expect(ref.rows).toBe(bp.manifest.data.train_rows);
    for (const c of Object.values(ref.inputs)) expect(c.counts.reduce((a, b) => a + b, 0)).toBe(c.n);
    // out-of-fold predictions of every training row, threat rate on the model's threshold
    expect(ref.outputs.probability.reduce((a, b) => a + b, 0)).toBe(bp.manifest.data.train_rows);
    expect(ref.outputs.threshold).toBe(bp.manifest.threshold);
    expect(ref.important_features.length).toBeGreaterThan(0);
  });

  it("closes at the row count, keeps the open window, and a restart keeps both", () => {
    const h = join(tmp.dir, "h1");
    const { log } = capture();
    const a = new Monitor(h, { windowMinSeconds: 0, windowRows: 3000 }, log, null);
    const t0 = new Date("2026-01-01T00:00:00Z");
    a.record(model(), batch(0, 2000), t0);
    a.record(model(), batch(2000, 2000), new Date(t0.getTime() + 1000)); // 4000 ≥ 3000: closes
    a.record(model(), batch(4000, 500), new Date(t0.getTime() + 2000));
    a.save();
    const v = a.view("phish");
    expect(v.windows).toHaveLength(1);
    expect(v.windows[0]).toMatchObject({ rows: 4000, start: t0.toISOString(), version: "phish:1" });
    expect(v.open).toMatchObject({ rows: 500 });
    // held-in rows of the training distribution: nothing drifts
    expect(v.windows[0]!.drifted).toEqual([]);
    expect(v.latest?.inputs.n_current).toBe(4000);
    // a new process on the same home: the same history and open window
    const b = new Monitor(h, { windowMinSeconds: 0, windowRows: 3000 }, log, null);
    expect(b.view("phish")).toEqual(v);
    b.record(model(), batch(4500, 2500), new Date(t0.getTime() + 3000));
    expect(b.view("phish").windows.map((w) => w.rows)).toEqual([4000, 3000]);
  });

  it("batches counted straight into the open window (recordScored) close, save and restart as added counts do", () => {
    const { log } = capture();
    const direct = new Monitor(
      join(tmp.dir, "h-direct"),
      { windowMinSeconds: 0, windowRows: 3000 },
      log,
      null,
    );
    const added = new Monitor(join(tmp.dir, "h-added"), { windowMinSeconds: 0, windowRows: 3000 }, log, null);
    const ref = readMonitorReference(bundle)!;
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    const score = (from: number, m: Monitor, d: Monitor) => {
      const part = shuffled.take(Int32Array.from({ length: 100 }, (_, i) => from + i));
      const b = { frame: part, ...bp.predict(part) };
      m.recordScored(model(), b, new Date(t0 + from));
      d.record(model(), countBatch(ref, b), new Date(t0 + from));
    };
    for (let from = 0; from < 2500; from += 100) score(from, direct, added);
    direct.save();
    expect(direct.view("phish").open).toMatchObject({ rows: 2500 });
    // a new process on the same home goes on from the saved counts; the 30th batch closes the window
    const again = new Monitor(
      join(tmp.dir, "h-direct"),
      { windowMinSeconds: 0, windowRows: 3000 },
      log,
      null,
    );
    expect(again.view("phish").open).toMatchObject({ rows: 2500 });
    for (let from = 2500; from < 3200; from += 100) score(from, again, added);
    const [v, w] = [again.view("phish"), added.view("phish")];
    expect(v.windows.map((x) => x.rows)).toEqual([3000]);
    expect(v.open).toMatchObject({ rows: 200 });
    expect(v.windows).toEqual(w.windows);
    expect(v.latest?.inputs.columns).toEqual(w.latest?.inputs.columns);
    // saved again (the closed window's summary written from its kept JSON): the same state read back
    again.save();
    score(3200, again, added);
    again.save();
    expect(windowLines(join(tmp.dir, "h-direct"))).toEqual(v.windows);
    expect(
      new Monitor(join(tmp.dir, "h-direct"), { windowMinSeconds: 0, windowRows: 3000 }, log, null).view(
        "phish",
      ),
    ).toEqual(again.view("phish"));
  });

  it("over 1,000,000 scored rows the state stays the size retention allows (flat memory)", () => {
    const h = join(tmp.dir, "h-million");
    const { log } = capture();
    const m = new Monitor(h, { windowMinSeconds: 0, windowRows: 10_000, retention: 5 }, log, null);
    const { state, windows } = homeLayout(h).monitorModel("phish");
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    const sizes: number[] = [];
    const lineCounts: number[] = [];
    // 100 batches of 10,000 rows (each closes a window), a minute apart so every timestamp has the
    // same width; the state's size after the 10th window and after the 100th
    for (let i = 0; i < 100; i++) {
      m.record(model(), batch(i % 2, 10_000), new Date(t0 + i * 60_000));
      m.save();
      lineCounts.push(readFileSync(windows, "utf8").split("\n").length - 1);
      if (i === 9 || i === 99) sizes.push(statSync(state).size);
    }
    const v = m.view("phish");
    expect(v.windows).toHaveLength(5);
    expect(v.windows.reduce((a, w) => a + w.rows, 0)).toBe(50_000);
    expect(v.windows.map((w) => w.start)).toEqual(
      [95, 96, 97, 98, 99].map((i) => new Date(t0 + i * 60_000).toISOString()),
    );
    expect(v.open).toBeNull();
    // what is kept after 1 M rows is what was kept after 100,000: the windows' counts do not grow
    // with the rows scored, only with retention (a few bytes of larger numbers at most)
    expect(Math.abs(sizes[1]! - sizes[0]!) / sizes[0]!).toBeLessThan(0.01);
    // the closed windows' file: appended one line a window, rewritten with the newest 5 past 10
    expect(lineCounts.slice(0, 12)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 5, 6]);
    expect(Math.max(...lineCounts)).toBe(10);
    expect(windowLines(h)).toHaveLength(lineCounts.at(-1)!);
    expect(windowLines(h).slice(-5)).toEqual(v.windows);
  });

  it("the state file holds no closed window: a save writes the open window, never the history again", () => {
    const h = join(tmp.dir, "h-append");
    const m = new Monitor(h, { windowMinSeconds: 0, windowRows: 1000, retention: 720 }, capture().log, null);
    const { state } = homeLayout(h).monitorModel("phish");
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    for (let i = 0; i < 30; i++) m.record(model(), batch(i * 10, 1000), new Date(t0 + i * 1000));
    m.record(model(), batch(0, 10), new Date(t0 + 60_000));
    m.save();
    const saved = JSON.parse(readFileSync(state, "utf8"));
    expect(saved.windows).toBeUndefined();
    expect(saved.open.counts.rows).toBe(10);
    expect(saved.latest.summary.rows).toBe(1000);
    expect(windowLines(h)).toHaveLength(30);
    // the file is appended to: the lines written before are the same bytes after the next save
    const before = readFileSync(homeLayout(h).monitorModel("phish").windows, "utf8");
    m.record(model(), batch(10, 990), new Date(t0 + 61_000));
    m.save();
    const after = readFileSync(homeLayout(h).monitorModel("phish").windows, "utf8");
    expect(after.startsWith(before)).toBe(true);
    expect(windowLines(h)).toHaveLength(31);
  });

  it("a state saved with its windows inside (before windows.jsonl) keeps them, moved to windows.jsonl", () => {
    const h = join(tmp.dir, "h-legacy");
    const m = new Monitor(h, { windowMinSeconds: 0, windowRows: 1000 }, capture().log, null);
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    for (let i = 0; i < 3; i++) m.record(model(), batch(i * 1000, 1000), new Date(t0 + i * 1000));
    m.record(model(), batch(3000, 200), new Date(t0 + 5000));
    m.save();
    const v = m.view("phish");
    const { state, windows } = homeLayout(h).monitorModel("phish");
    // the older layout: the closed windows' summaries in the state, no windows.jsonl
    writeFileSync(state, JSON.stringify({ ...JSON.parse(readFileSync(state, "utf8")), windows: v.windows }));
    rmSync(windows);
    const again = new Monitor(h, { windowMinSeconds: 0, windowRows: 1000 }, capture().log, null);
    expect(again.view("phish")).toEqual(v);
    expect(windowLines(h)).toEqual(v.windows);
    again.save();
    expect(JSON.parse(readFileSync(state, "utf8")).windows).toBeUndefined();
    expect(
      new Monitor(h, { windowMinSeconds: 0, windowRows: 1000 }, capture().log, null).view("phish"),
    ).toEqual(v);
  });

  it("a home moved elsewhere keeps its monitoring: the open window goes on, the latest report renders", () => {
    // a home with its own champion (registry/…/versions/1) and monitoring history
    const first = join(tmp.dir, "h-moved-from");
    cpSync(home, first, { recursive: true });
    const at = (h: string) => model({ dir: new ModelRegistry(h).resolve("champion").dir });
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    const settings = { windowMinSeconds: 0, windowRows: 1000 };
    const m = new Monitor(first, settings, capture().log, null);
    for (let i = 0; i < 3; i++) m.record(at(first), batch(i * 500, 500), new Date(t0 + i * 1000));
    m.save();
    const v = m.view("phish");
    expect(v.windows.map((w) => w.rows)).toEqual([1000]);
    expect(v.open).toMatchObject({ rows: 500 });
    // the state names no absolute path of the home
    expect(readFileSync(homeLayout(first).monitorModel("phish").state, "utf8")).not.toContain(first);
    // moved (a restored backup, a volume mounted at another path): the old path is gone
    const moved = join(tmp.dir, "h-moved-to");
    cpSync(first, moved, { recursive: true });
    rmSync(first, { recursive: true });
    const again = new Monitor(moved, settings, capture().log, null);
    const w = again.view("phish");
    expect(w.windows).toEqual(v.windows);
    expect(w.open).toEqual(v.open);
    expect(w.latest?.inputs.columns).toEqual(v.latest?.inputs.columns);
    // the open window's 500 rows count: 500 more close it at 1,000
    again.record(at(moved), batch(1500, 500), new Date(t0 + 4000));
    expect(again.view("phish").windows.map((x) => x.rows)).toEqual([1000, 1000]);
    expect(again.view("phish").open).toBeNull();
  });

  it("a moved home's state kept with absolute paths (before they were kept relative) is read at its new place", () => {
    const first = join(tmp.dir, "h-abs-from");
    cpSync(home, first, { recursive: true });
    const dirIn = (h: string) => new ModelRegistry(h).resolve("champion").dir;
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    const m = new Monitor(first, { windowMinSeconds: 0, windowRows: 1000 }, capture().log, null);
    m.record(model({ dir: dirIn(first) }), batch(0, 1000), new Date(t0));
    m.record(model({ dir: dirIn(first) }), batch(1000, 300), new Date(t0 + 1000));
    m.save();
    const v = m.view("phish");
    const { state } = homeLayout(first).monitorModel("phish");
    // as an older netsec wrote it: the bundle directories absolute
    const saved = JSON.parse(readFileSync(state, "utf8"));
    writeFileSync(
      state,
      JSON.stringify({
        ...saved,
        open: { ...saved.open, dir: dirIn(first) },
        latest: { ...saved.latest, dir: dirIn(first) },
      }),
    );
    const moved = join(tmp.dir, "h-abs-to");
    cpSync(first, moved, { recursive: true });
    rmSync(first, { recursive: true });
    const again = new Monitor(moved, { windowMinSeconds: 0, windowRows: 1000 }, capture().log, null);
    const w = again.view("phish");
    expect(w.open).toEqual(v.open);
    expect(w.latest?.inputs.columns).toEqual(v.latest?.inputs.columns);
    again.record(model({ dir: dirIn(moved) }), batch(1300, 700), new Date(t0 + 2000));
    expect(again.view("phish").windows.map((x) => x.rows)).toEqual([1000, 1000]);
    // saved again: relative now
    again.save();
    const kept = JSON.parse(readFileSync(homeLayout(moved).monitorModel("phish").state, "utf8"));
    expect(kept.latest.dir).toBe(relative(moved, dirIn(moved)));
    expect(kept.latest.dir.startsWith("registry")).toBe(true);
  });

  it("judges a window from the bundle's bundle.json and reference alone: the model is never loaded again", () => {
    // a bundle whose model file cannot be read: scoring would fail, monitoring needs none of it
    const copy = join(tmp.dir, "bundle-without-model");
    cpSync(bundle, copy, { recursive: true });
    writeFileSync(join(copy, "model.json"), "not the model");
    const h = join(tmp.dir, "h-no-model");
    const m = new Monitor(h, { windowMinSeconds: 0, windowRows: 1000 }, capture().log, null);
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    m.record(model({ dir: copy }), batch(0, 1000), new Date(t0));
    const v = m.view("phish");
    expect(v.windows.map((w) => w.rows)).toEqual([1000]);
    expect(v.latest?.inputs.n_current).toBe(1000);
    // and after a restart, the latest window's reports measured again from its counts
    m.save();
    expect(
      new Monitor(h, { windowMinSeconds: 0, windowRows: 1000 }, capture().log, null).view("phish").latest
        ?.inputs,
    ).toEqual(v.latest?.inputs);
  });

  it("a crash after a window's close was appended but before the state was saved counts nothing twice", () => {
    const h = join(tmp.dir, "h-crash");
    const m = new Monitor(h, { windowMinSeconds: 0, windowRows: 1000 }, capture().log, null);
    const { state } = homeLayout(h).monitorModel("phish");
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    m.record(model(), batch(0, 600), new Date(t0));
    m.save();
    const stale = readFileSync(state);
    m.record(model(), batch(600, 600), new Date(t0 + 1000)); // 1,200 rows: closes
    m.save();
    // the state as it was before the close (its rewrite lost), the closed window appended
    writeFileSync(state, stale);
    const again = new Monitor(h, { windowMinSeconds: 0, windowRows: 1000 }, capture().log, null);
    const v = again.view("phish");
    expect(v.windows.map((w) => w.rows)).toEqual([1200]);
    expect(v.open).toBeNull();
    again.record(model(), batch(0, 100), new Date(t0 + 2000));
    expect(again.view("phish").open).toMatchObject({ rows: 100, start: new Date(t0 + 2000).toISOString() });
  });

  it("a window opened in the millisecond the previous one closed is kept across a restart", () => {
    // a crash between the append and the state's rewrite is told by the windows' numbers, not by times
    const h = join(tmp.dir, "h-same-ms");
    const m = new Monitor(h, { windowMinSeconds: 0, windowRows: 1000 }, capture().log, null);
    const t0 = new Date("2026-01-01T00:00:00Z");
    m.record(model(), batch(0, 1000), t0); // closes at t0
    m.record(model(), batch(1000, 500), t0); // opens at t0
    m.save();
    const again = new Monitor(h, { windowMinSeconds: 0, windowRows: 1000 }, capture().log, null).view(
      "phish",
    );
    expect(again.windows.map((w) => [w.start, w.rows])).toEqual([[t0.toISOString(), 1000]]);
    expect(again.open).toMatchObject({ start: t0.toISOString(), rows: 500 });
  });

  it("a line of windows.jsonl cut short by a crash is skipped; the lines after it stay whole", () => {
    const h = join(tmp.dir, "h-torn");
    const m = new Monitor(h, { windowMinSeconds: 0, windowRows: 1000 }, capture().log, null);
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    m.record(model(), batch(0, 1000), new Date(t0));
    m.save();
    const { windows } = homeLayout(h).monitorModel("phish");
    writeFileSync(windows, `${readFileSync(windows, "utf8")}{"version":"phish:1","sta`);
    const { logs, log } = capture();
    const again = new Monitor(h, { windowMinSeconds: 0, windowRows: 1000 }, log, null);
    again.record(model(), batch(1000, 1000), new Date(t0 + 1000));
    again.save();
    expect(again.view("phish").windows.map((w) => w.start)).toEqual([
      new Date(t0).toISOString(),
      new Date(t0 + 1000).toISOString(),
    ]);
    expect(logs.join("")).toContain("unreadable window lines skipped");
  });

  it("a damaged state file is moved aside and said; monitoring starts anew", () => {
    const h = join(tmp.dir, "h-damaged");
    const file = homeLayout(h).monitorModel("phish").state;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ model: "phish", open: { counts: "not counts" } }));
    const { logs, log } = capture();
    const m = new Monitor(h, {}, log, null);
    expect(m.view("phish")).toMatchObject({ status: "no_data", windows: [], open: null });
    expect(existsSync(`${file}.damaged`)).toBe(true);
    expect(logs.join("")).toContain("monitoring state damaged");
  });

  it("closes by time on the tick, never keeps an empty window, and keeps only `retention` windows", () => {
    const h = join(tmp.dir, "h2");
    const { log } = capture();
    const m = new Monitor(h, { windowRows: 1e9, windowSeconds: 60, retention: 3 }, log, null);
    let t = Date.parse("2026-01-01T00:00:00Z");
    for (let i = 0; i < 5; i++) {
      m.record(model(), batch(i * 100, 100), new Date(t));
      t += 30_000;
      m.tick(new Date(t)); // 30 s: still open
      expect(m.view("phish").open?.rows).toBe(100);
      t += 30_000;
      m.tick(new Date(t)); // 60 s: closed
      expect(m.view("phish").open).toBeNull();
    }
    m.tick(new Date(t + 3_600_000)); // nothing open, nothing scored: no window
    const w = m.view("phish").windows;
    expect(w).toHaveLength(3);
    expect(w.map((x) => x.rows)).toEqual([100, 100, 100]);
    expect(w[0]!.start).toBe(new Date(Date.parse("2026-01-01T00:00:00Z") + 2 * 60_000).toISOString());
    // 100 rows: p-value tests decide (the sample-size rule of `validate`)
    expect(Object.values(w[0]!.features).every((f) => f.method.endsWith("_test"))).toBe(true);
    // since: only windows that ended at or after it
    expect(m.view("phish", new Date(Date.parse(w[2]!.end))).windows).toHaveLength(1);
  });

  it("a window with its rows but young stays open; it closes at its minimum age, by the tick or the next batch", () => {
    const h = join(tmp.dir, "h-min-age");
    const m = new Monitor(
      h,
      { windowRows: 1000, windowMinSeconds: 60, windowSeconds: 3600 },
      capture().log,
      null,
    );
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    const at = (s: number) => new Date(t0 + s * 1000);
    m.record(model(), batch(0, 1000), at(0)); // its rows at once, 0 s old: open
    m.record(model(), batch(1000, 1500), at(30)); // 2,500 rows, 30 s old: open
    m.tick(at(59.999));
    expect(m.view("phish")).toMatchObject({ windows: [], open: { rows: 2500, start: at(0).toISOString() } });
    // no more traffic: the tick closes it once it is 60 s old, with every row it had
    m.tick(at(60));
    let v = m.view("phish");
    expect(v.open).toBeNull();
    expect(v.windows.map((w) => [w.rows, w.start, w.end])).toEqual([
      [2500, at(0).toISOString(), at(60).toISOString()],
    ]);
    // a window that reached its age before its rows closes at the batch that brings the rows
    m.record(model(), batch(2500, 600), at(100));
    m.record(model(), batch(3100, 600), at(170)); // 1,200 rows, 70 s old: closes here
    expect(m.view("phish").windows.map((w) => [w.rows, w.end])).toEqual([
      [2500, at(60).toISOString()],
      [1200, at(170).toISOString()],
    ]);
    // full and young, then a batch after its age (before any tick): the window closes first and the
    // batch opens the next one
    m.record(model(), batch(3700, 1000), at(200));
    m.record(model(), batch(4700, 300), at(265));
    v = m.view("phish");
    expect(v.windows.map((w) => [w.rows, w.end])).toContainEqual([1000, at(265).toISOString()]);
    expect(v.open).toMatchObject({ rows: 300, start: at(265).toISOString() });
    // the state on disk: a restarted process closes the full window at its age, too
    m.record(model(), batch(5000, 800), at(280)); // 1,100 rows, 15 s old
    m.save();
    const again = new Monitor(h, { windowRows: 1000, windowMinSeconds: 60 }, capture().log, null);
    again.tick(at(300));
    expect(again.view("phish").open).toMatchObject({ rows: 1100 });
    again.tick(at(325));
    expect(again.view("phish").open).toBeNull();
    expect(again.view("phish").windows.at(-1)).toMatchObject({ rows: 1100, end: at(325).toISOString() });
  });

  it("the window's age limit still closes a window short of its rows; 0 s of minimum age closes at the rows", () => {
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    const at = (s: number) => new Date(t0 + s * 1000);
    const aged = new Monitor(
      join(tmp.dir, "h-max-age"),
      { windowRows: 5000, windowMinSeconds: 60, windowSeconds: 300 },
      capture().log,
      null,
    );
    aged.record(model(), batch(0, 400), at(0));
    aged.tick(at(299));
    expect(aged.view("phish").open).toMatchObject({ rows: 400 });
    aged.tick(at(300));
    expect(aged.view("phish").windows.map((w) => [w.rows, w.end])).toEqual([[400, at(300).toISOString()]]);
    // a minimum age longer than the age limit: the age limit closes it, full or not
    const longer = new Monitor(
      join(tmp.dir, "h-min-over-max"),
      { windowRows: 100, windowMinSeconds: 600, windowSeconds: 300 },
      capture().log,
      null,
    );
    longer.record(model(), batch(0, 400), at(0));
    longer.tick(at(299));
    expect(longer.view("phish").open).toMatchObject({ rows: 400 });
    longer.record(model(), batch(400, 100), at(300)); // 300 s old before it: closed, then a new one
    expect(longer.view("phish").windows.map((w) => w.rows)).toEqual([400]);
    expect(longer.view("phish").open).toMatchObject({ rows: 100 });
    // 0: today's rule, closed at the batch that brings the rows however young
    const zero = new Monitor(
      join(tmp.dir, "h-min-zero"),
      { windowRows: 1000, windowMinSeconds: 0 },
      capture().log,
      null,
    );
    zero.record(model(), batch(0, 600), at(0));
    zero.record(model(), batch(600, 600), at(0.001));
    expect(zero.view("phish").windows.map((w) => w.rows)).toEqual([1200]);
    expect(zero.view("phish").open).toBeNull();
  });

  it("a new version closes the open window and opens its own", () => {
    const h = join(tmp.dir, "h3");
    const m = new Monitor(h, { windowRows: 1e9 }, capture().log, null);
    m.record(model(), batch(0, 1500));
    m.record(model({ version: "phish:2" }), batch(1500, 1200));
    const v = m.view("phish");
    expect(v.windows.map((w) => [w.version, w.rows])).toEqual([["phish:1", 1500]]);
    expect(v.open).toMatchObject({ version: "phish:2", rows: 1200 });
  });

  it("a bundle without a monitoring reference: 'no reference profile; retrain', nothing counted", () => {
    const old = join(tmp.dir, "old-bundle");
    cpSync(bundle, old, { recursive: true });
    rmSync(join(old, MONITOR_REFERENCE_FILE));
    const m = new Monitor(join(tmp.dir, "h4"), {}, capture().log, null);
    expect(m.reference(old)).toBeNull();
    m.record(model({ dir: old, version: "phish:0" }), null);
    const v = m.view("phish");
    expect(v).toMatchObject({ status: "no_reference", open: null, windows: [] });
    expect(v.message).toBe(`phish:0: ${NO_REFERENCE_MESSAGE}`);
  });

  it("alerts on a window whose rows moved, once per cooldown", () => {
    // only phishing rows predicted as threats: the threat rate jumps and the inputs move with it
    const threats = Int32Array.from([...bp.predict(frame).isThreat].flatMap((t, i) => (t === 1 ? [i] : [])));
    const shifted = frame.take(threats);
    const sink = new Recorder(capture().log, null);
    const m = new Monitor(
      join(tmp.dir, "h5"),
      { windowMinSeconds: 0, windowRows: 2000 },
      capture().log,
      sink,
    );
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    m.record(model(), batch(0, 2000, shifted), new Date(t0));
    const rules = sink.alerts.map((a) => a.rule);
    expect(rules).toContain("threat_rate");
    expect(m.view("phish").windows[0]!.alerts).toEqual(rules);
    const first = sink.alerts.length;
    m.record(model(), batch(2000, 2000, shifted), new Date(t0 + 60_000)); // within the hour: quiet
    expect(sink.alerts).toHaveLength(first);
    expect(m.view("phish").windows[1]!.alerts).toEqual([]);
    m.record(model(), batch(0, 2000, shifted), new Date(t0 + 3_600_000)); // cooldown over
    expect(sink.alerts.length).toBeGreaterThan(first);
  });

  it("netsec predict counts into the model's windows; netsec monitor shows them", () => {
    const r = runCli(
      ["predict", "--model", "champion", "--input", PHISHING_CSV, "--output", join(tmp.dir, "out.csv")],
      { ...env, NETSEC_MONITOR_WINDOW_ROWS: "5000", NETSEC_MONITOR_WINDOW_MIN_SECONDS: "0" },
    );
    expect(r.code, r.stderr).toBe(0);
    const name = new ModelRegistry(home).resolve("champion").name;
    expect(existsSync(homeLayout(home).monitorModel(name).state)).toBe(true);
    const m = runCli(["monitor", "--json"], env);
    expect(m.code, m.stderr).toBe(0);
    const models = (
      m.json as { models: { model: string; windows: { rows: number }[]; open: { rows: number } | null }[] }
    ).models;
    expect(models.map((x) => x.model)).toEqual([name]);
    // 11,055 rows in one batch: one window (it closes at the first batch reaching 5,000 rows)
    expect(models[0]!.windows.map((w) => w.rows)).toEqual([frame.nRows]);
    expect(readdirSync(homeLayout(home).monitoring)).toContain(name);
    // with the default minimum age (60 s) the same 11,055 rows stay in an open window: a run of
    // `netsec predict` is younger than that (the tick of a server or `netsec monitor` closes it later)
    const again = runCli(
      ["predict", "--model", "champion", "--input", PHISHING_CSV, "--output", join(tmp.dir, "out2.csv")],
      { ...env, NETSEC_MONITOR_WINDOW_ROWS: "5000" },
    );
    expect(again.code, again.stderr).toBe(0);
    const shown = (runCli(["monitor", "--json"], env).json as { models: typeof models }).models[0]!;
    expect(shown.windows.map((w) => w.rows)).toEqual([frame.nRows]);
    expect(shown.open?.rows).toBe(frame.nRows);
    const bad = runCli(["monitor", "--since", "yesterday"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--since");
  });
});
