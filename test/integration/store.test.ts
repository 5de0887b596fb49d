import { describe, expect, it } from "vitest";
import { NetsecError } from "../../src/core/errors.ts";
import { MongoStore, pushToCollection, readCollection } from "../../src/store/mongodb.ts";
import { openStore } from "../../src/store/open.ts";
import { recordStoreContract } from "../store/contract.ts";

const uri = process.env.NETSEC_TEST_MONGODB_URI;
if (!uri)
  throw new Error("NETSEC_TEST_MONGODB_URI is not set: the integration global set-up starts FerretDB");

recordStoreContract("mongodb (FerretDB)", async () => openStore(`${uri}netsec_contract`));

describe("MongoDB specifics against FerretDB", () => {
  it("an unreachable server is STORE_UNAVAILABLE and the password never appears", async () => {
    const s = new MongoStore("mongodb://alice:s3cr3t-pw@127.0.0.1:1/netsec", {
      serverSelectionTimeoutMS: 500,
    });
    try {
      await s.open();
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(NetsecError);
      expect((e as NetsecError).code).toBe("STORE_UNAVAILABLE");
      expect((e as Error).message).toMatch(
        /cannot reach MongoDB at mongodb:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:1/,
      );
      expect(JSON.stringify((e as NetsecError).toJSON())).not.toMatch(/s3cr3t/);
    }
  });

  it("a failed batch is compensated: nothing of it stays", async () => {
    const s = new MongoStore(`${uri}netsec_atomic`);
    await s.open();
    await s.deleteDataset("d");
    const good = { id: "a:1", dataset: "d", source: "a", row: 1, data: { x: 1 } };
    const bad = { id: "a:2", dataset: "d", source: "a", row: 2, data: { $bad: 1 } as Record<string, number> };
    const r = await s.insertBatch([good, bad]).then(
      () => "inserted",
      (e: Error) => e.message,
    );
    // FerretDB (like MongoDB < 5) refuses "$"-prefixed keys; insertMany(ordered: false) stores the good
    // record first, so a count of 0 means the compensation removed it again.
    expect(r).toMatch(/inserting a batch of 2 records .*must not start with '\$'/);
    expect(await s.count({ dataset: "d" })).toBe(0);
    await s.deleteDataset("d");
    await s.close();
  });

  it("push twice adds nothing the second time; readCollection returns every document", async () => {
    const coll = `push_${Date.now().toString(36)}`;
    const rows = async function* () {
      yield Array.from({ length: 1500 }, (_, i) => ({ id: `f00d:${i + 1}`, data: { a: i, b: `v${i % 3}` } }));
      yield Array.from({ length: 700 }, (_, i) => ({ id: `f00d:${i + 1501}`, data: { a: i, b: null } }));
    };
    expect(await pushToCollection(uri, "netsec_push", coll, rows())).toEqual({ added: 2200, total: 2200 });
    expect(await pushToCollection(uri, "netsec_push", coll, rows())).toEqual({ added: 0, total: 2200 });
    let n = 0;
    const ids = new Set<string>();
    for await (const b of readCollection(uri, "netsec_push", coll, 1000)) {
      for (const d of b) {
        ids.add(d.id);
        expect(d.data).not.toHaveProperty("_id");
        n++;
      }
    }
    expect(n).toBe(2200);
    expect(ids.has(`mongo:netsec_push.${coll}:f00d:1`)).toBe(true);
  });

  it("reading a collection that does not exist is a clear error", async () => {
    const it = readCollection(uri, "netsec_push", "no_such_collection_xyz", 10);
    await expect(it.next()).rejects.toThrow(/collection netsec_push\.no_such_collection_xyz does not exist/);
  });
});
