/**
 * The `mongodb` driver is loaded by the first MongoDB connection, not on import: `netsec ingest`
 * into the default DuckDB store (and every other command module that reaches `store/open.ts`) must
 * not pay its ~0.13 s start-up. Checked in a fresh Node process: the driver is CommonJS, so whatever
 * loaded it is in that process's `require.cache`.
 */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

/** How many files of the `mongodb` package a fresh process holds after importing `modules`. */
function driverFilesAfterImporting(modules: readonly string[]): number {
  const script = `
    import { createRequire } from "node:module";
    for (const m of ${JSON.stringify(modules.map((m) => resolve(ROOT, m)))}) await import(m);
    const cache = createRequire(import.meta.url).cache;
    process.stdout.write(String(Object.keys(cache).filter((k) => k.includes("/node_modules/mongodb/")).length));
  `;
  return Number(
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT }).toString(),
  );
}

describe("the mongodb driver is loaded lazily", () => {
  it("is not loaded by the ingest command, the store opener or the MongoDB store module", () => {
    expect(
      driverFilesAfterImporting(["src/cli/commands/ingest.ts", "src/store/open.ts", "src/store/mongodb.ts"]),
    ).toBe(0);
  });

  it("is loaded by a connection attempt (the probe sees it when it is there)", () => {
    const script = `
      import { createRequire } from "node:module";
      const { MongoStore } = await import(${JSON.stringify(resolve(ROOT, "src/store/mongodb.ts"))});
      // nothing listens on port 9: the connect fails fast, after loading the driver
      await new MongoStore("mongodb://127.0.0.1:9/x", { serverSelectionTimeoutMS: 200 }).open().catch(() => {});
      const cache = createRequire(import.meta.url).cache;
      process.stdout.write(String(Object.keys(cache).filter((k) => k.includes("/node_modules/mongodb/")).length));
    `;
    const n = Number(
      execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT }).toString(),
    );
    expect(n).toBeGreaterThan(0);
  });
});
