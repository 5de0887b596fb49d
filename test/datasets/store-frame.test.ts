/**
 * loadStoreFrame from DuckDB reads the table unsorted and places each row by its source and row
 * number: the Frame must still be the (source, row)-ordered one of the row path, dictionaries of
 * values the schema does not list included (numbered in row order), whatever order the files went in.
 */
import { createHash } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { ingestFile } from "../../src/datasets/ingest.ts";
import { parseSchema } from "../../src/datasets/schema.ts";
import { loadStoreFrame } from "../../src/datasets/store-frame.ts";
import { DuckDbStore } from "../../src/store/duckdb/store.ts";
import { tempDir, writeFile } from "../helpers/env.ts";

const tmp = tempDir("netsec-store-frame-");
afterAll(tmp.cleanup);

const flows = parseSchema(`
name: flows
title: flows
target: label
labels: {benign: [BENIGN]}
columns:
  - {name: n, type: integer, min: 0}
  - {name: proto, type: categorical, values: [tcp, udp]}
  - {name: label, type: categorical}
`);

const sha = (text: string): string => createHash("sha256").update(text).digest("hex");

describe("loadStoreFrame: (source, row) order without sorting the table", () => {
  it("equals the row path's Frame, labels numbered in row order of the sorted sources", async () => {
    // two files; the one whose digest sorts first is ingested last, so the table's order is not
    // (source, row) order; labels first seen in different orders in the two files
    const a = "n,proto,label\n1,tcp,BENIGN\n2,icmp,DoS\n3,udp,PortScan\n4,tcp,DoS\n";
    const b = "n,proto,label\n5,udp,Bot\n6,tcp,BENIGN\n7,tcp,Bot\n";
    const [first, second] = sha(a) < sha(b) ? [a, b] : [b, a];
    const store = new DuckDbStore(":memory:");
    await store.open();
    await ingestFile(store, flows, { path: writeFile(tmp.dir, "second.csv", second) });
    await ingestFile(store, flows, { path: writeFile(tmp.dir, "first.csv", first) });
    const cols = await loadStoreFrame(store, flows);
    const rows = await loadStoreFrame(store, flows, { rowByRow: true });
    expect(cols.frame.columns).toEqual(rows.frame.columns);
    expect(cols.sourceIndex).toEqual(rows.sourceIndex);
    expect(cols.sourceRow).toEqual(rows.sourceRow);
    // by hand: the first file's rows, then the second's; labels in order of first row
    const ns = [...first.matchAll(/^(\d+),/gm), ...second.matchAll(/^(\d+),/gm)].map((m) => Number(m[1]));
    expect(Array.from(cols.frame.numeric("n"))).toEqual(ns);
    const labelsInOrder = [
      ...new Set(
        [...first.matchAll(/\d,\w+,(\w+)$/gm), ...second.matchAll(/\d,\w+,(\w+)$/gm)].map((m) => m[1]),
      ),
    ];
    const label = cols.frame.column("label");
    expect(label.kind === "categorical" && label.categories).toEqual(labelsInOrder);
    // the schema's own values keep their codes (tcp 0, udp 1), the unlisted icmp comes after
    const proto = cols.frame.column("proto");
    expect(proto.kind === "categorical" && proto.categories).toEqual(["tcp", "udp", "icmp"]);
    await store.close();
  });
});
