/**
 * The module map (DEVELOPERS.md's table) is the rule for imports: a folder of src/ imports only folders
 * listed below it. This walks every import in src/ (static, `import type`, dynamic, and worker files
 * named by `new URL(…, import.meta.url)`) and fails on one that points up the table.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");
const SRC = join(ROOT, "src");

/** The folders of the module map, top (imports most) to bottom (imports nothing), read from DEVELOPERS.md. */
function moduleOrder(): string[] {
  const md = readFileSync(join(ROOT, "DEVELOPERS.md"), "utf8");
  return [...md.matchAll(/^\| `src\/([a-z]+)\/` \|/gm)].map((m) => m[1]!);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** The relative module specifiers a file imports. */
function importsOf(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\bfrom\s+["'](\.{1,2}\/[^"']+)["']/g,
    /\bimport\s*\(\s*["'](\.{1,2}\/[^"']+)["']/g,
    /\bimport\s+["'](\.{1,2}\/[^"']+)["']/g,
    /new URL\(\s*["'](\.{1,2}\/[^"']+\.ts)["']\s*,\s*import\.meta\.url/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

/** The top folder under src/ of a path. */
const folderOf = (path: string): string => relative(SRC, path).split(sep)[0]!;

describe("module map", () => {
  const order = moduleOrder();

  it("is read from DEVELOPERS.md and names every folder under src/", () => {
    expect(order.slice(0, 4)).toEqual(["cli", "stream", "serve", "pipeline"]);
    expect(order.at(-1)).toBe("core");
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== "types") // types/: ambient declarations only
      .map((e) => e.name);
    expect(folders.filter((f) => !order.includes(f))).toEqual([]);
  });

  it("finds each kind of import", () => {
    const text = `import { a } from "../core/a.ts";
import type { B } from "./b.ts";
export { c } from "../store/c.ts";
const d = await import("../pipeline/run.ts");
import "../types/x.ts";
new Worker(new URL("../serve/train-worker.ts", import.meta.url));`;
    expect(importsOf(text).sort()).toEqual(
      [
        "../core/a.ts",
        "./b.ts",
        "../store/c.ts",
        "../pipeline/run.ts",
        "../types/x.ts",
        "../serve/train-worker.ts",
      ].sort(),
    );
  });

  it("is kept: no file imports a folder above its own", () => {
    const rank = new Map(order.map((f, i) => [f, i]));
    const upward: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const from = folderOf(file);
      if (!rank.has(from)) continue;
      for (const spec of importsOf(readFileSync(file, "utf8"))) {
        const to = folderOf(resolve(dirname(file), spec));
        if (to === from || !rank.has(to)) continue;
        if (rank.get(to)! < rank.get(from)!)
          upward.push(`${relative(SRC, file)} → ${spec} (${from} imports ${to})`);
      }
    }
    expect(upward).toEqual([]);
  });
});
