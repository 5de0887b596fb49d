/**
 * Protobuf wire bytes for the parts of an ONNX model that are too large for protobufjs' writer: a
 * tree ensemble's node lists (`ints` and `strings` attributes of a million entries for a 1 M-row
 * forest). protobufjs queues an operation object per value (and a LongBits per int64) until
 * `finish()`, several hundred bytes of heap per tree node; here each list is sized, then written
 * into one buffer of exactly its bytes.
 *
 * Messages are assembled from their fields' bytes: protobufjs' encoding of the small fields, these
 * lists, and nested messages as (tag, length, parts). Written in field-number order, as protobufjs
 * writes them, the result is byte for byte what protobufjs would give for the whole message.
 */

/** A message's bytes as a list of parts (nothing is copied until {@link WireParts.bytes}). */
export class WireParts {
  private readonly parts: Uint8Array[] = [];
  /** Total byte length of the parts. */
  length = 0;

  add(bytes: Uint8Array): this {
    if (bytes.byteLength > 0) {
      this.parts.push(bytes);
      this.length += bytes.byteLength;
    }
    return this;
  }

  /** A length-delimited field (wire type 2): its tag, the length of `message`, then `message`'s parts. */
  field(fieldNumber: number, message: WireParts | Uint8Array): this {
    this.add(varintBytes(fieldNumber * 8 + 2));
    this.add(varintBytes(message.length));
    if (message instanceof Uint8Array) return this.add(message);
    for (const p of message.parts) this.add(p);
    return this;
  }

  /** The message's bytes, copied once into one buffer. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}

/** Bytes of the unsigned varint of a non-negative safe integer. */
function varintBytes(v: number): Uint8Array {
  const out = new Uint8Array(varintSize(v));
  writeVarint(out, 0, v);
  return out;
}

/** Byte length of an int64 value's varint: 10 for negatives (64-bit two's complement, as protobuf). */
function int64Size(v: number): number {
  if (!Number.isSafeInteger(v)) throw new RangeError(`${v} is not an int64 value`);
  return v < 0 ? 10 : varintSize(v);
}

function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes the varint of a non-negative safe integer at `at`; returns the position after it. */
function writeVarint(buf: Uint8Array, at: number, v: number): number {
  while (v >= 128) {
    buf[at++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  buf[at++] = v;
  return at;
}

function writeInt64(buf: Uint8Array, at: number, v: number): number {
  if (v >= 0) return writeVarint(buf, at, v);
  let u = BigInt.asUintN(64, BigInt(v));
  for (let i = 0; i < 9; i++) {
    buf[at++] = Number(u & 0x7fn) | 128;
    u >>= 7n;
  }
  buf[at++] = Number(u);
  return at;
}

/** A packed repeated int64 field (what protobufjs writes for ONNX's `ints`); nothing when empty. */
export function packedInt64Field(fieldNumber: number, values: ArrayLike<number>): Uint8Array {
  if (values.length === 0) return new Uint8Array(0);
  let body = 0;
  for (let i = 0; i < values.length; i++) body += int64Size(values[i]!);
  const tag = fieldNumber * 8 + 2;
  const out = new Uint8Array(varintSize(tag) + varintSize(body) + body);
  let at = writeVarint(out, 0, tag);
  at = writeVarint(out, at, body);
  for (let i = 0; i < values.length; i++) at = writeInt64(out, at, values[i]!);
  return out;
}

/** A repeated bytes field of UTF-8 strings (ONNX's `strings`): a tag and length per value. */
export function repeatedStringField(fieldNumber: number, values: readonly string[]): Uint8Array {
  const utf8 = new TextEncoder();
  // a tree ensemble's node modes are a million copies of two strings: encoded once each
  const encoded = new Map<string, Uint8Array>();
  const of = (s: string): Uint8Array => {
    let b = encoded.get(s);
    if (!b) {
      b = utf8.encode(s);
      encoded.set(s, b);
    }
    return b;
  };
  const tag = fieldNumber * 8 + 2;
  const tagSize = varintSize(tag);
  let size = 0;
  for (const s of values) {
    const n = of(s).byteLength;
    size += tagSize + varintSize(n) + n;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const s of values) {
    const b = of(s);
    at = writeVarint(out, at, tag);
    at = writeVarint(out, at, b.byteLength);
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}
