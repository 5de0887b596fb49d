import ort from "onnxruntime-node";
import { A, GraphBuilder } from "./builder.ts";
async function tryOp(label: string, build: (g: GraphBuilder, x: string) => string) {
  const g = new GraphBuilder("p");
  const x = g.input("x", "double", ["N", 3]);
  const y = build(g, x);
  g.output(y, "double", null);
  const s = await ort.InferenceSession.create(g.toModel({ opsets: { "": 17 } }));
  const r = await s.run({ x: new ort.Tensor("float64", new Float64Array(6), [2, 3]) });
  console.log(label, "ok", r[y]!.dims);
}
const sub = (g: GraphBuilder, x: string) => {
  const nz = g.op("NonZero", [g.op("Greater", [g.op("ReduceMax", [x], { axes: A.ints([1]), keepdims: A.int(0) }), g.doubles("z", [0], [])])]);
  const rows = g.op("Reshape", [nz, g.int64s("f", [-1])]);
  return g.op("Gather", [x, rows], { axis: A.int(0) });
};
const which = process.argv[2];
if (which === "gather") await tryOp("gather", sub);
if (which === "topk") await tryOp("topk", (g, x) => g.node("TopK", [sub(g, x), g.int64s("k", [2])], { axis: A.int(1), largest: A.int(0) }, { nOutputs: 2 })[0]!);
if (which === "matmul") await tryOp("matmul", (g, x) => g.op("MatMul", [sub(g, x), g.doubles("w", [1, 2, 3, 4, 5, 6], [3, 2])]));
if (which === "reducesum") await tryOp("reducesum", (g, x) => g.op("ReduceSum", [sub(g, x), g.int64s("a", [1])], { keepdims: A.int(0) }));
if (which === "div") await tryOp("div", (g, x) => g.op("Div", [sub(g, x), g.doubles("d", [2], [])]));
