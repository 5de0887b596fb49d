/**
 * `netsec schema infer` through the real CLI: the schema it writes lets `netsec ingest` take the
 * file and `netsec train --schema … --data …` train a fixed random forest on it (small files, fast).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/env.ts";

const FIX = join(import.meta.dirname, "../datasets/fixtures");
const tmp = tempDir();
afterAll(tmp.cleanup);
const env = { NETSEC_HOME: join(tmp.dir, "home") };
const RF = ["--models", "random_forest", "--params", '{"n_estimators":20}'];

describe("netsec schema infer → ingest → train", () => {
  it("CIC-IDS2017-like: says what it trimmed, renamed and read as missing; the file ingests and trains", () => {
    const file = join(FIX, "cic-like.csv");
    const out = join(tmp.dir, "cic.yaml");
    const r = runCli(["schema", "infer", file, "--out", out, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({
      ok: true,
      out,
      name: "cic-like",
      rows: 600,
      target: "Label",
      benign: ["BENIGN"],
      infinity: "missing",
      renamed: [{ column: 15, name: "Fwd Header Length", as: "Fwd Header Length_2" }],
    });
    expect(r.stderr).toMatch(/header column 15 repeats "Fwd Header Length": renamed Fwd Header Length_2/);
    expect(r.stderr).toMatch(
      /13 header name\(s\) had spaces around them and are used trimmed .*" Source IP", .*" Label"/,
    );
    expect(r.stderr).toMatch(/Flow Bytes\/s: \d+ infinite value\(s\), read as missing/);
    expect(readFileSync(out, "utf8")).toMatch(/^target: Label$/m);
    expect(r.stderr).toContain(`next: netsec ingest --schema ${out} --file ${file}`);

    const ing = runCli(["ingest", "--schema", out, "--file", file, "--json"], env);
    expect(ing.code, ing.stderr).toBe(0);
    expect(ing.json).toMatchObject({ ok: true, dataset: "cic-like", added: 600, total: 600 });

    const tr = runCli(["train", "--schema", out, "--data", file, ...RF, "--json"], env);
    expect(tr.code, tr.stderr).toBe(0);
    expect(tr.json).toMatchObject({ status: "FINISHED", target: "binary" });
  });

  it("UNSW-NB15-like: attack_cat is the category column, and --target category learns its values", () => {
    const file = join(FIX, "unsw-like.csv");
    const out = join(tmp.dir, "unsw.yaml");
    const r = runCli(["schema", "infer", file, "--out", out, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ target: "label", benign: [0], category_column: "attack_cat" });
    expect(runCli(["ingest", "--schema", out, "--file", file], env).code).toBe(0);
    const tr = runCli(
      ["train", "--schema", out, "--data", file, "--target", "category", ...RF, "--json"],
      env,
    );
    expect(tr.code, tr.stderr).toBe(0);
    const pc = tr.json!.per_class as { classes: string[]; class_is_threat: boolean[] };
    expect(pc.classes).toEqual(["DoS", "Exploits", "Fuzzers", "Generic", "Normal", "Reconnaissance"]);
    expect(pc.class_is_threat).toEqual([true, true, true, true, false, true]);
  });

  it("300 categorical values: all kept, said so; the file trains", () => {
    const file = join(FIX, "many-categories.csv");
    const out = join(tmp.dir, "many.yaml");
    const r = runCli(["schema", "infer", file, "--out", out], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/src_host: categorical with 300 values, all listed/);
    const tr = runCli(["train", "--schema", out, "--data", file, ...RF, "--json"], env);
    expect(tr.code, tr.stderr).toBe(0);
    expect(tr.json).toMatchObject({ status: "FINISHED" });
  });

  it("never overwrites a file without --force; --out - prints the YAML alone on stdout", () => {
    const file = join(FIX, "many-categories.csv");
    const out = join(tmp.dir, "many.yaml");
    expect(existsSync(out)).toBe(true);
    const again = runCli(["schema", "infer", file, "--out", out], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/error \[CONFLICT\]: .*many\.yaml exists; give --force/);
    expect(runCli(["schema", "infer", file, "--out", out, "--force"], env).code).toBe(0);
    const piped = runCli(["schema", "infer", file, "--out", "-"], env);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toBe(readFileSync(out, "utf8"));
  });
});
