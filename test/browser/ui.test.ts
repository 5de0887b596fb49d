/**
 * The web UI in a real browser: the real server (server.ts) on 127.0.0.1:0, Debian's chromium driven
 * by playwright-core. Upload a 200-row phishing CSV, check the results table and threat count against
 * the predictor's own answer, sort a column, open the API docs, and make sure the strict CSP blocks
 * nothing the pages need. Saves test-results/ui.png.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Predictor } from "../../src/bundle/predictor.ts";
import { loadConfig } from "../../src/config/env.ts";
import { silentLogger } from "../../src/core/log.ts";
import { loadFrame } from "../../src/datasets/load.ts";
import { StaticModelSource } from "../../src/serve/model-holder.ts";
import { type RunningServer, startServer } from "../../src/serve/server.ts";
import { ROOT, tempDir } from "../helpers/env.ts";
import { fitFixturePredictor, phishingCsvSlice } from "../serve/fixtures/predictor.ts";

const CHROMIUM = "/usr/bin/chromium";
const tmp = tempDir("netsec-ui-");
let server: RunningServer;
let browser: Browser;
let predictor: Predictor;
let csvPath: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: run \`scripts/setup --test\` (it installs Debian's chromium) and re-run the browser tests`,
    );
  }
  predictor = await fitFixturePredictor();
  const config = loadConfig(
    { NETSEC_HOME: join(tmp.dir, "home"), NETSEC_API_TOKEN: "ui-test-token" },
    tmp.dir,
  );
  server = await startServer(config, {
    host: "127.0.0.1",
    port: 0,
    logger: silentLogger,
    models: new StaticModelSource(predictor),
    modelPollMs: 0,
  });
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
  // rows 1000..1199: a mix of phishing and legitimate sites
  csvPath = join(tmp.dir, "phishing-200.csv");
  writeFileSync(csvPath, phishingCsvSlice(200, 1000));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  tmp.cleanup();
});

describe("web UI", () => {
  it("uploads a CSV and shows the scored rows with threats marked", async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const cspViolations: string[] = [];
    page.on("console", (m) => {
      if (/Content.Security.Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(`${server.url}/`);
    expect(await page.title()).toContain("netsec");
    expect(await page.locator(".champion .tag").textContent()).toBe(predictor.version);

    await page.setInputFiles("#file", csvPath);
    await Promise.all([page.waitForURL(/\/predict/), page.click("button[type=submit]")]);
    await page.waitForSelector("#results tbody tr");

    const { frame } = await loadFrame({ path: csvPath }, predictor.schema, { requireTarget: false });
    const own = predictor.predict(frame);
    const ownThreats = own.isThreat.reduce((a, b) => a + b, 0);
    expect(ownThreats).toBeGreaterThan(0);
    expect(ownThreats).toBeLessThan(200);

    expect(await page.locator("#results tbody tr").count()).toBe(200);
    expect(await page.locator("#results tbody tr.threat").count()).toBe(ownThreats);
    expect(Number((await page.locator("#threat-count").textContent())!.replace(/,/g, ""))).toBe(ownThreats);
    expect(Number((await page.locator("#row-count").textContent())!.replace(/,/g, ""))).toBe(200);

    // sorting by probability (static JS, no inline script): descending puts the surest threat first
    const probHeader = page.locator("#results thead th", { hasText: "Threat probability" });
    await probHeader.click();
    await probHeader.click();
    expect(await probHeader.getAttribute("aria-sort")).toBe("descending");
    const first = Number(
      await page.locator("#results tbody tr:first-child td.prob").getAttribute("data-sort"),
    );
    expect(first).toBeCloseTo(Math.max(...own.probability), 12);

    // back to row order for the screenshot
    await page.locator("#results thead th", { hasText: "#" }).click();
    mkdirSync(resolve(ROOT, "test-results"), { recursive: true });
    await page.screenshot({ path: resolve(ROOT, "test-results/ui.png") });
    await page.goto(`${server.url}/`);
    await page.screenshot({ path: resolve(ROOT, "test-results/ui-home.png") });
    expect(cspViolations).toEqual([]);
    await page.close();
  });

  it("shows a readable error page for a bad file", async () => {
    const page = await browser.newPage();
    const bad = join(tmp.dir, "bad.csv");
    const lines = phishingCsvSlice(5).trim().split("\n");
    lines[3] = `banana${lines[3]!.slice(lines[3]!.indexOf(","))}`;
    writeFileSync(bad, `${lines.join("\n")}\n`);
    await page.goto(`${server.url}/`);
    await page.setInputFiles("#file", bad);
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().includes("/predict")),
      page.click("button[type=submit]"),
    ]);
    expect(resp.status()).toBe(422);
    await page.waitForSelector(".error-card");
    const text = await page.locator(".error-card").textContent();
    expect(text).toContain("row 3, column having_IP_Address");
    expect(text).toContain('"banana"');
    await page.close();
  });

  it("serves Swagger UI with local assets under the CSP", async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    const remote: string[] = [];
    page.on("console", (m) => {
      if (/Content.Security.Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    page.on("request", (r) => {
      if (!r.url().startsWith(server.url) && !r.url().startsWith("data:")) remote.push(r.url());
    });
    await page.goto(`${server.url}/docs`);
    await page.waitForSelector(".swagger-ui .info .title", { timeout: 20_000 });
    expect(await page.locator(".swagger-ui .info .title").textContent()).toContain("netsec");
    await page.waitForSelector(".opblock-summary-path");
    const paths = await page.locator(".opblock-summary-path").allTextContents();
    expect(paths.map((p) => p.replace(/\u200b/g, ""))).toEqual(
      expect.arrayContaining(["/predict", "/predict/records", "/train", "/jobs/{id}"]),
    );
    expect(violations).toEqual([]);
    expect(remote).toEqual([]);
    await page.close();
  });
});
