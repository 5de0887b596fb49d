/**
 * Accumulates typed records into a column-major Frame (numeric columns as Float64Array with NaN for
 * missing, categorical columns as Int32Array codes). Categorical dictionaries start with the schema's
 * declared values in declaration order, so codes are stable across files; unseen values are appended.
 * Memory: the columnar result only (8 bytes per numeric cell, 4 per categorical cell), growing by
 * doubling; callers feed it batch by batch.
 */
import { type Column, Frame } from "../core/frame.ts";
import { canonical, type TypedValue } from "./coerce.ts";
import type { ColumnSpec, DatasetSchema } from "./schema.ts";

interface NumBuf {
  kind: "numeric";
  spec: ColumnSpec;
  data: Float64Array;
}
interface CatBuf {
  kind: "categorical";
  spec: ColumnSpec;
  data: Int32Array;
  dict: Map<string, number>;
  cats: string[];
}

/** Whether a column is stored as categorical codes in a Frame (categorical columns and the target). */
export function isCategoricalColumn(spec: ColumnSpec, schema: DatasetSchema): boolean {
  return spec.type === "categorical" || spec.name === schema.target.name;
}

export class FrameBuilder {
  private readonly bufs: (NumBuf | CatBuf)[];
  private n = 0;
  private cap: number;

  /** `columns`: which schema columns to keep (default: all declared columns). */
  constructor(
    schema: DatasetSchema,
    columns: readonly string[] = schema.columnNames,
    initialCapacity = 1024,
  ) {
    this.cap = Math.max(16, initialCapacity);
    this.bufs = columns.map((name) => {
      const spec = schema.column(name);
      if (!spec) throw new RangeError(`schema ${schema.name} has no column ${name}`);
      if (isCategoricalColumn(spec, schema)) {
        const cats = (spec.values ?? []).map(canonical);
        return {
          kind: "categorical",
          spec,
          data: new Int32Array(this.cap),
          dict: new Map(cats.map((c, i) => [c, i])),
          cats,
        } satisfies CatBuf;
      }
      return { kind: "numeric", spec, data: new Float64Array(this.cap) } satisfies NumBuf;
    });
  }

  get length(): number {
    return this.n;
  }

  private grow(): void {
    this.cap *= 2;
    for (const b of this.bufs) {
      if (b.kind === "numeric") {
        const d = new Float64Array(this.cap);
        d.set(b.data);
        b.data = d;
      } else {
        const d = new Int32Array(this.cap);
        d.set(b.data);
        b.data = d;
      }
    }
  }

  /** Append one record (column name → typed value; absent = missing). */
  push(rec: Readonly<Record<string, TypedValue | undefined>>): void {
    const i = this.addRow();
    for (let j = 0; j < this.bufs.length; j++) this.set(j, i, rec[this.bufs[j]!.spec.name]);
  }

  /** Append a row whose cells are then written with set / setNumber (unset cells hold 0). */
  addRow(): number {
    if (this.n === this.cap) this.grow();
    return this.n++;
  }

  /** Write a number into numeric column j at row i (NaN = missing). */
  setNumber(j: number, i: number, v: number): void {
    (this.bufs[j] as NumBuf).data[i] = v;
  }

  /** Write a typed value (null/undefined = missing) into column j at row i. */
  set(j: number, i: number, v: TypedValue | undefined): void {
    const b = this.bufs[j]!;
    if (b.kind === "numeric") {
      b.data[i] = typeof v === "number" ? v : v === null || v === undefined ? Number.NaN : Number(v);
    } else if (v === null || v === undefined) {
      b.data[i] = -1;
    } else {
      const s = canonical(v);
      let code = b.dict.get(s);
      if (code === undefined) {
        code = b.cats.length;
        b.cats.push(s);
        b.dict.set(s, code);
      }
      b.data[i] = code;
    }
  }

  build(): Frame {
    const n = this.n;
    const cols: Column[] = this.bufs.map((b) =>
      b.kind === "numeric"
        ? { kind: "numeric", name: b.spec.name, values: b.data.slice(0, n) }
        : { kind: "categorical", name: b.spec.name, codes: b.data.slice(0, n), categories: b.cats.slice() },
    );
    return new Frame(cols, n);
  }
}
