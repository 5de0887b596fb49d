/**
 * A DuckDB relation seen through a schema: the SQL that coerces each schema column the way
 * `coerceCell` does, cell for cell, so validation and profiles can run as set operations.
 *
 * The relation (a table, or any `read_csv(…)`/`read_parquet(…)` expression) holds the schema's
 * columns plus provenance: a 1-based data row column and, when it holds several sources, a source id
 * column. A schema column may come typed (DOUBLE, BIGINT, … for numbers; VARCHAR for categories — the
 * record store's layout) or as raw text (VARCHAR numbers, as `read_csv(all_varchar=true)` gives); the
 * SQL below reproduces `coerceCell` for both:
 *  - missing: SQL NULL, or text that is a missing token (`isMissingToken`) after JavaScript's `trim`;
 *  - numbers from text: `NUMERIC_RE` then a cast, finite only; `Infinity`/`-inf`… by the column's
 *    infinity policy; `NaN` in a DOUBLE is a type problem, as a JavaScript NaN is;
 *  - the domain: allowed values, then min, then max.
 * Where SQL cannot reproduce JavaScript exactly (a category held as a number — JavaScript's `String(n)`
 * is not DuckDB's cast —, an ISO timestamp parsed by `Date.parse`, any other column type), the column's
 * distinct values are coerced by `coerceCell` itself and joined back as a small mapping table.
 *
 * For column i the typed relation has `r<i>` (the raw value), `v<i>` (the typed value: DOUBLE for
 * numbers and timestamps in ms, VARCHAR for categories; NULL when missing or a type problem) and
 * `k<i>` (the problem: a `KIND_CODES` code, NULL when none), plus `__src` (the source's ordinal in
 * source id order, the order the stores scan in) and `__row`.
 */

import type { DuckDBConnection } from "@duckdb/node-api";
import { DuckDBTypeId } from "@duckdb/node-api";
import { allowedSet, canonical, coerceCell, type ProblemKind } from "../datasets/coerce.ts";
import type { RawValue } from "../datasets/readers.ts";
import type { ColumnSpec, DatasetSchema } from "../datasets/schema.ts";
import { ident, literal } from "../store/duckdb/connection.ts";

/** The cell problems coercion finds, as the small integers the SQL computes. */
export const KIND_CODES = {
  type: 1,
  not_integer: 2,
  not_allowed: 3,
  below_min: 4,
  above_max: 5,
  missing: 6,
} as const satisfies Partial<Record<ProblemKind, number>>;

export type CellKind = keyof typeof KIND_CODES;
const KIND_BY_CODE = new Map(
  Object.entries(KIND_CODES).map(([kind, code]) => [code as number, kind as CellKind]),
);

/** Where the rows of a relation come from. */
export interface Provenance {
  /** The 1-based data row within its source. */
  rowColumn: string;
  /** The source id (e.g. the file's SHA-256); absent: the relation is one source. */
  sourceColumn?: string;
  /** Keep only rows of these source ids. */
  sources?: readonly string[];
}

export interface TypedColumn {
  spec: ColumnSpec;
  /** Position in the schema's column order (problems within a row come in this order). */
  index: number;
  /** The relation's type for the column. */
  typeId: DuckDBTypeId;
  /** Whether the typed value is a number (DOUBLE) rather than a category (VARCHAR). */
  numeric: boolean;
  allowed: Set<string> | null;
}

export interface TypedRelation {
  /** A SELECT giving `__src`, `__row` and `r<i>`, `v<i>`, `k<i>` per present column. */
  sql: string;
  /** The schema columns present in the relation, in schema order (`i` of `r<i>` = position here). */
  columns: TypedColumn[];
  /** The relation's column names (schema columns and provenance alike). */
  header: string[];
  /** Source ids in scan order (`__src` is an index into it); `[]` when the relation is one source. */
  sourceIds: string[];
  /** Drops the mapping tables. */
  dispose(): Promise<void>;
}

/**
 * JavaScript's `String.prototype.trim` as an RE2 pattern: WhiteSpace and LineTerminator code points
 * at either end (a regexp_replace is 7× faster than DuckDB's trim with a set of characters).
 */
const JS_WS =
  "[\\t\\n\\x{0b}\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}]";
const JS_TRIM_RE = `^${JS_WS}+|${JS_WS}+$`;
/** `coerce.ts`'s NUMERIC_RE, INFINITY_RE (case-insensitive) and missing tokens. */
const NUMERIC_RE = "[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?";
const INFINITY_RE = "[+-]?(inf|infinity)";
const MISSING_TOKENS = ["", "na", "n/a", "nan", "null", "none", "?"];

const NUMBER_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.BOOLEAN,
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
  DuckDBTypeId.DECIMAL,
]);

let mapSerial = 0;

/**
 * The typed view of `relation` (SQL text usable after FROM; a table name must come quoted with
 * `ident`). Columns of the schema the relation lacks are left out (the caller checks the header).
 */
export async function typedRelation(
  conn: DuckDBConnection,
  relation: string,
  schema: DatasetSchema,
  prov: Provenance,
): Promise<TypedRelation> {
  const probe = await conn.run(`SELECT * FROM ${relation} LIMIT 0`);
  const header = probe.columnNames();
  const types = probe.columnTypes();
  const typeOf = new Map(header.map((h, i) => [h, types[i]!.typeId]));
  if (prov.sources && prov.sourceColumn === undefined)
    throw new RangeError("a source filter needs the relation's source column (sourceColumn)");
  const where =
    prov.sources && prov.sourceColumn !== undefined
      ? `WHERE ${ident(prov.sourceColumn)} IN (${prov.sources.map(literal).join(", ") || "NULL"})`
      : "";
  let sourceIds: string[] = [];
  let srcExpr = "0";
  if (prov.sourceColumn !== undefined) {
    const ids = await conn.runAndReadAll(
      `SELECT DISTINCT CAST(${ident(prov.sourceColumn)} AS VARCHAR) FROM ${relation} ${where}`,
    );
    // the stores scan by (source id, row): the same order here (ids are hex digests or
    // `mongo:<db>.<collection>`, ASCII, where JavaScript's and SQL's binary orders agree)
    sourceIds = ids
      .getRowsJS()
      .map((r) => String(r[0]))
      .sort();
    srcExpr = sourceIds.length
      ? `CASE CAST(${ident(prov.sourceColumn)} AS VARCHAR) ${sourceIds.map((s, i) => `WHEN ${literal(s)} THEN ${i}`).join(" ")} END`
      : "0";
  }
  const columns: TypedColumn[] = [];
  schema.columns.forEach((spec, index) => {
    const typeId = typeOf.get(spec.name);
    if (typeId === undefined) return;
    columns.push({ spec, index, typeId, numeric: spec.type !== "categorical", allowed: allowedSet(spec) });
  });
  const base = `SELECT ${srcExpr} AS __src, CAST(${ident(prov.rowColumn)} AS BIGINT) AS __row${columns
    .map((c, i) => `, ${ident(c.spec.name)} AS r${i}`)
    .join("")} FROM ${relation} ${where}`;
  const maps: string[] = [];
  const layers: string[][] = [[], [], [], []];
  const joins: string[] = [];
  const plain = await plainColumns(conn, base, columns);
  for (const [i, c] of columns.entries()) {
    if (plain.has(i)) {
      // nothing to coerce, nothing to report: the value as it is (numbers as DOUBLE)
      const scale = c.spec.type === "timestamp" && c.spec.format === "epoch_s" ? " * 1000" : "";
      layers[0]!.push(
        `${c.numeric ? `CAST(b.r${i} AS DOUBLE)${scale}` : `b.r${i}`} AS v${i}`,
        `CAST(NULL AS TINYINT) AS k${i}`,
      );
      continue;
    }
    const expr = plain.mapped.has(i) ? null : sqlCoercion(c, i);
    if (expr) {
      for (const [j, l] of expr.entries()) layers[j]!.push(...l);
      continue;
    }
    const table = await mappingTable(conn, c, `SELECT DISTINCT r${i} AS raw FROM (${base})`);
    maps.push(table);
    joins.push(`LEFT JOIN ${table} AS m${i} ON b.r${i} IS NOT DISTINCT FROM m${i}.raw`);
    layers[0]!.push(`m${i}.v AS v${i}`, `m${i}.k AS k${i}`);
  }
  let sql = `SELECT b.*${layers[0]!.map((e) => `, ${e}`).join("")} FROM (${base}) AS b ${joins.join(" ")}`;
  for (const layer of layers.slice(1)) if (layer.length) sql = `SELECT *, ${layer.join(", ")} FROM (${sql})`;
  sql = `SELECT __src, __row${columns.map((_, i) => `, r${i}, v${i}, k${i}`).join("")} FROM (${sql})`;
  return {
    sql,
    columns,
    header,
    sourceIds,
    async dispose() {
      for (const m of maps) await conn.run(`DROP TABLE IF EXISTS ${m}`);
    },
  };
}

/** Categorical columns with at most this many distinct values are coerced value by value in JavaScript. */
const MAP_MAX_DISTINCT = 65_536;

/**
 * The columns whose values need no coercion and break no rule, found by cheap aggregates before the
 * per-cell SQL is built (a record store's typed columns nearly always are: ingest coerced them):
 * - a number column of a numeric type whose values are all finite, integers where the schema says
 *   integer, inside min/max and the allowed values, and present where the column is not nullable;
 * - a category column whose few distinct values each `coerceCell`s to itself without a problem.
 * `mapped`: category columns with few distinct values of which some do need coercing (a mapping
 * table is exact and cheaper than per-cell SQL for them).
 */
async function plainColumns(
  conn: DuckDBConnection,
  base: string,
  columns: readonly TypedColumn[],
): Promise<Set<number> & { mapped: Set<number> }> {
  const plain = Object.assign(new Set<number>(), { mapped: new Set<number>() });
  const checks: { i: number; sql: string }[] = [];
  for (const [i, c] of columns.entries()) {
    const { spec } = c;
    if (spec.type === "categorical") continue;
    if (!NUMBER_TYPES.has(c.typeId) || c.typeId === DuckDBTypeId.BOOLEAN) continue;
    const x = `CAST(r${i} AS DOUBLE)`;
    const scale = spec.type === "timestamp" && spec.format === "epoch_s" ? " * 1000" : "";
    const bad = [`NOT isfinite(${x})`];
    if (spec.type === "integer") bad.push(`${x} <> trunc(${x})`);
    if (c.allowed && spec.type !== "timestamp") {
      const nums = [...c.allowed].filter((a) => canonical(Number(a)) === a).map(Number);
      bad.push(nums.length ? `${x} NOT IN (${nums.map(sqlNumber).join(", ")})` : "TRUE");
    }
    if (spec.min !== undefined) bad.push(`${x}${scale} < ${sqlNumber(spec.min)}`);
    if (spec.max !== undefined) bad.push(`${x}${scale} > ${sqlNumber(spec.max)}`);
    const missing = spec.nullable ? "" : ` + (count(*) - count(r${i}))`;
    checks.push({ i, sql: `count(*) FILTER (WHERE ${bad.join(" OR ")})${missing}` });
  }
  if (checks.length > 0) {
    const r = await conn.runAndReadAll(`SELECT ${checks.map((c) => c.sql).join(", ")} FROM (${base})`);
    const counts = r.getRowsJS()[0]!;
    for (const [j, { i }] of checks.entries()) if (Number(counts[j]) === 0) plain.add(i);
  }
  for (const [i, c] of columns.entries()) {
    if (c.spec.type !== "categorical") continue;
    const r = await conn.runAndReadAll(
      `SELECT DISTINCT r${i} FROM (${base}) WHERE r${i} IS NOT NULL LIMIT ${MAP_MAX_DISTINCT + 1}`,
    );
    const values = r.getRowsJS().map((x) => jsRaw(x[0]));
    if (values.length > MAP_MAX_DISTINCT) {
      if (c.typeId !== DuckDBTypeId.VARCHAR) plain.mapped.add(i);
      continue;
    }
    const nulls = c.spec.nullable
      ? 0
      : Number(
          (await conn.runAndReadAll(`SELECT count(*) - count(r${i}) FROM (${base})`)).getRowsJS()[0]![0],
        );
    const same = values.every((v) => {
      const chk = coerceCell(v, c.spec, c.allowed);
      return typeof v === "string" && chk.problem === undefined && chk.value === v;
    });
    if (same && nulls === 0) plain.add(i);
    else plain.mapped.add(i);
  }
  return plain;
}

/**
 * SQL for the typed value `v<i>` and problem code `k<i>` of a column, as four layers of named
 * expressions (each layer reads the names of the ones before, so no subexpression is computed
 * twice), or null when only a mapping is exact.
 */
function sqlCoercion(c: TypedColumn, i: number): string[][] | null {
  const { spec } = c;
  const r = `r${i}`;
  const text = c.typeId === DuckDBTypeId.VARCHAR;
  const number = NUMBER_TYPES.has(c.typeId);
  const [t, tok, p, ok, inf] = [`t${i}`, `tok${i}`, `p${i}`, `ok${i}`, `inf${i}`];
  const trim = text ? [`regexp_replace(${r}, ${literal(JS_TRIM_RE)}, '', 'g') AS ${t}`] : [];
  const token = text
    ? `(${r} IS NULL OR lower(${t}) IN (${MISSING_TOKENS.map(literal).join(", ")})) AS ${tok}`
    : `${r} IS NULL AS ${tok}`;
  const missingKind = spec.nullable ? "NULL" : String(KIND_CODES.missing);
  if (spec.type === "categorical") {
    if (!text) return null;
    const notAllowed = c.allowed
      ? `WHEN ${t} NOT IN (${[...c.allowed].map(literal).join(", ")}) THEN ${KIND_CODES.not_allowed}`
      : "";
    return [
      trim,
      [token],
      [],
      [
        `CASE WHEN ${tok} THEN NULL ELSE ${t} END AS v${i}`,
        `CASE WHEN ${tok} THEN ${missingKind} ${notAllowed} END AS k${i}`,
      ],
    ];
  }
  if (spec.type === "timestamp" && (spec.format ?? "iso") === "iso" && !number) return null;
  if (!text && !number) return null;
  const scale = spec.type === "timestamp" && spec.format === "epoch_s" ? " * 1000" : "";
  // the parsed number (NULL when it is not one), times 1000 for epoch seconds
  const parsed = text
    ? `CASE WHEN regexp_full_match(${t}, ${literal(NUMERIC_RE)}) THEN try_cast(${t} AS DOUBLE)${scale} END AS ${p}`
    : `CAST(${r} AS DOUBLE)${scale} AS ${p}`;
  const infinite = text
    ? `regexp_full_match(${t}, ${literal(INFINITY_RE)}, 'i') AS ${inf}`
    : `coalesce(isinf(${p}), false) AS ${inf}`;
  // an infinite number under `infinity: missing` is a missing value (numbers only, not timestamps)
  const missing =
    spec.type !== "timestamp" && spec.infinity === "missing" ? `(${tok} OR (NOT ${ok} AND ${inf}))` : tok;
  const domain: string[] = [];
  if (spec.type === "integer") domain.push(`WHEN ${p} <> trunc(${p}) THEN ${KIND_CODES.not_integer}`);
  if (c.allowed && spec.type !== "timestamp") {
    // canonical(n) ∈ allowed ⇔ n equals an allowed value that is a canonical number
    const nums = [...c.allowed].filter((a) => canonical(Number(a)) === a).map(Number);
    domain.push(
      `WHEN ${nums.length ? `${p} NOT IN (${nums.map(sqlNumber).join(", ")})` : "TRUE"} THEN ${KIND_CODES.not_allowed}`,
    );
  }
  if (spec.min !== undefined) domain.push(`WHEN ${p} < ${sqlNumber(spec.min)} THEN ${KIND_CODES.below_min}`);
  if (spec.max !== undefined) domain.push(`WHEN ${p} > ${sqlNumber(spec.max)} THEN ${KIND_CODES.above_max}`);
  const bad = spec.type === "integer" ? `(NOT ${ok} OR ${p} <> trunc(${p}))` : `NOT ${ok}`;
  return [
    trim,
    [token, parsed],
    [`coalesce(isfinite(${p}), false) AS ${ok}`, infinite],
    [
      `CASE WHEN ${missing} OR ${bad} THEN NULL ELSE ${p} END AS v${i}`,
      `CASE WHEN ${missing} THEN ${missingKind} WHEN NOT ${ok} THEN ${KIND_CODES.type} ${domain.join(" ")} END AS k${i}`,
    ],
  ];
}

function sqlNumber(x: number): string {
  return `CAST(${literal(String(x))} AS DOUBLE)`;
}

/** A temporary table `raw → (v, k)` made by `coerceCell` over the distinct raw values of a column. */
async function mappingTable(conn: DuckDBConnection, c: TypedColumn, distinctSql: string): Promise<string> {
  const name = `__netsec_map_${process.pid}_${++mapSerial}`;
  await conn.run(
    `CREATE TEMP TABLE ${name}_raw AS SELECT row_number() OVER () AS id, raw FROM (${distinctSql})`,
  );
  await conn.run(
    `CREATE TEMP TABLE ${name}_typed (id BIGINT, v ${c.numeric ? "DOUBLE" : "VARCHAR"}, k TINYINT)`,
  );
  const app = await conn.createAppender(`${name}_typed`, null, "temp");
  for (const [id, raw] of (await conn.runAndReadAll(`SELECT id, raw FROM ${name}_raw`)).getRowsJS()) {
    const chk = coerceCell(jsRaw(raw), c.spec, c.allowed);
    app.appendBigInt(BigInt(id as bigint));
    if (chk.value === null) app.appendNull();
    else if (c.numeric) app.appendDouble(chk.value as number);
    else app.appendVarchar(String(chk.value));
    const code = chk.problem ? KIND_CODES[chk.problem as CellKind] : undefined;
    if (code === undefined) app.appendNull();
    else app.appendTinyInt(code);
    app.endRow();
  }
  app.closeSync();
  await conn.run(
    `CREATE TEMP TABLE ${name} AS SELECT r.raw, t.v, t.k FROM ${name}_raw r JOIN ${name}_typed t USING (id)`,
  );
  await conn.run(`DROP TABLE ${name}_raw; DROP TABLE ${name}_typed`);
  return name;
}

/** A raw value from DuckDB as the readers would give it (BIGINT as a number, dates as ISO text). */
export function jsRaw(v: unknown): RawValue {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") return v;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** The problem kind `coerceCell` reports for a cell of `c` (the target's kinds renamed). */
export function problemKind(code: number, c: TypedColumn, schema: DatasetSchema): ProblemKind {
  const kind = KIND_BY_CODE.get(code)!;
  if (c.spec.name === schema.target.name) {
    if (kind === "not_allowed") return "unknown_label";
    if (kind === "missing") return "missing_label";
  }
  return kind;
}

/** The message `coerceCell` gives a raw value of `c`. */
export function problemMessage(raw: RawValue, c: TypedColumn, kind: ProblemKind): string {
  return coerceCell(raw, c.spec, c.allowed).message ?? kind;
}
