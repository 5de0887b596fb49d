/**
 * The NETSEC_HOME layout: the paths src/config/home.ts gives for a home, written out by hand here, and
 * a scan of src/ proving no other file joins a home folder by hand.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { homeLayout, isRunId, runPaths, validateReportPaths } from "../../src/config/home.ts";

const SRC = join(import.meta.dirname, "../../src");

describe("homeLayout", () => {
  const h = homeLayout("/srv/netsec");

  it("names every top-level folder and file under the home", () => {
    expect(h.root).toBe("/srv/netsec");
    expect(h.sqliteStore).toBe("/srv/netsec/store.db");
    expect(h.duckdbStore).toBe("/srv/netsec/store.duckdb");
    expect(h.userSchemas).toBe("/srv/netsec/datasets");
    expect(h.userSchema("unsw")).toBe("/srv/netsec/datasets/unsw.yaml");
    expect(h.cache).toBe("/srv/netsec/cache");
    expect(h.runs).toBe("/srv/netsec/runs");
    expect(h.artifacts).toBe("/srv/netsec/artifacts");
    expect(h.registry).toBe("/srv/netsec/registry");
    expect(h.reports).toBe("/srv/netsec/reports");
    expect(h.predictionOutput).toBe("/srv/netsec/prediction_output");
    expect(h.latestPrediction).toBe("/srv/netsec/prediction_output/output.csv");
    expect(h.predictionFile("pred-20261206-080000-0a1b2c3d")).toBe(
      "/srv/netsec/prediction_output/pred-20261206-080000-0a1b2c3d.csv",
    );
  });

  it("lays out caches, run records, registry entries and reports", () => {
    const c = h.datasetCache("nsl-kdd");
    expect(c.dir).toBe("/srv/netsec/cache/nsl-kdd");
    expect(c.file("KDDTrain+.txt")).toBe("/srv/netsec/cache/nsl-kdd/KDDTrain+.txt");
    expect(c.stamps).toBe("/srv/netsec/cache/nsl-kdd/.stamps");
    expect(c.stamp("mirror-KDDTest+.txt")).toBe("/srv/netsec/cache/nsl-kdd/.stamps/mirror-KDDTest+.txt.json");
    expect(h.runRecord("r1")).toEqual({ dir: "/srv/netsec/runs/r1", file: "/srv/netsec/runs/r1/run.json" });
    const m = h.registryModel("netsec-phishing");
    expect(m.dir).toBe("/srv/netsec/registry/netsec-phishing");
    expect(m.index).toBe("/srv/netsec/registry/netsec-phishing/registry.json");
    expect(m.versions).toBe("/srv/netsec/registry/netsec-phishing/versions");
    expect(m.version(3)).toBe("/srv/netsec/registry/netsec-phishing/versions/3");
    expect(h.validateReport(new Date(Date.UTC(2026, 11, 6, 8, 5, 7, 250)))).toBe(
      "/srv/netsec/reports/validate-2026-12-06T08-05-07-250Z",
    );
  });

  it("lays out a run's artifacts as the original project's folders", () => {
    const a = "/srv/netsec/artifacts/20261206-080000-000-abc123";
    expect(runPaths("/srv/netsec", "20261206-080000-000-abc123")).toEqual({
      root: a,
      featureStore: `${a}/data_ingestion/feature_store`,
      ingested: `${a}/data_ingestion/ingested`,
      validation: `${a}/data_validation`,
      driftReport: `${a}/data_validation/drift_report`,
      transformation: `${a}/data_transformation`,
      trainer: `${a}/model_trainer`,
      bundle: `${a}/model_trainer/model`,
      summary: `${a}/run.json`,
    });
  });

  it("lays out a validate report's folder as a run's data_validation/", () => {
    expect(validateReportPaths("/tmp/out")).toEqual({
      root: "/tmp/out",
      driftReport: "/tmp/out/drift_report",
    });
  });

  it("keeps paths inside the home relative to it, so a moved home finds them at its new place", () => {
    const bundle = "/srv/netsec/registry/netsec-phishing/versions/3";
    expect(h.keptPath(bundle)).toBe("registry/netsec-phishing/versions/3");
    expect(h.keptPath("/elsewhere/bundle")).toBe("/elsewhere/bundle");
    expect(h.keptPath("/srv/netsec-old/registry/m/versions/1")).toBe("/srv/netsec-old/registry/m/versions/1");
    expect(h.keptPath("/srv/netsec")).toBe("/srv/netsec");
    const moved = homeLayout("/mnt/backup/netsec");
    expect(moved.fromKept("registry/netsec-phishing/versions/3")).toBe(
      "/mnt/backup/netsec/registry/netsec-phishing/versions/3",
    );
    expect(moved.fromKept("/elsewhere/bundle")).toBe("/elsewhere/bundle");
    // an absolute path kept before: where it may be under the moved home, the last candidate first
    expect(moved.movedHere(bundle)).toEqual(["/mnt/backup/netsec/registry/netsec-phishing/versions/3"]);
    expect(moved.movedHere("/old/artifacts/r1/model_trainer/model")).toEqual([
      "/mnt/backup/netsec/artifacts/r1/model_trainer/model",
    ]);
    expect(moved.movedHere("/old/registry/registry/versions/1")).toEqual([
      "/mnt/backup/netsec/registry/versions/1",
      "/mnt/backup/netsec/registry/registry/versions/1",
    ]);
    expect(moved.movedHere("/elsewhere/bundle")).toEqual([]);
    expect(moved.movedHere("registry/m/versions/1")).toEqual([]);
  });

  it("refuses a run id that would leave the artifacts folder", () => {
    for (const bad of ["../x", "a/b", "", ".", "a b"]) {
      expect(isRunId(bad)).toBe(false);
      expect(() => h.run(bad)).toThrow(RangeError);
    }
    expect(isRunId("20261206-080000-000-abc123")).toBe(true);
  });
});

/** Every .ts file under src/. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** The folders and files home.ts owns: a path built from one of these names elsewhere is built by hand. */
const HOME_NAMES = [
  "store.db",
  "store.duckdb",
  "datasets",
  "cache",
  ".stamps",
  "runs",
  "run.json",
  "artifacts",
  "registry",
  "registry.json",
  "versions",
  "reports",
  "prediction_output",
  "output.csv",
  "data_ingestion",
  "feature_store",
  "ingested",
  "data_validation",
  "drift_report",
  "data_transformation",
  "model_trainer",
];

/**
 * Lines of `text` that build a path from a home name: join()/resolve() with it, `${…home…}/name`, or a
 * string starting with a run folder and a slash ("model_trainer/roc.svg").
 */
function handJoinedHomePaths(text: string): string[] {
  const names = HOME_NAMES.map((n) => n.replace(/[.]/g, "\\."));
  const inCall = new RegExp(`\\b(?:join|resolve)\\([^)]*["'\`](?:${names.join("|")})["'\`/]`);
  const inTemplate = new RegExp(`\\$\\{[^}]*home[^}]*\\}/(?:${names.join("|")})\\b`, "i");
  const runFolderPath = /["'`](?:data_ingestion|data_validation|data_transformation|model_trainer)\//;
  return text.split("\n").filter((l) => inCall.test(l) || inTemplate.test(l) || runFolderPath.test(l));
}

describe("no file but src/config/home.ts joins home paths by hand", () => {
  it("the check finds the hand-made paths it is meant to find", () => {
    expect(handJoinedHomePaths('const root = join(home, "artifacts", runId);')).toHaveLength(1);
    expect(handJoinedHomePaths('x = resolve(home, "store.db")')).toHaveLength(1);
    expect(handJoinedHomePaths(`\`no run \${id} in \${ctx.config.home}/runs\``)).toHaveLength(1);
    expect(handJoinedHomePaths('  "roc.svg": "model_trainer/roc.svg",')).toHaveLength(1);
    expect(handJoinedHomePaths('join(paths.trainer, "cv_scores.csv")')).toHaveLength(0);
    expect(handJoinedHomePaths('"confusion matrix: model_trainer/confusion_matrix.svg"')).toHaveLength(0);
    expect(handJoinedHomePaths('html`<a href="/runs">`')).toHaveLength(0);
  });

  it("holds for every file under src/", () => {
    const offenders: string[] = [];
    for (const f of sourceFiles(SRC)) {
      if (f.endsWith(join("config", "home.ts"))) continue;
      for (const line of handJoinedHomePaths(readFileSync(f, "utf8")))
        offenders.push(`${relative(SRC, f)}: ${line.trim()}`);
    }
    expect(offenders).toEqual([]);
  });
});
