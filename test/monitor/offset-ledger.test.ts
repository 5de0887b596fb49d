/**
 * The ledger of stream offsets monitoring counted: each offset is claimed once, by one claim, whether
 * the claims come from one member or from two processes at once (the two members of a group that
 * score the same records around a rebalance); a damaged file and a dead member's lock are survived.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/core/log.ts";
import { MAX_RANGES, OffsetLedger, type RowOffset } from "../../src/monitor/offset-ledger.ts";
import { ROOT, tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-offset-ledger-");
afterAll(tmp.cleanup);

const rows = (partition: number, from: number, to: number): RowOffset[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ partition, offset: BigInt(from + i) }));
const sum = (a: Uint8Array): number => a.reduce((s, x) => s + x, 0);

describe("OffsetLedger", () => {
  it("claims each offset once: a batch read again after a rebalance counts only its new records", () => {
    const l = new OffsetLedger(join(tmp.dir, "a.json"), silentLogger);
    // member A scored partition 3's offsets 100–290; B, the partition's new owner, reads 100–350
    expect(sum(l.claim(rows(3, 100, 290)))).toBe(191);
    const b = l.claim([...rows(3, 100, 350), ...rows(1, 0, 9)]);
    expect(Array.from(b.subarray(0, 191))).toEqual(new Array(191).fill(0));
    expect(Array.from(b.subarray(191))).toEqual(new Array(60 + 10).fill(1));
    // a record twice in one batch (fetched again after a rejoin) is claimed by its first row
    expect(Array.from(l.claim([...rows(1, 10, 11), ...rows(1, 10, 10)]))).toEqual([1, 1, 0]);
    // consecutive claims merge into one range per partition, offsets kept exactly (int64)
    const big = 2n ** 62n;
    l.claim([{ partition: 0, offset: big }]);
    expect(
      Array.from(
        l.claim([
          { partition: 0, offset: big },
          { partition: 0, offset: big + 1n },
        ]),
      ),
    ).toEqual([0, 1]);
    const file = JSON.parse(readFileSync(join(tmp.dir, "a.json"), "utf8"));
    expect(file.partitions).toEqual({
      "0": [[String(big), String(big + 1n)]],
      "1": [["0", "11"]],
      "3": [["100", "350"]],
    });
  });

  it("keeps at most MAX_RANGES ranges per partition, forgetting the lowest", () => {
    const f = join(tmp.dir, "cap.json");
    const l = new OffsetLedger(f, silentLogger);
    // every other offset: no two ranges touch
    l.claim(Array.from({ length: MAX_RANGES + 5 }, (_, i) => ({ partition: 0, offset: BigInt(2 * i) })));
    const ranges = JSON.parse(readFileSync(f, "utf8")).partitions["0"] as [string, string][];
    expect(ranges).toHaveLength(MAX_RANGES);
    expect(ranges[0]).toEqual(["10", "10"]);
    // the forgotten offsets count again, the kept ones do not
    expect(
      Array.from(
        l.claim([
          { partition: 0, offset: 0n },
          { partition: 0, offset: 10n },
        ]),
      ),
    ).toEqual([1, 0]);
  });

  it("a damaged ledger is moved aside and started anew; a dead member's lock is taken over", () => {
    const f = join(tmp.dir, "damaged.json");
    writeFileSync(f, "{not json");
    // a lock left by a process that no longer exists (pid 2^22 + 1 is past Linux's pid_max default)
    writeFileSync(`${f}.lock`, String(2 ** 22 + 1));
    const l = new OffsetLedger(f, silentLogger);
    expect(sum(l.claim(rows(0, 0, 4)))).toBe(5);
    expect(existsSync(`${f}.damaged`)).toBe(true);
    expect(existsSync(`${f}.lock`)).toBe(false);
    expect(sum(l.claim(rows(0, 0, 4)))).toBe(0);
  });

  it("two processes claiming overlapping batches at once: every offset claimed exactly once", async () => {
    const f = join(tmp.dir, "two.json");
    // each writer claims 200 batches of 50 offsets over 4 partitions, in its own order; the two
    // cover the same offsets (both members scored the same records), so every offset is contended
    const script = `
      import { OffsetLedger } from ${JSON.stringify(join(ROOT, "src/monitor/offset-ledger.ts"))};
      const seed = Number(process.argv[1]);
      const l = new OffsetLedger(${JSON.stringify(f)}, { error() {} });
      const claimed = [];
      // loaded: wait for the go, so that both claim at once
      process.stdout.write("ready\\n");
      await new Promise((r) => process.stdin.once("data", r));
      for (let k = 0; k < 200; k++) {
        const b = seed === 0 ? k : 199 - k;
        const rows = Array.from({ length: 50 }, (_, i) => ({ partition: b % 4, offset: BigInt(Math.floor(b / 4) * 50 + i) }));
        const mine = l.claim(rows);
        rows.forEach((r, i) => { if (mine[i]) claimed.push(r.partition + "/" + r.offset); });
      }
      process.stdout.write(JSON.stringify(claimed));
      process.exit(0);`;
    const kids = [0, 1].map((seed) => {
      const k = spawn(process.execPath, ["--input-type=module", "-e", script, String(seed)], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      let out = "";
      const ready = new Promise<void>((resolve, reject) => {
        k.stdout.on("data", (d) => {
          out += String(d);
          if (out.startsWith("ready\n")) resolve();
        });
        k.on("exit", () => reject(new Error("the writer ended before it was ready")));
      });
      const done = new Promise<string[]>((resolve, reject) =>
        k.on("exit", (code) =>
          code === 0 ? resolve(JSON.parse(out.slice("ready\n".length))) : reject(new Error(`exit ${code}`)),
        ),
      );
      return { k, ready, done };
    });
    await Promise.all(kids.map((x) => x.ready));
    for (const x of kids) x.k.stdin.write("go\n");
    const [a, b] = (await Promise.all(kids.map((x) => x.done))) as [string[], string[]];
    const all = [...a, ...b];
    expect(all).toHaveLength(200 * 50);
    expect(new Set(all).size).toBe(200 * 50);
    // both wrote: the claims interleaved rather than one process taking everything
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
  }, 60_000);
});
