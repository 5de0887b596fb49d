/**
 * Dataset schemas: one YAML file per dataset names every column with its type, the target, which labels
 * are threats, optional label → category maps, how the native files are laid out, and (for the
 * registry) the files with URL and SHA-256. A new dataset needs only a schema file, not code.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { NetsecError } from "../core/errors.ts";

const scalar = z.union([z.string(), z.number()]);

/**
 * What an infinite value in a numeric column is (CIC-IDS2017's `Flow Bytes/s` holds `Infinity`):
 * `error` (the default) refuses it as a type problem; `missing` reads it as a missing value. `NaN`
 * is always missing, whatever the policy.
 */
export const InfinityPolicySchema = z.enum(["missing", "error"]);
export type InfinityPolicy = z.infer<typeof InfinityPolicySchema>;

export const ColumnSpecSchema = z
  .object({
    name: z.string().min(1),
    type: z.enum(["integer", "number", "categorical", "timestamp"]),
    /** Role: feature (default), target, id (kept, not a feature), metadata (kept, not a feature, not drifted). */
    role: z.enum(["feature", "target", "id", "metadata"]).default("feature"),
    description: z.string().optional(),
    /** Allowed values (categorical: strings; integer: numbers). */
    values: z.array(scalar).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    /** Missing values allowed at all (still subject to the missing-rate threshold). Default true. */
    nullable: z.boolean().default(true),
    /** Timestamp parse format: "iso" (default) or "epoch_s"/"epoch_ms". */
    format: z.enum(["iso", "epoch_s", "epoch_ms"]).optional(),
    /** Numeric columns: what an infinite value (`Infinity`, `-inf`, …) is; default the schema's `infinity`. */
    infinity: InfinityPolicySchema.optional(),
  })
  .strict();

export const FileSpecSchema = z
  .object({
    /** File name as published (= name in the mirror directory and the cache). */
    name: z.string().min(1),
    url: z.string().url().optional(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: z.number().int().positive().optional(),
    /** Read as: csv (with header), tsv, jsonl, arff, or headerless csv ("txt": columns in schema order). */
    format: z.enum(["csv", "tsv", "jsonl", "arff", "txt", "zip"]),
    /** Set when this file is a member of a zip archive listed in the same schema. */
    member_of: z.string().optional(),
    rows: z.number().int().nonnegative().optional(),
    description: z.string().optional(),
  })
  .strict();

export const SchemaFileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "lowercase letters, digits, - and _"),
    title: z.string(),
    description: z.string().optional(),
    license: z.string().optional(),
    citation: z.string().optional(),
    target: z.string(),
    labels: z
      .object({
        /** Label values that are threats (the positive class). Exactly one of threat / benign. */
        threat: z.array(scalar).optional(),
        /** Label values that are benign; every other label is a threat. */
        benign: z.array(scalar).optional(),
        /** Display names for label values. */
        names: z.record(z.string(), z.string()).optional(),
        /** Label value → category (e.g. NSL-KDD attack → dos/probe/r2l/u2r). */
        categories: z.record(z.string(), z.string()).optional(),
        /**
         * A column holding each row's category beside the label (UNSW-NB15: `attack_cat` beside the
         * 0/1 `label`), instead of a `categories` map. It must be a declared column with role
         * `metadata` or `id`: it names the attack, so as a feature it would leak the label.
         */
        category_column: z.string().optional(),
      })
      .strict(),
    columns: z.array(ColumnSpecSchema).min(2),
    files: z.array(FileSpecSchema).default([]),
    /** Named splits: predefined train/test files, or defaults for random splits. */
    splits: z
      .record(
        z.string(),
        z
          .object({
            train: z.array(z.string()).min(1),
            test: z.array(z.string()).optional(),
            /** Further test sets, each evaluated and reported separately (never used for selection). */
            also_test: z.array(z.string()).optional(),
            description: z.string().optional(),
          })
          .strict(),
      )
      .default({}),
    /** The split `netsec train --dataset` uses when none is given. */
    default_split: z.string().optional(),
    /** Time column for time-based splits. */
    timestamp: z.string().optional(),
    /** Default infinity policy of the numeric columns (a column's own `infinity` wins). Default error. */
    infinity: InfinityPolicySchema.optional(),
  })
  .strict();

export type ColumnSpec = z.infer<typeof ColumnSpecSchema>;
export type FileSpec = z.infer<typeof FileSpecSchema>;
export type SchemaFile = z.infer<typeof SchemaFileSchema>;

/** A parsed, cross-checked schema with lookups the rest of the code needs. */
export class DatasetSchema {
  readonly raw: SchemaFile;
  readonly source: string;
  readonly columns: readonly ColumnSpec[];
  readonly target: ColumnSpec;
  readonly features: readonly ColumnSpec[];
  private readonly byName: Map<string, ColumnSpec>;
  private readonly threatSet: Set<string> | null;
  private readonly benignSet: Set<string> | null;

  constructor(raw: SchemaFile, source = "(inline)") {
    this.raw = raw;
    this.source = source;
    // each numeric column carries its effective infinity policy, so coercion needs the column alone
    this.columns = raw.columns.map((c) =>
      c.infinity === undefined && raw.infinity !== undefined && (c.type === "integer" || c.type === "number")
        ? { ...c, infinity: raw.infinity }
        : c,
    );
    this.byName = new Map();
    const problems: string[] = [];
    for (const c of this.columns) {
      if (this.byName.has(c.name)) problems.push(`column ${JSON.stringify(c.name)} is declared twice`);
      this.byName.set(c.name, c);
      if (c.min !== undefined && c.max !== undefined && c.min > c.max) {
        problems.push(`column ${c.name}: min ${c.min} > max ${c.max}`);
      }
      if (c.type === "categorical" && c.values?.length === 0)
        problems.push(`column ${c.name}: empty values list`);
    }
    const target = this.byName.get(raw.target);
    if (!target) problems.push(`target ${JSON.stringify(raw.target)} is not a declared column`);
    if ((raw.labels.threat === undefined) === (raw.labels.benign === undefined)) {
      problems.push("labels: give exactly one of `threat` or `benign`");
    }
    const catCol = raw.labels.category_column;
    if (catCol !== undefined) {
      const c = this.byName.get(catCol);
      if (!c) problems.push(`labels.category_column ${JSON.stringify(catCol)} is not a declared column`);
      else if (c.name === raw.target) problems.push("labels.category_column cannot be the target");
      else if (c.role !== "metadata" && c.role !== "id")
        problems.push(
          `labels.category_column ${catCol} must have role metadata or id (as a feature it would leak the label)`,
        );
      if (raw.labels.categories)
        problems.push("labels: give `categories` (a label → category map) or `category_column`, not both");
    }
    if (raw.timestamp !== undefined) {
      const t = this.byName.get(raw.timestamp);
      if (t?.type !== "timestamp") problems.push(`timestamp ${raw.timestamp} must name a timestamp column`);
    }
    const fileNames = new Set(raw.files.map((f) => f.name));
    for (const f of raw.files) {
      if (f.member_of && !fileNames.has(f.member_of))
        problems.push(`file ${f.name}: member_of ${f.member_of} unknown`);
      if (!f.member_of && !f.url) problems.push(`file ${f.name}: needs url or member_of`);
    }
    for (const [name, s] of Object.entries(raw.splits)) {
      for (const f of [...s.train, ...(s.test ?? []), ...(s.also_test ?? [])]) {
        if (!fileNames.has(f)) problems.push(`split ${name}: file ${f} is not in files`);
      }
    }
    if (raw.default_split && !raw.splits[raw.default_split])
      problems.push(`default_split ${raw.default_split} unknown`);
    if (problems.length > 0) {
      throw new NetsecError("SCHEMA_INVALID", `schema ${source}: ${problems.join("; ")}`, {
        file: source,
        problems,
      });
    }
    this.target = target!;
    // the target column's role is target whatever the YAML said
    this.features = this.columns.filter((c) => c.name !== raw.target && c.role === "feature");
    this.threatSet = raw.labels.threat ? new Set(raw.labels.threat.map(String)) : null;
    this.benignSet = raw.labels.benign ? new Set(raw.labels.benign.map(String)) : null;
  }

  get name(): string {
    return this.raw.name;
  }

  column(name: string): ColumnSpec | undefined {
    return this.byName.get(name);
  }

  /** Names of all declared columns in declaration order (= the headerless file layout). */
  get columnNames(): string[] {
    return this.columns.map((c) => c.name);
  }

  get featureNames(): string[] {
    return this.features.map((c) => c.name);
  }

  isThreat(label: string | number): boolean {
    const s = String(label);
    if (this.threatSet) return this.threatSet.has(s);
    return !this.benignSet!.has(s);
  }

  /** Display name of a label value. */
  labelName(label: string | number): string {
    return this.raw.labels.names?.[String(label)] ?? String(label);
  }

  /** Category of a label (label itself when no map, "unknown" when the map lacks it). */
  labelCategory(label: string | number): string {
    const m = this.raw.labels.categories;
    if (!m) return String(label);
    return m[String(label)] ?? "unknown";
  }

  file(name: string): FileSpec | undefined {
    return this.raw.files.find((f) => f.name === name);
  }
}

/** Parse a schema from YAML text; every problem is listed, with the file named. */
export function parseSchema(text: string, source = "(inline)"): DatasetSchema {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new NetsecError("SCHEMA_INVALID", `schema ${source} is not valid YAML: ${(e as Error).message}`, {
      file: source,
    });
  }
  const r = SchemaFileSchema.safeParse(doc);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new NetsecError("SCHEMA_INVALID", `schema ${source}: ${problems.join("; ")}`, {
      file: source,
      problems,
    });
  }
  return new DatasetSchema(r.data, source);
}

export function loadSchemaFile(path: string): DatasetSchema {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new NetsecError(
      "FILE_UNREADABLE",
      `cannot read schema ${path}: ${(e as Error).message}`,
      { file: path },
      {
        cause: e,
      },
    );
  }
  return parseSchema(text, path);
}
