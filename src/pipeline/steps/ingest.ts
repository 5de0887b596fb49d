/**
 * The ingest step, shared by `netsec ingest` and the pipeline: data sources (files, a registry
 * dataset's files, a MongoDB collection) into the record store, idempotently (a record's id comes
 * from where it was read, so a re-run adds only what is missing). Reading back and splitting is
 * steps/split.ts.
 */
import type { Config } from "../../config/env.ts";
import { NetsecError, redactUri } from "../../core/errors.ts";
import { type IngestResult, ingestDocuments, ingestFile } from "../../datasets/ingest.ts";
import type { FileFormat, SourceRef } from "../../datasets/readers.ts";
import { fetchDataset } from "../../datasets/registry.ts";
import type { DatasetSchema } from "../../datasets/schema.ts";
import { readCollection } from "../../store/mongo-source.ts";
import type { RecordStore } from "../../store/types.ts";
import type { PipelineRun } from "../runner.ts";

/** What a source is for in a run: training rows, the test split, or a test set reported beside it. */
export type SourceRole = "train" | "test" | "also_test";

export type IngestSource = (
  | { kind: "file"; ref: SourceRef; sha256?: string; format?: FileFormat }
  | { kind: "mongodb"; uri: string; db: string; collection: string }
) & {
  role: SourceRole;
  /** The name it is reported under (a registry file's name, a file's path, the collection). */
  name: string;
};

export interface IngestedSource extends IngestResult {
  role: SourceRole;
  name: string;
}

export interface IngestSourcesOptions {
  allowUnknownColumns?: boolean;
  /** Status lines (files checked, batches stored). */
  onProgress?: (message: string) => void;
  /** A source's rows stored of its total, for a rows/s meter (given the source's name). */
  onRows?: (name: string) => ((done: number, total: number) => void) | undefined;
  /** Each source once it is in the store, in order. */
  onIngested?: (source: IngestedSource) => void;
}

/** Each source into the store, in order. */
export async function ingestSources(
  store: RecordStore,
  schema: DatasetSchema,
  sources: readonly IngestSource[],
  opts: IngestSourcesOptions = {},
): Promise<IngestedSource[]> {
  const out: IngestedSource[] = [];
  const common = {
    ...(opts.allowUnknownColumns ? { allowUnknownColumns: true } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
  for (const s of sources) {
    let r: IngestResult;
    if (s.kind === "file") {
      const onRows = opts.onRows?.(s.name);
      r = await ingestFile(store, schema, s.ref, {
        ...common,
        ...(s.sha256 ? { sha256: s.sha256 } : {}),
        ...(s.format ? { format: s.format } : {}),
        ...(onRows ? { onRows } : {}),
      });
    } else {
      r = await ingestDocuments(
        store,
        schema,
        {
          source: `mongo:${s.db}.${s.collection}`,
          location: `${redactUri(s.uri)} ${s.db}.${s.collection}`,
          name: s.collection,
          batches: () => readCollection(s.uri, s.db, s.collection, 2000),
        },
        common,
      );
    }
    const done = { ...r, role: s.role, name: s.name };
    out.push(done);
    opts.onIngested?.(done);
  }
  return out;
}

/**
 * A registry dataset's files `names` as sources: each fetched (cache, mirror, download) and checked
 * against its SHA-256 first; `roleOf` gives each file's role.
 */
export async function datasetSources(
  schema: DatasetSchema,
  names: readonly string[],
  env: Pick<Readonly<Config>, "home" | "NETSEC_DATASET_MIRROR">,
  opts: { roleOf?: (name: string) => SourceRole; onProgress?: (message: string) => void } = {},
): Promise<IngestSource[]> {
  const files = await fetchDataset(
    schema,
    {
      home: env.home,
      mirror: env.NETSEC_DATASET_MIRROR,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    },
    names,
  );
  return files.map((f) => ({
    kind: "file",
    ref: f.ref,
    sha256: f.sha256,
    ...(f.format !== "zip" ? { format: f.format } : {}),
    role: opts.roleOf?.(f.name) ?? "train",
    name: f.name,
  }));
}

/**
 * The files a dataset ingests by default: those of split `splitName` (its train and test files), or
 * every data file when it has no split or `all` is asked.
 */
export function datasetFileNames(
  schema: DatasetSchema,
  splitName: string | undefined,
  all: boolean,
): string[] {
  let names: string[];
  if (all || !splitName) {
    names = schema.raw.files.filter((f) => f.format !== "zip").map((f) => f.name);
  } else {
    const sp = schema.raw.splits[splitName];
    if (!sp) {
      throw new NetsecError(
        "CONFIG_INVALID",
        `dataset ${schema.name} has no split ${JSON.stringify(splitName)}; splits: ${Object.keys(schema.raw.splits).join(", ")}`,
        { value: splitName },
      );
    }
    names = [...sp.train, ...(sp.test ?? [])];
  }
  if (names.length === 0)
    throw new NetsecError("CONFIG_INVALID", `dataset ${schema.name} lists no files; give --file`, {});
  return names;
}

/**
 * The collection of a MongoDB source: each key given, else from the environment (MONGODB_URI,
 * MONGODB_DB, MONGODB_COLLECTION); `missingUri` is the error when neither gives a URI.
 */
export function mongoSource(
  given: { uri?: string | undefined; db?: string | undefined; collection?: string | undefined },
  env: Pick<Readonly<Config>, "MONGODB_URI" | "MONGODB_DB" | "MONGODB_COLLECTION">,
  missingUri: () => NetsecError,
): { uri: string; db: string; collection: string } {
  const uri = given.uri ?? env.MONGODB_URI;
  if (!uri) throw missingUri();
  return { uri, db: given.db ?? env.MONGODB_DB, collection: given.collection ?? env.MONGODB_COLLECTION };
}

/** The record-store sources a run reads, by role (ids as the store keeps them). */
export interface RunSources {
  train: string[];
  test: string[];
  /** A split's also_test files: each a test set reported beside the main one. */
  alsoTest: { name: string; source: string }[];
  /** The main test set's name in reports ("test", or the split's test files). */
  testName: string;
}

/**
 * The pipeline's ingest step: the config's source into the store (registry files of a split, files,
 * a MongoDB collection), or the records already stored (source.kind store, or a dataset declaring no
 * split). Every source read is noted in the run record with its role.
 */
export async function ingestStep(run: PipelineRun, store: RecordStore): Promise<RunSources> {
  const { cfg, schema } = run;
  const out: RunSources = { train: [], test: [], alsoTest: [], testName: "test" };
  // what the run read, for the run record (a source id alone does not say which file or collection)
  const note = (role: SourceRole, r: Pick<IngestResult, "source" | "location" | "rows">): string => {
    (run.rec.sources ??= []).push({ source: r.source, location: r.location, rows: r.rows, role });
    return r.source;
  };
  const stored = async (): Promise<string[]> =>
    (await store.listSources(schema.name)).map((x) => note("train", x));
  const ingest = (sources: IngestSource[]) =>
    ingestSources(store, schema, sources, {
      // with meters on, a file's rows/s and ETA replace its per-batch "rows stored" lines
      ...(run.metersOn
        ? {
            onRows: (name: string) => {
              const m = run.meter("ingest", `${name}: stored`, "rows", () => 0.3);
              return m ? (done: number, total: number) => m.update(done, total) : undefined;
            },
          }
        : { onProgress: (m: string) => run.progress("ingest", 0.3, m) }),
      onIngested: (r) => {
        const id = note(r.role, r);
        if (r.role === "also_test")
          out.alsoTest.push({ name: r.name.replace(/\.[A-Za-z0-9]+$/, ""), source: id });
        else out[r.role].push(id);
      },
    });
  const splitName =
    cfg.source.kind === "dataset" ? (cfg.source.split ?? schema.raw.default_split) : undefined;
  if (cfg.source.kind === "dataset" && splitName === undefined) {
    // a dataset registered with --schema alone (no files, no splits): its records in the store
    out.train = await stored();
    if (!out.train.length)
      throw new NetsecError(
        "CONFIG_INVALID",
        `dataset ${schema.name} declares no split or files, and the record store holds no records of it: ingest them first (netsec ingest --dataset ${schema.name} --file <data file>), or train on files (netsec train --dataset ${schema.name} --data <data file>)`,
        { key: "source.split" },
      );
    run.progress(
      "ingest",
      0.3,
      `${schema.name} declares no split: training on its ${out.train.length} stored source(s)`,
    );
  } else if (cfg.source.kind === "dataset") {
    const sp = splitName ? schema.raw.splits[splitName] : undefined;
    if (!sp)
      throw new NetsecError(
        "CONFIG_INVALID",
        `dataset ${schema.name} has no split ${JSON.stringify(splitName)}; its splits: ${Object.keys(schema.raw.splits).join(", ") || "(none)"}`,
        { key: "source.split", value: splitName },
      );
    const sources = await datasetSources(
      schema,
      [...sp.train, ...(sp.test ?? []), ...(sp.also_test ?? [])],
      run.env,
      {
        roleOf: (name) =>
          sp.also_test?.includes(name) ? "also_test" : sp.test?.includes(name) ? "test" : "train",
        onProgress: (m) => run.progress("ingest", 0.1, m),
      },
    );
    if (sp.test?.length) out.testName = sp.test.map((n) => n.replace(/\.[A-Za-z0-9]+$/, "")).join("+");
    await ingest(sources);
  } else if (cfg.source.kind === "file") {
    const file = (path: string, role: SourceRole): IngestSource => ({
      kind: "file",
      ref: { path },
      role,
      name: path,
    });
    await ingest([
      ...cfg.source.files.map((p) => file(p, "train")),
      ...cfg.source.test_files.map((p) => file(p, "test")),
    ]);
  } else if (cfg.source.kind === "mongodb") {
    // as `netsec ingest --mongodb`: the collection into the record store (idempotent: record id =
    // the document's _id), then trained on like any other source
    const m = mongoSource(
      cfg.source.mongodb ?? {},
      run.env,
      () =>
        new NetsecError(
          "CONFIG_INVALID",
          "source.kind mongodb needs a URI: source.mongodb.uri in the pipeline config or MONGODB_URI",
          { key: "source.mongodb.uri", variable: "MONGODB_URI" },
        ),
    );
    await ingest([{ kind: "mongodb", ...m, role: "train", name: m.collection }]);
  } else out.train = await stored();
  return out;
}
