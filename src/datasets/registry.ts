/**
 * The dataset registry: built-in schemas (`datasets/*.yaml` in the project) plus any schema a user drops
 * into `$NETSEC_HOME/datasets/`. `fetchDataset` resolves every file of a dataset, in this order:
 *   1. the local cache (`$NETSEC_HOME/cache/<dataset>/<file>`), verified;
 *   2. the mirror directory (`NETSEC_DATASET_MIRROR/<dataset>/<file>`), verified, read in place;
 *   3. the canonical URL, downloaded to the cache (via a temporary file, renamed only once verified).
 * Zip members are verified by streaming them out of the archive (never unpacked to disk).
 * A SHA-256 mismatch is an error naming the file, both hashes and where the bytes came from.
 */
import { createHash } from "node:crypto";
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { homeLayout } from "../config/home.ts";
import { NetsecError } from "../core/errors.ts";
import { openStream, type SourceRef } from "./readers.ts";
import { type DatasetSchema, type FileSpec, loadSchemaFile } from "./schema.ts";

export const BUILTIN_SCHEMA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../datasets");

export interface RegistryOptions {
  /** NETSEC_HOME: cache and user schemas live under it. */
  home: string;
  /** NETSEC_DATASET_MIRROR. */
  mirror?: string | undefined;
  /** Never download (fail instead). */
  offline?: boolean;
  /** Progress messages (one line each). */
  onProgress?: (msg: string) => void;
  /** Injected for tests; default global fetch. */
  fetchImpl?: typeof fetch;
}

export interface ResolvedFile {
  name: string;
  sha256: string;
  ref: SourceRef;
  /** Where the verified bytes are read from. */
  origin: "cache" | "mirror" | "download";
  bytes: number;
  format: FileSpec["format"];
  rows?: number;
}

/** All schema files: built-ins first, then user schemas (a user schema may not shadow a built-in). */
export function schemaPaths(home: string): Map<string, string> {
  const out = new Map<string, string>();
  const add = (dir: string, builtin: boolean): void => {
    if (!existsSync(dir)) return;
    for (const f of readdirSync(dir).sort()) {
      if (!/\.ya?ml$/.test(f)) continue;
      const name = f.replace(/\.ya?ml$/, "");
      if (!builtin && out.has(name)) continue;
      out.set(name, join(dir, f));
    }
  };
  add(BUILTIN_SCHEMA_DIR, true);
  add(homeLayout(home).userSchemas, false);
  return out;
}

/** A schema file that does not load, and why. */
export interface InvalidSchema {
  name: string;
  file: string;
  reason: string;
}

/** Every known schema; one that does not load is reported with its reason instead of failing the rest. */
export function scanDatasets(home: string): { schemas: DatasetSchema[]; invalid: InvalidSchema[] } {
  const schemas: DatasetSchema[] = [];
  const invalid: InvalidSchema[] = [];
  for (const [name, file] of schemaPaths(home)) {
    try {
      schemas.push(loadSchemaFile(file));
    } catch (e) {
      invalid.push({ name, file, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  return { schemas, invalid };
}

/** The schemas that load (see `scanDatasets` for the ones that do not). */
export function listDatasets(home: string): DatasetSchema[] {
  return scanDatasets(home).schemas;
}

export function getDataset(name: string, home: string): DatasetSchema {
  const paths = schemaPaths(home);
  const p = paths.get(name);
  if (!p) {
    throw new NetsecError(
      "DATASET_UNKNOWN",
      `unknown dataset ${JSON.stringify(name)}; known: ${[...paths.keys()].join(", ")} (or give --file with --schema)`,
      { value: name },
    );
  }
  const s = loadSchemaFile(p);
  if (s.name !== name) {
    throw new NetsecError(
      "SCHEMA_INVALID",
      `${p}: schema name ${s.name} does not match its file name ${name}`,
      { file: p },
    );
  }
  return s;
}

export async function sha256OfStream(stream: Readable): Promise<{ sha256: string; bytes: number }> {
  const h = createHash("sha256");
  let bytes = 0;
  for await (const chunk of stream) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: h.digest("hex"), bytes };
}

/** SHA-256 of a file or zip member; FILE_UNREADABLE naming it when it cannot be opened (`openStream`). */
export async function sha256OfRef(ref: SourceRef): Promise<{ sha256: string; bytes: number }> {
  return sha256OfStream(await openStream(ref));
}

function mismatch(dataset: string, f: FileSpec, where: string, got: string): NetsecError {
  return new NetsecError(
    "CHECKSUM_MISMATCH",
    `SHA-256 mismatch for ${dataset}/${f.name} (${where}): expected ${f.sha256}, got ${got}`,
    { file: where, expected: f.sha256, actual: got },
  );
}

/**
 * A stamp next to a cached/mirrored file records (size, mtime, sha) so later runs skip re-hashing
 * unchanged files; a changed file is hashed again.
 */
function stampOk(path: string, stampPath: string, sha: string): boolean {
  try {
    const st = statSync(path);
    const s = JSON.parse(readFileSync(stampPath, "utf8")) as {
      size: number;
      mtimeMs: number;
      sha256: string;
    };
    return s.size === st.size && s.mtimeMs === st.mtimeMs && s.sha256 === sha;
  } catch {
    return false;
  }
}

function writeStamp(path: string, stampPath: string, sha: string): void {
  try {
    const st = statSync(path);
    mkdirSync(dirname(stampPath), { recursive: true });
    writeFileSync(stampPath, JSON.stringify({ size: st.size, mtimeMs: st.mtimeMs, sha256: sha }));
  } catch {
    // a stamp is only an optimisation
  }
}

/** Resolve and verify every file of a dataset (or only `only`). */
export async function fetchDataset(
  schema: DatasetSchema,
  opts: RegistryOptions,
  only?: readonly string[],
): Promise<ResolvedFile[]> {
  const files = schema.raw.files;
  const wanted = only ? files.filter((f) => only.includes(f.name)) : files;
  if (only) {
    for (const n of only) {
      if (!files.some((f) => f.name === n)) {
        throw new NetsecError("DATASET_UNKNOWN", `dataset ${schema.name} has no file ${JSON.stringify(n)}`, {
          value: n,
        });
      }
    }
  }
  const resolved = new Map<string, ResolvedFile>();
  const resolveOne = async (f: FileSpec): Promise<ResolvedFile> => {
    const have = resolved.get(f.name);
    if (have) return have;
    let r: ResolvedFile;
    if (f.member_of) {
      const archive = files.find((x) => x.name === f.member_of)!;
      const a = await resolveOne(archive);
      const ref: SourceRef = { path: a.ref.path, member: f.name };
      const stampPath = homeLayout(opts.home).datasetCache(schema.name).stamp(`${f.member_of}!${f.name}`);
      let bytes = f.bytes ?? 0;
      if (!stampOk(a.ref.path, stampPath, f.sha256)) {
        opts.onProgress?.(`verifying ${f.name} inside ${f.member_of}`);
        const got = await sha256OfRef(ref);
        if (got.sha256 !== f.sha256) throw mismatch(schema.name, f, `${a.ref.path}!${f.name}`, got.sha256);
        bytes = got.bytes;
        writeStamp(a.ref.path, stampPath, f.sha256);
      }
      r = { name: f.name, sha256: f.sha256, ref, origin: a.origin, bytes, format: f.format };
    } else {
      r = await resolveFile(schema.name, f, opts);
    }
    if (f.rows !== undefined) r.rows = f.rows;
    resolved.set(f.name, r);
    return r;
  };
  const out: ResolvedFile[] = [];
  for (const f of wanted) out.push(await resolveOne(f));
  return out;
}

async function resolveFile(dataset: string, f: FileSpec, opts: RegistryOptions): Promise<ResolvedFile> {
  const cache = homeLayout(opts.home).datasetCache(dataset);
  const cacheDir = cache.dir;
  const cachePath = cache.file(f.name);
  const base = { name: f.name, sha256: f.sha256, format: f.format };
  // 1. cache
  if (existsSync(cachePath)) {
    const stamp = cache.stamp(f.name);
    if (stampOk(cachePath, stamp, f.sha256)) {
      return { ...base, ref: { path: cachePath }, origin: "cache", bytes: statSync(cachePath).size };
    }
    const got = await sha256OfRef({ path: cachePath });
    if (got.sha256 === f.sha256) {
      writeStamp(cachePath, stamp, f.sha256);
      return { ...base, ref: { path: cachePath }, origin: "cache", bytes: got.bytes };
    }
    // a corrupt cache entry is discarded and fetched again
    opts.onProgress?.(`cached ${f.name} is corrupt (sha256 ${got.sha256}); fetching again`);
    rmSync(cachePath, { force: true });
  }
  // 2. mirror
  if (opts.mirror) {
    const mpath = resolve(opts.mirror, dataset, f.name);
    if (existsSync(mpath)) {
      const stamp = cache.stamp(`mirror-${f.name}`);
      if (!stampOk(mpath, stamp, f.sha256)) {
        opts.onProgress?.(`verifying ${mpath}`);
        const got = await sha256OfRef({ path: mpath });
        if (got.sha256 !== f.sha256) throw mismatch(dataset, f, mpath, got.sha256);
        writeStamp(mpath, stamp, f.sha256);
      }
      return { ...base, ref: { path: mpath }, origin: "mirror", bytes: statSync(mpath).size };
    }
    opts.onProgress?.(`${f.name} is not in the mirror ${opts.mirror}/${dataset}/`);
  }
  // 3. download
  if (opts.offline || !f.url) {
    throw new NetsecError(
      "DATASET_FETCH_FAILED",
      `${dataset}/${f.name} is not cached${opts.mirror ? ` nor in the mirror ${opts.mirror}` : " and NETSEC_DATASET_MIRROR is not set"}${opts.offline ? " (offline)" : ""}`,
      { file: f.name },
    );
  }
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${cachePath}.part-${process.pid}`;
  opts.onProgress?.(`downloading ${f.url}`);
  try {
    const res = await (opts.fetchImpl ?? fetch)(f.url, {
      redirect: "follow",
      signal: AbortSignal.timeout(300_000),
    });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    const hash = createHash("sha256");
    let bytes = 0;
    const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
    body.on("data", (c: Buffer) => {
      hash.update(c);
      bytes += c.length;
    });
    await pipeline(body, createWriteStream(tmp));
    const got = hash.digest("hex");
    if (got !== f.sha256) throw mismatch(dataset, f, f.url, got);
    renameSync(tmp, cachePath);
    writeStamp(cachePath, cache.stamp(f.name), f.sha256);
    return { ...base, ref: { path: cachePath }, origin: "download", bytes };
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof NetsecError) throw e;
    throw new NetsecError(
      "DATASET_FETCH_FAILED",
      `downloading ${dataset}/${f.name} from ${f.url} failed: ${(e as Error).message}${opts.mirror ? "" : " (set NETSEC_DATASET_MIRROR to a directory laid out like <dataset>/<file>)"}`,
      { file: f.name, uri: f.url },
      { cause: e },
    );
  }
}
