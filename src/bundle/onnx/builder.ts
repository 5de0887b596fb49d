/**
 * A small, generic ONNX graph builder: collects inputs, outputs, initializers and nodes and writes
 * `ModelProto` bytes with the `onnx-proto` protobuf bindings. No npm library builds ONNX graphs, so
 * this is hand-written; it knows nothing about netsec's models (see export.ts for that).
 *
 * Value names are checked for uniqueness: every graph value (input, initializer, node output) must
 * be produced exactly once, which is the first thing onnxruntime verifies when it loads a model.
 */
import onnxProto from "onnx-proto";
import { packedInt64Field, repeatedStringField, WireParts } from "./wire.ts";

const { onnx } = onnxProto;

/** Element types we use (ONNX TensorProto.DataType). */
export type ElemType = "float" | "double" | "int64" | "int32" | "string" | "bool" | "uint8";

const ELEM: Record<ElemType, number> = {
  float: onnx.TensorProto.DataType.FLOAT,
  double: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  string: onnx.TensorProto.DataType.STRING,
  bool: onnx.TensorProto.DataType.BOOL,
  uint8: onnx.TensorProto.DataType.UINT8,
};

/** A dimension: a fixed size, or a symbolic name such as "N" (the batch). */
export type Dim = number | string;

/** A constant tensor. Numeric data is written as little-endian `raw_data` (exact for doubles). */
export interface TensorData {
  type: ElemType;
  dims: readonly number[];
  data: ArrayLike<number> | readonly string[] | readonly boolean[];
}

/** An attribute value, tagged with its ONNX attribute type (a bare number is ambiguous: int or float). */
export type Attr =
  | { kind: "int"; value: number }
  | { kind: "float"; value: number }
  | { kind: "string"; value: string }
  | { kind: "tensor"; value: TensorData }
  | { kind: "ints"; value: ArrayLike<number> }
  | { kind: "floats"; value: ArrayLike<number> }
  | { kind: "strings"; value: readonly string[] };

/** Attribute constructors: `A.int(1)`, `A.floats([..])`, ... */
export const A = {
  int: (value: number): Attr => ({ kind: "int", value }),
  float: (value: number): Attr => ({ kind: "float", value }),
  string: (value: string): Attr => ({ kind: "string", value }),
  tensor: (value: TensorData): Attr => ({ kind: "tensor", value }),
  ints: (value: ArrayLike<number>): Attr => ({ kind: "ints", value }),
  floats: (value: ArrayLike<number>): Attr => ({ kind: "floats", value }),
  strings: (value: readonly string[]): Attr => ({ kind: "strings", value }),
};

export interface NodeOptions {
  /** Operator domain: "" (ai.onnx, default) or "ai.onnx.ml". */
  domain?: string;
  /** Node name (defaults to a unique name from the op type). */
  name?: string;
  doc?: string;
  /** Explicit output names (default: fresh names from `prefix`). */
  outputs?: readonly string[];
  /** Number of outputs when names are generated (default 1). */
  nOutputs?: number;
  /** Prefix for generated output names. */
  prefix?: string;
}

export interface ModelOptions {
  /** ai.onnx and other domain opset versions, e.g. `{ "": 17, "ai.onnx.ml": 3 }`. */
  opsets: Readonly<Record<string, number>>;
  /** ONNX IR version (8 matches onnx 1.12 … and opset 17). */
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  /** Free-form key/value metadata (ModelProto.metadata_props). */
  metadata?: Readonly<Record<string, string>>;
}

interface ValueInfo {
  name: string;
  type: ElemType;
  shape: readonly Dim[] | null;
  doc?: string;
}

const utf8 = new TextEncoder();

function tensorProto(name: string, t: TensorData): onnxProto.onnx.ITensorProto {
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== n) {
    throw new RangeError(`tensor ${name}: ${t.data.length} values for dims [${t.dims.join(", ")}]`);
  }
  const base = { name, dims: [...t.dims], dataType: ELEM[t.type] };
  if (t.type === "string") {
    return { ...base, stringData: (t.data as readonly string[]).map((s) => utf8.encode(String(s))) };
  }
  const width = { float: 4, double: 8, int64: 8, int32: 4, bool: 1, uint8: 1 }[t.type];
  const raw = new Uint8Array(n * width);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < n; i++) {
    const v = Number(t.data[i]);
    switch (t.type) {
      case "float":
        dv.setFloat32(i * 4, v, true);
        break;
      case "double":
        dv.setFloat64(i * 8, v, true);
        break;
      case "int64":
        if (!Number.isSafeInteger(v)) throw new RangeError(`tensor ${name}: ${v} is not an int64 value`);
        dv.setBigInt64(i * 8, BigInt(v), true);
        break;
      case "int32":
        dv.setInt32(i * 4, v, true);
        break;
      default:
        dv.setUint8(i, v ? 1 : 0);
    }
  }
  return { ...base, rawData: raw };
}

function attributeProto(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case "int":
      return { name, type: T.INT, i: a.value };
    case "float":
      return { name, type: T.FLOAT, f: a.value };
    case "string":
      return { name, type: T.STRING, s: utf8.encode(a.value) };
    case "tensor":
      return { name, type: T.TENSOR, t: tensorProto("", a.value) };
    case "ints":
      return { name, type: T.INTS, ints: Array.from(a.value) };
    case "floats":
      return { name, type: T.FLOATS, floats: Array.from(a.value) };
    case "strings":
      return { name, type: T.STRINGS, strings: a.value.map((s) => utf8.encode(s)) };
  }
}

/** What protobufjs' verify says of an attribute (the lists wire.ts writes: their values' types). */
function attributeError(name: string, a: Attr): string | null {
  if (a.kind === "ints") {
    for (let i = 0; i < a.value.length; i++)
      if (!Number.isSafeInteger(a.value[i])) return `attribute ${name}: ints[${i}] is not an integer`;
    return null;
  }
  if (a.kind === "strings") {
    const bad = a.value.findIndex((s) => typeof s !== "string");
    return bad < 0 ? null : `attribute ${name}: strings[${bad}] is not a string`;
  }
  return onnx.AttributeProto.verify(attributeProto(name, a));
}

/**
 * An attribute's AttributeProto bytes, the same as protobufjs' encoding of {@link attributeProto}.
 * `ints` and `strings` (a tree ensemble's node lists) are written by wire.ts: fields name (1), then
 * ints (8) or strings (9), then type (20), in protobufjs' order.
 */
function attributeBytes(name: string, a: Attr): Uint8Array | WireParts {
  if (a.kind !== "ints" && a.kind !== "strings")
    return onnx.AttributeProto.encode(attributeProto(name, a)).finish();
  const T = onnx.AttributeProto.AttributeType;
  return new WireParts()
    .add(onnx.AttributeProto.encode({ name }).finish())
    .add(a.kind === "ints" ? packedInt64Field(8, a.value) : repeatedStringField(9, a.value))
    .add(onnx.AttributeProto.encode({ type: a.kind === "ints" ? T.INTS : T.STRINGS }).finish());
}

/** A node as added: its fields, with the attributes kept as given until the model is written. */
interface NodeEntry {
  /** NodeProto fields 1–4 (input, output, name, op_type). */
  head: onnxProto.onnx.INodeProto;
  attrs: [string, Attr][];
  /** NodeProto fields 6–7 (doc_string, domain). */
  tail: onnxProto.onnx.INodeProto;
}

/** NodeProto bytes: head, each attribute (field 5), tail, in field order as protobufjs writes them. */
function nodeBytes(n: NodeEntry): WireParts {
  const out = new WireParts().add(onnx.NodeProto.encode(n.head).finish());
  for (const [k, a] of n.attrs) out.field(5, attributeBytes(k, a));
  return out.add(onnx.NodeProto.encode(n.tail).finish());
}

function valueInfoProto(v: ValueInfo): onnxProto.onnx.IValueInfoProto {
  const tensorType: onnxProto.onnx.TypeProto.ITensor = { elemType: ELEM[v.type] };
  if (v.shape) {
    tensorType.shape = {
      dim: v.shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
    };
  }
  const out: onnxProto.onnx.IValueInfoProto = { name: v.name, type: { tensorType } };
  if (v.doc) out.docString = v.doc;
  return out;
}

/** Builds one ONNX graph. Cost: linear in the number of nodes and constant values. */
export class GraphBuilder {
  private readonly names = new Set<string>();
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly valueInfos: ValueInfo[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly nodes: NodeEntry[] = [];
  private readonly counters = new Map<string, number>();

  readonly graphName: string;
  readonly doc: string;

  constructor(graphName: string, doc = "") {
    this.graphName = graphName;
    this.doc = doc;
  }

  /** A value name not used yet, from `prefix` ("_" + prefix + counter, so it cannot clash with user columns named plainly). */
  fresh(prefix: string): string {
    for (;;) {
      const k = (this.counters.get(prefix) ?? 0) + 1;
      this.counters.set(prefix, k);
      const name = `_${prefix}_${k}`;
      if (!this.names.has(name)) return name;
    }
  }

  private claim(name: string): string {
    if (name === "") throw new RangeError("an ONNX value name cannot be empty");
    if (this.names.has(name)) throw new RangeError(`ONNX value ${JSON.stringify(name)} is defined twice`);
    this.names.add(name);
    return name;
  }

  /** Whether `name` is already a value of the graph. */
  has(name: string): boolean {
    return this.names.has(name);
  }

  /** Declare a graph input; `shape` null = any shape. */
  input(name: string, type: ElemType, shape: readonly Dim[] | null, doc?: string): string {
    this.inputs.push({ name: this.claim(name), type, shape, ...(doc ? { doc } : {}) });
    return name;
  }

  /** Declare a graph output (an existing value, produced by some node). */
  output(name: string, type: ElemType, shape: readonly Dim[] | null, doc?: string): string {
    this.outputs.push({ name, type, shape, ...(doc ? { doc } : {}) });
    return name;
  }

  /** Record the type/shape of an intermediate value (helps viewers; optional). */
  valueInfo(name: string, type: ElemType, shape: readonly Dim[] | null): void {
    this.valueInfos.push({ name, type, shape });
  }

  /** Add a constant tensor as an initializer and return its name. */
  constant(prefix: string, t: TensorData): string {
    const name = this.claim(this.fresh(prefix));
    this.initializers.push(tensorProto(name, t));
    return name;
  }

  /** Shorthands for constants. */
  doubles(prefix: string, values: ArrayLike<number>, dims: readonly number[] = [values.length]): string {
    return this.constant(prefix, { type: "double", dims, data: values });
  }
  int64s(prefix: string, values: ArrayLike<number>, dims: readonly number[] = [values.length]): string {
    return this.constant(prefix, { type: "int64", dims, data: values });
  }
  strings(prefix: string, values: readonly string[], dims: readonly number[] = [values.length]): string {
    return this.constant(prefix, { type: "string", dims, data: values });
  }

  /**
   * Add a node; returns its output names (fresh ones unless `opts.outputs` is given).
   * Empty strings in `inputs` stand for omitted optional inputs, as in ONNX.
   */
  node(
    opType: string,
    inputs: readonly string[],
    attrs: Readonly<Record<string, Attr>> = {},
    opts: NodeOptions = {},
  ): string[] {
    for (const i of inputs) {
      if (i !== "" && !this.names.has(i)) {
        throw new RangeError(`node ${opType}: input ${JSON.stringify(i)} is not defined yet`);
      }
    }
    const outs = opts.outputs
      ? opts.outputs.map((o) => this.claim(o))
      : Array.from({ length: opts.nOutputs ?? 1 }, () => this.claim(this.fresh(opts.prefix ?? opType)));
    const head: onnxProto.onnx.INodeProto = {
      input: [...inputs],
      output: outs,
      name: opts.name ?? this.fresh(`node_${opType}`),
      opType,
    };
    const tail: onnxProto.onnx.INodeProto = {};
    if (opts.doc) tail.docString = opts.doc;
    if (opts.domain) tail.domain = opts.domain;
    this.nodes.push({ head, attrs: Object.entries(attrs), tail });
    return outs;
  }

  /** Single-output `node`. */
  op(
    opType: string,
    inputs: readonly string[],
    attrs: Readonly<Record<string, Attr>> = {},
    opts: Omit<NodeOptions, "nOutputs"> = {},
  ): string {
    return this.node(opType, inputs, attrs, opts)[0]!;
  }

  /**
   * Serialise as ModelProto bytes: protobufjs' encoding of the whole model, byte for byte, assembled
   * from the model's fields (ModelProto 1–6, graph 7, 8–14; GraphProto nodes 1, then 2–13) so that
   * a large tree ensemble's node lists never pass through protobufjs' writer (wire.ts).
   */
  toModel(o: ModelOptions): Uint8Array {
    for (const out of this.outputs) {
      if (!this.names.has(out.name)) throw new RangeError(`graph output ${out.name} is never produced`);
    }
    const head: onnxProto.onnx.IModelProto = {
      irVersion: o.irVersion ?? 8,
      producerName: o.producerName ?? "netsec",
      producerVersion: o.producerVersion ?? "",
      domain: o.domain ?? "",
      modelVersion: o.modelVersion ?? 1,
      docString: o.docString ?? "",
    };
    const tail: onnxProto.onnx.IModelProto = {
      opsetImport: Object.entries(o.opsets).map(([domain, version]) => ({ domain, version })),
      metadataProps: Object.entries(o.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
    const graph: onnxProto.onnx.IGraphProto = {
      name: this.graphName,
      initializer: this.initializers,
      docString: this.doc,
      input: this.inputs.map(valueInfoProto),
      output: this.outputs.map(valueInfoProto),
      valueInfo: this.valueInfos.map(valueInfoProto),
    };
    const err =
      onnx.ModelProto.verify({ ...head, ...tail, graph }) ??
      this.nodes
        .map(
          (n) =>
            onnx.NodeProto.verify({ ...n.head, ...n.tail }) ??
            n.attrs.map(([k, a]) => attributeError(k, a)).find((e) => e !== null) ??
            null,
        )
        .find((e) => e !== null) ??
      null;
    if (err) throw new Error(`invalid ONNX model: ${err}`);
    const graphParts = new WireParts();
    for (const n of this.nodes) graphParts.field(1, nodeBytes(n));
    graphParts.add(onnx.GraphProto.encode(graph).finish());
    return new WireParts()
      .add(onnx.ModelProto.encode(head).finish())
      .field(7, graphParts)
      .add(onnx.ModelProto.encode(tail).finish())
      .bytes();
  }
}
