/**
 * The scoring thread (`score-thread.ts`) gives the verdicts of scoring inline (`scoreBatch`: netsec
 * predict's numbers), for each batch of several handed over at once; a batch the fast path refuses
 * comes back with the general path's dead letters; a thread that dies rejects its batch. The model
 * is a real bundle on disk (a small random forest trained by `netsec train`), as `netsec stream`
 * loads it.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPredictor } from "../../src/bundle/bundle.ts";
import type { Predictor } from "../../src/bundle/predictor.ts";
import { ModelRegistry } from "../../src/bundle/registry.ts";
import { fastFrame } from "../../src/stream/fast-frame.ts";
import type { InRecord } from "../../src/stream/kafka.ts";
import { decoder } from "../../src/stream/records.ts";
import { type ScoredBatch, scoreBatch, scoreBatchOn } from "../../src/stream/score.ts";
import { ScoringThread } from "../../src/stream/score-thread.ts";
import { trainQuickForest } from "../helpers/cli.ts";
import { tempDir } from "../helpers/env.ts";
import { phishingCsvSlice } from "../serve/fixtures/predictor.ts";

const tmp = tempDir();
let p: Predictor;
let header: string[];
let lines: string[];
let thread: ScoringThread;

beforeAll(() => {
  const home = join(tmp.dir, "home");
  const t = trainQuickForest({ NETSEC_HOME: home, NETSEC_STORE_URI: "" });
  expect(t.code, t.stderr).toBe(0);
  p = loadPredictor(new ModelRegistry(home).versionDir("netsec-phishing", 1), "netsec-phishing:1");
  const all = phishingCsvSlice(1500, 0).trim().split("\n");
  header = all[0]!.replace(/"/g, "").split(",");
  lines = all.slice(1);
  thread = new ScoringThread("json", header);
}, 120_000);

afterAll(async () => {
  await thread?.close();
  tmp.cleanup();
});

const rec = (offset: number, value: string): InRecord => ({
  topic: "flows",
  partition: 0,
  offset: BigInt(offset),
  key: null,
  value,
  timestamp: 0,
  ownership: 1,
});

const asJson = (line: string): string =>
  JSON.stringify(Object.fromEntries(line.split(",").map((v, i) => [header[i]!, v])));

/** What a verdict says, for comparing (its class is not part of it). */
const said = (b: ScoredBatch) => ({
  verdicts: b.verdicts.map((v) => ({
    key: v.key,
    label: v.label,
    labelName: v.labelName,
    threat: v.threat,
    probability: v.probability,
    model: v.model,
  })),
  dead: b.dead.map((x) => ({ key: `${x.record.offset}`, reason: x.reason })),
});

describe("ScoringThread", () => {
  it("scores on the thread as inline, each of several batches handed over at once in its order", async () => {
    expect(thread.usable(p)).toBe(true);
    const batches = [0, 500, 1000].map((from) =>
      lines.slice(from, from + 500).map((l, i) => rec(from + i, asJson(l))),
    );
    const json = decoder("json", header);
    const inline = batches.map((b) => said(scoreBatch(b, json, p, fastFrame("json", header))));
    const threaded = await Promise.all(batches.map((b) => scoreBatchOn(thread, b, json, p)));
    expect(threaded.map(said)).toEqual(inline);
    // (the batches differ: a mix-up of their order would show)
    expect(inline[0]!.verdicts.map((v) => v.probability)).not.toEqual(
      inline[1]!.verdicts.map((v) => v.probability),
    );
    // the rows' frame comes back for monitoring
    expect(threaded[2]!.scored!.frame.nRows).toBe(500);
    expect(threaded[2]!.scored!.frame.columns.map((c) => c.name)).toEqual(p.manifest.input_columns);
  });

  it("a batch with a malformed record: the general path's verdicts and dead letters", async () => {
    const batch = lines.slice(0, 50).map((l, i) => rec(i, asJson(l)));
    batch[7] = rec(7, "{not json");
    batch[20] = rec(20, JSON.stringify({ ...JSON.parse(asJson(lines[20]!)), URL_Length: "huge" }));
    const json = decoder("json", header);
    const threaded = await scoreBatchOn(thread, batch, json, p);
    expect(said(threaded)).toEqual(said(scoreBatch(batch, json, p)));
    expect(threaded.dead.map((x) => Number(x.record.offset))).toEqual([7, 20]);
    expect(threaded.verdicts).toHaveLength(48);
  });

  it("a thread that dies rejects the batch it holds", async () => {
    const doomed = new ScoringThread("json", header);
    try {
      const batch = lines.slice(0, 1500).map((l, i) => rec(i, asJson(l)));
      // warm: the thread is up and has the bundle
      await scoreBatchOn(doomed, batch.slice(0, 10), decoder("json", header), p);
      const scoring = scoreBatchOn(doomed, batch, decoder("json", header), p);
      await doomed.threads[0]!.terminate();
      await expect(scoring).rejects.toThrow();
    } finally {
      await doomed.close().catch(() => {});
    }
  });
});
