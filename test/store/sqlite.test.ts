import { statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { NetsecError } from "../../src/core/errors.ts";
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

describe("sqlite: stores written by older versions", () => {
  it("a store keyed by record id alone is migrated in place: its records stay, a second dataset gets the same file in full", async () => {
    const path = join(tmp.dir, "old-layout.db");
    // the layout netsec wrote before a record's identity included its dataset
    const old = new DatabaseSync(path);
    old.exec(`
      CREATE TABLE records (id TEXT PRIMARY KEY, dataset TEXT NOT NULL, source TEXT NOT NULL,
        row INTEGER NOT NULL, data TEXT NOT NULL) WITHOUT ROWID;
      CREATE INDEX records_by_source ON records(dataset, source, row);
      CREATE TABLE sources (source TEXT NOT NULL, dataset TEXT NOT NULL, location TEXT NOT NULL,
        name TEXT NOT NULL, rows INTEGER NOT NULL, ingested_at TEXT NOT NULL, PRIMARY KEY (dataset, source));
    `);
    const ins = old.prepare("INSERT INTO records VALUES (?, ?, ?, ?, ?)");
    for (let row = 1; row <= 40; row++)
      ins.run(`0123456789abcdef:${row}`, "first", "0123456789abcdef", row, `{"a":${row}}`);
    old
      .prepare("INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?)")
      .run("0123456789abcdef", "first", "/d/x.csv", "x.csv", 40, "2026-01-01T00:00:00Z");
    old.close();

    const s = new SqliteStore(path);
    await s.open();
    const same = (dataset: string) =>
      Array.from({ length: 40 }, (_, i) => ({
        id: `0123456789abcdef:${i + 1}`,
        dataset,
        source: "0123456789abcdef",
        row: i + 1,
        data: { a: i + 1 },
      }));
    expect(await s.count({ dataset: "first" })).toBe(40);
    expect(await s.insertBatch(same("first"))).toBe(0);
    expect(await s.insertBatch(same("second"))).toBe(40);
    expect(await s.count({ dataset: "second" })).toBe(40);
    expect(await s.listSources("first")).toEqual([
      {
        source: "0123456789abcdef",
        dataset: "first",
        location: "/d/x.csv",
        name: "x.csv",
        rows: 40,
        ingestedAt: "2026-01-01T00:00:00Z",
        status: "complete",
      },
    ]);
    const rows: number[] = [];
    for await (const b of s.scan({ dataset: "first" }, 7)) for (const r of b) rows.push(r.data.a as number);
    expect(rows).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    await s.close();
    // opening again finds the new layout and changes nothing
    const again = new SqliteStore(path);
    await again.open();
    expect(await again.count()).toBe(80);
    await again.close();
  });
});

describe("sqlite: a damaged store file", () => {
  const expectDamaged = async (path: string) => {
    const s = new SqliteStore(path);
    const err = await (async () => {
      await s.open();
      await s.count({ dataset: "d" });
      for await (const _ of s.scan({ dataset: "d" })) {
        // read everything
      }
    })().then(
      () => null,
      (e: unknown) => e,
    );
    await s.close();
    expect(err).toBeInstanceOf(NetsecError);
    const ne = err as NetsecError;
    expect(ne.code).toBe("STORE_ERROR");
    expect(ne.message).toContain(path);
    expect(ne.message).toContain(`mv "${path}" "${path}.damaged"`);
    expect(ne.message).toContain("netsec ingest");
  };

  it("a file that is not a database: STORE_ERROR naming the file and how to recover", async () => {
    const path = join(tmp.dir, "garbled.db");
    writeFileSync(path, Buffer.alloc(8192, 0x5a));
    await expectDamaged(path);
  });

  it("a truncated store file: STORE_ERROR naming the file and how to recover", async () => {
    const path = join(tmp.dir, "truncated.db");
    const s = new SqliteStore(path);
    await s.open();
    for (let b = 0; b < 5; b++)
      await s.insertBatch(
        Array.from({ length: 2000 }, (_, i) => ({
          id: `t:${b * 2000 + i}`,
          dataset: "d",
          source: "t",
          row: b * 2000 + i,
          data: { pad: "x".repeat(50), i },
        })),
      );
    await s.close();
    truncateSync(path, Math.floor(statSync(path).size / 2));
    await expectDamaged(path);
  });
});
