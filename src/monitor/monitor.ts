/**
 * Tumbling windows of the traffic each model scores, persisted under NETSEC_HOME/monitoring/<model>/.
 *
 * A window collects the counts of every scored batch (counts.ts) and closes once it has `windowRows`
 * rows (default 10,000) and is at least `windowMinSeconds` old (default 60 s): at the batch that brings
 * it there, or, full but young, when it reaches that age (the next batch or `tick`, whichever first);
 * and once it is `windowSeconds` old (default 1 h) whatever its rows. The minimum age keeps heavy
 * traffic from closing windows many times a second (at 250,000 rows/s 10,000-row windows closed 25 a
 * second: the 720 kept spanned 29 s, and each close cost ≈ 0.45 ms of the event loop); 0 closes at the
 * row count alone. Then its drift against the model's reference is measured (window-drift.ts),
 * the alert rules run (alerts.ts), and a summary is kept: the last `retention` (default 720) closed
 * windows per model, oldest dropped first, plus the full report of the latest one. A window with no
 * rows is never kept. A batch scored by another version of the model (a new champion) closes the open
 * window, judged against its own version's reference, and opens one against the new version's.
 *
 * What changed is saved at every `save` (the server's tick, every 5 s): the windows closed since the
 * last save are appended to the model's windows.jsonl (window-log.ts: bounded, read back when shown),
 * then the small state file — the open window's counts, the latest closed window's, the alert
 * cooldowns, how many windows were closed — is rewritten atomically (temporary file, then rename). A
 * restart keeps the history and the open window's counts up to the last save; the bundle directories
 * the state names are kept relative to the home, so a home moved elsewhere (a restored backup, a
 * volume mounted at another path) keeps its monitoring too. Each closed window is
 * numbered (1, 2, … per model): a crash between the append and the state's rewrite leaves windows in
 * windows.jsonl numbered past the state's count, so the state's open window was closed among them; it
 * is dropped when the state is read, never counted twice.
 *
 * One process owns monitoring/ at a time: the server (`monitoring/server.json` names its pid while it
 * runs). `netsec predict` run beside a live server leaves its counts in the model's inbox/, which the
 * server adds on its next tick; without a server it adds them to the state itself.
 */
import {
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { bundleSchema } from "../bundle/manifest.ts";
import type { Config } from "../config/env.ts";
import { homeLayout } from "../config/home.ts";
import type { Logger } from "../core/log.ts";
import type { DatasetSchema } from "../datasets/schema.ts";
import type { DriftOptions, DriftReport } from "../validate/drift.ts";
import { type AlertChannel, type AlertRules, AlertSink, brokenRules, DEFAULT_ALERT_RULES } from "./alerts.ts";
import { emptyCounts, type ScoredBatch, type WindowCounts, WindowCountsSchema } from "./counts.ts";
import { type MonitorReference, monitorReferenceFor } from "./reference.ts";
import { countBatch, type FlatCounts, WindowCounter } from "./window-counter.ts";
import { type WindowDrift, windowDrift } from "./window-drift.ts";
import {
  type FeatureSummary,
  type NumberedWindow,
  toJson,
  WindowLog,
  type WindowSummary,
  WindowSummarySchema,
  writeAtomic,
} from "./window-log.ts";

export type { FeatureSummary, WindowSummary };

export const NO_REFERENCE_MESSAGE = "no reference profile; retrain";

export interface MonitorSettings {
  windowRows: number;
  /** The least age (s) at which a window with `windowRows` rows closes (0: at the rows alone). */
  windowMinSeconds: number;
  windowSeconds: number;
  retention: number;
  drift: DriftOptions;
  alerts: AlertRules;
}

export const DEFAULT_MONITOR_SETTINGS: Readonly<MonitorSettings> = Object.freeze({
  windowRows: 10_000,
  windowMinSeconds: 60,
  windowSeconds: 3600,
  retention: 720,
  drift: {},
  alerts: DEFAULT_ALERT_RULES,
});

/** The model a batch was scored by. */
export interface ScoringModel {
  /** Registered name (the monitoring folder). */
  name: string;
  /** "name:version" (or the bundle's own name outside the registry). */
  version: string;
  /** The bundle's run id: a directory written again is another model. */
  runId: string;
  /** The bundle directory (its monitor_reference.json and schema). */
  dir: string;
}

/** The state file (ours, but read back from disk: parsed, never trusted as is). */
const ModelStateSchema = z.object({
  model: z.string(),
  /** The open window: its model version, bundle and counts (as of the last save: see `Monitor.live`). */
  open: z
    .object({
      version: z.string(),
      run_id: z.string(),
      /** The bundle directory: relative to the home when inside it (absolute in states kept before). */
      dir: z.string(),
      start: z.string(),
      counts: WindowCountsSchema,
    })
    .nullable(),
  /**
   * Closed windows' summaries as the state kept them before they had a file of their own
   * (windows.jsonl): moved there when such a state is read.
   */
  windows: z.array(WindowSummarySchema).optional(),
  /**
   * How many windows the model closed so far (the last one's number in windows.jsonl); absent in a
   * state from before windows.jsonl.
   */
  closed: z.number().int().min(0).optional(),
  /** The latest closed window's counts and bundle: its full reports are measured again from them. */
  latest: z.object({ summary: WindowSummarySchema, dir: z.string(), counts: WindowCountsSchema }).nullable(),
  /** Rule → when it last fired (ISO), for the cooldown. */
  alerted: z.record(z.string(), z.string()),
  /** The model's current version has no monitoring reference. */
  no_reference: z.string().nullable(),
});
/** The state in memory: its closed windows are in the model's windows.jsonl (and `Monitor.pending`). */
type ModelState = Omit<z.infer<typeof ModelStateSchema>, "windows" | "closed"> & { closed: number };
type OpenWindow = NonNullable<ModelState["open"]>;

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function summarize(
  version: string,
  start: string,
  end: string,
  rows: number,
  d: WindowDrift,
): WindowSummary {
  const features: Record<string, FeatureSummary> = {};
  for (const [name, c] of Object.entries(d.inputs.columns))
    features[name] = {
      method: c.method,
      score: finite(c.drift_score),
      threshold: c.drift_threshold,
      drifted: c.drift_status,
      psi: finite(c.psi),
      missing_rate: d.missing_rate[name] ?? 0,
    };
  const out = (k: string): WindowSummary["outputs"]["probability"] => {
    const c = d.outputs.columns[k]!;
    return { score: finite(c.drift_score), method: c.method, drifted: c.drift_status };
  };
  return {
    version,
    start,
    end,
    rows,
    share_drifted: d.inputs.share_drifted,
    dataset_drift: d.inputs.dataset_drift,
    drifted: d.inputs.drifted_columns,
    features,
    outputs: {
      threat_rate: d.threat_rate.current,
      reference_threat_rate: d.threat_rate.reference,
      threat_rate_change: d.threat_rate.change,
      probability: out("threat_probability"),
      predicted_class: out("predicted_class"),
    },
    unseen_share: d.unseen_share,
    alerts: [],
  };
}

/** A model's monitoring as `GET /monitoring` and `netsec monitor` show it. */
export interface MonitoringView {
  model: string;
  status: "ok" | "no_reference" | "no_data";
  message: string | null;
  settings: { window_rows: number; window_min_seconds: number; window_seconds: number; retention: number };
  open: { version: string; start: string; rows: number } | null;
  windows: WindowSummary[];
  latest: LatestReports | null;
}

export interface LatestReports {
  summary: WindowSummary;
  inputs: DriftReport;
  outputs: DriftReport;
}

export class Monitor {
  private readonly layout: ReturnType<typeof homeLayout>;
  private readonly settings: MonitorSettings;
  private readonly log: Logger;
  private readonly sink: AlertSink | null;
  private readonly states = new Map<string, ModelState>();
  private readonly dirty = new Set<string>();
  private readonly schemas = new Map<string, DatasetSchema>();
  /** Each model's latest window's full reports (measured at its close, or again from its counts). */
  private readonly reports = new Map<string, LatestReports>();
  private readonly onWindow: (model: string, w: WindowSummary) => void;
  /** Each model's closed windows' file (window-log.ts). */
  private readonly logs = new Map<string, WindowLog>();
  /** Each model's windows closed since the last save, oldest first: appended to its file at the next. */
  private readonly pending = new Map<string, NumberedWindow[]>();
  /**
   * Each model's open window as it fills (window-counter.ts): counted into here, copied into the
   * state's `open.counts` when the state is saved, the window closed or shown. Valid while `open` is
   * the state's open window.
   */
  private readonly live = new Map<string, { open: OpenWindow; counter: WindowCounter; startMs: number }>();

  constructor(
    home: string,
    settings: Partial<MonitorSettings>,
    log: Logger,
    sink: AlertSink | null,
    /** Called with each closed window's summary (the server's gauges). */
    onWindow: (model: string, w: WindowSummary) => void = () => {},
  ) {
    this.layout = homeLayout(home);
    this.settings = { ...DEFAULT_MONITOR_SETTINGS, ...settings };
    this.log = log;
    this.sink = sink;
    this.onWindow = onWindow;
  }

  get windowSettings(): Readonly<MonitorSettings> {
    return this.settings;
  }

  /** The monitoring reference of a bundle directory, null for a bundle made before it existed. */
  reference(dir: string): MonitorReference | null {
    return monitorReferenceFor(dir);
  }

  private state(model: string): ModelState {
    let s = this.states.get(model);
    if (s) return s;
    const file = this.layout.monitorModel(model).state;
    s = { model, open: null, closed: 0, latest: null, alerted: {}, no_reference: null };
    const log = this.windowLog(model);
    if (existsSync(file)) {
      try {
        const { windows, closed, ...kept } = ModelStateSchema.parse(JSON.parse(readFileSync(file, "utf8")));
        s = { ...kept, closed: closed ?? windows?.length ?? 0 };
        if (s.open) s.open.dir = this.bundleDir(s.open.dir);
        if (s.latest) s.latest.dir = this.bundleDir(s.latest.dir);
        if (windows !== undefined) {
          // a state from before windows.jsonl: its windows moved there, the state rewritten without them
          if (!existsSync(this.layout.monitorModel(model).windows))
            log.append(windows.map((summary, i) => ({ seq: i + 1, summary })));
          this.dirty.add(model);
        }
      } catch (e) {
        // a damaged state costs the history, never the scoring: moved aside and said
        renameSync(file, `${file}.damaged`);
        this.log.error(
          { file, err: (e as Error).message },
          "monitoring state damaged; moved aside, starting anew",
        );
      }
    }
    const last = log.lastSeq();
    if (last > s.closed) {
      // closed (and appended) after the state was last saved: the state's open window is among them
      s.open = null;
      s.closed = last;
      this.dirty.add(model);
    }
    this.states.set(model, s);
    return s;
  }

  /**
   * A bundle directory as a file under the home kept it (`keptPath`): relative to the home, or
   * absolute — outside the home, or kept before paths were kept relative: then, when it is gone, the
   * same registry/ or artifacts/ path under this home (the home was moved), when there is one.
   */
  private bundleDir(kept: string): string {
    const dir = this.layout.fromKept(kept);
    if (existsSync(dir)) return dir;
    return this.layout.movedHere(dir).find((d) => existsSync(d)) ?? dir;
  }

  /** The state as its file keeps it: bundle directories relative to the home when inside it. */
  private keptState(s: ModelState): ModelState {
    const keep = (dir: string) => this.layout.keptPath(dir);
    return {
      ...s,
      open: s.open && { ...s.open, dir: keep(s.open.dir) },
      latest: s.latest && { ...s.latest, dir: keep(s.latest.dir) },
    };
  }

  private windowLog(model: string): WindowLog {
    let log = this.logs.get(model);
    if (!log) {
      log = new WindowLog(this.layout.monitorModel(model).windows, this.settings.retention, this.log);
      this.logs.set(model, log);
    }
    return log;
  }

  /** The model's closed windows, oldest first: those in its file and those not saved yet. */
  private closedWindows(model: string): WindowSummary[] {
    const all = [...this.windowLog(model).read(), ...(this.pending.get(model) ?? []).map((w) => w.summary)];
    return all.length > this.settings.retention ? all.slice(-this.settings.retention) : all;
  }

  /**
   * Add a scored batch's counts (made by `countBatch`, or as `FlatCounts` on a scoring thread, on
   * this reference's bins) to the model's open window; closes the window when it is due (`due`) or of
   * another version.
   */
  record(m: ScoringModel, counts: WindowCounts | FlatCounts | null, now = new Date()): void {
    if (counts === null) this.noReference(m);
    else if ("values" in counts) this.addToWindow(m, now, (c) => c.addFlat(counts));
    else this.addToWindow(m, now, (c) => c.add(counts));
  }

  /** Count a scored batch straight into the model's open window (work of the batch's cells alone). */
  recordScored(m: ScoringModel, b: ScoredBatch, now = new Date()): void {
    if (!this.reference(m.dir)) this.noReference(m);
    else this.addToWindow(m, now, (c) => c.count(b));
  }

  private noReference(m: ScoringModel): void {
    const s = this.state(m.name);
    if (s.no_reference !== m.version) {
      s.no_reference = m.version;
      this.dirty.add(m.name);
    }
  }

  /** `add` a batch's counts to the model's open window (opened, or closed first, as the window rules say). */
  private addToWindow(m: ScoringModel, now: Date, add: (window: WindowCounter) => void): void {
    const s = this.state(m.name);
    s.no_reference = null;
    if (s.open && (s.open.version !== m.version || s.open.run_id !== m.runId)) this.close(s, now);
    if (this.due(s, now)) this.close(s, now);
    let counter = s.open ? this.counterOf(s) : null;
    // an open window whose bundle cannot be read any more (read back from the state file): closed
    if (s.open && !counter) this.close(s, now);
    if (!s.open) {
      const ref = this.reference(m.dir);
      if (!ref) return;
      s.open = {
        version: m.version,
        run_id: m.runId,
        dir: m.dir,
        start: now.toISOString(),
        counts: emptyCounts(ref),
      };
      counter = new WindowCounter(ref);
      this.live.set(s.model, { open: s.open, counter, startMs: now.getTime() });
    }
    add(counter!);
    this.dirty.add(m.name);
    if (this.due(s, now)) this.close(s, now);
  }

  /** The counter of the state's open window: made from its saved counts after a restart; null when its bundle is gone. */
  private counterOf(s: ModelState): WindowCounter | null {
    const open = s.open;
    if (!open) return null;
    const kept = this.live.get(s.model);
    if (kept && kept.open === open) return kept.counter;
    let ref: MonitorReference | null;
    try {
      ref = this.reference(open.dir);
    } catch {
      return null;
    }
    if (!ref) return null;
    const counter = WindowCounter.of(ref, open.counts);
    this.live.set(s.model, { open, counter, startMs: Date.parse(open.start) });
    return counter;
  }

  /** The open window's counts copied from its counter into the state (before it is saved or closed). */
  private settle(s: ModelState): void {
    const kept = this.live.get(s.model);
    if (s.open && kept && kept.open === s.open) s.open.counts = kept.counter.counts();
  }

  /**
   * Whether the model's open window is to close: `windowSeconds` old, or `windowRows` rows and
   * `windowMinSeconds` old.
   */
  private due(s: ModelState, now: Date): boolean {
    if (!s.open) return false;
    const kept = this.live.get(s.model);
    const live = kept && kept.open === s.open ? kept : null;
    const ageMs = now.getTime() - (live ? live.startMs : Date.parse(s.open.start));
    if (ageMs >= this.settings.windowSeconds * 1000) return true;
    if (ageMs < this.settings.windowMinSeconds * 1000) return false;
    return (live ? live.counter.rows : s.open.counts.rows) >= this.settings.windowRows;
  }

  /**
   * Close the windows that are due (past their time, or full and now old enough: with no more
   * traffic they close here), add inbox counts (when `inbox`), write what changed.
   */
  tick(now = new Date(), inbox = true): void {
    if (inbox) this.absorbInboxes(now);
    for (const s of this.states.values()) if (this.due(s, now)) this.close(s, now);
    this.save();
  }

  /** Write every changed state: the windows closed since the last save appended first, then the state. */
  save(): void {
    for (const model of this.dirty) {
      const s = this.states.get(model);
      if (!s) continue;
      this.settle(s);
      const p = this.layout.monitorModel(model);
      mkdirSync(p.dir, { recursive: true });
      const closed = this.pending.get(model);
      if (closed) {
        this.windowLog(model).append(closed);
        this.pending.delete(model);
      }
      writeAtomic(p.state, toJson(this.keptState(s)));
    }
    this.dirty.clear();
  }

  /** The bundle's dataset schema (from its bundle.json: the model itself, megabytes of trees, is not loaded). */
  private schemaOf(dir: string): DatasetSchema {
    let sc = this.schemas.get(dir);
    if (!sc) {
      sc = bundleSchema(dir);
      this.schemas.set(dir, sc);
    }
    return sc;
  }

  private close(s: ModelState, now: Date): void {
    this.settle(s);
    this.live.delete(s.model);
    const w = s.open;
    s.open = null;
    this.dirty.add(s.model);
    if (!w || w.counts.rows === 0) return;
    let ref: MonitorReference | null;
    let schema: DatasetSchema;
    try {
      ref = this.reference(w.dir);
      schema = this.schemaOf(w.dir);
    } catch (e) {
      this.log.error(
        { model: s.model, err: (e as Error).message },
        "monitoring: the window's bundle is gone; window dropped",
      );
      return;
    }
    if (!ref) return;
    const d = windowDrift(ref, w.counts, schema, this.settings.drift);
    const summary = summarize(w.version, w.start, now.toISOString(), w.counts.rows, d);
    for (const b of brokenRules(d, ref.important_features, this.settings.alerts)) {
      const last = s.alerted[b.rule];
      if (last && now.getTime() - Date.parse(last) < this.settings.alerts.cooldownMs) continue;
      s.alerted[b.rule] = now.toISOString();
      summary.alerts.push(b.rule);
      this.sink?.deliver({
        rule: b.rule,
        model: s.model,
        version: w.version,
        window: { start: summary.start, end: summary.end, rows: summary.rows },
        message: b.message,
        details: b.details,
      });
    }
    s.closed++;
    const closed = this.pending.get(s.model);
    if (closed) closed.push({ seq: s.closed, summary });
    else this.pending.set(s.model, [{ seq: s.closed, summary }]);
    s.latest = { summary, dir: w.dir, counts: w.counts };
    this.reports.set(s.model, { summary, inputs: d.inputs, outputs: d.outputs });
    this.onWindow(s.model, summary);
    this.log.info(
      {
        model: s.model,
        version: w.version,
        rows: summary.rows,
        drifted: summary.drifted.length,
        alerts: summary.alerts,
      },
      "monitoring window closed",
    );
  }

  /** Counts other processes left in the inbox: each file claimed by a rename, added, then removed. */
  private absorbInboxes(now: Date): void {
    if (!existsSync(this.layout.monitoring)) return;
    for (const e of readdirSync(this.layout.monitoring, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      let inbox: string;
      try {
        inbox = this.layout.monitorModel(e.name).inbox;
      } catch {
        continue;
      }
      if (!existsSync(inbox)) continue;
      for (const f of readdirSync(inbox)
        .filter((x) => x.endsWith(".json"))
        .sort()) {
        const claimed = join(inbox, `${f}.${process.pid}.claimed`);
        try {
          renameSync(join(inbox, f), claimed);
        } catch {
          continue; // another process took it
        }
        try {
          const x = InboxSchema.parse(JSON.parse(readFileSync(claimed, "utf8")));
          this.record({ ...x.model, dir: this.bundleDir(x.model.dir) }, x.counts, now);
        } catch (err) {
          this.log.warn(
            { file: f, err: (err as Error).message },
            "monitoring inbox file unreadable; skipped",
          );
        }
        rmSync(claimed, { force: true });
      }
    }
  }

  /** Every monitored model's name (a folder under monitoring/). */
  models(): string[] {
    if (!existsSync(this.layout.monitoring)) return [];
    return readdirSync(this.layout.monitoring, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  }

  view(model: string, since?: Date): MonitoringView {
    const s = this.state(model);
    const all = this.closedWindows(model);
    const windows = since ? all.filter((w) => Date.parse(w.end) >= since.getTime()) : all;
    return {
      model,
      status: s.no_reference ? "no_reference" : all.length || s.open ? "ok" : "no_data",
      message: s.no_reference ? `${s.no_reference}: ${NO_REFERENCE_MESSAGE}` : null,
      settings: {
        window_rows: this.settings.windowRows,
        window_min_seconds: this.settings.windowMinSeconds,
        window_seconds: this.settings.windowSeconds,
        retention: this.settings.retention,
      },
      open: s.open
        ? {
            version: s.open.version,
            start: s.open.start,
            rows: this.counterOf(s)?.rows ?? s.open.counts.rows,
          }
        : null,
      windows,
      latest: this.latestReports(s),
    };
  }

  /** The model's latest closed window's reports (what `view` gives as `latest`, without reading every window). */
  latest(model: string): LatestReports | null {
    return this.latestReports(this.state(model));
  }

  /** The latest window's reports; after a restart measured again from its kept counts (null when its bundle is gone). */
  private latestReports(s: ModelState): LatestReports | null {
    if (!s.latest) return null;
    const kept = this.reports.get(s.model);
    if (kept && kept.summary.end === s.latest.summary.end) return kept;
    try {
      const ref = this.reference(s.latest.dir);
      if (!ref) return null;
      const d = windowDrift(ref, s.latest.counts, this.schemaOf(s.latest.dir), this.settings.drift);
      const r = { summary: s.latest.summary, inputs: d.inputs, outputs: d.outputs };
      this.reports.set(s.model, r);
      return r;
    } catch {
      return null;
    }
  }

  async shutdown(): Promise<void> {
    this.save();
    await this.sink?.close();
  }
}

const InboxSchema = z.object({
  model: z.object({ name: z.string(), version: z.string(), runId: z.string(), dir: z.string() }),
  counts: WindowCountsSchema,
});

/** Leave a batch's counts for the server that owns monitoring/ (netsec predict beside a live server). */
export function writeInbox(home: string, m: ScoringModel, counts: WindowCounts): void {
  const p = homeLayout(home).monitorModel(m.name);
  mkdirSync(p.inbox, { recursive: true });
  const id = `${Date.now().toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const model = { ...m, dir: homeLayout(home).keptPath(m.dir) };
  writeAtomic(join(p.inbox, `${id}.json`), toJson({ model, counts }));
}

/** The pid of a live server owning monitoring/, or null. */
export function monitoringOwner(home: string): number | null {
  const f = homeLayout(home).monitoringOwner;
  try {
    const pid = z.object({ pid: z.number().int() }).parse(JSON.parse(readFileSync(f, "utf8"))).pid;
    if (pid === process.pid) return pid;
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/**
 * Take monitoring/ unless a live process owns it: the owner file is created exclusively (O_EXCL), so of
 * two processes starting together one wins; a file left by a dead process is moved aside first. True
 * when this process owns monitoring/ afterwards. (The server takes it with `claimMonitoring`
 * regardless: a process that loses it sees so in `monitoringOwner` and goes back to the inbox.)
 */
export function acquireMonitoring(home: string): boolean {
  const l = homeLayout(home);
  mkdirSync(l.monitoring, { recursive: true });
  const owner = monitoringOwner(home);
  if (owner !== null) return owner === process.pid;
  if (existsSync(l.monitoringOwner)) {
    // a dead owner's file: moved aside by a rename (of two processes doing this, one moves it)
    const aside = `${l.monitoringOwner}.${process.pid}.stale`;
    try {
      renameSync(l.monitoringOwner, aside);
      if (pidAlive(aside)) {
        // it was already a new live owner's file: put it back (unless yet another was made)
        try {
          linkSync(aside, l.monitoringOwner);
        } catch {}
        rmSync(aside, { force: true });
        return false;
      }
      rmSync(aside, { force: true });
    } catch {
      // another process moved it aside first
    }
  }
  try {
    writeFileSync(l.monitoringOwner, JSON.stringify({ pid: process.pid }), { flag: "wx" });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return false;
  }
}

/** Whether the owner file `file` names a live process. */
function pidAlive(file: string): boolean {
  try {
    const pid = z.object({ pid: z.number().int() }).parse(JSON.parse(readFileSync(file, "utf8"))).pid;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function claimMonitoring(home: string): void {
  const l = homeLayout(home);
  mkdirSync(l.monitoring, { recursive: true });
  writeAtomic(l.monitoringOwner, JSON.stringify({ pid: process.pid }));
}

export function releaseMonitoring(home: string): void {
  const f = homeLayout(home).monitoringOwner;
  if (monitoringOwner(home) === process.pid) rmSync(f, { force: true });
}

/** The monitoring folder name of a served model: its registered name ("name:3" → "name"). */
export function monitoredName(version: string, dataset: string): string {
  const m = /^([A-Za-z0-9_.-]+):\d+$/.exec(version);
  if (m && !/^\.+$/.test(m[1]!)) return m[1]!;
  return dataset;
}

/**
 * `since` of `GET /monitoring` and `netsec monitor --since`: an ISO 8601 date-time, or an age such as
 * `30m`, `24h`, `7d` (windows that ended that long ago or later).
 */
export const SinceSchema = z
  .string()
  .trim()
  .refine(
    (s) => /^[0-9]{1,6}[mhd]$/.test(s) || (/^\d{4}-\d{2}-\d{2}/.test(s) && !Number.isNaN(Date.parse(s))),
    "an ISO 8601 date-time (2026-01-31T12:00:00Z) or an age: a whole number of m, h or d (24h)",
  );

export function sinceDate(s: string, now = new Date()): Date {
  const m = /^([0-9]{1,6})([mhd])$/.exec(s.trim());
  if (!m) return new Date(Date.parse(s));
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "m" | "h" | "d"];
  return new Date(now.getTime() - Number(m[1]) * unit);
}

export const MonitoredNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+$/, "a model name: letters, digits, _ . -")
  .refine((s) => !/^\.+$/.test(s), "a model name, not dots");

/** The window settings of the environment (NETSEC_MONITOR_*; README "Monitoring"). */
export function monitorSettingsFrom(c: Readonly<Config>): Partial<MonitorSettings> {
  return {
    windowRows: c.NETSEC_MONITOR_WINDOW_ROWS,
    windowMinSeconds: c.NETSEC_MONITOR_WINDOW_MIN_SECONDS,
    windowSeconds: c.NETSEC_MONITOR_WINDOW_MINUTES * 60,
    retention: c.NETSEC_MONITOR_RETENTION,
    alerts: { ...DEFAULT_ALERT_RULES, cooldownMs: c.NETSEC_ALERT_COOLDOWN_MINUTES * 60_000 },
  };
}

/**
 * A batch scored outside the server (`netsec predict`) counted into its model's monitoring: left in
 * the inbox when a server owns monitoring/, else added to the state here (alerts delivered before
 * this resolves). Nothing when NETSEC_MONITOR=off.
 */
export async function recordOutsideServer(
  c: Readonly<Config>,
  m: ScoringModel,
  batch: ScoredBatch,
  log: Logger,
  /** Other places alerts go (the CLI's Kafka topic); closed here. */
  channels: readonly AlertChannel[] = [],
): Promise<void> {
  if (c.NETSEC_MONITOR === "off") return;
  const ref = monitorReferenceFor(m.dir);
  const counts = ref ? countBatch(ref, batch) : null;
  if (monitoringOwner(c.home) !== null) {
    if (counts) writeInbox(c.home, m, counts);
    await Promise.allSettled(channels.map((ch) => ch.close?.()));
    return;
  }
  const sink = new AlertSink(
    log,
    c.NETSEC_ALERT_WEBHOOK_URL
      ? { url: c.NETSEC_ALERT_WEBHOOK_URL, secret: c.NETSEC_ALERT_WEBHOOK_SECRET }
      : null,
    channels,
  );
  const mon = new Monitor(c.home, monitorSettingsFrom(c), log, sink);
  mon.record(m, counts);
  await mon.shutdown();
}
