/**
 * Runs and registered models in an S3-compatible bucket (NETSEC_S3_URI), laid out as
 *
 *   <prefix>/runs/<run id>/artifacts/…          the run's folder ($NETSEC_HOME/artifacts/<run id>/)
 *   <prefix>/runs/<run id>/run.json             its run record (without its own `s3` state)
 *   <prefix>/runs/<run id>/manifest.json        path → sha256, size; written last
 *   <prefix>/models/<name>/<version>/bundle/…   a registered version's bundle
 *   <prefix>/models/<name>/<version>/version.json, manifest.json
 *   <prefix>/models/<name>/champion.json        {name, version, run_id}: the champion alias
 *
 * Idempotent and resumable by content digest: every object carries its SHA-256 (hex) as the metadata
 * `sha256`; a push HEADs each key and uploads only what is missing or different, and writes the manifest
 * last, so a push killed midway leaves no manifest and the next push uploads only the rest. Pulls verify
 * every file against the manifest. Never uploaded: symbolic links, dot-files (`.env`, `.aws/…`), the temp
 * files of interrupted writes, and any file holding the value of a secret variable (SECRET_VARS).
 */
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { ModelRegistry, type ModelVersion, VersionSchema } from "../bundle/registry.ts";
import { type Config, SECRET_VARS } from "../config/env.ts";
import { runPaths } from "../config/home.ts";
import { NetsecError } from "../core/errors.ts";
import type { RunRecord, RunStore } from "./run-store.ts";
import { isAuthError, type ObjectStore } from "./s3.ts";

export interface S3SyncState {
  /** `pending`: not (completely) in the bucket yet — `netsec runs push` uploads it. */
  status: "synced" | "pending";
  uri: string;
  uploaded: number;
  skipped: number;
  /** Files left out on purpose, with why (see the module comment). */
  excluded: { path: string; reason: string }[];
  /** The model version's key prefix (`models/<name>/<version>`) when one was pushed. */
  model: string | null;
  error: string | null;
  /** Why it is pending: the bucket refused the credentials (fix them first), or anything else. */
  error_kind?: "auth" | "other";
  synced_at: string | null;
}

export interface PushCounts {
  uploaded: number;
  skipped: number;
  excluded: { path: string; reason: string }[];
}

/** One line per object as it is uploaded or skipped (progress for the CLI). */
export type OnObject = (what: "uploaded" | "skipped", key: string) => void;

const ManifestSchema = z.object({
  kind: z.enum(["run", "model"]),
  id: z.string(),
  files: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number() })),
  excluded: z.array(z.object({ path: z.string(), reason: z.string() })).default([]),
  written: z.string(),
});
type Manifest = z.infer<typeof ManifestSchema>;

const ChampionSchema = z.object({
  name: z.string(),
  version: z.number().int().positive(),
  run_id: z.string(),
});

const RecordSchema = z.looseObject({
  id: z.string(),
  status: z.enum(["RUNNING", "FINISHED", "FAILED", "INTERRUPTED"]),
});

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** The secret values configured (and a URI's password), which no uploaded file may contain. */
function secretValues(env: Readonly<Config>): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const name of SECRET_VARS) {
    const v = (env as unknown as Record<string, unknown>)[name];
    if (typeof v !== "string" || v.length < 6) continue;
    out.push({ name, value: v });
    try {
      const pw = decodeURIComponent(new URL(v).password);
      if (pw.length >= 6) out.push({ name, value: pw });
    } catch {
      // not a URI
    }
  }
  return out;
}

/** Regular files under `dir`, as sorted `/`-separated relative paths, with what is left out and why. */
function localFiles(dir: string): { files: string[]; excluded: { path: string; reason: string }[] } {
  const files: string[] = [];
  const excluded: { path: string; reason: string }[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, r));
      if (name.startsWith(".")) excluded.push({ path: r, reason: "dot-file (.env, credentials)" });
      else if (st.isSymbolicLink()) excluded.push({ path: r, reason: "symbolic link" });
      else if (/\.tmp-\d+/.test(name)) excluded.push({ path: r, reason: "temp file of an unfinished write" });
      else if (st.isDirectory()) walk(r);
      else if (st.isFile()) files.push(r);
    }
  };
  walk("");
  return { files, excluded };
}

interface Upload {
  /** The path recorded in the manifest (relative to the manifest's folder). */
  path: string;
  bytes: Uint8Array;
}

/**
 * Upload `items` under `base` (skipping what the bucket holds with the same digest), then the manifest.
 * Items holding a secret value are left out (listed as excluded).
 */
async function pushSet(
  store: ObjectStore,
  base: string,
  kind: Manifest["kind"],
  id: string,
  items: Upload[],
  excludedIn: { path: string; reason: string }[],
  secrets: { name: string; value: string }[],
  onObject: OnObject,
): Promise<PushCounts> {
  const counts: PushCounts = { uploaded: 0, skipped: 0, excluded: [...excludedIn] };
  const files: Manifest["files"] = {};
  for (const it of items) {
    const buf = Buffer.from(it.bytes.buffer, it.bytes.byteOffset, it.bytes.byteLength);
    const leak = secrets.find((s) => buf.includes(s.value));
    if (leak) {
      counts.excluded.push({ path: it.path, reason: `holds the value of ${leak.name}` });
      continue;
    }
    const digest = sha256(it.bytes);
    files[it.path] = { sha256: digest, size: it.bytes.byteLength };
    const key = `${base}/${it.path}`;
    const there = await store.head(key);
    if (there?.sha256 === digest && there.size === it.bytes.byteLength) {
      counts.skipped++;
      onObject("skipped", key);
      continue;
    }
    await store.put(key, it.bytes, digest);
    counts.uploaded++;
    onObject("uploaded", key);
  }
  // the manifest last: present = complete; its content (and so its digest) only changes with the files
  const old = await store.get(`${base}/manifest.json`);
  const prev = old ? ManifestSchema.safeParse(JSON.parse(Buffer.from(old).toString("utf8"))) : null;
  const same =
    prev?.success &&
    JSON.stringify(prev.data.files) === JSON.stringify(files) &&
    JSON.stringify(prev.data.excluded) === JSON.stringify(counts.excluded);
  if (!same) {
    const manifest: Manifest = {
      kind,
      id,
      files,
      excluded: counts.excluded,
      written: new Date().toISOString(),
    };
    const bytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    await store.put(`${base}/manifest.json`, bytes, sha256(bytes));
  }
  return counts;
}

/**
 * A run record as stored in the bucket: without its own S3 state (which changes with every push), keys
 * sorted at every level, so the same record gives the same bytes (and digest) however it was built or
 * read back (the run store's parse puts its known keys first).
 */
function recordBytes(rec: RunRecord): Uint8Array {
  const { s3: _ignored, ...rest } = rec;
  return Buffer.from(`${JSON.stringify(rest, sortedKeys, 2)}\n`);
}

/** JSON.stringify replacer: plain objects with their keys in sorted order. */
function sortedKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Push a run's folder and record, then its registered model version (and champion pointer). Throws. */
export async function pushRun(
  store: ObjectStore,
  env: Readonly<Config>,
  rec: RunRecord,
  onObject: OnObject = () => {},
): Promise<PushCounts & { model: string | null }> {
  const secrets = secretValues(env);
  const root = runPaths(env.home, rec.id).root;
  const local = localFiles(root);
  const items: Upload[] = local.files.map((f) => ({
    path: `artifacts/${f}`,
    bytes: readFileSync(join(root, f)),
  }));
  items.push({ path: "run.json", bytes: recordBytes(rec) });
  const excluded = local.excluded.map((x) => ({ ...x, path: `artifacts/${x.path}` }));
  const run = await pushSet(store, `runs/${rec.id}`, "run", rec.id, items, excluded, secrets, onObject);
  let model: string | null = null;
  if (rec.status === "FINISHED" && rec.registry) {
    const m = await pushModelVersion(store, env, rec.registry.name, rec.registry.version, secrets, onObject);
    run.uploaded += m.uploaded;
    run.skipped += m.skipped;
    run.excluded.push(...m.excluded.map((x) => ({ ...x, path: `models/${x.path}` })));
    model = `models/${rec.registry.name}/${rec.registry.version}`;
  }
  return { ...run, model };
}

async function pushModelVersion(
  store: ObjectStore,
  env: Readonly<Config>,
  name: string,
  version: number,
  secrets: { name: string; value: string }[],
  onObject: OnObject,
): Promise<PushCounts> {
  const registry = new ModelRegistry(env.home);
  const idx = registry.index(name);
  const meta = idx.versions.find((v) => v.version === version);
  if (!meta)
    throw new NetsecError("MODEL_NOT_FOUND", `model ${name} has no version ${version} in ${registry.root}`, {
      value: `${name}@${version}`,
    });
  const base = `models/${name}/${version}`;
  // versions are numbered per registry: never overwrite another run's version of the same number
  const there = await store.get(`${base}/version.json`);
  if (there) {
    const v = VersionSchema.safeParse(JSON.parse(Buffer.from(there).toString("utf8")));
    if (v.success && v.data.run_id !== meta.run_id)
      throw new NetsecError(
        "CONFLICT",
        `${store.shownUri}/${base} holds run ${v.data.run_id}'s model, not run ${meta.run_id}'s: another registry pushed version ${version} of ${name} to this prefix`,
        { key: base, value: meta.run_id },
      );
  }
  const dir = registry.versionDir(name, version);
  const local = localFiles(dir);
  const items: Upload[] = local.files.map((f) => ({
    path: `bundle/${f}`,
    bytes: readFileSync(join(dir, f)),
  }));
  items.push({ path: "version.json", bytes: Buffer.from(`${JSON.stringify(meta, null, 2)}\n`) });
  const excluded = local.excluded.map((x) => ({ ...x, path: `bundle/${x.path}` }));
  const counts = await pushSet(
    store,
    base,
    "model",
    `${name}@${version}`,
    items,
    excluded,
    secrets,
    onObject,
  );
  if (idx.aliases.champion === version) {
    const bytes = Buffer.from(`${JSON.stringify({ name, version, run_id: meta.run_id }, null, 2)}\n`);
    const key = `models/${name}/champion.json`;
    const head = await store.head(key);
    const digest = sha256(bytes);
    if (head?.sha256 === digest) {
      counts.skipped++;
      onObject("skipped", key);
    } else {
      await store.put(key, bytes, digest);
      counts.uploaded++;
      onObject("uploaded", key);
    }
  }
  return counts;
}

/**
 * Push a run (and its model) and say how it went; never throws. `synced`, or `pending` with the reason
 * (the run stays complete locally and `netsec runs push` finishes the upload later).
 */
export async function syncRunToS3(
  store: ObjectStore,
  env: Readonly<Config>,
  rec: RunRecord,
  onObject: OnObject = () => {},
): Promise<S3SyncState> {
  try {
    const r = await pushRun(store, env, rec, onObject);
    return {
      status: "synced",
      uri: store.shownUri,
      uploaded: r.uploaded,
      skipped: r.skipped,
      excluded: r.excluded,
      model: r.model,
      error: null,
      synced_at: new Date().toISOString(),
    };
  } catch (e) {
    return {
      status: "pending",
      uri: store.shownUri,
      uploaded: 0,
      skipped: 0,
      excluded: [],
      model: null,
      error: e instanceof Error ? e.message : String(e),
      error_kind: isAuthError(e) ? "auth" : "other",
      synced_at: null,
    };
  }
}

/** A manifest's relative path, refused if it could escape the folder it is written into. */
function safeRel(rel: string, uri: string): string {
  if (rel.split("/").some((p) => p === "" || p === "." || p === "..") || rel.startsWith("/"))
    throw new NetsecError(
      "BUNDLE_INVALID",
      `manifest at ${uri} names an unsafe path ${JSON.stringify(rel)}`,
      {
        uri,
        value: rel,
      },
    );
  return rel;
}

async function readManifest(
  store: ObjectStore,
  base: string,
  what: string,
  code: "RUN_NOT_FOUND" | "MODEL_NOT_FOUND",
) {
  const bytes = await store.get(`${base}/manifest.json`);
  if (!bytes)
    throw new NetsecError(
      code,
      `${store.shownUri}/${base}/manifest.json not found: ${what} was never (completely) pushed there`,
      { uri: `${store.shownUri}/${base}` },
    );
  const m = ManifestSchema.safeParse(JSON.parse(Buffer.from(bytes).toString("utf8")));
  if (!m.success)
    throw new NetsecError(
      "BUNDLE_INVALID",
      `${store.shownUri}/${base}/manifest.json is not a netsec manifest: ${m.error.issues[0]?.message}`,
      { uri: `${store.shownUri}/${base}/manifest.json` },
    );
  return m.data;
}

/** Download every file of a manifest into `dest` (created), each checked against its SHA-256. */
async function download(
  store: ObjectStore,
  base: string,
  m: Manifest,
  filter: (rel: string) => string | null,
  dest: string,
) {
  let n = 0;
  for (const [rel, want] of Object.entries(m.files)) {
    const target = filter(safeRel(rel, `${store.shownUri}/${base}`));
    if (target === null) continue;
    const bytes = await store.get(`${base}/${rel}`);
    if (!bytes)
      throw new NetsecError(
        "FILE_UNREADABLE",
        `${store.shownUri}/${base}/${rel} is listed in the manifest but missing`,
        {
          uri: `${store.shownUri}/${base}/${rel}`,
        },
      );
    const got = sha256(bytes);
    if (got !== want.sha256)
      throw new NetsecError(
        "CHECKSUM_MISMATCH",
        `${store.shownUri}/${base}/${rel}: SHA-256 ${got} differs from the manifest's ${want.sha256}`,
        { uri: `${store.shownUri}/${base}/${rel}`, value: got },
      );
    const path = join(dest, target);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    n++;
  }
  return n;
}

/** Bring a run's folder and record from the bucket into this NETSEC_HOME. Returns the files written. */
export async function pullRun(store: ObjectStore, env: Readonly<Config>, runs: RunStore, id: string) {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(id))
    throw new NetsecError("RUN_NOT_FOUND", `invalid run id ${JSON.stringify(id)}`, { value: id });
  const root = runPaths(env.home, id).root;
  const base = `runs/${id}`;
  const m = await readManifest(store, base, `run ${id}`, "RUN_NOT_FOUND");
  const files = await download(
    store,
    base,
    m,
    (rel) => (rel.startsWith("artifacts/") ? rel.slice(10) : null),
    root,
  );
  const recBytes = await store.get(`${base}/run.json`);
  const want = m.files["run.json"];
  if (!recBytes || !want || sha256(recBytes) !== want.sha256)
    throw new NetsecError(
      "CHECKSUM_MISMATCH",
      `${store.shownUri}/${base}/run.json is missing or differs from the manifest`,
      {
        uri: `${store.shownUri}/${base}/run.json`,
      },
    );
  const parsed = RecordSchema.safeParse(JSON.parse(Buffer.from(recBytes).toString("utf8")));
  if (!parsed.success || parsed.data.id !== id)
    throw new NetsecError("BUNDLE_INVALID", `${store.shownUri}/${base}/run.json is not run ${id}'s record`, {
      uri: `${store.shownUri}/${base}/run.json`,
    });
  const rec = parsed.data as unknown as RunRecord;
  rec.artifacts = root;
  rec.s3 = {
    status: "synced",
    uri: store.shownUri,
    uploaded: 0,
    skipped: Object.keys(m.files).length,
    excluded: m.excluded,
    model: null,
    error: null,
    synced_at: new Date().toISOString(),
  };
  runs.save(rec);
  return { files: files + 1, record: rec };
}

/**
 * Install `<name>@champion` or `<name>@<version>` from the bucket into the local registry (as its next
 * version, tagged with where it came from; a version of the same run already there is reused) and, for
 * `@champion`, make it the local champion.
 */
export async function pullModel(store: ObjectStore, env: Readonly<Config>, ref: string) {
  const r = /^([A-Za-z0-9_.-]+)@(champion|\d+)$/.exec(ref);
  if (!r)
    throw new NetsecError(
      "CONFIG_INVALID",
      `model reference ${JSON.stringify(ref)} is not <name>@champion or <name>@<version>`,
      {
        value: ref,
      },
    );
  const name = r[1]!;
  let remoteVersion: number;
  if (r[2] === "champion") {
    const bytes = await store.get(`models/${name}/champion.json`);
    if (!bytes)
      throw new NetsecError(
        "MODEL_NOT_FOUND",
        `${store.shownUri}/models/${name}/champion.json not found: no champion of ${name} was pushed`,
        {
          value: ref,
        },
      );
    const c = ChampionSchema.safeParse(JSON.parse(Buffer.from(bytes).toString("utf8")));
    if (!c.success)
      throw new NetsecError(
        "BUNDLE_INVALID",
        `${store.shownUri}/models/${name}/champion.json is malformed: ${c.error.issues[0]?.message}`,
        {
          value: ref,
        },
      );
    remoteVersion = c.data.version;
  } else remoteVersion = Number(r[2]);
  const base = `models/${name}/${remoteVersion}`;
  const m = await readManifest(store, base, `model ${name} version ${remoteVersion}`, "MODEL_NOT_FOUND");
  const metaBytes = await store.get(`${base}/version.json`);
  const meta = metaBytes
    ? VersionSchema.safeParse(JSON.parse(Buffer.from(metaBytes).toString("utf8")))
    : null;
  if (!meta?.success || sha256(metaBytes!) !== m.files["version.json"]?.sha256)
    throw new NetsecError(
      "BUNDLE_INVALID",
      `${store.shownUri}/${base}/version.json is missing, malformed or differs from the manifest`,
      {
        uri: `${store.shownUri}/${base}/version.json`,
      },
    );
  const registry = new ModelRegistry(env.home);
  let local: ModelVersion | undefined = registry
    .index(name)
    .versions.find((v) => v.run_id === meta.data.run_id);
  let files = 0;
  if (!local) {
    const tmp = join(tmpdir(), `netsec-pull-${process.pid}-${Date.now()}`);
    try {
      files = await download(store, base, m, (rel) => (rel.startsWith("bundle/") ? rel.slice(7) : null), tmp);
      const { version: _v, created: _c, ...rest } = meta.data;
      local = registry.addVersion(name, tmp, {
        ...rest,
        tags: { ...rest.tags, s3_source: `${store.shownUri}/${base}` },
      });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  if (r[2] === "champion" && registry.index(name).aliases.champion !== local.version)
    registry.setAlias(
      name,
      "champion",
      local.version,
      `pulled from ${store.shownUri}/${base} (champion there)`,
    );
  return {
    name,
    remote_version: remoteVersion,
    local_version: local.version,
    files,
    champion: r[2] === "champion",
  };
}
