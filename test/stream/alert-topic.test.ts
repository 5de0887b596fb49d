/**
 * NETSEC_ALERT_KAFKA_BROKERS + NETSEC_ALERT_KAFKA_TOPIC compose the Kafka alert channel: both or
 * neither, each checked with the variable named; delivery to a real broker is in
 * test/integration/stream.test.ts.
 */
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/env.ts";
import { NetsecError } from "../../src/core/errors.ts";
import { alertChannelsFrom } from "../../src/stream/alert-topic.ts";
import { tempDir } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);

function channels(vars: Record<string, string>) {
  return alertChannelsFrom(loadConfig({ NETSEC_HOME: tmp.dir, ...vars }, tmp.dir));
}

function refusal(vars: Record<string, string>): NetsecError {
  try {
    channels(vars);
  } catch (e) {
    if (e instanceof NetsecError) return e;
    throw e;
  }
  throw new Error("accepted");
}

describe("alertChannelsFrom", () => {
  it("none unless configured; one Kafka channel named by its topic when both are set", async () => {
    expect(channels({})).toEqual([]);
    const got = channels({
      NETSEC_ALERT_KAFKA_BROKERS: "127.0.0.1:9092",
      NETSEC_ALERT_KAFKA_TOPIC: "netsec.alerts",
    });
    expect(got.map((c) => c.name)).toEqual(["Kafka topic netsec.alerts"]);
    await got[0]!.close?.();
  });

  it("refuses half a configuration, bad brokers and a bad topic, naming the variable", () => {
    const a = refusal({ NETSEC_ALERT_KAFKA_TOPIC: "alerts" });
    expect(a.code).toBe("CONFIG_INVALID");
    expect(a.message).toContain("NETSEC_ALERT_KAFKA_BROKERS is not set");
    expect(refusal({ NETSEC_ALERT_KAFKA_BROKERS: "h:1" }).message).toContain(
      "NETSEC_ALERT_KAFKA_TOPIC is not set",
    );
    const b = refusal({ NETSEC_ALERT_KAFKA_BROKERS: "localhost", NETSEC_ALERT_KAFKA_TOPIC: "alerts" });
    expect(b.message).toContain('NETSEC_ALERT_KAFKA_BROKERS must be HOST:PORT[,HOST:PORT…], got "localhost"');
    const t = refusal({ NETSEC_ALERT_KAFKA_BROKERS: "h:1", NETSEC_ALERT_KAFKA_TOPIC: "a/b" });
    expect(t.message).toContain("NETSEC_ALERT_KAFKA_TOPIC must be a Kafka topic name");
  });
});
