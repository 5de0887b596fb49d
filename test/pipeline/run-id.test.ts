import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { newRunId } from "../../src/pipeline/artifacts.ts";
import { RunStore } from "../../src/tracking/run-store.ts";
import { tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-runid-");
afterAll(tmp.cleanup);

describe("run ids", () => {
  it("carry the time to the millisecond, so runs started in the same second list newest first", () => {
    const base = Date.UTC(2026, 11, 5, 10, 0, 37, 0);
    const ids = [0, 1, 9, 10, 99, 100, 998, 999].map((ms) => newRunId(new Date(base + ms)));
    expect(ids[0]).toMatch(/^20261205-100037-000-[a-z0-9]+$/);
    expect(ids[7]).toMatch(/^20261205-100037-999-[a-z0-9]+$/);
    // whatever the random suffixes, string order is time order
    expect([...ids].reverse().sort()).toEqual(ids);
    const store = new RunStore(join(tmp.dir, "home"));
    for (const id of [...ids].reverse()) {
      store.save({
        id,
        status: "FAILED",
        dataset: "phishing",
        started: new Date().toISOString(),
        metrics: {},
      } as never);
    }
    expect(store.list().map((r) => r.id)).toEqual([...ids].reverse());
    rmSync(join(tmp.dir, "home"), { recursive: true, force: true });
  });
});
