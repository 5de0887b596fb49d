/**
 * The cap on scoring work keeps the server's memory bounded: six parallel 200k-row uploads (14 MB
 * each) to a server in its own process with one scoring slot and one waiting place. Two are scored,
 * the other four are refused at once with 503 and Retry-After (their bodies never read), and the
 * server's RSS (from /proc, the whole process) grows by less than 500 MiB at its peak. Measured on
 * this machine: one such upload in flight costs about 320 MiB; without the cap (eight slots) the
 * same bursts took the peak to about 930 MiB above idle.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CAN_READ_RSS, type ChildServer, startChildServer } from "./child-server.ts";
import { phishingCsvSlice } from "./fixtures/predictor.ts";

/** The stated bound on the peak RSS growth during the bursts, in MiB. */
const MAX_GROWTH_MB = 500;

let s: ChildServer;
beforeAll(async () => {
  if (CAN_READ_RSS) s = await startChildServer({ maxScoring: 1, scoringQueue: 1 });
}, 60_000);
afterAll(async () => s?.stop());

/** 199,000 phishing rows (the file repeated): 14 MB, under the 20 MiB and 200k-row upload limits. */
function bigUpload(): string {
  const rows = phishingCsvSlice(11_055).trim().split("\n");
  const body: string[] = [];
  for (let i = 0; body.length < 199_000; i++) body.push(rows[1 + (i % 11_055)]!);
  return `${[rows[0]!, ...body].join("\n")}\n`;
}

describe.skipIf(!CAN_READ_RSS)("memory under parallel large uploads", () => {
  it("six parallel 200k-row uploads, twice: 503s with Retry-After past the queue, RSS growth bounded", async () => {
    const text = bigUpload();
    // warm: every code path of an upload has run once before the idle level is read
    const warm = await fetch(`${s.url}/predict?format=json`, {
      method: "POST",
      headers: { "content-type": "text/csv" },
      body: phishingCsvSlice(50),
    });
    expect(warm.status).toBe(200);
    await warm.text();
    await s.gc();
    const idle = s.rssMb();
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, s.rssMb());
    }, 20);
    try {
      for (const format of ["json", "html"]) {
        const answers = await Promise.all(
          Array.from({ length: 6 }, async () => {
            const r = await fetch(`${s.url}/predict?format=${format}`, {
              method: "POST",
              headers: { "content-type": "text/csv" },
              body: text,
            });
            const body = await r.text();
            return { status: r.status, retryAfter: r.headers.get("retry-after"), body };
          }),
        );
        const statuses = answers.map((a) => a.status).sort();
        // one scored, one waited and was scored, four refused (which ones depends on arrival order)
        expect(statuses.filter((c) => c === 200).length).toBeGreaterThanOrEqual(2);
        expect(statuses.filter((c) => c === 503).length).toBeGreaterThanOrEqual(1);
        expect(statuses.every((c) => c === 200 || c === 503)).toBe(true);
        for (const a of answers.filter((x) => x.status === 503)) {
          expect(a.retryAfter).toBe("2");
          // a JSON error, or the error page for ?format=html
          if (format === "json") expect(JSON.parse(a.body).error.details.reason).toBe("scoring_busy");
          else expect(a.body).toContain("retry in 2 s");
        }
      }
    } finally {
      clearInterval(sampler);
    }
    expect(peak - idle).toBeLessThan(MAX_GROWTH_MB);
    // and it serves again afterwards
    const after = await fetch(`${s.url}/predict/records`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([{}]),
    });
    expect(after.status).toBe(422);
  }, 300_000);
});
