/**
 * The local model registry: `$NETSEC_HOME/registry/<model name>/` holds numbered versions (each a
 * complete model bundle directory) and aliases (`champion`). Writes are atomic (temp + rename) so a
 * server reading the registry never sees a half-written version or alias.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { z } from "zod";
import { type HomeLayout, homeLayout } from "../config/home.ts";
import { NetsecError } from "../core/errors.ts";

/** A registered version as `registry.json` keeps it (also the `version.json` pushed to S3). */
export const VersionSchema = z.object({
  version: z.number().int().positive(),
  run_id: z.string(),
  created: z.string(),
  model: z.string(),
  dataset: z.string(),
  /** The score used for champion decisions (name + value) on `test_data_sha256`. */
  score_name: z.string(),
  score: z.number(),
  test_data_sha256: z.string(),
  metrics: z.record(z.string(), z.number().nullable()).default({}),
  tags: z.record(z.string(), z.string()).default({}),
});

const RegistrySchema = z.object({
  name: z.string(),
  versions: z.array(VersionSchema),
  aliases: z.record(z.string(), z.number().int().positive()),
  /** Every alias change, newest last. */
  history: z
    .array(z.object({ alias: z.string(), version: z.number().int(), at: z.string(), reason: z.string() }))
    .default([]),
});

export type ModelVersion = z.infer<typeof VersionSchema>;
export type RegistryIndex = z.infer<typeof RegistrySchema>;

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export class ModelRegistry {
  readonly root: string;
  private readonly layout: HomeLayout;

  constructor(home: string) {
    this.layout = homeLayout(home);
    this.root = this.layout.registry;
  }

  private paths(name: string): ReturnType<HomeLayout["registryModel"]> {
    if (!/^[A-Za-z0-9_.-]+$/.test(name))
      throw new NetsecError("MODEL_NOT_FOUND", `invalid model name ${JSON.stringify(name)}`, { value: name });
    return this.layout.registryModel(name);
  }

  /** Path of a model's index (registry.json): its change time says the registry changed. */
  indexFile(name: string): string {
    return this.paths(name).index;
  }

  names(): string[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root)
      .filter((n) => existsSync(this.layout.registryModel(n).index))
      .sort();
  }

  index(name: string): RegistryIndex {
    const p = this.paths(name).index;
    if (!existsSync(p)) return { name, versions: [], aliases: {}, history: [] };
    const corrupt = (why: string): NetsecError =>
      new NetsecError(
        "STATE_CORRUPT",
        `registry index ${p} is damaged (${why}); restore it from a backup, or move it aside (mv ${JSON.stringify(p)} ${JSON.stringify(`${p}.damaged`)}) and train again to register a new version (the bundles under ${this.paths(name).versions} are kept)`,
        { file: p },
      );
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(p, "utf8"));
    } catch (e) {
      throw corrupt(`not valid JSON: ${(e as Error).message}`);
    }
    const r = RegistrySchema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw corrupt(`${i.path.join(".") || "(top)"}: ${i.message}`);
    }
    return r.data;
  }

  private save(idx: RegistryIndex): void {
    mkdirSync(this.paths(idx.name).dir, { recursive: true });
    writeAtomic(this.paths(idx.name).index, `${JSON.stringify(idx, null, 2)}\n`);
  }

  /** Path of a version's bundle directory. */
  versionDir(name: string, version: number): string {
    return this.paths(name).version(version);
  }

  /** Copy a bundle directory in as the next version. */
  addVersion(name: string, bundleDir: string, meta: Omit<ModelVersion, "version" | "created">): ModelVersion {
    const idx = this.index(name);
    const version = (idx.versions.at(-1)?.version ?? 0) + 1;
    const dest = this.versionDir(name, version);
    const tmp = `${dest}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(this.paths(name).versions, { recursive: true });
    cpSync(bundleDir, tmp, { recursive: true });
    renameSync(tmp, dest);
    const v: ModelVersion = { ...meta, version, created: new Date().toISOString() };
    idx.versions.push(v);
    this.save(idx);
    return v;
  }

  setAlias(name: string, alias: string, version: number, reason: string): void {
    const idx = this.index(name);
    if (!idx.versions.some((v) => v.version === version)) {
      throw new NetsecError("MODEL_NOT_FOUND", `model ${name} has no version ${version}`, { value: version });
    }
    idx.aliases[alias] = version;
    idx.history.push({ alias, version, at: new Date().toISOString(), reason });
    this.save(idx);
  }

  /**
   * Versions to serve instead of `version` when it does not load, best first: the earlier champions
   * (most recent first), then the other earlier versions (newest first).
   */
  fallbacks(name: string, version: number): number[] {
    const idx = this.index(name);
    const out: number[] = [];
    const add = (v: number): void => {
      if (v !== version && !out.includes(v) && idx.versions.some((x) => x.version === v)) out.push(v);
    };
    for (const h of [...idx.history].reverse()) if (h.alias === "champion") add(h.version);
    for (const v of [...idx.versions].reverse()) if (v.version < version) add(v.version);
    return out;
  }

  /** The version an alias points to, or undefined. */
  alias(name: string, alias: string): ModelVersion | undefined {
    const idx = this.index(name);
    const v = idx.aliases[alias];
    return v === undefined ? undefined : idx.versions.find((x) => x.version === v);
  }

  /**
   * Resolve `champion`, `<name>@champion`, `<name>:<version>` or `<name>` (its champion) to a bundle
   * directory. With a bare alias and one registered model name, that model is used.
   */
  resolve(ref: string): { name: string; version: ModelVersion; dir: string } {
    let name: string | undefined;
    let sel: string;
    const m = /^([A-Za-z0-9_.-]+)?(?:[@:](.+))?$/.exec(ref);
    if (!m)
      throw new NetsecError("MODEL_NOT_FOUND", `cannot parse model reference ${JSON.stringify(ref)}`, {
        value: ref,
      });
    if (m[2] === undefined) {
      if (m[1] === "champion") {
        const names = this.names();
        if (names.length === 0)
          throw new NetsecError(
            "MODEL_NOT_FOUND",
            `no model is registered yet under ${this.root}; run \`netsec train\``,
            { value: ref },
          );
        const withChampion = names.filter((n) => this.index(n).aliases.champion !== undefined);
        if (withChampion.length !== 1) {
          throw new NetsecError(
            "MODEL_NOT_FOUND",
            `"champion" is ambiguous: models ${withChampion.join(", ") || "(none with a champion)"}; use <name>@champion`,
            { value: ref },
          );
        }
        name = withChampion[0]!;
        sel = "champion";
      } else {
        name = m[1]!;
        sel = "champion";
      }
    } else {
      name = m[1] ?? this.names()[0];
      sel = m[2];
    }
    if (!name)
      throw new NetsecError("MODEL_NOT_FOUND", `no model is registered yet under ${this.root}`, {
        value: ref,
      });
    const idx = this.index(name);
    if (idx.versions.length === 0)
      throw new NetsecError("MODEL_NOT_FOUND", `no model named ${name} in ${this.root}`, { value: ref });
    const version = /^\d+$/.test(sel)
      ? idx.versions.find((v) => v.version === Number(sel))
      : this.alias(name, sel);
    if (!version)
      throw new NetsecError(
        "MODEL_NOT_FOUND",
        `model ${name} has no version or alias ${JSON.stringify(sel)}`,
        { value: ref },
      );
    return { name, version, dir: this.versionDir(name, version.version) };
  }
}
