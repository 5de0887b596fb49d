import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/open.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { tempDir } from "../helpers/env.ts";
import { recordStoreContract } from "./contract.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);

recordStoreContract("sqlite", async () => openStore(`sqlite:${join(tmp.dir, "store.db")}`));

describe("sqlite specifics", () => {
  it("a batch that fails half-way leaves nothing (one transaction)", async () => {
    const s = new SqliteStore(join(tmp.dir, "atomic.db"));
    await s.open();
    const good = { id: "g:1", dataset: "d", source: "g", row: 1, data: { a: 1 } };
    // a BigInt cannot be stored as JSON: JSON.stringify throws inside the transaction on the 2nd record
    const bad = { id: "g:2", dataset: "d", source: "g", row: 2, data: { a: 10n as unknown as number } };
    await expect(s.insertBatch([good, bad])).rejects.toThrow(/inserting a batch of 2 records/);
    expect(await s.count({ dataset: "d" })).toBe(0);
    await s.close();
  });
});
