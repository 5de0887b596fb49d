/**
 * The drift reports render in a real browser (Debian chromium via playwright-core): NSL-KDD
 * KDDTrain+_20Percent vs KDDTest+ (drift) and two random halves of phishing (none). Each page shows its
 * verdict, one chart per column, and loads nothing from outside. Screenshots in test-results/.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { getDataset } from "../../src/datasets/registry.ts";
import { detectDrift } from "../../src/validate/drift.ts";
import { writeDriftReports } from "../../src/validate/report/index.ts";
import { KDD_DIR, PHISHING_CSV, ROOT, tempDir } from "../helpers/env.ts";

const CHROMIUM = "/usr/bin/chromium";
const tmp = tempDir("netsec-drift-ui-");
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`scripts/setup --test\``);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  tmp.cleanup();
});

async function render(
  dir: string,
  shot: string,
): Promise<{ verdict: string; charts: number; external: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1300, height: 1400 } });
  const external: string[] = [];
  page.on("request", (r) => {
    if (!r.url().startsWith("file://")) external.push(r.url());
  });
  await page.goto(`file://${join(dir, "drift.html")}`);
  const verdict = (await page.locator(".verdict b").textContent()) ?? "";
  const charts = await page.locator(".card svg").count();
  mkdirSync(join(ROOT, "test-results"), { recursive: true });
  await page.screenshot({ path: join(ROOT, "test-results", shot) });
  await page.close();
  return { verdict, charts, external };
}

describe("drift reports in a browser", () => {
  it("NSL-KDD train vs test: dataset drift, 41 charts", async () => {
    const s = getDataset("nsl-kdd", tmp.dir);
    const a = (await loadFrame({ path: `${KDD_DIR}/KDDTrain+_20Percent.txt` }, s)).frame;
    const b = (await loadFrame({ path: `${KDD_DIR}/KDDTest+.txt` }, s)).frame;
    const dir = join(tmp.dir, "kdd");
    // 14 of 41 columns drift by effect size (test/validate/drift.test.ts): a 30% share makes it dataset drift
    await writeDriftReports(detectDrift(a, b, s, { threshold: 0.3 }), dir);
    const r = await render(dir, "drift-nsl-kdd.png");
    expect(r.verdict).toBe("Dataset drift");
    expect(r.charts).toBe(41);
    expect(r.external).toEqual([]);
  });

  it("phishing halves: no dataset drift, 30 charts", async () => {
    const s = getDataset("phishing", tmp.dir);
    const { frame } = await loadFrame({ path: PHISHING_CSV }, s);
    const idx = Uint32Array.from({ length: frame.nRows }, (_, i) => i);
    new Rng(3).shuffle(idx);
    const h = Math.floor(frame.nRows / 2);
    const dir = join(tmp.dir, "phishing");
    await writeDriftReports(detectDrift(frame.take(idx.subarray(0, h)), frame.take(idx.subarray(h)), s), dir);
    const r = await render(dir, "drift-phishing.png");
    expect(r.verdict).toBe("No dataset drift");
    expect(r.charts).toBe(30);
  });
});
