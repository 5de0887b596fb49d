/**
 * The closed windows' file: the newest window's number read from the file's end, whatever the lines'
 * length, a line cut short by a crash skipped.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { toJson, WindowLog } from "../../src/monitor/window-log.ts";
import { tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-window-log-");
afterAll(tmp.cleanup);
const log = pino({ level: "silent" });

/** `count` lines numbered from 1, each padded to about `bytes` bytes. */
function lines(count: number, bytes: number): string {
  let text = "";
  for (let n = 1; n <= count; n++) text += `${JSON.stringify({ n, pad: "é".repeat(bytes / 2) })}\n`;
  return text;
}

describe("WindowLog.lastSeq", () => {
  it("is 0 without a file or without a line", () => {
    expect(new WindowLog(join(tmp.dir, "none.jsonl"), 10, log).lastSeq()).toBe(0);
    const empty = join(tmp.dir, "empty.jsonl");
    writeFileSync(empty, "");
    expect(new WindowLog(empty, 10, log).lastSeq()).toBe(0);
  });

  it("reads the last whole line, short lines or lines longer than the end it reads first", () => {
    for (const [count, bytes] of [
      [3, 100],
      [200, 5000],
      [5, 200_000],
    ] as const) {
      const file = join(tmp.dir, `w-${count}-${bytes}.jsonl`);
      writeFileSync(file, lines(count, bytes));
      expect(new WindowLog(file, 10, log).lastSeq(), `${count} lines of ${bytes} B`).toBe(count);
      // a crash mid-append: the cut line is skipped, the one before it counts
      appendFileSync(file, `{"n":${count + 1},"pad":"${"x".repeat(bytes / 3)}`);
      expect(new WindowLog(file, 10, log).lastSeq(), `${count} lines of ${bytes} B, cut`).toBe(count);
    }
  });
});

describe("toJson", () => {
  it("writes numbers that are not finite as null, anywhere in the value, the rest as JSON.stringify", () => {
    const x = {
      score: Number.NaN,
      psi: Number.POSITIVE_INFINITY,
      min: Number.NEGATIVE_INFINITY,
      zero: -0,
      bins: [1, Number.NaN, 2.5, Number.POSITIVE_INFINITY],
      nested: { a: { b: Number.NaN, c: "NaN" }, d: null, e: [{ f: Number.NEGATIVE_INFINITY }] },
      gone: undefined,
      flag: true,
    };
    expect(toJson(x)).toBe(
      '{"score":null,"psi":null,"min":null,"zero":0,"bins":[1,null,2.5,null],"nested":{"a":{"b":null,"c":"NaN"},"d":null,"e":[{"f":null}]},"flag":true}',
    );
    expect(JSON.parse(toJson(x)).bins).toEqual([1, null, 2.5, null]);
    expect(toJson(Number.NaN)).toBe("null");
  });
});
