import { describe, expect, it } from "vitest";
import { loadConfig, redactConfig } from "../../src/config/env.ts";
import { RunStore } from "../../src/tracking/run-store.ts";
import { parseS3Uri, s3StoreFrom } from "../../src/tracking/s3.ts";
import { pullRun } from "../../src/tracking/s3-sync.ts";
import { tempDir } from "../helpers/env.ts";

describe("S3 configuration", () => {
  it("reads s3://bucket/prefix, the prefix without surrounding slashes", () => {
    expect(parseS3Uri("s3://netsec-artifacts/team/prod/")).toEqual({
      bucket: "netsec-artifacts",
      prefix: "team/prod",
    });
    expect(parseS3Uri("s3://my.bucket")).toEqual({ bucket: "my.bucket", prefix: "" });
  });

  it("refuses what is not an S3 URI, naming the variable", () => {
    for (const bad of ["https://x/y", "s3://", "s3://UPPER/x", "bucket/prefix"])
      expect(() => parseS3Uri(bad), bad).toThrow(/NETSEC_S3_URI=.*s3:\/\/<bucket>\/<prefix>/);
  });

  it("is off without NETSEC_S3_URI, shows only bucket and prefix, and wants both keys or neither", () => {
    const { dir, cleanup } = tempDir();
    try {
      expect(s3StoreFrom(loadConfig({}, dir))).toBeNull();
      const c = loadConfig(
        {
          NETSEC_S3_URI: "s3://b-1/p",
          AWS_ENDPOINT_URL: "http://127.0.0.1:9",
          AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
          AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI-example-secret",
        },
        dir,
      );
      expect(s3StoreFrom(c)?.shownUri).toBe("s3://b-1/p");
      expect(JSON.stringify(redactConfig(c))).not.toMatch(/wJalrXUtnFEMI|AKIDEXAMPLE/);
      expect(() =>
        s3StoreFrom(loadConfig({ NETSEC_S3_URI: "s3://b-1/p", AWS_ACCESS_KEY_ID: "AKID" }, dir)),
      ).toThrow(/both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    } finally {
      cleanup();
    }
  });

  it("runs pull refuses a malformed run id as RUN_NOT_FOUND before any request", async () => {
    const { dir, cleanup } = tempDir();
    try {
      // port 9 (discard): nothing is asked of it, the id is refused first
      const c = loadConfig({ NETSEC_S3_URI: "s3://b-1/p", AWS_ENDPOINT_URL: "http://127.0.0.1:9" }, dir);
      await expect(pullRun(s3StoreFrom(c)!, c, new RunStore(c.home), "../etc")).rejects.toMatchObject({
        code: "RUN_NOT_FOUND",
        details: { value: "../etc" },
      });
    } finally {
      cleanup();
    }
  });
});
