import { describe, expect, it } from "vitest";
import { loadConfig, parseDotenv, redactConfig } from "../../src/config/env.ts";
import { redactUri } from "../../src/core/errors.ts";
import { tempDir, writeFile } from "../helpers/env.ts";

describe("config", () => {
  it("has documented defaults", () => {
    const { dir, cleanup } = tempDir();
    const c = loadConfig({}, dir);
    expect(c.home).toBe(`${dir}/.netsec`);
    expect(c.storeUri).toBe(`duckdb:${dir}/.netsec/store.duckdb`);
    expect(c.NETSEC_STORE_WAIT_SECONDS).toBe(30);
    expect(c.NETSEC_DUCKDB_MEMORY_LIMIT).toBeUndefined(); // openDuckDb's default: 1/16 of the memory
    expect(c.NETSEC_DUCKDB_THREADS).toBeUndefined();
    expect(c.PORT).toBe(8000);
    expect(c.MLFLOW_TRACKING_URI).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
    cleanup();
  });

  it("reads .env, and the process environment wins", () => {
    const { dir, cleanup } = tempDir();
    writeFile(
      dir,
      ".env",
      "# comment\nPORT=9000\nNETSEC_HOME='/tmp/x'\nMLFLOW_EXPERIMENT_NAME=exp # trailing\n",
    );
    const c = loadConfig(
      { PORT: "9100", NETSEC_DUCKDB_MEMORY_LIMIT: "1.5GB", NETSEC_DUCKDB_THREADS: "1" },
      dir,
    );
    expect(c.PORT).toBe(9100);
    expect(c.NETSEC_DUCKDB_MEMORY_LIMIT).toBe("1.5GB");
    expect(c.NETSEC_DUCKDB_THREADS).toBe(1);
    expect(c.home).toBe("/tmp/x");
    expect(c.MLFLOW_EXPERIMENT_NAME).toBe("exp");
    cleanup();
  });

  it("lists every invalid variable and hides secret values", () => {
    const { dir, cleanup } = tempDir();
    try {
      loadConfig({ PORT: "http", NETSEC_LOG_LEVEL: "loud", NETSEC_DUCKDB_MEMORY_LIMIT: "lots" }, dir);
      throw new Error("no error");
    } catch (e) {
      expect((e as Error).message).toMatch(/PORT="http"/);
      expect((e as Error).message).toMatch(/NETSEC_LOG_LEVEL="loud"/);
      expect((e as Error).message).toMatch(
        /NETSEC_DUCKDB_MEMORY_LIMIT="lots": a size such as 800MB or 1.5GB/,
      );
    }
    cleanup();
  });

  it("redacts secrets and URI credentials", () => {
    const { dir, cleanup } = tempDir();
    const c = loadConfig({ MLFLOW_TRACKING_PASSWORD: "hunter2", NETSEC_API_TOKEN: "tok" }, dir);
    const r = JSON.stringify(redactConfig(c));
    expect(r).not.toMatch(/hunter2|"tok"/);
    expect(redactUri("mongodb://user:s3cret@h:27017/db?authSource=admin")).toBe(
      "mongodb://***:***@h:27017/db?authSource=admin",
    );
    cleanup();
  });

  it("parses .env quoting", () => {
    expect(parseDotenv('A="x y"\nexport B=2\nbad line\n')).toEqual({ A: "x y", B: "2" });
  });
});
