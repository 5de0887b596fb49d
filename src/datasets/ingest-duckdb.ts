/**
 * Ingest of a file into the DuckDB record store, columnar.
 *
 * Fast path (CSV/TSV with a header, headerless `txt` in schema column order; not a zip member, no
 * timestamp column): DuckDB's `read_csv` parses the file on every thread straight into typed
 * columns of the dataset's table (numbers DOUBLE, categories VARCHAR); the insert keeps the file's
 * order and commits the rows unnumbered (`__row` 0). Then, in a second transaction, one set query
 * over the committed rows looks for
 * anything the row readers (`readers.ts` + `coerce.ts`) would read differently: a row DuckDB
 * rejected (ragged, unparseable number), an infinite or NaN number, a fraction in an integer column,
 * a quote inside an unquoted category, a digit_digit underscore (DuckDB reads `1_000` as 1000; the
 * row readers refuse it). Any of these, or any DuckDB reader error, sends the file down the row path
 * instead (the rows deleted again first), which names every problem exactly as before (file, row,
 * column, value; first ones named, all counted) — so the messages are the row readers' by
 * construction, and the fast path only has to be right for files the row readers accept. When
 * nothing is odd the same transaction numbers each row by its position (one UPDATE).
 *
 * Row path (JSONL, ARFF, zip members, timestamp columns, and the files above that need it): the
 * readers' two passes, the second appending typed rows to the same staging table.
 *
 * Either way the rows arrive in one transaction: on the row path rows of the staging table whose
 * (source, row) the dataset lacks are inserted; the fast path inserts into a source with no rows
 * yet (and deletes them again when the checks refuse them). A bad file leaves the store unchanged
 * and a re-run adds nothing. The source is marked
 * `ingesting` (committed) before that transaction and `complete` after it (on the fast path, after
 * the checks' and numbering's transaction), so an ingest killed mid-way is known and its re-run stores
 * everything: rows the fast path committed but did not number (`__row` 0) are deleted first.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { NetsecError } from "../core/errors.ts";
import { ident, literal } from "../store/duckdb/connection.ts";
import {
  type DuckColumnType,
  type DuckDbStore,
  datasetTable,
  ROW_COL,
  SOURCE_COL,
} from "../store/duckdb/store.ts";
import { canonical } from "./coerce.ts";
import type { IngestOptions, IngestResult } from "./ingest.ts";
import {
  checkHeaderAgainstSchema,
  checkTableTypes,
  type HeaderCheck,
  headerError,
  typedBatches,
} from "./load.ts";
import { type FileFormat, formatFromName, readTable, refLabel, type SourceRef } from "./readers.ts";
import { sha256OfRef } from "./registry.ts";
import type { ColumnSpec, DatasetSchema } from "./schema.ts";

const STAGE = "ingest_stage";

/** The missing-value spellings of `coerce.ts` (any case there): the common cases as DuckDB nulls. */
const MISSING_TOKENS = ["na", "n/a", "nan", "null", "none", "?"];
const NULL_STRINGS = [
  "",
  ...new Set(MISSING_TOKENS.flatMap((t) => [t, t.toUpperCase(), t.charAt(0).toUpperCase() + t.slice(1)])),
];
/**
 * What `read_csv` reads as NULL, tried in this order. DuckDB compares every cell of every column
 * with each string of `nullstr`: the 17 spellings make the read 1.5x the CPU of `''` alone (0.8 s
 * of 2.3 s at 1 M rows x 43 columns, one thread). So the file is first read with `''` only: a
 * spelling in a number column then fails its cast (the insert stops at the first one) or reads as
 * NaN (`nan` in any case, seen by the checks after the load), and the file is read again with every
 * spelling. Category cells do not depend on it: `categoryExpr` maps the spellings in any case.
 */
const NULL_STRING_TRIES = [[""], NULL_STRINGS] as const;
/**
 * read_csv's buffer, given explicitly: with it the 1 M-row insert took 4.6-6.0 CPU s and 490-710 MB
 * peak against 5.9-9.3 CPU s and 840-1,080 MB with DuckDB's default (five alternating runs each, the
 * insert alone, loaded machine). At least read_csv's longest line (2 MB) by DuckDB's rules.
 */
const READ_CSV_BUFFER_BYTES = 32 * 2 ** 20;
/** What JS's String.prototype.trim removes, as far as flow files go. */
const TRIM_CHARS = " \t\n\r\v\f\u00a0\ufeff";

/** The DuckDB type of a schema column in the store. */
export function storeType(c: ColumnSpec): DuckColumnType {
  return c.type === "categorical" ? "VARCHAR" : "DOUBLE";
}

export async function ingestFileDuckDb(
  store: DuckDbStore,
  schema: DatasetSchema,
  ref: SourceRef,
  knownSha: string | undefined,
  opts: IngestOptions & { rowPathOnly?: boolean } = {},
): Promise<IngestResult> {
  const t0 = performance.now();
  const label = refLabel(ref);
  const format = opts.format ?? formatFromName(ref.member ?? ref.path);
  // a file read_csv may take is hashed in the pass that scans it (`scanFile`): one read, not two
  const mayReadCsv =
    !opts.rowPathOnly && !ref.member && (format === "csv" || format === "tsv" || format === "txt");
  let early: { header: string[]; scan: FileScan } | undefined;
  if (knownSha === undefined && mayReadCsv) {
    const header = await fileHeader(ref, format, schema);
    early = { header, scan: await scanForReadCsv(ref.path, format, header, schema, createHash("sha256")) };
  }
  const sha = knownSha ?? early?.scan.sha256 ?? (await sha256OfRef(ref)).sha256;
  const done = (rows: number, added: number, warnings: number, total: number): IngestResult => ({
    dataset: schema.name,
    source: sha,
    location: label,
    rows,
    added,
    total,
    warnings,
    seconds: (performance.now() - t0) / 1000,
  });

  // the same file already stored whole under this dataset: nothing to read
  const known = (await store.listSources(schema.name)).find((s) => s.source === sha);
  if (
    known?.status === "complete" &&
    (await store.count({ dataset: schema.name, sources: [sha] })) === known.rows
  ) {
    const warnings = await store.withTable(schema.name, (c, table) =>
      domainProblems(
        c,
        `(SELECT * FROM ${table} WHERE __source = ${literal(sha)})`,
        schema,
        schema.columnNames,
      ),
    );
    opts.onProgress?.(`${label}: already stored (${known.rows} rows)`);
    return done(known.rows, 0, warnings, await store.count({ dataset: schema.name }));
  }

  const header = early?.header ?? (await fileHeader(ref, format, schema));
  const hc = checkHeaderAgainstSchema(header, schema, true);
  if (hc.missing.length > 0 || (hc.unknown.length > 0 && !opts.allowUnknownColumns))
    throw headerError(label, hc, schema);
  const present = schema.columns.filter((c) => hc.index.has(c.name));
  await store.ensureDataset(schema.name, new Map(schema.columns.map((c) => [c.name, storeType(c)])));
  if (known?.status === "ingesting") await deleteUnnumbered(store, schema.name, sha);
  const info = {
    source: sha,
    dataset: schema.name,
    location: label,
    name: ref.member ?? basename(ref.path),
  };
  const mark = (rows: number) =>
    store.putSource({ ...info, rows, ingestedAt: new Date().toISOString(), status: "ingesting" });

  let stored: { rows: number; added: number; warnings: number } | null = null;
  const fast =
    mayReadCsv &&
    !present.some((c) => c.type === "timestamp") &&
    (await store.count({ dataset: schema.name, sources: [sha] })) === 0;
  if (fast) {
    const scan = early?.scan ?? (await scanForReadCsv(ref.path, format, header, schema));
    stored = await insertWithReadCsv(
      store,
      ref.path,
      format,
      scan,
      header,
      hc,
      present,
      schema,
      sha,
      mark,
      (m) => opts.onProgress?.(`${label}: ${m}`),
    );
    if (stored === null)
      opts.onProgress?.(`${label}: read row by row (values DuckDB's reader takes differently)`);
  }
  stored ??= await insertRowByRow(store, ref, format, schema, hc, present, label, sha, mark, opts);
  await store.putSource({
    ...info,
    rows: stored.rows,
    ingestedAt: new Date().toISOString(),
    status: "complete",
  });
  opts.onProgress?.(`${label}: ${stored.rows}/${stored.rows} rows stored`);
  return done(stored.rows, stored.added, stored.warnings, await store.count({ dataset: schema.name }));
}

/** The header as the row readers see it (trimmed, repeats renamed); a headerless file's is the schema's. */
async function fileHeader(ref: SourceRef, format: FileFormat, schema: DatasetSchema): Promise<string[]> {
  const table = await readTable(ref, { schema, format, batchSize: 1 });
  // reading one row closes the file (the readers close it when their iteration ends)
  for await (const _ of table.batches) break;
  return table.header;
}

/** A regular expression (RE2) matching a value that starts or ends with a TRIM_CHARS character. */
const EDGE_SPACE = `^[${TRIM_CHARS}]|[${TRIM_CHARS}]$`;
const LONGEST_TOKEN = Math.max(...MISSING_TOKENS.map((t) => t.length));

/**
 * A SQL expression: a category cell as `coerce.ts` reads it (trimmed; missing spellings → NULL).
 * Cheap for the common cell: trim only where an edge needs it, lower() only for short values.
 * No `IN (…)` list: DuckDB plans a long one as a join, and the insert then loses the file's order.
 */
function categoryExpr(col: string): string {
  const t = `CASE WHEN regexp_matches(${col}, ${literal(EDGE_SPACE)}) THEN trim(${col}, ${literal(TRIM_CHARS)}) ELSE ${col} END`;
  return `CASE WHEN length(${t}) <= ${LONGEST_TOKEN} AND list_contains([${["", ...MISSING_TOKENS].map(literal).join(", ")}], lower(${t})) THEN NULL ELSE ${t} END`;
}

/**
 * Thrown inside the fast path's transaction to roll it back. `spellingsMayHelp`: what went wrong
 * could be a missing-value spelling in a number column (a failed cast, a NaN), so reading the file
 * again with every spelling as NULL may succeed; otherwise the file goes row by row.
 */
class NotForReadCsv extends Error {
  readonly spellingsMayHelp: boolean;
  constructor(spellingsMayHelp: boolean) {
    super("not for read_csv");
    this.spellingsMayHelp = spellingsMayHelp;
  }
}

/**
 * Insert the file with `read_csv` straight into the dataset's table (one transaction, committed with
 * the rows at `__row` 0), then check and number them (a second one); null, with the rows deleted
 * again, when the checks find a value the row readers would read differently, or when DuckDB's
 * reader fails (the caller then reads row by row).
 */
async function insertWithReadCsv(
  store: DuckDbStore,
  path: string,
  format: FileFormat,
  scan: FileScan,
  header: readonly string[],
  hc: HeaderCheck,
  present: readonly ColumnSpec[],
  schema: DatasetSchema,
  sha: string,
  mark: (rows: number) => Promise<void>,
  progress: (message: string) => void,
): Promise<{ rows: number; added: number; warnings: number } | null> {
  // positional column names: the file's own names may repeat or be empty before dedupeHeader
  const colOf = (name: string) => ident(`c${hc.index.get(name)!}`);
  const types = readCsvTypes(header, schema);
  const delim = delimiter(format);
  if (scan.numberWithUnderscore) return null;
  if (scan.lines === 0) return null; // the row readers say what is wrong with an empty file
  // the data lines (rows, unless a quoted value spans lines) as the mark of an unfinished ingest
  await mark(scan.lines);
  progress(`writing about ${scan.lines} rows to the store`);
  const columns = `{${types.map((t, i) => `${literal(`c${i}`)}: ${literal(t)}`).join(", ")}}`;
  const table = ident(datasetTable(schema.name));
  const names = present.map((c) => ident(c.name));
  const exprs = present.map((c) => (storeType(c) === "DOUBLE" ? colOf(c.name) : categoryExpr(colOf(c.name))));
  const conn = store.connection;
  const source = ident(SOURCE_COL);
  // the rows this ingest wrote and has not numbered yet (a file's rows are numbered from 1)
  const mine = `${source} = ${literal(sha)} AND ${ident(ROW_COL)} = 0`;
  for (const nulls of NULL_STRING_TRIES) {
    let rows: number;
    try {
      rows = await insertOnce(nulls);
    } catch (e) {
      if (!(e instanceof NotForReadCsv)) throw e;
      if (!e.spellingsMayHelp) return null;
      continue;
    }
    const checked = await store.transaction(() => checkAndNumber(rows));
    if (checked instanceof NetsecError) throw checked;
    if (!(checked instanceof NotForReadCsv)) return checked;
    if (!checked.spellingsMayHelp) return null;
  }
  return null;

  /** The insert, committed: the rows at `__row` 0, in file order (DuckDB's batch insert keeps it). */
  async function insertOnce(nulls: readonly string[]): Promise<number> {
    // no store_rejects: a row DuckDB cannot read (ragged, a cast that fails) stops the insert
    const insert = `INSERT INTO ${table} (${source}, ${ident(ROW_COL)}${names.map((n) => `, ${n}`).join("")})
        SELECT ${literal(sha)}, 0${exprs.map((e) => `, ${e}`).join("")}
        FROM read_csv(${literal(path)}, header = ${format !== "txt"}, auto_detect = false,
          delim = ${literal(delim)}, quote = '"', escape = '"',
          nullstr = [${nulls.map(literal).join(", ")}], columns = ${columns}, strict_mode = true,
          buffer_size = ${READ_CSV_BUFFER_BYTES})`;
    // DuckDB reads the file on every thread; with insertion order kept, the rows land in the table
    // in file order (by rowid), and are numbered from that (`checkAndNumber`). (ROW_NUMBER() OVER ()
    // in the insert would number them too, but runs on one thread: twice the time.)
    await conn.run("SET preserve_insertion_order = true");
    try {
      return await store.transaction(async () => {
        // only DuckDB's batch insert keeps the order (a plan with a join, say, would not)
        const plan = await conn.runAndReadAll(`EXPLAIN ${insert}`).then(
          (r) => r.getRows().flat().join("\n"),
          () => "",
        );
        if (!plan.includes("BATCH_INSERT")) throw new NotForReadCsv(false);
        let rows: number;
        try {
          rows = (await conn.run(insert)).rowsChanged;
        } catch {
          throw new NotForReadCsv(true);
        }
        if (rows === 0) throw new NotForReadCsv(false);
        if (rows !== scan.lines) await mark(rows);
        return rows;
      });
    } finally {
      await conn.run("SET preserve_insertion_order = false");
    }
  }

  /**
   * One pass over the committed rows (on rows of an open transaction the same query costs about
   * twice the CPU): where they sit, values read_csv takes differently, domain problems. Then the
   * numbering. When a check fails the rows are deleted and the reason returned (not thrown, so the
   * deletion commits); a kill before that commit leaves them at `__row` 0 for the re-run to delete.
   */
  async function checkAndNumber(
    rows: number,
  ): Promise<{ rows: number; added: number; warnings: number } | NotForReadCsv | NetsecError> {
    // (whether any row is odd is all that matters: one count over an OR of every column's test;
    // a non-finite number shows in its column's min or max, NaN sorting above everything). The min
    // and max of 40 columns are most of the query's cost: they are computed only for the columns
    // DuckDB's statistics do not clear (`unclearedByStats`).
    const numbers = await unclearedByStats(
      store,
      schema.name,
      present.filter((c) => c.type !== "categorical"),
    );
    const oddCell = present.flatMap((c) => {
      const x = ident(c.name);
      if (c.type === "categorical") return [`contains(${x}, '"')`];
      return c.type === "integer" ? [`${x} <> trunc(${x})`] : [];
    });
    // a number column's bounds are checked on its min and max (or its statistics); its cells
    // counted only when broken
    const ranged = new Set(
      present
        .filter((c) => c.type !== "categorical" && !c.values && (c.min !== undefined || c.max !== undefined))
        .map((c) => c.name),
    );
    const domain = domainTerms(
      schema,
      present.map((c) => c.name),
      ranged,
    );
    const [first, span, oddCells, counted, ...ranges] = (
      await conn.runAndReadAll(
        `SELECT min(rowid), max(rowid) - min(rowid) + 1, ${oddCell.length ? `count_if(${oddCell.join(" OR ")})` : "0"}, ${sumOf(domain)}${numbers.map((c) => `, min(${ident(c.name)}), max(${ident(c.name)})`).join("")} FROM ${table} WHERE ${mine}`,
      )
    ).getRows()[0]!;
    const bounds = numbers.map((c, i) => ({ c, lo: ranges[2 * i], hi: ranges[2 * i + 1] }));
    const nan = (v: unknown) => v !== null && Number.isNaN(Number(v));
    const finite = (v: unknown) => v === null || Number.isFinite(Number(v));
    const refused =
      Number(oddCells) > 0
        ? new NotForReadCsv(false)
        : !bounds.every((b) => finite(b.lo) && finite(b.hi))
          ? // a NaN may be a missing spelling (`nan`) read as a number; an infinity is not one
            new NotForReadCsv(bounds.some((b) => nan(b.hi)))
          : // the insert appended the rows in file order, one after another
            Number(span) !== rows
            ? notInFileOrder(path, rows, Number(span))
            : null;
    if (refused) {
      await conn.run(`DELETE FROM ${table} WHERE ${mine}`);
      return refused;
    }
    const broken = bounds.filter(
      ({ c, lo, hi }) =>
        ranged.has(c.name) &&
        lo !== null &&
        ((c.min !== undefined && Number(lo) < c.min) || (c.max !== undefined && Number(hi) > c.max)),
    );
    const warnings =
      Number(counted) +
      (broken.length
        ? await scalar(
            conn,
            `SELECT ${sumOf(broken.map(({ c }) => rangeTerm(c)!))} FROM ${table} WHERE ${mine}`,
          )
        : 0);
    // data row = rowid - first rowid + 1. In a transaction after the insert's: an UPDATE of rows
    // the same transaction inserted makes DuckDB rewrite every column of them at commit (0.5 of 8
    // CPU s at 1 M rows x 43 columns); after the commit only `__row` is rewritten.
    await conn.run(`UPDATE ${table} SET ${ident(ROW_COL)} = rowid - ${first} + 1 WHERE ${mine}`);
    return { rows, added: rows, warnings };
  }
}

/**
 * The number columns of `dataset`'s table whose values DuckDB's statistics cannot vouch for. DuckDB
 * keeps a min and max per column (to skip row groups, so never narrower than the values, NaN and
 * infinities included; `stats()` prints them, e.g. `[Min: 0.0, Max: 42908.0][Has Null: false…]`,
 * at no cost: nothing is read). A DOUBLE column whose statistics are finite and inside the
 * schema's min/max holds no non-finite or out-of-range value in any rows, the new ones included;
 * the others (and any statistics that do not read as expected) need their min and max computed.
 */
async function unclearedByStats(
  store: DuckDbStore,
  dataset: string,
  numbers: readonly ColumnSpec[],
): Promise<ColumnSpec[]> {
  const types = await store.columns(dataset);
  const eligible = numbers.filter((c) => types.get(c.name) === "DOUBLE");
  if (eligible.length === 0) return [...numbers];
  const row = (
    await store.connection.runAndReadAll(
      `SELECT ${eligible.map((c) => `stats(${ident(c.name)})`).join(", ")} FROM ${ident(datasetTable(dataset))} LIMIT 1`,
    )
  ).getRows()[0];
  const cleared = new Set(eligible.filter((c, i) => statsClear(row?.[i], c)));
  return numbers.filter((c) => !cleared.has(c));
}

/** Whether DuckDB statistics `text` say every value is finite and inside `c`'s min/max. */
export function statsClear(text: unknown, c: Pick<ColumnSpec, "min" | "max">): boolean {
  const m = /^\[Min: ([^,\]]+), Max: ([^\]]+)\]/.exec(typeof text === "string" ? text : "");
  if (!m) return false;
  const num = (t: string) => (t === "inf" ? Infinity : t === "-inf" ? -Infinity : Number(t));
  const lo = num(m[1]!);
  const hi = num(m[2]!);
  if (lo > hi) return true; // no value at all (only NULLs): `[Min: inf, Max: -inf]`
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return false;
  return (c.min === undefined || lo >= c.min) && (c.max === undefined || hi <= c.max);
}

/**
 * Delete the rows of `source` a fast-path ingest committed but did not get to number (`__row` 0; a
 * file's rows are numbered from 1): what a process killed between the two commits leaves. The re-run
 * then stores the file whole again, so the counts stay exact.
 */
async function deleteUnnumbered(store: DuckDbStore, dataset: string, source: string): Promise<void> {
  await store.connection.run(
    `DELETE FROM ${ident(datasetTable(dataset))} WHERE ${ident(SOURCE_COL)} = ${literal(source)} AND ${ident(ROW_COL)} = 0`,
  );
}

function notInFileOrder(path: string, rows: number, span: number): NetsecError {
  return new NetsecError(
    "STORE_ERROR",
    `ingest of ${path}: DuckDB stored ${rows} rows over ${span} positions, so they cannot be numbered in file order`,
    { file: path },
  );
}

/** The row readers' two passes: check everything (refusing type problems), then stage and insert. */
async function insertRowByRow(
  store: DuckDbStore,
  ref: SourceRef,
  format: FileFormat,
  schema: DatasetSchema,
  hc: HeaderCheck,
  present: readonly ColumnSpec[],
  label: string,
  sha: string,
  mark: (rows: number) => Promise<void>,
  opts: IngestOptions,
): Promise<{ rows: number; added: number; warnings: number }> {
  const readOpts = { schema, format, batchSize: opts.batchSize ?? 2000 };
  const { rows, warnings } = await checkTableTypes(await readTable(ref, readOpts), schema, hc, label);
  opts.onProgress?.(`${label}: ${rows} rows checked`);
  await mark(rows);
  const conn = store.connection;
  return store.transaction(async () => {
    await conn.run(
      `CREATE OR REPLACE TEMP TABLE ${STAGE} (${ident(ROW_COL)} BIGINT${present.map((c) => `, ${ident(c.name)} ${storeType(c)}`).join("")})`,
    );
    const app = await conn.createAppender(STAGE, "main", "temp");
    let staged = 0;
    try {
      const t2 = await readTable(ref, readOpts);
      for await (const b of typedBatches(t2, schema, checkHeaderAgainstSchema(t2.header, schema, true))) {
        b.rows.forEach((rec, i) => {
          app.appendBigInt(BigInt(b.firstRow + i));
          for (const c of present) {
            const v = rec[c.name];
            if (v === null || v === undefined) app.appendNull();
            else if (storeType(c) === "DOUBLE") app.appendDouble(v as number);
            else app.appendVarchar(canonical(v));
          }
          app.endRow();
        });
        staged += b.rows.length;
        opts.onProgress?.(`${label}: ${staged}/${rows} rows read into the store`);
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
    const added = await store.insertFromTable(
      schema.name,
      sha,
      `temp.${STAGE}`,
      present.map((c) => c.name),
    );
    await conn.run(`DROP TABLE temp.${STAGE}`);
    return { rows, added, warnings };
  });
}

/**
 * How many cells break their column's domain (allowed values, min/max, missing where not nullable):
 * stored as they are and reported by `validate`, as `coerce.ts` counts them (one per cell).
 */
export async function domainProblems(
  conn: DuckDBConnection,
  from: string,
  schema: DatasetSchema,
  columns: readonly string[],
): Promise<number> {
  return scalar(conn, `SELECT ${sumOf(domainTerms(schema, columns))} FROM ${from}`);
}

/**
 * SQL counts, one per column and kind of problem, whose sum is `domainProblems` (without the bounds
 * of the columns in `boundsElsewhere`, which the caller counts with `rangeTerm`). Allowed values
 * are a list_contains, not `IN (…)`: DuckDB plans a long IN list as a join, 2× the whole query.
 */
function domainTerms(
  schema: DatasetSchema,
  columns: readonly string[],
  boundsElsewhere: ReadonlySet<string> = new Set(),
): string[] {
  const terms: string[] = [];
  for (const name of columns) {
    const c = schema.column(name);
    if (!c) continue;
    const x = ident(c.name);
    const bad: string[] = [];
    if (c.values) {
      if (c.type === "categorical")
        bad.push(`NOT list_contains([${c.values.map((v) => literal(canonical(v))).join(", ")}], ${x})`);
      else if (c.type !== "timestamp") {
        const nums = c.values.map(Number).filter((v) => Number.isFinite(v));
        bad.push(
          nums.length ? `NOT list_contains([${nums.map((v) => `${v}::DOUBLE`).join(", ")}], ${x})` : "true",
        );
      }
    }
    if (c.type !== "categorical" && !boundsElsewhere.has(c.name)) {
      if (c.min !== undefined) bad.push(`${x} < ${c.min}`);
      if (c.max !== undefined) bad.push(`${x} > ${c.max}`);
    }
    if (bad.length) terms.push(`count_if(${x} IS NOT NULL AND (${bad.join(" OR ")}))`);
    if (c.nullable === false) terms.push(`count_if(${x} IS NULL)`);
  }
  return terms;
}

/** The count of a number column's cells outside its min/max (null when it has neither). */
function rangeTerm(c: ColumnSpec): string | null {
  const x = ident(c.name);
  const out = [
    ...(c.min !== undefined ? [`${x} < ${c.min}`] : []),
    ...(c.max !== undefined ? [`${x} > ${c.max}`] : []),
  ];
  return out.length ? `count_if(${x} IS NOT NULL AND (${out.join(" OR ")}))` : null;
}

/** The SQL sum of counts (0 for none). */
function sumOf(counts: readonly string[]): string {
  return counts.length ? `(${counts.join(" + ")})` : "0";
}

async function scalar(conn: DuckDBConnection, sql: string): Promise<number> {
  const r = await conn.runAndReadAll(sql);
  return Number(r.getRows()[0]?.[0] ?? 0);
}

/** The read_csv delimiter of a format. */
function delimiter(format: FileFormat): string {
  return format === "tsv" ? "\t" : ",";
}

/** The read_csv type of each field of the file: DOUBLE for the schema's number columns, else VARCHAR. */
function readCsvTypes(header: readonly string[], schema: DatasetSchema): ("DOUBLE" | "VARCHAR")[] {
  return header.map((h) => {
    const c = schema.column(h);
    return c && (c.type === "integer" || c.type === "number") ? "DOUBLE" : "VARCHAR";
  });
}

/** `scanFile` of a file with this header, as read_csv will read it. */
function scanForReadCsv(
  path: string,
  format: FileFormat,
  header: readonly string[],
  schema: DatasetSchema,
  hash?: Hash,
): Promise<FileScan> {
  const numericFields = new Set(readCsvTypes(header, schema).flatMap((t, i) => (t === "DOUBLE" ? [i] : [])));
  return scanFile(path, delimiter(format).charCodeAt(0), numericFields, format !== "txt", hash);
}

interface FileScan {
  lines: number;
  numberWithUnderscore: boolean;
  /** The file's SHA-256 (hex), when the scan was given a hash to update. */
  sha256?: string;
}

/**
 * One pass over the file's bytes: its non-empty lines after the header (the data rows, unless a
 * quoted value spans lines), and whether a number field holds `<digit>_<digit>` (DuckDB reads
 * `1_000` as 1000; the row readers refuse it). For underscores only, the field is found by counting
 * delimiters from the start of its line; a quote before it on the line counts as a hit (the caller
 * then reads row by row). With `hash`, every byte also goes into it (the file's source id), to the
 * end even after a hit.
 */
async function scanFile(
  path: string,
  delim: number,
  numericFields: ReadonlySet<number>,
  hasHeader: boolean,
  hash?: Hash,
): Promise<FileScan> {
  const isDigit = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x39;
  let carry: Buffer | null = null; // the unfinished last line of the previous chunk
  let lines = 0;
  let headerLeft = hasHeader;
  let hit = false;
  // each chunk is scanned where it lies; only the line split between two chunks is copied (copying
  // every chunk behind the carried tail cost 0.2 s and as much garbage collection at 150 MB)
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash?.update(chunk);
    if (hit) continue;
    let from = 0; // where this chunk's own lines start
    if (carry) {
      const nl = chunk.indexOf(0x0a);
      if (nl === -1) {
        carry = Buffer.concat([carry, chunk]); // a line longer than a chunk
        continue;
      }
      hit = scanLines(Buffer.concat([carry, chunk.subarray(0, nl + 1)]));
      carry = null;
      from = nl + 1;
    }
    const end = chunk.lastIndexOf(0x0a) + 1; // lines complete in the chunk: [from, end)
    if (!hit && end > from) hit = scanLines(chunk.subarray(from, end));
    if (hit && !hash) break;
    const rest = Math.max(from, end);
    if (rest < chunk.length) carry = Buffer.from(chunk.subarray(rest));
  }
  if (!hit && carry) hit = scanLines(Buffer.concat([carry, Buffer.from("\n")]));
  return { lines, numberWithUnderscore: hit, ...(hash ? { sha256: hash.digest("hex") } : {}) };

  function scanLines(b: Buffer): boolean {
    let from = 0;
    for (let nl = b.indexOf(0x0a); nl !== -1; nl = b.indexOf(0x0a, nl + 1)) {
      const blank = nl === from || (nl === from + 1 && b[from] === 0x0d);
      if (!blank) {
        if (headerLeft) headerLeft = false;
        else lines++;
      }
      from = nl + 1;
    }
    for (let i = b.indexOf(0x5f); i !== -1; i = b.indexOf(0x5f, i + 1)) {
      if (!isDigit(b[i - 1]) || !isDigit(b[i + 1])) continue;
      const lineStart = b.lastIndexOf(0x0a, i) + 1;
      let field = 0;
      for (let j = lineStart; j < i; j++) {
        if (b[j] === 0x22) return true;
        if (b[j] === delim) field++;
      }
      if (numericFields.has(field)) return true;
    }
    return false;
  }
}
