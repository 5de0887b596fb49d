import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DuckDbStore } from "../../src/store/duckdb/store.ts";
import { openStore } from "../../src/store/open.ts";
import { tempDir } from "../helpers/env.ts";
import { recordStoreContract } from "./contract.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);

recordStoreContract("duckdb", async () => openStore(`duckdb:${join(tmp.dir, "store.duckdb")}`));
recordStoreContract("duckdb :memory:", async () => openStore(":memory:"));

describe("duckdb specifics", () => {
  it("a batch that fails half-way leaves nothing (one transaction)", async () => {
    const s = new DuckDbStore(join(tmp.dir, "atomic.duckdb"));
    await s.open();
    const good = { id: "g:1", dataset: "d", source: "g", row: 1, data: { a: 1 } };
    // a reserved column name fails inside the transaction, after the first dataset's rows went in
    const bad = { id: "g:2", dataset: "e", source: "g", row: 2, data: { __row: 5 } };
    await expect(s.insertBatch([good, bad])).rejects.toThrow(/reserved by the record store/);
    expect(await s.count({ dataset: "d" })).toBe(0);
    expect(await s.count()).toBe(0);
    await s.close();
  });

  it("keeps the store between opens; typed columns; a string arriving in a number column widens it", async () => {
    const path = join(tmp.dir, "reopen.duckdb");
    const a = new DuckDbStore(path);
    await a.open();
    await a.insertBatch([{ id: "x:1", dataset: "d", source: "x", row: 1, data: { n: 1.5, c: "tcp" } }]);
    expect(await a.columns("d")).toEqual(
      new Map([
        ["n", "DOUBLE"],
        ["c", "VARCHAR"],
      ]),
    );
    await a.close();
    const b = new DuckDbStore(path);
    await b.open();
    expect(await b.insertBatch([{ id: "x:2", dataset: "d", source: "x", row: 2, data: { n: "abc" } }])).toBe(
      1,
    );
    const got: unknown[] = [];
    for await (const batch of b.scan({ dataset: "d" })) for (const r of batch) got.push([r.id, r.data]);
    expect(got).toEqual([
      ["x:1", { n: "1.5", c: "tcp" }],
      ["x:2", { n: "abc", c: null }],
    ]);
    await b.close();
  });

  it("stores a file row's id as (source, row) and gives it back as <source[:16]>:<row>", async () => {
    const s = new DuckDbStore(":memory:");
    await s.open();
    const src = "0123456789abcdef0123";
    expect(
      await s.insertBatch([
        { id: `${src.slice(0, 16)}:1`, dataset: "d", source: src, row: 1, data: { a: 1 } },
        { id: "mongo:db.c:66aa", dataset: "d", source: src, row: 2, data: { a: 2 } },
        // the same id twice in one batch: the first wins
        { id: "mongo:db.c:66aa", dataset: "d", source: src, row: 3, data: { a: 3 } },
      ]),
    ).toBe(2);
    const ids = await s.withTable("d", async (conn, table) =>
      (await conn.runAndReadAll(`SELECT __id FROM ${table} ORDER BY __row`)).getRows().map((r) => r[0]),
    );
    expect(ids).toEqual([null, "mongo:db.c:66aa"]);
    const back: string[] = [];
    for await (const b of s.scan({ dataset: "d" })) for (const r of b) back.push(r.id);
    expect(back).toEqual(["0123456789abcdef:1", "mongo:db.c:66aa"]);
    await expect(s.withTable("nothing", async () => 1)).rejects.toThrow(
      /holds no records of dataset nothing/,
    );
    await s.close();
  });
});
