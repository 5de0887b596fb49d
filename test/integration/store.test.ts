import { MongoClient } from "mongodb";
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

  it("records written by older versions (_id = bare record id) are migrated when opened", async () => {
    const dbName = `netsec_migrate_${Date.now().toString(36)}`;
    const client = new MongoClient(uri);
    await client.connect();
    try {
      // the layout before a record's identity included its dataset
      await client
        .db(dbName)
        .collection<{ _id: string; [k: string]: unknown }>("records")
        .insertMany(
          Array.from({ length: 30 }, (_, i) => ({
            _id: `0123456789abcdef:${i + 1}`,
            dataset: "first",
            source: "0123456789abcdef",
            row: i + 1,
            data: { a: i + 1 },
          })),
        );
      await client.db(dbName).collection<{ _id: string; [k: string]: unknown }>("sources").insertOne({
        _id: "first:0123456789abcdef",
        source: "0123456789abcdef",
        dataset: "first",
        location: "/d/x.csv",
        name: "x.csv",
        rows: 30,
        ingestedAt: "2026-01-01T00:00:00Z",
      });
      const s = new MongoStore(`${uri}${dbName}`);
      await s.open();
      const same = (dataset: string) =>
        Array.from({ length: 30 }, (_, i) => ({
          id: `0123456789abcdef:${i + 1}`,
          dataset,
          source: "0123456789abcdef",
          row: i + 1,
          data: { a: i + 1 },
        }));
      expect(await s.count({ dataset: "first" })).toBe(30);
      expect(await s.insertBatch(same("first"))).toBe(0);
      expect(await s.insertBatch(same("second"))).toBe(30);
      const ids: string[] = [];
      for await (const b of s.scan({ dataset: "first" }, 7)) for (const r of b) ids.push(r.id);
      expect(ids).toEqual(same("first").map((r) => r.id));
      expect((await s.listSources("first"))[0]).toMatchObject({ rows: 30, status: "complete" });
      await s.close();
    } finally {
      await client.db(dbName).dropDatabase();
      await client.close();
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
