/**
 * A Kafka client's `error` event never ends the process. The client emits one when it gives up (CI
 * saw "NetworkError: Connection closed" from the consumer's group rejoin while `netsec stream` was
 * stopping): with no listener, Node throws it as an uncaught exception and the member died before
 * committing its batch. The client classes are EventEmitters; onClientError is the listener the
 * adapter puts on each.
 */
import { Consumer, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { onClientError } from "../../src/stream/kafka.ts";

// nothing listens on port 1: the clients are made, never connected
const brokers = ["127.0.0.1:1"];

describe("Kafka client errors", () => {
  it("an unlistened client error throws (Node's rule); with onClientError it reaches the handler", async () => {
    const bare = new Consumer({
      groupId: "g",
      clientId: "c",
      bootstrapBrokers: brokers,
      deserializers: stringDeserializers,
    });
    const consumer = new Consumer({
      groupId: "g",
      clientId: "c",
      bootstrapBrokers: brokers,
      deserializers: stringDeserializers,
    });
    const producer = new Producer({
      clientId: "p",
      bootstrapBrokers: brokers,
      serializers: stringSerializers,
    });
    try {
      expect(() => bare.emit("error", new Error("Connection closed"))).toThrow("Connection closed");
      const seen: string[] = [];
      onClientError(consumer, (e) => seen.push(e.message));
      onClientError(producer, (e) => seen.push(e.message));
      expect(() => consumer.emit("error", new Error("Connection closed"))).not.toThrow();
      expect(() => producer.emit("error", "not an Error")).not.toThrow();
      expect(seen).toEqual(["Connection closed", "not an Error"]);
    } finally {
      await Promise.all([bare.close(true), consumer.close(true), producer.close(true)]);
    }
  });
});
