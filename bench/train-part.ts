/**
 * The train part of `netsec train` alone (issue 14, lane 5): from the Frame to a fitted forest, its
 * test predictions and its bundle, on the scale file of bench/scale.ts (KDDTrain+ × copies), without
 * the ingest/validate/drift steps. Run it under /usr/bin/time -v to see the peak RSS of this part:
 *
 *   /usr/bin/time -v npx node bench/train-part.ts [--copies=8] [--models=random_forest] [--params=JSON]
 *
 * The Frame is read once from the scale file (slow: the row-object reader) and kept as a column cache
 * beside it (`<file>.frame/`: one raw typed array per column plus a JSON index), so later runs start in
 * about a second. The split is the pipeline's (duplicate-aware stratified, test_size 0.2, seed 42).
 * On stderr: each step as it starts (and the search as it ends) with the seconds since the previous
 * line, RSS and heap (MB); on stdout a JSON line with the test F1 and those times.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Column, Frame } from "../src/core/frame.ts";
import { closePool } from "../src/core/pool.ts";
import { loadFrame } from "../src/datasets/load.ts";
import { loadSchemaFile } from "../src/datasets/schema.ts";
import { duplicateAwareSplit, duplicateGroupsOfFrame } from "../src/datasets/split.ts";
import { classSpace, encodeTarget, trainAndEvaluate } from "../src/pipeline/train.ts";

const ROOT = resolve(import.meta.dirname, "..");
const arg = (name: string): string | undefined =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
const copies = Number(arg("copies") ?? 8);
const models = (arg("models") ?? "random_forest").split(",");
const params = JSON.parse(arg("params") ?? '{"n_estimators":100}') as Record<string, unknown>;
const schema = loadSchemaFile(join(ROOT, "datasets/nsl-kdd.yaml"));
const benchDir = process.env.NETSEC_BENCH_DIR ?? tmpdir();
const file = join(benchDir, `nsl-kdd-x${copies}.txt`);
const cacheDir = `${file}.frame`;

const mb = (x: number): string => (x / 2 ** 20).toFixed(0);
const t0 = performance.now();
const times: Record<string, number> = {};
let last = t0;
// the peak RSS between two lines (sampled while the main thread waits for the workers)
let peak = 0;
setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 100).unref();
function mark(stage: string): void {
  const now = performance.now();
  times[stage] = Math.round(now - last) / 1000;
  last = now;
  const m = process.memoryUsage();
  console.error(
    `${stage}: ${times[stage]} s; rss ${mb(m.rss)} MB (peak since the last line ${mb(Math.max(peak, m.rss))} MB), heap ${mb(m.heapUsed)} MB, array buffers ${mb(m.arrayBuffers)} MB`,
  );
  peak = 0;
}

interface CachedColumn {
  name: string;
  kind: "numeric" | "categorical";
  categories?: string[];
}

async function frameOf(): Promise<Frame> {
  if (existsSync(join(cacheDir, "index.json"))) {
    const index = JSON.parse(readFileSync(join(cacheDir, "index.json"), "utf8")) as {
      nRows: number;
      columns: CachedColumn[];
    };
    const cols = index.columns.map((c, i): Column => {
      const buf = readFileSync(join(cacheDir, `${i}.bin`));
      const bytes = new Uint8Array(buf.byteLength);
      bytes.set(buf);
      return c.kind === "numeric"
        ? { kind: "numeric", name: c.name, values: new Float64Array(bytes.buffer) }
        : {
            kind: "categorical",
            name: c.name,
            codes: new Int32Array(bytes.buffer),
            categories: c.categories!,
          };
    });
    return new Frame(cols, index.nRows);
  }
  if (!existsSync(file))
    throw new Error(`${file} is missing: make it with npx node bench/scale.ts --only= --keep`);
  const { frame } = await loadFrame({ kind: "file", path: file } as never, schema, { format: "txt" });
  mkdirSync(cacheDir, { recursive: true });
  frame.columns.forEach((c, i) => {
    const a = c.kind === "numeric" ? c.values : c.codes;
    writeFileSync(join(cacheDir, `${i}.bin`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  });
  const columns: CachedColumn[] = frame.columns.map((c) =>
    c.kind === "numeric"
      ? { name: c.name, kind: "numeric" }
      : { name: c.name, kind: "categorical", categories: [...c.categories] },
  );
  writeFileSync(join(cacheDir, "index.json"), JSON.stringify({ nRows: frame.nRows, columns }));
  return frame;
}

/** The pipeline's split of the whole frame (which is then left to the garbage collector). */
async function split(): Promise<{ rows: number; train: Frame; test: Frame }> {
  const all = await frameOf();
  mark("frame");
  const space = classSpace(schema, all, "binary");
  const { y } = encodeTarget(schema, all, space);
  const { groups, nGroups } = duplicateGroupsOfFrame(all, schema.featureNames);
  const sp = duplicateAwareSplit(y, groups, nGroups, 0.2, 42);
  return { rows: all.nRows, train: all.take(sp.train), test: all.take(sp.test) };
}
const { rows, train, test } = await split();
mark("split");
const bundleDir = mkdtempSync(join(tmpdir(), "netsec-train-part-"));
try {
  const res = await trainAndEvaluate({
    schema,
    train,
    test,
    models: models.map((name) => ({ name, params })),
    search: "none",
    cv: 3,
    seed: 42,
    scoring: "f1",
    targetFpr: 0.01,
    imputer: "median",
    threshold: { strategy: "max_f1", targetFpr: 0.01, value: 0.5 },
    runId: "bench-train-part",
    bundleDir,
    // each step's start (and the search's end), with the time since the previous one
    onProgress: (m, d, t) => {
      if (d === undefined || d === 0 || d === t) mark(`${m.slice(0, 60)}${d === t ? ` ${d}/${t}` : ""}`);
    },
  });
  mark("evaluate, bundle");
  console.log(
    JSON.stringify({
      rows,
      train_rows: train.nRows,
      test_rows: test.nRows,
      test_f1: res.test.f1,
      threshold: res.threshold,
      fit_seconds: res.fitSeconds,
      seconds: Math.round(performance.now() - t0) / 1000,
      times,
    }),
  );
} finally {
  rmSync(bundleDir, { recursive: true, force: true });
  await closePool();
}
