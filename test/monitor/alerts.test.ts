/**
 * Alert delivery to a webhook receiver started here: the body signed with HMAC-SHA256 under the shared
 * secret (checked with node:crypto, as a receiver would), retries after 5xx answers, a timeout per
 * attempt, no retry after a 4xx, and neither the secret nor the URL's path in the log.
 */
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { Logger } from "../../src/core/log.ts";
import { type Alert, AlertSink, brokenRules, DEFAULT_ALERT_RULES } from "../../src/monitor/alerts.ts";
import type { WindowDrift } from "../../src/monitor/window-drift.ts";

const SECRET = "s3cret-webhook-key-42";

interface Received {
  headers: IncomingMessage["headers"];
  body: string;
}

let server: Server | null = null;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  server = null;
});

/** A receiver answering each request with the next status of `answers` (0: never answers). */
async function receiver(answers: number[]): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      const status = answers[got.length - 1] ?? 200;
      if (status === 0) return; // hang: the sender's timeout ends it
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  const port = (server!.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/hooks/netsec?token=abc`, got };
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

const alert: Alert = {
  rule: "threat_rate",
  model: "m",
  version: "m:1",
  window: { start: "2026-01-01T00:00:00.000Z", end: "2026-01-01T01:00:00.000Z", rows: 10 },
  message: "threat rate 90.0% vs 40.0% in training",
  details: { change: 0.5 },
};

describe("webhook delivery", () => {
  it("POSTs the alert as JSON signed with HMAC-SHA256 of the body", async () => {
    const r = await receiver([200]);
    const { logs, log } = capture();
    const sink = new AlertSink(log, { url: r.url, secret: SECRET });
    sink.deliver(alert);
    await sink.idle();
    expect(r.got).toHaveLength(1);
    const { headers, body } = r.got[0]!;
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["x-netsec-signature"]).toBe(
      `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
    );
    expect(JSON.parse(body)).toEqual({ event: "netsec.monitoring.alert", ...alert });
    // the log has the alert, never the secret
    expect(logs.join("")).toContain("monitoring alert: threat rate 90.0%");
    expect(logs.join("")).not.toContain(SECRET);
  });

  it("retries after 5xx answers and timeouts, then stops; the failure is logged without the secret or path", async () => {
    const r = await receiver([503, 0, 500]);
    const { logs, log } = capture();
    const sink = new AlertSink(log, {
      url: r.url,
      secret: SECRET,
      attempts: 3,
      timeoutMs: 200,
      backoffMs: 10,
    });
    sink.deliver(alert);
    await sink.idle();
    expect(r.got).toHaveLength(3);
    // every attempt carries the same signed body
    expect(new Set(r.got.map((g) => g.body)).size).toBe(1);
    const text = logs.join("");
    expect(text).toContain("alert webhook failed: HTTP 500");
    expect(text).toContain(new URL(r.url).origin);
    expect(text).not.toContain("/hooks/netsec");
    expect(text).not.toContain("token=abc");
    expect(text).not.toContain(SECRET);
  });

  it("a success after a retry ends the delivery; a 4xx is not retried", async () => {
    const ok = await receiver([502, 204]);
    const s1 = new AlertSink(capture().log, { url: ok.url, attempts: 4, backoffMs: 10 });
    s1.deliver(alert);
    await s1.idle();
    expect(ok.got).toHaveLength(2);
    expect(ok.got[0]!.headers["x-netsec-signature"]).toBeUndefined(); // no secret: unsigned
    server?.close();
    const no = await receiver([400, 200]);
    const s2 = new AlertSink(capture().log, { url: no.url, attempts: 4, backoffMs: 10 });
    s2.deliver(alert);
    await s2.idle();
    expect(no.got).toHaveLength(1);
  });
});

describe("other channels (the Kafka topic's shape)", () => {
  /** A channel whose attempts answer in turn: "ok", "fail" (throws) or "hang" (never settles). */
  function channel(answers: ("ok" | "fail" | "hang")[]) {
    const bodies: string[] = [];
    let closed = 0;
    const c = {
      name: "test topic",
      send(body: string): Promise<void> {
        bodies.push(body);
        const a = answers[bodies.length - 1] ?? "ok";
        if (a === "hang") return new Promise(() => {});
        return a === "fail" ? Promise.reject(new Error(`refused #${bodies.length}`)) : Promise.resolve();
      },
      async close() {
        closed++;
      },
    };
    return { c, bodies, closed: () => closed };
  }

  it("sends the webhook's body, retried after failures and timeouts until it is taken", async () => {
    const ch = channel(["fail", "hang", "ok"]);
    const { logs, log } = capture();
    const sink = new AlertSink(log, null, [ch.c], { attempts: 4, timeoutMs: 50, backoffMs: 10 });
    sink.deliver(alert);
    await sink.close();
    expect(ch.bodies).toHaveLength(3);
    expect(ch.bodies.map((b) => JSON.parse(b))).toEqual(
      Array(3).fill({ event: "netsec.monitoring.alert", ...alert }),
    );
    expect(logs.join("")).not.toContain("failed");
    expect(ch.closed()).toBe(1); // close waits for the delivery, then releases the channel
  });

  it("gives up after the attempts, says so in the log, and does not hold the webhook back", async () => {
    const r = await receiver([200]);
    const ch = channel(["fail", "fail", "fail", "ok"]);
    const { logs, log } = capture();
    const sink = new AlertSink(log, { url: r.url }, [ch.c], { attempts: 3, backoffMs: 10 });
    sink.deliver(alert);
    await sink.idle();
    expect(ch.bodies).toHaveLength(3);
    expect(r.got).toHaveLength(1);
    expect(logs.join("")).toContain("alert to test topic failed: refused #3");
  });
});

describe("alert rules", () => {
  const drift = (over: Partial<WindowDrift>): WindowDrift =>
    ({
      inputs: {
        dataset: "d",
        share_drifted: 0.25,
        dataset_drift: false,
        threshold: 0.5,
        alpha: 0.05,
        rules: {} as WindowDrift["inputs"]["rules"],
        n_reference: 1,
        n_current: 1,
        drifted_columns: ["b"],
        columns: {
          a: { drift_status: false, method: "ks_statistic", drift_score: 0.05 },
          b: { drift_status: true, method: "jensen_shannon", drift_score: 0.3 },
        } as unknown as WindowDrift["inputs"]["columns"],
      },
      outputs: {} as WindowDrift["outputs"],
      threat_rate: { reference: 0.4, current: 0.45, change: 0.05 },
      unseen_share: 0.01,
      missing_rate: {},
      ...over,
    }) as WindowDrift;

  it("fires each rule at its documented limit", () => {
    expect(brokenRules(drift({}), ["a"], DEFAULT_ALERT_RULES)).toEqual([]);
    expect(brokenRules(drift({}), ["a", "b"], DEFAULT_ALERT_RULES).map((r) => r.rule)).toEqual([
      "important_feature",
    ]);
    // the sixth most important input is not watched
    expect(brokenRules(drift({}), ["x1", "x2", "x3", "x4", "x5", "b"], DEFAULT_ALERT_RULES)).toEqual([]);
    const moved = drift({
      threat_rate: { reference: 0.4, current: 0.5, change: 0.1 },
      unseen_share: 0.05,
    });
    expect(brokenRules(moved, [], DEFAULT_ALERT_RULES).map((r) => r.rule)).toEqual([
      "threat_rate",
      "unseen_categories",
    ]);
    const d = drift({});
    d.inputs.dataset_drift = true;
    expect(brokenRules(d, [], DEFAULT_ALERT_RULES).map((r) => r.rule)).toEqual(["dataset_drift"]);
  });
});
