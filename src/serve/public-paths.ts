/**
 * No absolute server path in a public response. Paths reach answers from many places (a run's
 * failure message, a model that did not load, a training job's result with its artifacts folder, an
 * error naming a file), so the server rewrites every JSON and HTML answer as it is sent: each known
 * root is replaced by a name that says what it is, the longest root first so the most specific wins:
 * NETSEC_HOME → `$NETSEC_HOME`, a data directory → `$DATA_DIR`, the netsec checkout → `<netsec>`, the
 * working directory → `.`, the temporary folder → `<tmp>`, the user's home → `~`. Symlinked roots
 * are matched under both spellings. Other text (a user's values, URLs such as `/runs/<id>`) is left
 * as it is; CSV answers (a user's own rows) are never rewritten.
 */
import { realpathSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface PathRoot {
  path: string;
  shown: string;
}

/** The roots a server knows: its home, its data directories, the checkout, cwd, tmp and ~. */
export function serverRoots(home: string, dataDirs: readonly string[] = []): PathRoot[] {
  return [
    { path: home, shown: "$NETSEC_HOME" },
    ...dataDirs.map((d) => ({ path: d, shown: "$DATA_DIR" })),
    { path: fileURLToPath(new URL("../..", import.meta.url)), shown: "<netsec>" },
    { path: process.cwd(), shown: "." },
    { path: tmpdir(), shown: "<tmp>" },
    { path: homedir(), shown: "~" },
  ];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A function that replaces every root (and its real path) in a text, at a path boundary only (`/tmp`
 * is replaced in `/tmp/x` and `/tmp"`, not in `/tmpfoo`). Roots of one character (`/`) are ignored.
 */
export function pathScrubber(roots: readonly PathRoot[]): (text: string) => string {
  const spelled = new Map<string, string>();
  for (const r of roots) {
    const forms = [resolve(r.path)];
    try {
      forms.push(realpathSync(r.path));
    } catch {
      // a root that does not exist (yet) is matched as written
    }
    for (let f of forms) {
      f = f.replace(/\/+$/, "");
      if (f.length > 1 && !spelled.has(f)) spelled.set(f, r.shown);
    }
  }
  const ordered = [...spelled.keys()].sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return (t) => t;
  const re = new RegExp(`(?:${ordered.map(escapeRegExp).join("|")})(?![A-Za-z0-9_.~-])`, "g");
  return (text) => {
    // the common case (no root anywhere) costs one scan per root, no allocation
    if (!ordered.some((r) => text.includes(r))) return text;
    return text.replace(re, (m) => spelled.get(m)!);
  };
}
