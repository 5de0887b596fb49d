/**
 * The retired SQLite store: refused with the file and the migration command, and `netsec store
 * migrate` copies every record and source entry of a store in the layout SqliteStore wrote (and the
 * older one keyed by id alone), idempotently.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { NetsecError } from "../../src/core/errors.ts";
import { DuckDbStore } from "../../src/store/duckdb/store.ts";
import { openStore } from "../../src/store/open.ts";
import type { SourceInfo, StoredRecord } from "../../src/store/types.ts";
import { runCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/env.ts";

const tmp = tempDir("netsec-migrate-");
afterAll(tmp.cleanup);

const sha = "a".repeat(64);
const records: StoredRecord[] = [
  ...Array.from({ length: 30 }, (_, i) => ({
    id: `${sha.slice(0, 16)}:${i + 1}`,
    dataset: "flows",
    source: sha,
    row: i + 1,
    data: { n: i * 1.5, proto: i % 2 ? "tcp" : "udp", label: i % 3 ? "BENIGN" : null },
  })),
  ...Array.from({ length: 5 }, (_, i) => ({
    id: `mongo:db.c:${1000 + i}`,
    dataset: "other",
    source: "mongo:db.c",
    row: i + 1,
    data: { x: i },
  })),
];
const sources: SourceInfo[] = [
  {
    source: sha,
    dataset: "flows",
    location: "/d/flows.csv",
    name: "flows.csv",
    rows: 40,
    ingestedAt: "2026-01-01T00:00:00Z",
    status: "ingesting",
  },
  {
    source: "mongo:db.c",
    dataset: "other",
    location: "mongodb://h/ db.c",
    name: "c",
    rows: 5,
    ingestedAt: "2026-01-02T00:00:00Z",
    status: "complete",
  },
];

/** A store as SqliteStore wrote it (its DDL and JSON rows), or the older layout keyed by id alone. */
function writeSqliteStore(path: string, layout: "current" | "old"): void {
  const db = new DatabaseSync(path);
  db.exec(
    layout === "current"
      ? `CREATE TABLE records (dataset TEXT NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL, row INTEGER NOT NULL,
           data TEXT NOT NULL, PRIMARY KEY (dataset, id)) WITHOUT ROWID;
         CREATE INDEX records_by_source ON records(dataset, source, row);
         CREATE TABLE sources (source TEXT NOT NULL, dataset TEXT NOT NULL, location TEXT NOT NULL, name TEXT NOT NULL,
           rows INTEGER NOT NULL, ingested_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'complete',
           PRIMARY KEY (dataset, source));`
      : `CREATE TABLE records (id TEXT PRIMARY KEY, dataset TEXT NOT NULL, source TEXT NOT NULL,
           row INTEGER NOT NULL, data TEXT NOT NULL) WITHOUT ROWID;
         CREATE TABLE sources (source TEXT NOT NULL, dataset TEXT NOT NULL, location TEXT NOT NULL,
           name TEXT NOT NULL, rows INTEGER NOT NULL, ingested_at TEXT NOT NULL, PRIMARY KEY (dataset, source));`,
  );
  const ins = db.prepare("INSERT INTO records (dataset, id, source, row, data) VALUES (?, ?, ?, ?, ?)");
  for (const r of records) ins.run(r.dataset, r.id, r.source, r.row, JSON.stringify(r.data));
  for (const s of sources) {
    if (layout === "current")
      db.prepare("INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?)").run(
        s.source,
        s.dataset,
        s.location,
        s.name,
        s.rows,
        s.ingestedAt,
        s.status,
      );
    else
      db.prepare("INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?)").run(
        s.source,
        s.dataset,
        s.location,
        s.name,
        s.rows,
        s.ingestedAt,
      );
  }
  db.close();
}

async function contents(path: string) {
  const s = new DuckDbStore(path);
  await s.open();
  const out: StoredRecord[] = [];
  for (const d of ["flows", "other"]) for await (const b of s.scan({ dataset: d })) out.push(...b);
  const src = await s.listSources();
  await s.close();
  return { records: out, sources: src };
}

describe("the retired SQLite store", () => {
  it("is refused with the file and the one-line migration command, then migrated by it (twice: idempotent)", async () => {
    const home = join(tmp.dir, "home");
    mkdirSync(home, { recursive: true });
    const old = join(home, "store.db");
    writeSqliteStore(old, "current");
    const env = { NETSEC_HOME: home, NETSEC_STORE_URI: "", MLFLOW_TRACKING_URI: "" };
    const r = runCli(["validate", "--dataset", "phishing", "--json"], env);
    expect(r.code).not.toBe(0);
    expect(r.json).toMatchObject({ ok: false, error: { code: "STORE_RETIRED" } });
    const command = `netsec store migrate --from "sqlite:${old}" --to "duckdb:${join(home, "store.duckdb")}"`;
    expect(r.stderr).toContain(old);
    expect(r.stderr).toContain(command);
    const viaUri = runCli(["ingest", "--dataset", "phishing", "--store", `sqlite:${old}`, "--json"], env);
    expect(viaUri.json).toMatchObject({ error: { code: "STORE_RETIRED" } });

    const m = runCli(["store", "migrate", "--from", `sqlite:${old}`, "--json"], env);
    expect(m.code, m.stderr).toBe(0);
    expect(m.json).toMatchObject({ ok: true, records: 35, added: 35, sources: 2 });
    const got = await contents(join(home, "store.duckdb"));
    expect(got.records).toEqual(records);
    expect(got.sources).toEqual([...sources].sort((a, b) => a.dataset.localeCompare(b.dataset)));
    const again = runCli(["store", "migrate", "--from", `sqlite:${old}`, "--json"], env);
    expect(again.json).toMatchObject({ ok: true, records: 35, added: 0 });
    expect((await contents(join(home, "store.duckdb"))).records).toEqual(records);
  });

  it("a store in the older layout (records keyed by id alone, sources without status) migrates too", async () => {
    const old = join(tmp.dir, "old.db");
    writeSqliteStore(old, "old");
    const to = join(tmp.dir, "old-to.duckdb");
    const m = runCli(["store", "migrate", "--from", `sqlite:${old}`, "--to", `duckdb:${to}`, "--json"], {
      NETSEC_HOME: join(tmp.dir, "home-old"),
    });
    expect(m.code, m.stderr).toBe(0);
    const got = await contents(to);
    expect(got.records).toEqual(records);
    expect(got.sources.map((s) => s.status)).toEqual(["complete", "complete"]);
  });

  it("openStore: sqlite: URIs and SQLite files are STORE_RETIRED (409), a DuckDB path opens", async () => {
    const old = join(tmp.dir, "plain.db");
    writeSqliteStore(old, "current");
    for (const uri of [`sqlite:${old}`, old, `duckdb:${old}`]) {
      const e = (() => {
        try {
          openStore(uri);
          return null;
        } catch (x) {
          return x as NetsecError;
        }
      })();
      expect(e).toBeInstanceOf(NetsecError);
      expect(e!.code).toBe("STORE_RETIRED");
      expect(e!.status).toBe(409);
    }
    const s = openStore(join(tmp.dir, "fresh.duckdb"));
    expect(s.kind).toBe("duckdb");
    await s.open();
    await s.close();
  });
});
