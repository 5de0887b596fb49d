import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultMemoryLimit, ident, literal, openDuckDb } from "../../src/store/duckdb/connection.ts";
import type { DuckDbStore } from "../../src/store/duckdb/store.ts";
import { openStore, storeOptionsFrom } from "../../src/store/open.ts";

const dir = mkdtempSync(join(tmpdir(), "netsec-duckdb-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("openDuckDb", () => {
  it("quotes identifiers and literals that contain quotes", async () => {
    const db = await openDuckDb();
    const r = await db.connection.runAndReadAll(`select ${literal("it's")} as ${ident('a "b"')}`);
    expect(r.columnNames()).toEqual(['a "b"']);
    expect(r.getRows()).toEqual([["it's"]]);
    db.close();
    db.close();
  });

  it("reads and writes Parquet without downloading an extension", async () => {
    const db = await openDuckDb();
    const file = join(dir, "t.parquet");
    await db.connection.run(`copy (select 1.5::double as x, 'a' as y) to ${literal(file)} (format parquet)`);
    const r = await db.connection.runAndReadAll(`select * from read_parquet(${literal(file)})`);
    expect(r.getRows()).toEqual([[1.5, "a"]]);
    db.close();
  });

  it("lets a file database be reopened after close (the lock is released)", async () => {
    const path = join(dir, "s.duckdb");
    const a = await openDuckDb({ path });
    await a.connection.run("create table t as select 7 as v");
    a.close();
    const b = await openDuckDb({ path, readOnly: true });
    expect((await b.connection.runAndReadAll("select v from t")).getRows()).toEqual([[7]]);
    b.close();
  });

  it("bounds the engine's memory: 1/16 of the machine's, at least 1 GiB, unless given", async () => {
    expect(defaultMemoryLimit(24 * 10 ** 9)).toBe("1430MiB"); // 24e9 / 16 / 2^20 = 1430.5
    expect(defaultMemoryLimit(8 * 2 ** 30)).toBe("1024MiB"); // 512 MiB would be less than the floor
    const setting = async (db: {
      connection: { runAndReadAll(sql: string): Promise<{ getRows(): unknown[][] }> };
    }) =>
      (
        await db.connection.runAndReadAll(
          "select current_setting('memory_limit'), current_setting('threads')::INTEGER",
        )
      ).getRows()[0];
    const given = await openDuckDb({ memoryLimit: "700MiB", threads: 1 });
    expect(await setting(given)).toEqual(["700.0 MiB", 1]);
    given.close();
    const byDefault = await openDuckDb();
    const same = await openDuckDb({ memoryLimit: defaultMemoryLimit() });
    expect((await setting(byDefault))![0]).toBe((await setting(same))![0]);
    byDefault.close();
    same.close();
    // the record store takes NETSEC_DUCKDB_MEMORY_LIMIT and NETSEC_DUCKDB_THREADS from the config
    const store = openStore(
      join(dir, "limits.duckdb"),
      storeOptionsFrom({
        NETSEC_STORE_WAIT_SECONDS: 1,
        NETSEC_DUCKDB_MEMORY_LIMIT: "600MiB",
        NETSEC_DUCKDB_THREADS: 1,
      }),
    ) as DuckDbStore;
    await store.open();
    expect(await setting(store)).toEqual(["600.0 MiB", 1]);
    await store.close();
  });
});
