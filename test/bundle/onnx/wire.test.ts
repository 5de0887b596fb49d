/**
 * The ONNX builder's hand-assembled ModelProto bytes (builder.ts + wire.ts): byte for byte what
 * protobufjs writes for the same message (decoded, then encoded again by protobufjs), values as given
 * (negative and 2^40 ints, UTF-8 and empty strings, empty lists), and a tree ensemble's node lists
 * never written value by value through protobufjs' writer (what made the export of a 1 M-row forest
 * take hundreds of MB).
 */
import onnxProto from "onnx-proto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { A, GraphBuilder } from "../../../src/bundle/onnx/builder.ts";
import { exportPipelineToOnnx } from "../../../src/bundle/onnx/export.ts";
import type { PipelineIR } from "../../../src/bundle/onnx/ir.ts";
import { boosted3IR, flatTree, forestIR, knnCase, randomForestCase } from "./fixtures.ts";

const { onnx } = onnxProto;

/** protobufjs' own encoding of the message the bytes decode to. */
function reencoded(bytes: Uint8Array): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.decode(bytes)).finish();
}

/** forestIR's pipeline with 20 full trees of depth 7 (255 nodes each, 5,100 in all). */
function bigForestIR(): PipelineIR {
  type Node = Parameters<typeof flatTree>[0];
  let leaf = 0;
  const build = (depth: number, f: number): Node => {
    if (depth === 0) {
      const p = (leaf++ % 97) / 97;
      return [p, 1 - p];
    }
    return {
      f,
      t: depth / 3,
      ml: depth % 2 === 0,
      l: build(depth - 1, (f + 1) % 5),
      r: build(depth - 1, (f + 2) % 5),
    };
  };
  const ir = forestIR();
  const trees = Array.from({ length: 20 }, (_, t) => flatTree(build(7, t % 5), 2));
  return {
    ...ir,
    model: {
      ...ir.model,
      kind: "trees",
      width: 2,
      trees,
      aggregate: "average",
      base: [0, 0],
      transform: "identity",
    },
  };
}

function handGraph(): Uint8Array {
  const g = new GraphBuilder("hand", "a graph with every attribute kind");
  g.input("x", "double", ["N", 3]);
  const c = g.doubles("c", [1.5, -2, 1e-300]);
  const s = g.strings("names", ["α", ""]);
  g.node(
    "Custom",
    ["x", c, s, ""],
    {
      n: A.int(-7),
      f: A.float(0.25),
      s: A.string("é"),
      t: A.tensor({ type: "int64", dims: [2], data: [3, -4] }),
      ints: A.ints([0, 1, 127, 128, 300, -1, -129, 2 ** 40, 2 ** 53 - 1]),
      typed: A.ints(Int32Array.of(5, 16_384)),
      none: A.ints([]),
      floats: A.floats([0.5, -3]),
      strings: A.strings(["LEAF", "BRANCH_LEQ", "", "日本", "LEAF"]),
      nostrings: A.strings([]),
    },
    { domain: "ai.onnx.ml", doc: "every kind", outputs: ["y"], name: "custom" },
  );
  g.valueInfo("y", "double", ["N"]);
  g.output("y", "double", ["N"]);
  return g.toModel({ opsets: { "": 17, "ai.onnx.ml": 3 }, metadata: { k: "v", ü: "ß" } });
}

describe("GraphBuilder.toModel", () => {
  it("writes protobufjs' bytes for a graph with every attribute kind, values as given", () => {
    const bytes = handGraph();
    expect(Buffer.from(bytes).equals(Buffer.from(reencoded(bytes)))).toBe(true);
    const m = onnx.ModelProto.decode(bytes).toJSON();
    const node = m.graph.node[0];
    expect(node).toMatchObject({
      opType: "Custom",
      name: "custom",
      domain: "ai.onnx.ml",
      docString: "every kind",
    });
    const attr = Object.fromEntries(node.attribute.map((a: { name: string }) => [a.name, a]));
    // int64 values come back as decimal strings from toJSON
    expect(attr.ints.ints).toEqual([
      "0",
      "1",
      "127",
      "128",
      "300",
      "-1",
      "-129",
      "1099511627776",
      "9007199254740991",
    ]);
    expect(attr.typed.ints).toEqual(["5", "16384"]);
    expect(attr.none.ints).toBeUndefined();
    expect(attr.none.type).toBe("INTS");
    const text = (b64: string) => Buffer.from(b64, "base64").toString("utf8");
    expect(attr.strings.strings.map(text)).toEqual(["LEAF", "BRANCH_LEQ", "", "日本", "LEAF"]);
    expect(attr.nostrings).toEqual({ name: "nostrings", type: "STRINGS" });
    expect(attr.n.i).toBe("-7");
    expect(m.metadataProps).toEqual([
      { key: "k", value: "v" },
      { key: "ü", value: "ß" },
    ]);
  });

  it("refuses a non-integer in an ints attribute, as protobufjs' verify did", () => {
    const g = new GraphBuilder("bad");
    g.input("x", "double", ["N"]);
    g.node("Identity", ["x"], { ints: A.ints([1, 2.5]) }, { outputs: ["y"] });
    g.output("y", "double", ["N"]);
    expect(() => g.toModel({ opsets: { "": 17 } })).toThrow(/invalid ONNX model: .*ints/);
  });

  it.each<[string, () => PipelineIR]>([
    ["forest", forestIR],
    ["three-class boosting with a scaler", boosted3IR],
    ["KNN imputer", () => knnCase().ir],
    ["random three-class forest", () => randomForestCase(3).ir],
    ["forest of 5,100 nodes", bigForestIR],
  ])("exports the %s pipeline as protobufjs' bytes", (_, ir) => {
    const bytes = exportPipelineToOnnx(ir());
    expect(Buffer.from(bytes).equals(Buffer.from(reencoded(bytes)))).toBe(true);
  });
});

describe("a tree ensemble's node lists", () => {
  afterEach(() => vi.restoreAllMocks());

  it("are not written value by value through protobufjs' writer", () => {
    // the prototype of onnx-proto's writer that defines int64 (protobufjs' Writer)
    let proto: object | null = Object.getPrototypeOf(onnx.ModelProto.encode({}));
    while (proto && !Object.hasOwn(proto, "int64")) proto = Object.getPrototypeOf(proto);
    expect(proto).not.toBeNull();
    const int64 = vi.spyOn(proto as { int64(v: number): unknown }, "int64");
    const ir = bigForestIR();
    exportPipelineToOnnx(ir);
    // 11 int lists of up to 5,100 values each went through it before; now only scalar fields do
    expect(int64.mock.calls.length).toBeLessThan(100);
  });
});
