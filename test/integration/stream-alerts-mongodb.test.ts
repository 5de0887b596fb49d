/**
 * Stream verdicts in a MongoDB record store (FerretDB): collection `stream_alerts`, `_id`
 * topic/partition/offset, so a redelivered verdict adds nothing, as in the DuckDB store.
 */
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, it } from "vitest";
import { openAlertStore, type StreamAlert } from "../../src/store/alerts.ts";

const uri = process.env.NETSEC_TEST_MONGODB_URI;
if (!uri)
  throw new Error("NETSEC_TEST_MONGODB_URI is not set: the integration global set-up starts FerretDB");
const db = `netsec_alerts_${Date.now().toString(36)}`;
const client = new MongoClient(uri);
afterAll(async () => {
  await client.db(db).dropDatabase();
  await client.close();
});

const alert = (partition: number, offset: number): StreamAlert => ({
  topic: "flows",
  partition,
  offset: BigInt(offset),
  recordKey: null,
  model: "netsec-phishing:2",
  label: "-1",
  labelName: "phishing",
  threat: true,
  probability: 0.75,
  scoredAt: "2026-12-06T10:00:00.000Z",
});

describe("alert store (MongoDB)", () => {
  it("keys verdicts by topic/partition/offset: a redelivery adds nothing", async () => {
    const s = openAlertStore(`${uri}${db}`);
    // (as the stream does before it joins its group: connected before the first write)
    await s.open();
    expect(await s.write([alert(0, 1), alert(0, 2), alert(3, 1)])).toBe(3);
    expect(await s.write([alert(0, 2), alert(3, 1), alert(3, 2)])).toBe(1);
    await s.close();
    const docs = await client.db(db).collection("stream_alerts").find().sort({ _id: 1 }).toArray();
    expect(docs.map((d) => d._id)).toEqual(["flows/0/1", "flows/0/2", "flows/3/1", "flows/3/2"]);
    expect(docs[0]).toMatchObject({
      topic: "flows",
      partition: 0,
      offset: 1,
      model: "netsec-phishing:2",
      label: "-1",
      label_name: "phishing",
      threat: true,
      probability: 0.75,
    });
  });
});
