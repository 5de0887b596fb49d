/**
 * Damaged captures are never fatal: the public captures with bytes overwritten at random (a seeded
 * generator) or cut at random lengths still read to the end, every packet counted as decoded or as
 * left out for a reason, and records with impossible lengths counted as cut off.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { extractFlows } from "../../src/flows/extract.ts";
import { MIRROR } from "../helpers/env.ts";

const dir = mkdtempSync(join(tmpdir(), "netsec-damaged-"));

/** A small seeded generator (mulberry32): the same damage every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("damaged captures", () => {
  for (const name of ["simple_http.pcap", "200722_tcp_anon.pcapng", "teardrop.pcap", "simple_http_sll2.pcap"])
    it(`${name}: 40 damaged copies read without an error`, async () => {
      const original = readFileSync(join(MIRROR, "pcap", name));
      const next = rng(name.length);
      for (let copy = 0; copy < 40; copy++) {
        const b = Buffer.from(original);
        // keep the file header (a damaged one is "not a capture", tested elsewhere); damage the rest
        const headerBytes = name.endsWith(".pcapng") ? 28 : 24;
        const hits = 1 + Math.floor(next() * 20);
        for (let i = 0; i < hits; i++)
          b[headerBytes + Math.floor(next() * (b.length - headerBytes))] = Math.floor(next() * 256);
        const cut = copy % 2 === 0 ? b.length : headerBytes + Math.floor(next() * (b.length - headerBytes));
        const p = join(dir, `${copy}-${name}`);
        writeFileSync(p, b.subarray(0, cut));
        const s = await extractFlows(p, () => {});
        const left = Object.values(s.skipped).reduce((x, y) => x + y, 0);
        expect(s.packets + left).toBe(s.capture.records);
        expect(s.flows).toBeLessThanOrEqual(s.packets);
      }
    });
});
