/**
 * One contract for every RecordStore implementation, run against DuckDB (unit) and a real FerretDB
 * (integration). A value a record lacks reads as null or absent (DuckDB's tables are columnar: a
 * dataset's records share its columns).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordStore, StoredRecord } from "../../src/store/types.ts";

function recs(
  dataset: string,
  source: string,
  from: number,
  n: number,
  data?: (i: number) => Record<string, number | string | null>,
): StoredRecord[] {
  return Array.from({ length: n }, (_, k) => {
    const row = from + k;
    return {
      id: `${source.slice(0, 8)}:${row}`,
      dataset,
      source,
      row,
      data: data ? data(row) : { a: row % 3, b: `x${row % 2}`, c: null },
    };
  });
}

function withoutNulls(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null && v !== undefined));
}

export function recordStoreContract(name: string, make: () => Promise<RecordStore>): void {
  describe(`RecordStore contract: ${name}`, () => {
    let store: RecordStore;
    const ds = `ds${Date.now().toString(36)}`;
    beforeAll(async () => {
      store = await make();
      await store.open();
      await store.deleteDataset(ds);
    });
    afterAll(async () => {
      await store.deleteDataset(ds).catch(() => {});
      await store.close();
    });

    it("inserts, and re-inserting the same ids adds nothing", async () => {
      expect(await store.insertBatch(recs(ds, "aaaaaaaaaaaa", 1, 100))).toBe(100);
      expect(await store.insertBatch(recs(ds, "aaaaaaaaaaaa", 1, 100))).toBe(0);
      expect(await store.insertBatch(recs(ds, "aaaaaaaaaaaa", 51, 100))).toBe(50);
      expect(await store.count({ dataset: ds })).toBe(150);
    });

    it("identical data under different ids stays separate (real repeated observations)", async () => {
      const same = () => ({ a: 1, b: "same", c: null });
      expect(await store.insertBatch(recs(ds, "bbbbbbbbbbbb", 1, 3, same))).toBe(3);
      expect(await store.count({ dataset: ds, sources: ["bbbbbbbbbbbb"] })).toBe(3);
    });

    it("scans in (source, row) order, in bounded batches, with values intact", async () => {
      await store.insertBatch(
        recs(ds, "cccccccccccc", 1, 2500, (i) => ({ v: i * 0.5, s: `r${i}`, n: i % 7 === 0 ? null : i })),
      );
      const sizes: number[] = [];
      let prev = 0;
      let n = 0;
      for await (const b of store.scan({ dataset: ds, sources: ["cccccccccccc"] }, 1000)) {
        sizes.push(b.length);
        for (const r of b) {
          expect(r.row).toBe(prev + 1);
          prev = r.row;
          expect(withoutNulls(r.data)).toEqual(
            withoutNulls({ v: r.row * 0.5, s: `r${r.row}`, n: r.row % 7 === 0 ? null : r.row }),
          );
          expect(r.data.n ?? null).toBe(r.row % 7 === 0 ? null : r.row);
          n++;
        }
      }
      expect(sizes).toEqual([1000, 1000, 500]);
      expect(n).toBe(2500);
    });

    it("scans every source of a dataset ordered by source then row", async () => {
      const order: string[] = [];
      for await (const b of store.scan({ dataset: ds }, 333))
        for (const r of b) order.push(`${r.source}:${String(r.row).padStart(6, "0")}`);
      expect(order).toEqual([...order].sort());
      expect(order.length).toBe(150 + 3 + 2500);
    });

    it("keeps source bookkeeping", async () => {
      await store.putSource({
        source: "aaaaaaaaaaaa",
        dataset: ds,
        location: "/x/a.csv",
        name: "a.csv",
        rows: 150,
        ingestedAt: "2026-01-01T00:00:00Z",
        status: "ingesting",
      });
      expect((await store.listSources(ds))[0]).toMatchObject({ rows: 150, status: "ingesting" });
      await store.putSource({
        source: "aaaaaaaaaaaa",
        dataset: ds,
        location: "/x/a.csv",
        name: "a.csv",
        rows: 151,
        ingestedAt: "2026-01-02T00:00:00Z",
        status: "complete",
      });
      const s = await store.listSources(ds);
      expect(s).toHaveLength(1);
      expect(s[0]).toMatchObject({ name: "a.csv", rows: 151, status: "complete" });
    });

    it("a record's identity includes its dataset: the same ids under a second dataset are all added", async () => {
      const second = `${ds}y`;
      try {
        // the same source and rows as the first test's, under another dataset
        expect(await store.insertBatch(recs(second, "aaaaaaaaaaaa", 1, 150))).toBe(150);
        expect(await store.insertBatch(recs(second, "aaaaaaaaaaaa", 1, 150))).toBe(0);
        expect(await store.count({ dataset: second })).toBe(150);
        expect(await store.count({ dataset: ds, sources: ["aaaaaaaaaaaa"] })).toBe(150);
        const ids: string[] = [];
        for await (const b of store.scan({ dataset: second }, 100))
          for (const r of b) {
            expect(r.dataset).toBe(second);
            ids.push(r.id);
          }
        expect(ids).toEqual(recs(second, "aaaaaaaaaaaa", 1, 150).map((r) => r.id));
        // deleting one dataset leaves the other's copy whole
        expect(await store.deleteDataset(second)).toBe(150);
        expect(await store.count({ dataset: ds, sources: ["aaaaaaaaaaaa"] })).toBe(150);
      } finally {
        await store.deleteDataset(second).catch(() => {});
      }
    });

    it("deleteDataset removes records and sources", async () => {
      const other = `${ds}x`;
      await store.insertBatch(recs(other, "dddddddddddd", 1, 10));
      expect(await store.deleteDataset(other)).toBe(10);
      expect(await store.count({ dataset: other })).toBe(0);
      expect(await store.count({ dataset: ds })).toBe(2653);
    });
  });
}
