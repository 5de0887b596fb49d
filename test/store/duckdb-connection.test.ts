import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ident, literal, openDuckDb } from "../../src/store/duckdb/connection.ts";

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
});
