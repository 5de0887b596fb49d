/**
 * The scoring gate's slots come back when clients leave: a client that sends a whole upload and
 * closes its connection while the upload is scored (as a load generator does when it stops), and
 * clients that leave while queued for a slot. Before the fix the first kept its slot forever (fastify
 * runs neither onResponse nor onRequestAbort for it) and every later upload waited behind it.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Predictor } from "../../src/bundle/predictor.ts";
import { fitFixturePredictor, phishingCsvSlice } from "./fixtures/predictor.ts";
import { makeApp, type TestApp } from "./helpers.ts";

let p: Predictor;
let t: TestApp;
let port: number;
beforeAll(async () => {
  p = await fitFixturePredictor();
  t = await makeApp(p, { limits: { maxScoring: 1, scoringQueue: 4 } });
  await t.app.listen({ port: 0, host: "127.0.0.1" });
  const address = t.app.server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  port = address.port;
});
afterAll(async () => {
  t?.app.server.closeAllConnections(); // a failed run leaves connections that would hold close()
  await t?.close();
});

/** A raw connection that sends `POST /predict` with `sent` of the body's bytes (all by default). */
function upload(body: string, sent = body.length): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => {
      s.write(
        `POST /predict?format=json HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: text/csv\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, sent)}`,
      );
      resolve(s);
    });
    s.on("error", reject);
    s.on("data", () => {});
  });
}

/** Polls the gate until `want` (up to 10 s: the slot comes back when the scoring in hand ends). */
async function gateReaches(want: { active: number; waiting: number }): Promise<void> {
  for (let i = 0; i < 200 && JSON.stringify(t.app.netsec.scoringGate.counts) !== JSON.stringify(want); i++)
    await new Promise((r) => setTimeout(r, 50));
  expect(t.app.netsec.scoringGate.counts).toEqual(want);
}

async function served(csv: string): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}/predict?format=json`, {
    method: "POST",
    headers: { "content-type": "text/csv" },
    body: csv,
    signal: AbortSignal.timeout(20_000),
  });
  expect(r.status).toBe(200);
  return z.object({ rows: z.number() }).parse(await r.json()).rows;
}

describe("scoring slots when clients leave", () => {
  it("a client that sent its whole upload and left while it was scored gives its slot back", async () => {
    const csv = phishingCsvSlice(5000);
    for (let i = 0; i < 3; i++) {
      const s = await upload(csv);
      // the upload is read and scored; the client leaves before the answer
      for (let j = 0; j < 100 && t.app.netsec.scoringGate.counts.active === 0; j++)
        await new Promise((r) => setTimeout(r, 5));
      s.destroy();
    }
    await gateReaches({ active: 0, waiting: 0 });
    expect(await served(phishingCsvSlice(20))).toBe(20);
  });

  it("clients that leave while queued free their queue places at once", async () => {
    const csv = phishingCsvSlice(20);
    const holder = await upload(csv, 40); // holds the slot while its body trickles
    await gateReaches({ active: 1, waiting: 0 });
    const queued = [await upload(csv), await upload(csv), await upload(csv)];
    await gateReaches({ active: 1, waiting: 3 });
    for (const q of queued) q.destroy();
    await gateReaches({ active: 1, waiting: 0 });
    holder.destroy();
    await gateReaches({ active: 0, waiting: 0 });
    expect(await served(csv)).toBe(20);
  });
});
