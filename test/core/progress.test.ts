/** Rate, ETA and throttling of progress lines, on a clock the test moves by hand. */
import { describe, expect, it } from "vitest";
import {
  etaSeconds,
  formatDuration,
  Progress,
  progressEnabled,
  RateWindow,
} from "../../src/core/progress.ts";

function clock(start = 0): { now: () => number; at: (ms: number) => void } {
  let t = start;
  return { now: () => t, at: (ms) => (t = ms) };
}

describe("RateWindow", () => {
  it("is the slope over the window: old samples stop counting", () => {
    const w = new RateWindow(10_000);
    expect(w.rate()).toBeNull();
    w.add(0, 0);
    expect(w.rate()).toBeNull();
    w.add(100, 400); // 0.1 s: too short to be a rate
    expect(w.rate()).toBeNull();
    w.add(1000, 500); // 500 units in 1 s
    expect(w.rate()).toBe(500);
    w.add(5000, 1000); // 1000 in 5 s
    expect(w.rate()).toBe(200);
    // the run speeds up: 1000 → 21000 between 5 s and 15 s; the 0 s and 1 s samples leave the window
    w.add(15_000, 21_000);
    // window start 5 s: the slope from (5 s, 1000) to (15 s, 21000) = 2000/s
    expect(w.rate()).toBe(2000);
    w.add(16_000, 23_000);
    // window start 6 s: the newest sample at or before it is still (5 s, 1000): 22000 / 11 s
    expect(w.rate()).toBe(2000);
    w.add(26_000, 23_000); // stalled for 10 s: (16 s, 23000) → (26 s, 23000)
    expect(w.rate()).toBe(0);
  });
});

describe("etaSeconds and formatDuration", () => {
  it("divides what is left by the rate, and says nothing without a rate", () => {
    expect(etaSeconds(250, 1000, 50)).toBe(15);
    expect(etaSeconds(1200, 1000, 50)).toBe(0);
    expect(etaSeconds(0, 1000, null)).toBeNull();
    expect(etaSeconds(0, 1000, 0)).toBeNull();
  });
  it("prints seconds, minutes, hours", () => {
    expect(formatDuration(4.6)).toBe("5 s");
    expect(formatDuration(185)).toBe("3 min 05 s");
    expect(formatDuration(7620)).toBe("2 h 07 min");
  });
});

describe("Progress", () => {
  it("writes rate and ETA at most once a second, and a summary at the end", () => {
    const c = clock(100_000);
    const lines: string[] = [];
    const p = new Progress({
      unit: "rows",
      total: 1_000_000,
      label: "big.txt",
      sink: (l) => lines.push(l),
      now: c.now,
    });
    c.at(100_500);
    p.update(50_000); // first update always writes: 50,000 in 0.5 s = 100,000/s; 950,000 left = 9.5 s
    expect(lines).toEqual(["big.txt: 50,000/1,000,000 rows (5.0%), 100,000 rows/s, ETA 10 s"]);
    c.at(100_900);
    p.update(90_000); // 0.4 s after the last line: throttled
    expect(lines).toHaveLength(1);
    c.at(101_500);
    p.update(150_000); // 150,000 in 1.5 s = 100,000/s; 850,000 left = 8.5 s, rounded to 9 s
    expect(lines.at(-1)).toBe("big.txt: 150,000/1,000,000 rows (15.0%), 100,000 rows/s, ETA 9 s");
    c.at(110_100);
    p.update(1_000_000);
    c.at(110_100);
    p.finish();
    expect(lines.at(-1)).toBe("big.txt: 1,000,000 rows in 10 s, 99,010 rows/s");
  });

  it("without a total: counts and rate, no percent or ETA; a total given later turns them on", () => {
    const c = clock();
    const lines: string[] = [];
    const p = new Progress({ unit: "fits", sink: (l) => lines.push(l), now: c.now });
    c.at(4000);
    p.update(2);
    expect(lines.at(-1)).toBe("2 fits, 0.5 fits/s");
    c.at(8000);
    p.update(4, 10); // 4 fits in 8 s: 0.5/s; 6 left: 12 s
    expect(lines.at(-1)).toBe("4/10 fits (40.0%), 0.5 fits/s, ETA 12 s");
  });

  it("shows no rate before the samples span half a second", () => {
    const c = clock(5);
    const lines: string[] = [];
    const p = new Progress({ unit: "rows", total: 10, sink: (l) => lines.push(l), now: c.now });
    p.update(3);
    c.at(404);
    p.update(4);
    expect(lines).toEqual(["3/10 rows (30.0%)"]);
    c.at(1005);
    p.update(5); // 5 rows in 1 s: 5 rows/s; 5 left: 1 s
    expect(lines).toEqual(["3/10 rows (30.0%)", "5/10 rows (50.0%), 5.0 rows/s, ETA 1 s"]);
  });
});

describe("progressEnabled", () => {
  it("auto follows the terminal; on and off override it", () => {
    expect(progressEnabled("auto", true)).toBe(true);
    expect(progressEnabled("auto", false)).toBe(false);
    expect(progressEnabled("on", false)).toBe(true);
    expect(progressEnabled("off", true)).toBe(false);
  });
});
