/**
 * Alerts on a closed window (README "Monitoring" lists the rules):
 * - `dataset_drift`: the share of drifted inputs reaches the drift threshold (0.5 by default);
 * - `important_feature`: one of the model's `IMPORTANT_FEATURES` most important inputs drifted;
 * - `threat_rate`: the threat rate moved by `threatRateChange` (0.10, i.e. 10 percentage points) or
 *   more from the reference's;
 * - `unseen_categories`: `unseenShare` (5%) or more of the categorical cells hold categories the
 *   training rows never had.
 * A rule fires at most once per model per cooldown (1 h by default). Every alert goes to the log; to a
 * webhook when NETSEC_ALERT_WEBHOOK_URL is set: a JSON POST signed with HMAC-SHA256 of the body under
 * NETSEC_ALERT_WEBHOOK_SECRET (header `x-netsec-signature: sha256=<hex>`), retried on failure, each
 * attempt with a timeout; to a Kafka topic when NETSEC_ALERT_KAFKA_BROKERS and NETSEC_ALERT_KAFKA_TOPIC
 * are set (an `AlertChannel` the CLI composes, retried the same way). The secret is never logged, nor
 * the URL's path and query (only its origin).
 */
import { createHmac } from "node:crypto";
import type { Logger } from "../core/log.ts";
import type { WindowDrift } from "./window-drift.ts";

/** How many of the most important inputs the `important_feature` rule watches. */
export const IMPORTANT_FEATURES = 5;

export type AlertRule = "dataset_drift" | "important_feature" | "threat_rate" | "unseen_categories";

export interface AlertRules {
  threatRateChange: number;
  unseenShare: number;
  cooldownMs: number;
}

export const DEFAULT_ALERT_RULES: Readonly<AlertRules> = Object.freeze({
  threatRateChange: 0.1,
  unseenShare: 0.05,
  cooldownMs: 3_600_000,
});

export interface Alert {
  rule: AlertRule;
  model: string;
  version: string;
  window: { start: string; end: string; rows: number };
  message: string;
  details: Record<string, unknown>;
}

/** The rules a window breaks (before cooldown). */
export function brokenRules(
  d: WindowDrift,
  importantFeatures: readonly string[],
  rules: AlertRules,
): { rule: AlertRule; message: string; details: Record<string, unknown> }[] {
  const out: { rule: AlertRule; message: string; details: Record<string, unknown> }[] = [];
  const r = d.inputs;
  const n = Object.keys(r.columns).length;
  if (r.dataset_drift)
    out.push({
      rule: "dataset_drift",
      message: `${r.drifted_columns.length} of ${n} inputs drifted (share ${r.share_drifted.toFixed(2)} ≥ ${r.threshold})`,
      details: { drifted: r.drifted_columns, share_drifted: r.share_drifted, threshold: r.threshold },
    });
  const important = importantFeatures.slice(0, IMPORTANT_FEATURES).filter((f) => r.columns[f]?.drift_status);
  if (important.length > 0)
    out.push({
      rule: "important_feature",
      message: `important input${important.length > 1 ? "s" : ""} drifted: ${important.join(", ")}`,
      details: {
        features: Object.fromEntries(
          important.map((f) => [f, { method: r.columns[f]!.method, score: r.columns[f]!.drift_score }]),
        ),
      },
    });
  const t = d.threat_rate;
  if (Math.abs(t.change) >= rules.threatRateChange)
    out.push({
      rule: "threat_rate",
      message: `threat rate ${(100 * t.current).toFixed(1)}% vs ${(100 * t.reference).toFixed(1)}% in training (change ${(100 * t.change).toFixed(1)} points)`,
      details: { ...t, limit: rules.threatRateChange },
    });
  if (d.unseen_share >= rules.unseenShare)
    out.push({
      rule: "unseen_categories",
      message: `${(100 * d.unseen_share).toFixed(1)}% of categorical values were never seen in training`,
      details: { unseen_share: d.unseen_share, limit: rules.unseenShare },
    });
  return out;
}

export interface WebhookSettings {
  url: string;
  /** HMAC-SHA256 key; unsigned without one. */
  secret?: string | undefined;
  /** Attempts in all (first + retries). Default 4. */
  attempts?: number;
  /** Per attempt, ms. Default 5,000. */
  timeoutMs?: number;
  /** Wait before retry k (k = 1, 2, …) is backoffMs · 2^(k−1). Default 1,000. */
  backoffMs?: number;
}

/** `sha256=<hex>` of HMAC-SHA256(secret, body): what the receiver recomputes to trust a delivery. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * Another place alerts go (a Kafka topic: composed by the CLI, src/monitor/ knows no client). `send`
 * makes one attempt with the alert's JSON body and throws when it fails; the sink retries it as the
 * webhook's (attempts, backoff, per-attempt timeout).
 */
export interface AlertChannel {
  /** Where, as the log names it (no secrets). */
  readonly name: string;
  send(body: string, a: Alert): Promise<void>;
  /** Release the connection (after the last delivery). */
  close?(): Promise<void>;
}

/** Retry settings of every delivery (the webhook's fields). */
type RetrySettings = Pick<WebhookSettings, "attempts" | "timeoutMs" | "backoffMs">;

/** One attempt's outcome: null when delivered, else why not and whether a retry could help. */
type Attempt = { reason: string; final: boolean } | null;

/** Up to `attempts` attempts with doubling waits between them; the last failure's reason, or null. */
async function withRetries(r: RetrySettings, attempt: () => Promise<Attempt>): Promise<string | null> {
  let last = "";
  for (let k = 0; k < (r.attempts ?? 4); k++) {
    if (k > 0) await new Promise((res) => setTimeout(res, (r.backoffMs ?? 1000) * 2 ** (k - 1)));
    const out = await attempt();
    if (out === null) return null;
    last = out.reason;
    if (out.final) break;
  }
  return last;
}

/** Delivers alerts to the log, a webhook and other channels; `idle()` resolves once every delivery has ended. */
export class AlertSink {
  private readonly log: Logger;
  private readonly webhook: WebhookSettings | null;
  private readonly channels: readonly AlertChannel[];
  private readonly retry: RetrySettings;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    log: Logger,
    webhook: WebhookSettings | null,
    channels: readonly AlertChannel[] = [],
    /** Retries of the channels (the webhook's own settings are its). */
    retry: RetrySettings = {},
  ) {
    this.log = log;
    this.webhook = webhook;
    this.channels = channels;
    this.retry = retry;
  }

  deliver(a: Alert): void {
    this.log.warn(
      { alert: a.rule, model: a.model, version: a.version, window: a.window, details: a.details },
      `monitoring alert: ${a.message}`,
    );
    const body = JSON.stringify({ event: "netsec.monitoring.alert", ...a });
    if (this.webhook) this.track(this.post(this.webhook, body, a));
    for (const c of this.channels) this.track(this.toChannel(c, body, a));
  }

  private track(p: Promise<void>): void {
    const q = p.finally(() => this.pending.delete(q));
    this.pending.add(q);
  }

  private async toChannel(c: AlertChannel, body: string, a: Alert): Promise<void> {
    const timeoutMs = this.retry.timeoutMs ?? 5000;
    const failed = await withRetries(this.retry, async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          c.send(body, a),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error("timed out")), timeoutMs);
          }),
        ]);
        return null;
      } catch (e) {
        return { reason: (e as Error).message, final: false };
      } finally {
        clearTimeout(timer);
      }
    });
    if (failed !== null)
      this.log.error(
        { alert: a.rule, model: a.model, channel: c.name },
        `alert to ${c.name} failed: ${failed}`,
      );
  }

  private async post(w: WebhookSettings, body: string, a: Alert): Promise<void> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (w.secret) headers["x-netsec-signature"] = signature(w.secret, body);
    const where = safeOrigin(w.url);
    const failed = await withRetries(w, async () => {
      try {
        const res = await fetch(w.url, {
          method: "POST",
          headers,
          body,
          signal: AbortSignal.timeout(w.timeoutMs ?? 5000),
        });
        await res.body?.cancel();
        if (res.ok) return null;
        // a 4xx other than 408/429 will not change on a retry
        return {
          reason: `HTTP ${res.status}`,
          final: res.status < 500 && res.status !== 408 && res.status !== 429,
        };
      } catch (e) {
        return {
          reason: (e as Error).name === "TimeoutError" ? "timed out" : (e as Error).message,
          final: false,
        };
      }
    });
    if (failed !== null)
      this.log.error({ alert: a.rule, model: a.model, webhook: where }, `alert webhook failed: ${failed}`);
  }

  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Wait for every delivery, then release the channels' connections. */
  async close(): Promise<void> {
    await this.idle();
    await Promise.allSettled(this.channels.map((c) => c.close?.()));
  }
}

/** A URL's origin only (its path or query may hold a token). */
function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}
