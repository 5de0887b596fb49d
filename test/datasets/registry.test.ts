import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNetsecError, type NetsecError } from "../../src/core/errors.ts";
import { fetchDataset, getDataset, listDatasets } from "../../src/datasets/registry.ts";
import { parseSchema } from "../../src/datasets/schema.ts";
import { runCli } from "../helpers/cli.ts";
import { MIRROR, tempDir } from "../helpers/env.ts";

const tmp = tempDir();
afterAll(tmp.cleanup);

describe("built-in datasets", () => {
  it("lists phishing and nsl-kdd with valid schemas", () => {
    const names = listDatasets(tmp.dir).map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(["phishing", "nsl-kdd"]));
  });

  it("phishing: 30 features, target Result, threat = -1", () => {
    const s = getDataset("phishing", tmp.dir);
    expect(s.features).toHaveLength(30);
    expect(s.target.name).toBe("Result");
    expect(s.isThreat(-1)).toBe(true);
    expect(s.isThreat("1")).toBe(false);
    expect(s.labelName(-1)).toBe("phishing");
  });

  it("nsl-kdd: 41 features, difficulty is metadata, categories cover the 17 test-only attacks", () => {
    const s = getDataset("nsl-kdd", tmp.dir);
    expect(s.features).toHaveLength(41);
    expect(s.featureNames).not.toContain("difficulty");
    expect(s.isThreat("normal")).toBe(false);
    expect(s.isThreat("neptune")).toBe(true);
    for (const [a, c] of Object.entries({
      apache2: "dos",
      mscan: "probe",
      snmpguess: "r2l",
      sqlattack: "u2r",
      neptune: "dos",
    })) {
      expect(s.labelCategory(a)).toBe(c);
    }
    const cats = s.raw.labels.categories!;
    expect(Object.keys(cats).filter((k) => k !== "normal")).toHaveLength(22 + 17);
  });

  it("unknown dataset names the known ones", () => {
    expect(() => getDataset("nope", tmp.dir)).toThrow(/unknown dataset "nope"; known: .*phishing/);
  });
});

describe("schema validation", () => {
  it("lists every problem of a bad schema", () => {
    try {
      parseSchema(
        "name: x\ntitle: t\ntarget: y\nlabels: {threat: [1], benign: [0]}\ncolumns:\n  - {name: a, type: integer, min: 3, max: 1}\n  - {name: a, type: number}\n",
        "bad.yaml",
      );
      throw new Error("no error");
    } catch (e) {
      const m = (e as Error).message;
      expect(m).toMatch(/bad\.yaml/);
      expect(m).toMatch(/declared twice/);
      expect(m).toMatch(/min 3 > max 1/);
      expect(m).toMatch(/target "y" is not a declared column/);
      expect(m).toMatch(/exactly one of `threat` or `benign`/);
    }
  });

  it("rejects unknown keys and bad types", () => {
    expect(() =>
      parseSchema(
        "name: x\ntitle: t\ntarget: y\nlabels: {threat: [1]}\ncolumns:\n  - {name: y, type: float}\n  - {name: z, type: integer, colour: red}\n",
      ),
    ).toThrow(/columns\.0\.type.*columns\.1/s);
  });
});

describe("fetch from the mirror", () => {
  it("verifies phishing's two files in the mirror and reads them in place", async () => {
    const s = getDataset("phishing", tmp.dir);
    const files = await fetchDataset(s, { home: tmp.dir, mirror: MIRROR });
    expect(files.map((f) => f.name).sort()).toEqual(["Training Dataset.arff", "phisingData.csv"]);
    for (const f of files) {
      expect(f.origin).toBe("mirror");
      const sha = createHash("sha256").update(readFileSync(f.ref.path)).digest("hex");
      expect(sha).toBe(f.sha256);
    }
  });

  it("verifies KDDTrain+.txt inside the zip by streaming it", async () => {
    const s = getDataset("nsl-kdd", tmp.dir);
    const [f] = await fetchDataset(s, { home: tmp.dir, mirror: MIRROR }, ["KDDTrain+.txt"]);
    expect(f!.ref.member).toBe("KDDTrain+.txt");
    expect(f!.ref.path).toMatch(/NSL_KDD\.zip$/);
    expect(f!.bytes).toBe(19109424);
  });

  it("a wrong SHA-256 in the mirror is an error naming both hashes", async () => {
    const mirror = join(tmp.dir, "badmirror");
    mkdirSync(join(mirror, "phishing"), { recursive: true });
    writeFileSync(join(mirror, "phishing", "phisingData.csv"), "a,b\n1,2\n");
    const got = createHash("sha256").update("a,b\n1,2\n").digest("hex");
    const s = getDataset("phishing", tmp.dir);
    const home = join(tmp.dir, "home-bad");
    await expect(fetchDataset(s, { home, mirror }, ["phisingData.csv"])).rejects.toThrow(
      new RegExp(`expected e20bf913b6c2e669f4e875e5d223be2542cc7c79a7b62d284ae9d9627c3d9678, got ${got}`),
    );
  });

  it("without mirror or cache, offline is a clear error", async () => {
    const s = getDataset("phishing", tmp.dir);
    try {
      await fetchDataset(s, { home: join(tmp.dir, "h2"), offline: true }, ["phisingData.csv"]);
      throw new Error("no error");
    } catch (e) {
      expect(isNetsecError(e)).toBe(true);
      expect((e as NetsecError).code).toBe("DATASET_FETCH_FAILED");
      expect((e as Error).message).toMatch(/not cached .*NETSEC_DATASET_MIRROR is not set/);
    }
  });
});

describe("download from a URL (a real HTTP server on 127.0.0.1)", () => {
  let server: Server;
  let base = "";
  const body = readFileSync(join(MIRROR, "phishing", "phisingData.csv"));
  const sha = createHash("sha256").update(body).digest("hex");
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      if (req.url === "/good.csv") res.end(body);
      else if (req.url === "/corrupt.csv") res.end(body.subarray(0, 1000));
      else {
        res.statusCode = 404;
        res.end("no");
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const addr = server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(() => server.close());

  const schemaWith = (url: string) =>
    parseSchema(
      `name: dl\ntitle: t\ntarget: Result\nlabels: {threat: [-1]}\ncolumns:\n  - {name: a, type: integer}\n  - {name: Result, type: integer}\nfiles:\n  - {name: data.csv, url: "${url}", sha256: ${sha}, format: csv}\n`,
    );

  it("downloads once into the cache, then serves from the cache", async () => {
    const home = join(tmp.dir, "dlhome");
    const s = schemaWith(`${base}/good.csv`);
    const [a] = await fetchDataset(s, { home });
    expect(a!.origin).toBe("download");
    expect(readFileSync(a!.ref.path).equals(body)).toBe(true);
    const before = hits;
    const [b] = await fetchDataset(s, { home });
    expect(b!.origin).toBe("cache");
    expect(hits).toBe(before);
  });

  it("a corrupt download names both hashes and leaves nothing in the cache", async () => {
    const home = join(tmp.dir, "dlhome2");
    const s = schemaWith(`${base}/corrupt.csv`);
    await expect(fetchDataset(s, { home })).rejects.toThrow(
      /SHA-256 mismatch .*expected [0-9a-f]{64}, got [0-9a-f]{64}/,
    );
    await expect(fetchDataset(s, { home, offline: true })).rejects.toThrow(/not cached/);
  });

  it("an HTTP error is a clear error with the URL", async () => {
    const s = schemaWith(`${base}/missing.csv`);
    await expect(fetchDataset(s, { home: join(tmp.dir, "dlhome3") })).rejects.toThrow(
      /missing\.csv failed: HTTP 404/,
    );
  });
});

describe("one invalid schema under $NETSEC_HOME/datasets/", () => {
  it("datasets list lists it as invalid with the reason, and every other dataset as before", () => {
    const home = join(tmp.dir, "bad-schema-home");
    mkdirSync(join(home, "datasets"), { recursive: true });
    const bad = join(home, "datasets", "broken.yaml");
    writeFileSync(bad, "name: broken\ntitle: [unclosed\n");
    const shapeless = join(home, "datasets", "shapeless.yaml");
    writeFileSync(shapeless, "name: shapeless\ntitle: t\ntarget: y\n");
    const r = runCli(["datasets", "list", "--json"], { NETSEC_HOME: home });
    expect(r.code, r.stderr).toBe(0);
    expect((r.json!.datasets as { name: string }[]).map((d) => d.name)).toEqual(
      expect.arrayContaining(["phishing", "nsl-kdd"]),
    );
    const invalid = r.json!.invalid as { name: string; file: string; reason: string }[];
    expect(invalid.map((d) => [d.name, d.file])).toEqual([
      ["broken", bad],
      ["shapeless", shapeless],
    ]);
    for (const d of invalid) expect(d.reason).toContain(d.file);
    const text = runCli(["datasets", "list"], { NETSEC_HOME: home });
    expect(text.stdout).toMatch(
      /broken\s+INVALID — schema .*broken\.yaml is not valid YAML.*\(fix or remove .*broken\.yaml\)/,
    );
    // the valid ones stay usable by name
    expect(runCli(["datasets", "fetch", "phishing", "--json"], { NETSEC_HOME: home }).code).toBe(0);
  });
});
