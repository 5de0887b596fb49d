/**
 * Monitoring alerts published to a Kafka topic (NETSEC_ALERT_KAFKA_BROKERS + NETSEC_ALERT_KAFKA_TOPIC):
 * an `AlertChannel` for src/monitor/'s AlertSink, composed here and injected by the CLI (serve, stream,
 * predict), so src/monitor/ never imports the Kafka client. Each alert is one message: the webhook's
 * JSON body (`{"event":"netsec.monitoring.alert","rule",…}`), keyed by the model's name so one
 * model's alerts stay in order on one partition; sent with acks=all. The topic is created (one
 * partition) at the first alert, not at start: a broker that is down costs the alerts (retried, then
 * logged), never the scoring.
 */
import type { Config } from "../config/env.ts";
import { NetsecError } from "../core/errors.ts";
import type { AlertChannel } from "../monitor/alerts.ts";
import { ensureTopic, parseBrokers, StreamProducer } from "./kafka.ts";

export function kafkaAlertChannel(brokers: readonly string[], topic: string, clientId: string): AlertChannel {
  const producer = new StreamProducer(brokers, clientId);
  let ready = false;
  return {
    name: `Kafka topic ${topic}`,
    async send(body, a) {
      if (!ready) {
        await ensureTopic(brokers, topic, 1);
        ready = true;
      }
      await producer.send([{ topic, key: a.model, value: body }]);
    },
    close: () => producer.close(),
  };
}

/** The alert channels the environment configures: the Kafka topic when both variables are set. */
export function alertChannelsFrom(c: Readonly<Config>): AlertChannel[] {
  const brokers = c.NETSEC_ALERT_KAFKA_BROKERS;
  const topic = c.NETSEC_ALERT_KAFKA_TOPIC;
  if (brokers === undefined && topic === undefined) return [];
  if (brokers === undefined || topic === undefined)
    throw new NetsecError(
      "CONFIG_INVALID",
      `NETSEC_ALERT_KAFKA_BROKERS and NETSEC_ALERT_KAFKA_TOPIC go together: ${brokers === undefined ? "NETSEC_ALERT_KAFKA_BROKERS" : "NETSEC_ALERT_KAFKA_TOPIC"} is not set`,
      { variable: brokers === undefined ? "NETSEC_ALERT_KAFKA_BROKERS" : "NETSEC_ALERT_KAFKA_TOPIC" },
    );
  let list: string[];
  try {
    list = parseBrokers(brokers);
  } catch {
    throw new NetsecError(
      "CONFIG_INVALID",
      `NETSEC_ALERT_KAFKA_BROKERS must be HOST:PORT[,HOST:PORT…], got ${JSON.stringify(brokers)}`,
      { variable: "NETSEC_ALERT_KAFKA_BROKERS", value: brokers },
    );
  }
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic))
    throw new NetsecError(
      "CONFIG_INVALID",
      `NETSEC_ALERT_KAFKA_TOPIC must be a Kafka topic name (letters, digits, . _ -; at most 249), got ${JSON.stringify(topic)}`,
      { variable: "NETSEC_ALERT_KAFKA_TOPIC", value: topic },
    );
  return [kafkaAlertChannel(list, topic, `netsec-alerts-${process.pid}`)];
}
