/**
 * The files `POST /train` may read: only those under the server's data directories (`--data-dir`,
 * NETSEC_DATA_DIRS). A pipeline config names files in `schema`, `source.files` and
 * `source.test_files`; each is resolved (a relative name against each data directory in turn, the
 * first that has it), its real path taken (symlinks followed, `..` gone) and checked to lie inside a
 * data directory's real path; the config the worker gets holds those real paths. With no data
 * directory configured a config naming a file is refused (403) with how to allow it; registry
 * datasets need no file and stay allowed. Messages name the file as the caller wrote it, never a
 * server path.
 */
import { realpathSync, statSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { NetsecError } from "../core/errors.ts";

/** The real path of each data directory; a missing one is a CONFIG_INVALID naming it (at start). */
export function resolveDataDirs(dirs: readonly string[]): string[] {
  return dirs.map((d) => {
    let real: string;
    try {
      real = realpathSync(d);
    } catch {
      throw new NetsecError(
        "CONFIG_INVALID",
        `data directory ${d} does not exist (--data-dir / NETSEC_DATA_DIRS)`,
        {
          value: d,
        },
      );
    }
    if (!statSync(real).isDirectory())
      throw new NetsecError(
        "CONFIG_INVALID",
        `data directory ${d} is not a directory (--data-dir / NETSEC_DATA_DIRS)`,
        {
          value: d,
        },
      );
    return real;
  });
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

/** The real path of one file a caller named, inside a data directory; 403/400 otherwise. */
function confineFile(name: string, key: string, dirs: readonly string[]): string {
  const shown = JSON.stringify(name.length > 200 ? `${name.slice(0, 197)}...` : name);
  if (dirs.length === 0) {
    throw new NetsecError(
      "FORBIDDEN",
      `${key} names the file ${shown}, but this server reads no files for POST /train: start netsec serve with --data-dir <dir> (or NETSEC_DATA_DIRS) to allow training on files under <dir>, or train on a registered dataset ("dataset": "<name>")`,
      { part: "body", key, value: name, reason: "no_data_dirs" },
    );
  }
  if (name === "" || name.includes("\0")) {
    throw new NetsecError("BAD_REQUEST", `${key}: ${shown} is not a file name`, {
      part: "body",
      key,
      value: name,
    });
  }
  const candidates = isAbsolute(name) ? [name] : dirs.map((d) => join(d, name));
  for (const c of candidates) {
    let real: string;
    try {
      real = realpathSync(c);
    } catch {
      continue;
    }
    if (!dirs.some((d) => inside(d, real))) {
      throw new NetsecError(
        "FORBIDDEN",
        `${key}: ${shown} is outside the data directories this server reads for POST /train`,
        { part: "body", key, value: name, reason: "outside_data_dirs" },
      );
    }
    if (!statSync(real).isFile())
      throw new NetsecError("BAD_REQUEST", `${key}: ${shown} is not a file`, {
        part: "body",
        key,
        value: name,
      });
    return real;
  }
  throw new NetsecError(
    "FILE_UNREADABLE",
    `${key}: no file ${shown} in the data directories this server reads for POST /train`,
    { part: "body", key, value: name },
  );
}

/**
 * The config with every file it names replaced by its real path inside a data directory; throws
 * 403 (no data directories, or a file outside them), 400/FILE_UNREADABLE (no such file).
 */
export function confineTrainFiles(config: unknown, dataDirs: readonly string[]): unknown {
  if (config === null || typeof config !== "object" || Array.isArray(config)) return config;
  const c = config as Record<string, unknown>;
  let dirs: string[] | null = null;
  const real = (name: string, key: string): string => {
    dirs ??= dataDirs.flatMap((d) => {
      try {
        return [realpathSync(d)];
      } catch {
        return [];
      }
    });
    return confineFile(name, key, dirs);
  };
  const out: Record<string, unknown> = { ...c };
  if (typeof c.schema === "string") out.schema = real(c.schema, "schema");
  const source = c.source;
  if (source && typeof source === "object" && !Array.isArray(source)) {
    const s = { ...(source as Record<string, unknown>) };
    for (const key of ["files", "test_files"] as const) {
      const list = s[key];
      if (Array.isArray(list))
        s[key] = list.map((f, i) => (typeof f === "string" ? real(f, `source.${key}[${i}]`) : f));
    }
    out.source = s;
  }
  return out;
}
