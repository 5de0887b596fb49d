/**
 * Progress of a long step (ingest, validation, frame loading, the training search): how many units
 * (rows, fits) are done, the rate over a sliding window and, when the total is known, an ETA. Lines go
 * to a sink (the CLI's stderr status line, a pipeline progress event) at most once per interval, so a
 * step calling `update` per batch costs nothing to report. The clock is injected for tests.
 */

/** A clock in milliseconds (performance.now by default). */
export type Clock = () => number;

export interface ProgressOptions {
  /** What is counted, plural ("rows", "fits"). */
  unit: string;
  /** Units to do, when known (enables percent and ETA). */
  total?: number;
  /** Where each line goes. */
  sink: (line: string) => void;
  /** The line's prefix (a file, a step). */
  label?: string;
  now?: Clock;
  /** The rate is measured over the samples of the last `windowMs` (default 10 s). */
  windowMs?: number;
  /** At most one line per `intervalMs` (default 1 s); the first update and `finish` always write. */
  intervalMs?: number;
}

/**
 * Units per second over the last `windowMs`: the slope between the oldest and newest sample in it.
 * Samples spanning less than `minSpanMs` give no rate (one batch done in microseconds is not a rate).
 */
export class RateWindow {
  private readonly samples: { t: number; done: number }[] = [];
  private readonly windowMs: number;
  private readonly minSpanMs: number;

  constructor(windowMs = 10_000, minSpanMs = 500) {
    this.windowMs = windowMs;
    this.minSpanMs = minSpanMs;
  }

  add(t: number, done: number): void {
    this.samples.push({ t, done });
    // keep one sample at or before the window's start, so the slope always spans the whole window
    while (this.samples.length > 2 && this.samples[1]!.t <= t - this.windowMs) this.samples.shift();
  }

  /** Units per second, or null before the samples span minSpanMs. */
  rate(): number | null {
    if (this.samples.length < 2) return null;
    const a = this.samples[0]!;
    const b = this.samples.at(-1)!;
    const dt = b.t - a.t;
    return dt >= this.minSpanMs && dt > 0 ? ((b.done - a.done) * 1000) / dt : null;
  }
}

/** Seconds until `total` at `rate` units per second (null when the rate is unknown or zero). */
export function etaSeconds(done: number, total: number, rate: number | null): number | null {
  if (rate === null || rate <= 0) return null;
  return Math.max(0, total - done) / rate;
}

/** "45 s", "3 min 05 s", "2 h 07 min". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

const count = (n: number): string => Math.round(n).toLocaleString("en-US");

/** A rate for display: whole units per second, or one decimal below 10. */
function formatRate(rate: number): string {
  return rate >= 10 ? count(rate) : rate.toFixed(1);
}

export class Progress {
  private readonly o: Required<Omit<ProgressOptions, "total" | "label">> & { label: string };
  private total: number | undefined;
  private readonly window: RateWindow;
  private readonly started: number;
  private lastWrite = Number.NEGATIVE_INFINITY;
  private done = 0;

  constructor(opts: ProgressOptions) {
    this.o = {
      unit: opts.unit,
      sink: opts.sink,
      label: opts.label ?? "",
      now: opts.now ?? (() => performance.now()),
      windowMs: opts.windowMs ?? 10_000,
      intervalMs: opts.intervalMs ?? 1000,
    };
    this.total = opts.total;
    this.window = new RateWindow(this.o.windowMs);
    this.started = this.o.now();
    this.window.add(this.started, 0);
  }

  /** `done` units are done so far (a running total); `total` updates the known total. */
  update(done: number, total?: number): void {
    if (total !== undefined) this.total = total;
    this.done = done;
    const t = this.o.now();
    this.window.add(t, done);
    if (t - this.lastWrite >= this.o.intervalMs) {
      this.lastWrite = t;
      this.o.sink(this.line());
    }
  }

  /** The last line: what was done, in how long, at what average rate. */
  finish(): void {
    const secs = (this.o.now() - this.started) / 1000;
    const avg = secs > 0 ? `, ${formatRate(this.done / secs)} ${this.o.unit}/s` : "";
    this.o.sink(`${this.prefix()}${count(this.done)} ${this.o.unit} in ${formatDuration(secs)}${avg}`);
  }

  rate(): number | null {
    return this.window.rate();
  }

  eta(): number | null {
    return this.total === undefined ? null : etaSeconds(this.done, this.total, this.rate());
  }

  /** "file.csv: 120,000/1,007,784 rows (11.9%), 48,000 rows/s, ETA 18 s". */
  line(): string {
    const r = this.rate();
    const parts = [
      this.total !== undefined && this.total > 0
        ? `${count(this.done)}/${count(this.total)} ${this.o.unit} (${((100 * this.done) / this.total).toFixed(1)}%)`
        : `${count(this.done)} ${this.o.unit}`,
    ];
    if (r !== null) parts.push(`${formatRate(r)} ${this.o.unit}/s`);
    const eta = this.eta();
    if (eta !== null) parts.push(`ETA ${formatDuration(eta)}`);
    return `${this.prefix()}${parts.join(", ")}`;
  }

  private prefix(): string {
    return this.o.label ? `${this.o.label}: ` : "";
  }
}

/**
 * Whether rate/ETA lines are shown: `on` always, `off` never, `auto` (the default) only when stderr
 * is a terminal, so logs and CI output stay free of them unless asked (NETSEC_PROGRESS=on).
 */
export function progressEnabled(setting: "auto" | "on" | "off", stderrIsTty: boolean): boolean {
  return setting === "on" || (setting === "auto" && stderrIsTty);
}
