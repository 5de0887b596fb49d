/**
 * Schema inference (`netsec schema infer`): one pass over a data file profiles every column, then
 * documented rules decide each column's type and role, the label column, the benign labels and a
 * category column, so a person starts from a schema that loads and ingests the file and only edits it.
 *
 * Rules (README "Inferring a schema"):
 * - numeric: every non-missing value is a number (or an infinite spelling): `integer` when every
 *   finite value is a whole number, else `number`. Numeric codes (ports, protocol numbers) stay
 *   numeric. An integer column holding exactly 0 and 1 gets `values: [0, 1]`; a numeric column that
 *   never went below zero gets `min: 0` (a soft bound: `validate` reports values under it, ingest
 *   stores them); the range seen is a comment, never a bound.
 * - timestamp: every non-missing value is a date-time (`2017-07-03 08:55:58`, `3/7/2017 8:55`):
 *   role `metadata` (a time is not a feature), and the `timestamp:` key left as a comment.
 * - identifier: a column named `id`, `… ID` or `…_id` (any case) gets role `id` whatever its values.
 * - categorical: anything else. Every distinct value is listed (hundreds included, never truncated),
 *   unless the column looks like an identifier — more than 1,000 distinct values, or more than 50
 *   that are over half the rows (flow ids, addresses) — which gets role `id` and no value list.
 * - label: `--target`, else the first column named (any case) label, class, result, attack_cat,
 *   attack_type, attack, outcome or target.
 * - benign labels: `--benign`, else the label values benign / normal / legitimate / background (any
 *   case), else 0 when the labels are exactly 0 and 1.
 * - category column: another column named attack_cat, attack_type, category or attack with text
 *   values becomes `labels.category_column` with role `metadata` (it names the attack: as a feature
 *   it would leak the label).
 * - infinite values (`Infinity`, `inf`): the schema gets `infinity: missing` and each affected
 *   column says how many it held. `NaN` is missing anyway.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { basename, extname } from "node:path";
import { parse as parseCsvSync } from "csv-parse/sync";
import { NetsecError } from "../core/errors.ts";
import { isInfinite, isMissingToken, parseNumber } from "./coerce.ts";
import { type FileFormat, formatFromName, type HeaderRename, type RawValue, readTable } from "./readers.ts";
import type { ColumnSpec, SchemaFile } from "./schema.ts";
import { ValidationThresholdsSchema } from "./thresholds.ts";

/** Past this many distinct text values a column is an identifier, not a category. */
export const MAX_CATEGORIES = 1000;
/** Validation's default max_missing_rate, for a note when a column exceeds it. */
const DEFAULT_MAX_MISSING_RATE = ValidationThresholdsSchema.parse({}).max_missing_rate;
/** Distinct values remembered per column (beyond it only "more than" is known). */
const TRACK_DISTINCT = 10_000;

const TARGET_NAMES = ["label", "class", "result", "attack_cat", "attack_type", "attack", "outcome", "target"];
const CATEGORY_NAMES = ["attack_cat", "attack_type", "category", "attack"];
/** Column names that are identifiers whatever their values: `id`, `Flow ID`, `flow_id`. */
const ID_NAME_RE = /^(.*[ _])?id$/i;
const BENIGN_RE = /^(benign|normal|legitimate|background)$/i;
const ISO_TIME_RE = /^\d{4}-\d{2}-\d{2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const US_TIME_RE = /^\d{1,2}\/\d{1,2}\/\d{4}( \d{1,2}:\d{2}(:\d{2})?( ?[AP]M)?)?$/i;

export interface InferOptions {
  /** The label column (default: by name). */
  target?: string;
  /** Label values that are benign (default: by name, or 0 of a 0/1 label). */
  benign?: string[];
  /** Dataset name (default: from the file name). */
  name?: string;
  /** Read only the first N data rows (default: the whole file). */
  sampleRows?: number;
  format?: FileFormat;
  onProgress?: (rows: number) => void;
}

/** What was seen in one column. */
export interface ColumnProfile {
  /** Non-missing values, infinite ones included. */
  present: number;
  missing: number;
  infinite: number;
  /** Values that are not numbers (nor infinite spellings). */
  text: number;
  firstText: string | null;
  /** Finite numbers that are not whole. */
  fractional: number;
  min: number;
  max: number;
  /** Distinct values (as their text), up to TRACK_DISTINCT. */
  distinct: Set<string>;
  /** More distinct values than tracked. */
  overflow: boolean;
  /** Every text value parses as a date-time. */
  allTimes: boolean;
}

export interface InferredColumn {
  spec: ColumnSpec;
  profile: ColumnProfile;
  /** The header as the file spells it when the schema's name differs (trimmed or renamed). */
  original?: { header: string; column: number; why: "trimmed" | "repeated" };
  /** Why the type and role (a comment in the YAML). */
  why: string;
}

export interface InferredSchema {
  file: string;
  format: FileFormat;
  /** Data rows read. */
  rows: number;
  /** True when --sample-rows stopped before the end of the file. */
  sampled: boolean;
  schema: SchemaFile;
  columns: InferredColumn[];
  targetWhy: string;
  benignWhy: string;
  categoryWhy: string | null;
  renamed: HeaderRename[];
  /** Header names with spaces around them: the schema uses them trimmed, as the readers do. */
  trimmed: { column: number; header: string; as: string }[];
  /** Things a person should check. */
  notes: string[];
}

function emptyProfile(): ColumnProfile {
  return {
    present: 0,
    missing: 0,
    infinite: 0,
    text: 0,
    firstText: null,
    fractional: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
    distinct: new Set(),
    overflow: false,
    allTimes: true,
  };
}

function observe(p: ColumnProfile, raw: RawValue): void {
  if (raw === null || (typeof raw === "string" && isMissingToken(raw))) {
    p.missing++;
    return;
  }
  p.present++;
  const key = typeof raw === "string" ? raw.trim() : String(raw);
  // past the limit only "more than" is known: no more look-ups (a third of the time on wide files)
  if (!p.overflow && !p.distinct.has(key)) {
    if (p.distinct.size < TRACK_DISTINCT) p.distinct.add(key);
    else p.overflow = true;
  }
  const n = parseNumber(raw);
  if (n !== null) {
    if (!Number.isInteger(n)) p.fractional++;
    if (n < p.min) p.min = n;
    if (n > p.max) p.max = n;
    return;
  }
  if (isInfinite(raw)) {
    p.infinite++;
    return;
  }
  p.text++;
  if (p.firstText === null) p.firstText = key;
  if (p.allTimes && !((ISO_TIME_RE.test(key) || US_TIME_RE.test(key)) && !Number.isNaN(Date.parse(key))))
    p.allTimes = false;
}

/** Profile the file and decide the schema. */
export async function inferSchema(path: string, opts: InferOptions = {}): Promise<InferredSchema> {
  const format = opts.format ?? formatFromName(path);
  if (format === "txt") {
    throw new NetsecError(
      "CONFIG_INVALID",
      `${path}: a headerless .txt file has no column names to infer from; give --format csv if its first line is a header`,
      { file: path },
    );
  }
  const table = await readTable({ path }, { format });
  const profiles = table.header.map(() => emptyProfile());
  const limit = opts.sampleRows ?? Number.POSITIVE_INFINITY;
  let rows = 0;
  let sampled = false;
  outer: for await (const b of table.batches) {
    for (const r of b.rows) {
      if (rows >= limit) {
        sampled = true;
        break outer;
      }
      rows++;
      for (let j = 0; j < profiles.length; j++) observe(profiles[j]!, r[j] ?? null);
    }
    opts.onProgress?.(rows);
  }
  if (rows === 0)
    throw new NetsecError("PARSE_ERROR", `${path} has a header but no data rows`, { file: path });

  const renamed = table.renamed ?? [];
  const trimmed = format === "csv" || format === "tsv" ? trimmedNames(path, format, table.header) : [];
  const notes: string[] = [];
  const header = table.header;

  // the label column
  let target: string;
  let targetWhy: string;
  if (opts.target !== undefined) {
    const t = opts.target.trim();
    if (!header.includes(t)) {
      throw new NetsecError(
        "CONFIG_INVALID",
        `--target ${JSON.stringify(opts.target)} is not a column of ${path} (columns: ${header.join(", ")})`,
        { file: path, column: opts.target },
      );
    }
    target = t;
    targetWhy = "given with --target";
  } else {
    const found = TARGET_NAMES.map((n) => header.find((h) => h.toLowerCase() === n)).find(
      (h) => h !== undefined,
    );
    if (found === undefined) {
      throw new NetsecError(
        "CONFIG_INVALID",
        `${path}: no column is obviously the label (none is named ${TARGET_NAMES.join(", ")}); give --target COLUMN (columns: ${header.join(", ")})`,
        { file: path },
      );
    }
    target = found;
    targetWhy = `named ${JSON.stringify(found)}`;
  }
  const tp = profiles[header.indexOf(target)]!;
  if (tp.overflow || tp.distinct.size > MAX_CATEGORIES) {
    throw new NetsecError(
      "CONFIG_INVALID",
      `${path}: the label column ${target} has more than ${MAX_CATEGORIES} distinct values; give --target with the column of labels`,
      { file: path, column: target },
    );
  }
  const labelNumeric = tp.text === 0 && tp.infinite === 0 && tp.present > 0;
  const labelValues = sortValues([...tp.distinct.keys()], labelNumeric);

  // the benign labels
  let benign: string[];
  let benignWhy: string;
  if (opts.benign?.length) {
    const unknown = opts.benign.filter((v) => !tp.distinct.has(v.trim()));
    if (unknown.length) {
      throw new NetsecError(
        "CONFIG_INVALID",
        `--benign ${unknown.map((v) => JSON.stringify(v)).join(", ")} is not a value of the label column ${target} in ${path} (values: ${labelValues.join(", ")})`,
        { file: path, column: target, value: unknown[0] },
      );
    }
    benign = opts.benign.map((v) => v.trim());
    benignWhy = "given with --benign";
  } else {
    benign = labelValues.filter((v) => BENIGN_RE.test(v));
    benignWhy = `the label value${benign.length > 1 ? "s" : ""} named ${benign.join(", ")}`;
    if (benign.length === 0 && labelNumeric && labelValues.join() === "0,1") {
      benign = ["0"];
      benignWhy = "a 0/1 label: 0 taken as benign (UNSW-NB15's convention) — check it";
    }
    if (benign.length === 0) {
      throw new NetsecError(
        "CONFIG_INVALID",
        `${path}: cannot tell which values of the label column ${target} are benign (values: ${labelValues.join(", ")}); give --benign VALUE…`,
        { file: path, column: target },
      );
    }
  }
  if (benign.length === labelValues.length)
    notes.push(`every label value of ${target} is benign: training needs threat rows too`);

  // the category column beside the label
  let categoryColumn: string | undefined;
  let categoryWhy: string | null = null;
  const catName = CATEGORY_NAMES.map((n) => header.find((h) => h.toLowerCase() === n && h !== target)).find(
    (h) => h !== undefined,
  );
  if (catName !== undefined) {
    const cp = profiles[header.indexOf(catName)]!;
    if (cp.text > 0 && !cp.overflow && cp.distinct.size <= MAX_CATEGORIES) {
      categoryColumn = catName;
      categoryWhy = `${catName} names each row's attack category beside the label column ${target}: \`--target category\` learns it; role metadata (as a feature it would leak the label)`;
      if (cp.missing > 0)
        notes.push(
          `the category column ${catName} is missing in ${cp.missing} row(s): \`--target category\` refuses such rows`,
        );
    }
  }

  const columns: InferredColumn[] = header.map((name, j) => {
    const p = profiles[j]!;
    const col = decideColumn(name, p, rows, {
      isTarget: name === target,
      isCategory: name === categoryColumn,
      labelNumeric,
    });
    const rn = renamed.find((r) => r.as === name);
    const tr = trimmed.find((t) => t.as === name && t.column === j + 1);
    if (rn) col.original = { header: rn.name, column: rn.column, why: "repeated" };
    else if (tr) col.original = { header: tr.header, column: tr.column, why: "trimmed" };
    return col;
  });
  for (const c of columns) {
    const share = (c.profile.missing + c.profile.infinite) / rows;
    if (c.spec.role === "feature" && share > DEFAULT_MAX_MISSING_RATE)
      notes.push(
        `${c.spec.name} is missing${c.profile.infinite ? " (or infinite)" : ""} in ${(100 * share).toFixed(1)}% of the rows: \`netsec validate\` fails a column over ${100 * DEFAULT_MAX_MISSING_RATE}% unless --thresholds raises max_missing_rate`,
      );
  }
  const infinite = columns.filter((c) => c.profile.infinite > 0);
  const name = opts.name ?? datasetName(path);
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) {
    throw new NetsecError(
      "CONFIG_INVALID",
      `--name ${JSON.stringify(name)}: a dataset name is lowercase letters, digits, - and _`,
      { value: name },
    );
  }
  const schema: SchemaFile = {
    name,
    title: basename(path),
    description: `Inferred by netsec schema infer from ${basename(path)} (${rows} rows${sampled ? ", a sample" : ""}).`,
    target,
    labels: {
      benign: labelNumeric ? benign.map(Number) : benign,
      ...(categoryColumn !== undefined ? { category_column: categoryColumn } : {}),
    },
    columns: columns.map((c) => c.spec),
    files: [],
    splits: {},
    ...(infinite.length > 0 ? { infinity: "missing" as const } : {}),
  };
  if (sampled)
    notes.push(
      `only the first ${rows} rows were read (--sample-rows): values, ranges and labels later in the file are not in the schema`,
    );
  return {
    file: path,
    format,
    rows,
    sampled,
    schema,
    columns,
    targetWhy,
    benignWhy,
    categoryWhy,
    renamed,
    trimmed,
    notes,
  };
}

function decideColumn(
  name: string,
  p: ColumnProfile,
  rows: number,
  o: { isTarget: boolean; isCategory: boolean; labelNumeric: boolean },
): InferredColumn {
  const distinct = p.overflow ? `more than ${fmt(TRACK_DISTINCT)}` : fmt(p.distinct.size);
  const inRows = `in ${fmt(rows)} rows`;
  const extras: string[] = [];
  if (p.missing) extras.push(`${fmt(p.missing)} missing`);
  if (p.infinite) extras.push(`${fmt(p.infinite)} infinite (read as missing: infinity: missing)`);
  const tail = extras.length ? `; ${extras.join(", ")}` : "";
  const spec: ColumnSpec = { name, type: "categorical", role: "feature", nullable: true };
  if (o.isTarget) spec.role = "target";
  else if (o.isCategory) spec.role = "metadata";
  if (ID_NAME_RE.test(name) && !o.isTarget && !o.isCategory) {
    spec.type = p.text === 0 ? (p.fractional === 0 ? "integer" : "number") : "categorical";
    spec.role = "id";
    return {
      spec,
      profile: p,
      why: `named like an identifier: role id, kept but not a feature; ${distinct} distinct values ${inRows}${tail}`,
    };
  }
  if (p.present === 0) {
    spec.type = "number";
    if (!o.isTarget) spec.role = "metadata";
    return { spec, profile: p, why: `no values ${inRows}: typed number, role metadata — type it by hand` };
  }
  const numeric = p.text === 0 && !(o.isTarget && !o.labelNumeric);
  if (numeric) {
    spec.type = p.fractional === 0 ? "integer" : "number";
    const range = p.min <= p.max ? `, seen ${fmtNum(p.min)} … ${fmtNum(p.max)}` : "";
    if (o.isTarget || (spec.type === "integer" && !p.overflow && sameSet(p.distinct, ["0", "1"]))) {
      spec.values = sortValues([...p.distinct.keys()], true).map(Number);
    } else if (p.min >= 0 && p.min <= p.max) spec.min = 0;
    const flag = spec.values && !o.isTarget ? " (a 0/1 flag)" : "";
    const why = `${spec.type}: ${distinct} distinct values ${inRows}${range}${flag}${spec.min === 0 ? "; never negative: min 0" : ""}${tail}`;
    return { spec, profile: p, why };
  }
  if (p.allTimes && p.infinite === 0 && p.text === p.present && !o.isTarget) {
    spec.type = "timestamp";
    if (!o.isCategory) spec.role = "metadata";
    return {
      spec,
      profile: p,
      why: `timestamp: every value a date-time (e.g. ${JSON.stringify(p.firstText)}); role metadata (set \`timestamp: ${name}\` for time splits)${tail}`,
    };
  }
  const mixed = p.text < p.present ? `; text among numbers, e.g. ${JSON.stringify(p.firstText)}` : "";
  const n = p.distinct.size;
  const idLike = p.overflow || n > MAX_CATEGORIES || (n > 50 && n > 0.5 * p.present);
  if (idLike && !o.isTarget && !o.isCategory) {
    spec.role = "id";
    return {
      spec,
      profile: p,
      why: `identifier-like: ${distinct} distinct text values ${inRows} (more than ${fmt(MAX_CATEGORIES)}, or most rows unique): role id, kept but not a feature${mixed}${tail}`,
    };
  }
  spec.values = sortValues([...p.distinct.keys()], false);
  return {
    spec,
    profile: p,
    why: `categorical: ${distinct} distinct values ${inRows} (all listed)${mixed}${tail}`,
  };
}

function sameSet(m: ReadonlySet<string>, values: string[]): boolean {
  return m.size === values.length && values.every((v) => m.has(v));
}

/** Numbers ascending when numeric, else code-unit order (as every listing in the project). */
function sortValues(values: string[], numeric: boolean): string[] {
  return numeric
    ? values.sort((a, b) => Number(a) - Number(b))
    : values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Header names with spaces around them, read from the file's first line (csv-parse trims them). */
function trimmedNames(
  path: string,
  format: "csv" | "tsv",
  header: readonly string[],
): { column: number; header: string; as: string }[] {
  const fd = openSync(path, "r");
  let text: string;
  try {
    const buf = Buffer.alloc(1 << 20);
    text = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString("utf8");
  } finally {
    closeSync(fd);
  }
  const lf = text.indexOf("\n");
  const line = (lf >= 0 ? text.slice(0, lf) : text).replace(/\r$/, "");
  let raw: string[];
  try {
    raw = (
      parseCsvSync(line, {
        delimiter: format === "tsv" ? "\t" : ",",
        bom: true,
        relax_quotes: true,
        relax_column_count: true,
      }) as string[][]
    )[0]!;
  } catch {
    return []; // a header spanning lines (quoted newlines): nothing to report, the readers still trim
  }
  const out: { column: number; header: string; as: string }[] = [];
  raw.forEach((h, i) => {
    if (h !== h.trim() && header[i] !== undefined) out.push({ column: i + 1, header: h, as: header[i]! });
  });
  return out;
}

/** A dataset name from a file name: lowercase, runs of other characters as "-". */
export function datasetName(path: string): string {
  const stem = basename(path, extname(path))
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+|-+$/g, "");
  return stem === "" ? "dataset" : stem;
}

export function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

function fmtNum(n: number): string {
  return Number.isInteger(n) ? fmt(n) : String(Number(n.toPrecision(6)));
}
