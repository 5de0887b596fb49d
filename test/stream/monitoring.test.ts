/**
 * What `netsec stream` scores feeds the champion's monitoring windows: records scored by the stream's
 * own function (`scoreBatch`) with a real registry champion (a phishing random forest trained by the
 * CLI) land in windows that `netsec monitor` shows, with the threat rate of the verdicts. Several
 * processes on one NETSEC_HOME: one owns monitoring/ (an exclusive claim, even when started together),
 * the others leave their counts in its inbox, and a consumer takes over from an owner that is gone.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadPredictor } from "../../src/bundle/bundle.ts";
import type { Predictor } from "../../src/bundle/predictor.ts";
import { ModelRegistry } from "../../src/bundle/registry.ts";
import { homeLayout } from "../../src/config/home.ts";
import { silentLogger } from "../../src/core/log.ts";
import { AlertSink } from "../../src/monitor/alerts.ts";
import { MONITOR_REFERENCE_FILE } from "../../src/monitor/reference.ts";
import { ModelHolder, registryModelSource } from "../../src/serve/model-holder.ts";
import type { InRecord } from "../../src/stream/kafka.ts";
import { StreamMonitoring } from "../../src/stream/monitoring.ts";
import { decoder } from "../../src/stream/records.ts";
import { type ScoredBatch, scoreBatch } from "../../src/stream/score.ts";
import { runCli } from "../helpers/cli.ts";
import { PHISHING_CSV, ROOT, tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-stream-monitoring-");
afterAll(tmp.cleanup);
const home = join(tmp.dir, "home");
const env = { NETSEC_HOME: home, NETSEC_STORE_URI: "", MONGODB_URI: "" };

let p: Predictor;
let header: string[];
let lines: string[];

beforeAll(async () => {
  const r = runCli(
    ["train", "--dataset", "phishing", "--models", "random_forest", "--params", '{"n_estimators":10}'],
    env,
  );
  expect(r.code, r.stderr).toBe(0);
  const holder = new ModelHolder(
    registryModelSource(new ModelRegistry(home), loadPredictor, {}),
    silentLogger,
  );
  await holder.refresh(true);
  p = holder.current()!;
  const all = readFileSync(PHISHING_CSV, "utf8").trim().split(/\r?\n/);
  header = all[0]!.replace(/"/g, "").split(",");
  lines = all.slice(1);
}, 120_000);

/** Records `from`..`from + n` of the CSV as the JSON objects `netsec produce` publishes. */
function records(from: number, n: number): InRecord[] {
  return lines.slice(from, from + n).map((l, i) => ({
    topic: "flows",
    partition: 0,
    offset: BigInt(from + i),
    key: null,
    value: JSON.stringify(Object.fromEntries(l.split(",").map((v, j) => [header[j]!, v]))),
    timestamp: 0,
    ownership: 1,
  }));
}

const decode = () => decoder("json", header);
const sink = () => new AlertSink(silentLogger, null);

function count(m: StreamMonitoring, b: ScoredBatch): void {
  m.count(p, b.scored!.frame, b.scored!.prediction, "flows", offsetsOf(b));
}

const offsetsOf = (b: ScoredBatch) => b.verdicts.map((v) => ({ partition: v.partition, offset: v.offset }));

/** `netsec monitor --json` on `h`: the windows as a user sees them. */
function monitorView(h: string, rows: number) {
  const r = runCli(["monitor", "--json"], {
    ...env,
    NETSEC_HOME: h,
    NETSEC_MONITOR_WINDOW_ROWS: String(rows),
    NETSEC_MONITOR_WINDOW_MIN_SECONDS: "0",
  });
  expect(r.code, r.stderr).toBe(0);
  const last = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
    models: {
      model: string;
      open: { rows: number; version: string } | null;
      windows: { rows: number; version: string; outputs: { threat_rate: number } }[];
    }[];
  };
  return last.models;
}

/** A process that stays alive until killed: the stand-in of another live owner. */
function liveProcess(): ChildProcess {
  return spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
}

describe("the stream consumer feeds monitoring", () => {
  it("scored batches fill the champion's windows, which netsec monitor shows", async () => {
    const m = new StreamMonitoring(home, { windowMinSeconds: 0, windowRows: 1000 }, silentLogger, sink(), {
      group: "g",
      tickMs: 60_000,
    });
    const threats: number[] = [];
    for (let from = 0; from < 2500; from += 500) {
      // a malformed record in every batch: dead-lettered, never counted
      const batch = [...records(from, 500), { ...records(0, 1)[0]!, offset: 99_999n, value: "{oops" }];
      const b = scoreBatch(batch, decode(), p);
      expect(b.dead).toHaveLength(1);
      expect(b.verdicts).toHaveLength(500);
      threats.push(b.verdicts.filter((v) => v.threat).length);
      count(m, b);
    }
    await m.stop();
    expect(existsSync(homeLayout(home).monitoringOwner)).toBe(false); // given up at stop
    const [view] = monitorView(home, 1000);
    expect(view!.model).toBe(p.version.split(":")[0]);
    // a window closes at the first batch bringing it to 1,000 rows: 500 + 500
    expect(view!.windows.map((w) => w.rows)).toEqual([1000, 1000]);
    expect(view!.windows.every((w) => w.version === p.version)).toBe(true);
    expect(view!.open?.rows).toBe(500);
    expect(view!.windows[0]!.outputs.threat_rate).toBeCloseTo((threats[0]! + threats[1]!) / 1000, 12);
    expect(view!.windows[1]!.outputs.threat_rate).toBeCloseTo((threats[2]! + threats[3]!) / 1000, 12);
  });

  it("beside a live owner leaves counts in its inbox, and takes over once it is gone", async () => {
    const h = join(tmp.dir, "h2");
    const layout = homeLayout(h);
    const other = liveProcess();
    try {
      const m = new StreamMonitoring(
        h,
        { windowMinSeconds: 0, windowRows: 1_000_000 },
        silentLogger,
        sink(),
        {
          group: "g",
          tickMs: 60_000,
        },
      );
      m.tick(); // no owner yet: this process takes monitoring/
      expect(m.owns).toBe(true);
      // a server starting takes it over (claimMonitoring writes its pid)
      writeFileSync(layout.monitoringOwner, JSON.stringify({ pid: other.pid }));
      count(m, scoreBatch(records(0, 300), decode(), p));
      count(m, scoreBatch(records(300, 200), decode(), p));
      m.tick();
      expect(m.owns).toBe(false);
      const name = p.version.split(":")[0]!;
      // both batches summed into one inbox file; the state untouched
      expect(readdirSync(layout.monitorModel(name).inbox)).toHaveLength(1);
      expect(existsSync(layout.monitorModel(name).state)).toBe(false);
      // the owner dies without giving monitoring/ up: the next tick takes over and adds the inbox
      other.kill("SIGKILL");
      await new Promise((r) => other.once("exit", r));
      count(m, scoreBatch(records(500, 100), decode(), p));
      m.tick();
      expect(m.owns).toBe(true);
      expect(readdirSync(layout.monitorModel(name).inbox)).toHaveLength(0);
      await m.stop();
      const [view] = monitorView(h, 1_000_000);
      expect(view!.open?.rows).toBe(600);
    } finally {
      other.kill("SIGKILL");
    }
  });

  it("two members scoring the same records around a rebalance count each record once", async () => {
    const h = join(tmp.dir, "h5");
    const settings = { windowMinSeconds: 0, windowRows: 800 };
    const a = new StreamMonitoring(h, settings, silentLogger, sink(), { group: "g", tickMs: 60_000 });
    const b = new StreamMonitoring(h, settings, silentLogger, sink(), { group: "g", tickMs: 60_000 });
    // a scored offsets 0–499 and lost the partition; its new owner b reads it from offset 0 again
    count(a, scoreBatch(records(0, 500), decode(), p));
    const again = scoreBatch(records(0, 800), decode(), p);
    count(b, again);
    // b stops first, then a (each keeps the windows in turn: one process, one owner pid)
    await b.stop();
    await a.stop();
    // another group reads the same topic on its own: its records are its own verdicts, counted
    const other = new StreamMonitoring(h, settings, silentLogger, sink(), { group: "other", tickMs: 60_000 });
    count(other, scoreBatch(records(0, 100), decode(), p));
    await other.stop();
    const [view] = monitorView(h, 800);
    // 800 records, once each (b's 300 new rows beside a's 500), and the other group's 100
    expect(view!.windows.map((w) => w.rows)).toEqual([800]);
    expect(view!.open?.rows).toBe(100);
    // the rows counted from b's batch are its new records 500–799 (the threat rate of all 800)
    const threats = again.verdicts.filter((v) => v.threat).length;
    expect(view!.windows[0]!.outputs.threat_rate).toBeCloseTo(threats / 800, 12);
  });

  it("claims the batches kept since the last claim together, every CLAIM_EVERY_MS: each row once", async () => {
    const h = join(tmp.dir, "h6");
    const ledger = homeLayout(h).streamOffsets("g", "flows");
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const m = new StreamMonitoring(
        h,
        { windowMinSeconds: 0, windowRows: 1_000_000 },
        silentLogger,
        sink(),
        {
          group: "g",
          tickMs: 60_000,
        },
      );
      const first = scoreBatch(records(0, 300), decode(), p);
      // records 200–499: 200–299 read again (a rebalance), counted once between the two batches
      const again = scoreBatch(records(200, 300), decode(), p);
      count(m, first);
      count(m, again);
      // kept, not claimed yet: the ledger is not written per batch
      expect(existsSync(ledger)).toBe(false);
      vi.advanceTimersByTime(250);
      expect(JSON.parse(readFileSync(ledger, "utf8")).partitions).toEqual({ "0": [["0", "499"]] });
      // a batch after the claim: claimed at the tick (stop) at the latest
      count(m, scoreBatch(records(500, 100), decode(), p));
      await m.stop();
      expect(JSON.parse(readFileSync(ledger, "utf8")).partitions).toEqual({ "0": [["0", "599"]] });
      const [view] = monitorView(h, 1_000_000);
      expect(view!.open?.rows).toBe(600);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a window with its rows closes once it is the minimum age old, at the consumer's tick", async () => {
    const h = join(tmp.dir, "h-min-age");
    const m = new StreamMonitoring(h, { windowRows: 1000, windowMinSeconds: 60 }, silentLogger, sink(), {
      group: "g",
      tickMs: 60_000,
    });
    const t0 = Date.now();
    count(m, scoreBatch(records(0, 600), decode(), p));
    count(m, scoreBatch(records(600, 600), decode(), p));
    m.tick(new Date(t0)); // 1,200 rows into the window: full, 0 s old
    m.tick(new Date(t0 + 59_000));
    const { state, windows } = homeLayout(h).monitorModel(p.version.split(":")[0]!);
    const saved = () =>
      JSON.parse(readFileSync(state, "utf8")) as { open: { counts: { rows: number } } | null };
    expect(saved().open?.counts.rows).toBe(1200);
    expect(existsSync(windows)).toBe(false);
    m.tick(new Date(t0 + 60_000)); // no more records: closed here
    expect(saved().open).toBeNull();
    await m.stop();
    const [view] = monitorView(h, 1000);
    expect(view!.windows.map((w) => w.rows)).toEqual([1200]);
    expect(view!.open).toBeNull();
  });

  it("a bundle whose reference is damaged costs the batch's counts, never the stream", async () => {
    const h = join(tmp.dir, "h4");
    const dir = join(tmp.dir, "broken-bundle");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, MONITOR_REFERENCE_FILE), "{not json");
    const broken: Predictor = { ...p, dir, version: p.version, manifest: p.manifest, schema: p.schema };
    const errors: string[] = [];
    const log = pino(
      { level: "error" },
      new Writable({
        write(chunk, _e, cb) {
          errors.push(String(chunk));
          cb();
        },
      }),
    );
    const m = new StreamMonitoring(h, {}, log, sink(), { group: "g", tickMs: 60_000 });
    const b = scoreBatch(records(0, 50), decode(), p);
    expect(() => m.count(broken, b.scored!.frame, b.scored!.prediction, "flows", offsetsOf(b))).not.toThrow();
    await m.stop();
    expect(errors.join("")).toContain("monitoring: reference unreadable; batch not counted");
  });

  it("of processes claiming monitoring/ together, exactly one owns it", async () => {
    const h = join(tmp.dir, "h3");
    const script = `
      import { acquireMonitoring } from ${JSON.stringify(join(ROOT, "src/monitor/monitor.ts"))};
      process.stdin.once("data", () => {
        process.stdout.write(String(acquireMonitoring(${JSON.stringify(h)})) + "\\n");
        process.stdin.once("end", () => process.exit(0));
      });`;
    const kids = Array.from({ length: 4 }, () =>
      spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "inherit"] }),
    );
    // each child reports ready by loading; release them together, keep them alive until all answered
    const answers = kids.map(
      (k) =>
        new Promise<string>((resolve) => {
          let out = "";
          k.stdout!.on("data", (d) => {
            out += String(d);
            if (out.endsWith("\n")) resolve(out.trim());
          });
        }),
    );
    for (const k of kids) k.stdin!.write("go\n");
    const got = await Promise.all(answers);
    const owner = JSON.parse(readFileSync(homeLayout(h).monitoringOwner, "utf8")) as { pid: number };
    for (const k of kids) k.stdin!.end();
    await Promise.all(kids.map((k) => new Promise((r) => k.once("exit", r))));
    expect(got.filter((a) => a === "true")).toHaveLength(1);
    expect(got.filter((a) => a === "false")).toHaveLength(3);
    expect(kids[got.indexOf("true")]!.pid).toBe(owner.pid);
  }, 60_000);
});
