/**
 * An inferred schema as the YAML a person edits: the layout of the built-in schemas (one flow-style
 * line per column), with a comment above each choice saying what was seen and why.
 */
import { basename } from "node:path";
import type { InferredColumn, InferredSchema } from "./infer.ts";
import { fmt } from "./infer.ts";

const PLAIN_RE = /^[A-Za-z_][A-Za-z0-9_ ./-]*$/;
const RESERVED_RE = /^(true|false|null|yes|no|on|off|y|n|nan|inf|infinity)$/i;

/** A scalar in flow context: plain when unambiguous, else a JSON string (valid YAML). */
function scalar(v: string | number): string {
  if (typeof v === "number") return String(v);
  return PLAIN_RE.test(v) && !v.endsWith(" ") && !RESERVED_RE.test(v) ? v : JSON.stringify(v);
}

function list(vs: readonly (string | number)[]): string {
  return `[${vs.map(scalar).join(", ")}]`;
}

function columnLine(c: InferredColumn): string {
  const s = c.spec;
  const parts = [`name: ${scalar(s.name)}`, `type: ${s.type}`];
  if (s.role !== "feature") parts.push(`role: ${s.role}`);
  if (s.values) parts.push(`values: ${list(s.values)}`);
  if (s.min !== undefined) parts.push(`min: ${s.min}`);
  return `  - {${parts.join(", ")}}`;
}

/** A comment line (or lines) prefixed with `indent` + "# ". */
function comment(text: string, indent = ""): string {
  return text
    .split("\n")
    .map((l) => `${indent}# ${l}`)
    .join("\n");
}

export function renderInferredSchema(inf: InferredSchema, now = new Date()): string {
  const s = inf.schema;
  const out: string[] = [];
  out.push(
    comment(
      `Schema inferred by \`netsec schema infer\` from ${basename(inf.file)} (${fmt(inf.rows)} rows${inf.sampled ? ", the first rows only" : ""}, ${inf.format}) on ${now.toISOString().slice(0, 10)}.\n` +
        'Edit freely: each choice says what was seen. The rules: README, "Inferring a schema".',
    ),
  );
  if (inf.trimmed.length) {
    out.push(
      comment(
        `${inf.trimmed.length} header name(s) had spaces around them; the schema uses them trimmed, as every reader does:\n` +
          inf.trimmed.map((t) => `  column ${t.column} ${JSON.stringify(t.header)} → ${t.as}`).join("\n"),
      ),
    );
  }
  if (inf.renamed.length) {
    out.push(
      comment(
        `${inf.renamed.length} header name(s) repeat an earlier column; the k-th occurrence of a name X is X_k, as every reader renames it:\n` +
          inf.renamed.map((r) => `  column ${r.column} ${JSON.stringify(r.name)} → ${r.as}`).join("\n"),
      ),
    );
  }
  for (const n of inf.notes) out.push(comment(`Check: ${n}`));
  out.push(`name: ${s.name}`);
  out.push(`title: ${scalar(s.title)}`);
  if (s.description) out.push(`description: ${JSON.stringify(s.description)}`);
  out.push(comment(`the label column: ${inf.targetWhy}`));
  out.push(`target: ${scalar(s.target)}`);
  out.push("labels:");
  out.push(comment(`benign: ${inf.benignWhy}; every other label is a threat`, "  "));
  out.push(`  benign: ${list(s.labels.benign ?? [])}`);
  if (s.labels.category_column !== undefined) {
    out.push(comment(`category_column: ${inf.categoryWhy}`, "  "));
    out.push(`  category_column: ${scalar(s.labels.category_column)}`);
  }
  if (s.infinity) {
    const cols = inf.columns.filter((c) => c.profile.infinite > 0).map((c) => c.spec.name);
    out.push(
      comment(
        `infinite values (Infinity, inf) in ${cols.length} column(s): ${cols.join(", ")}.\n` +
          "missing reads them as missing values; error refuses the file. A column's own `infinity:` wins. NaN is always missing.",
      ),
    );
    out.push(`infinity: ${s.infinity}`);
  }
  const timestamps = inf.columns.filter((c) => c.spec.type === "timestamp");
  if (timestamps.length)
    out.push(comment(`timestamp: ${timestamps[0]!.spec.name}   (uncomment for time-based splits)`));
  out.push(
    comment(
      `${inf.columns.length} columns: ${countBy(inf.columns.map((c) => c.spec.type))}; ${inf.columns.filter((c) => c.spec.role === "feature").length} features`,
    ),
  );
  out.push("columns:");
  for (const c of inf.columns) {
    const origin = c.original
      ? c.original.why === "trimmed"
        ? ` (header ${JSON.stringify(c.original.header)}, trimmed)`
        : ` (column ${c.original.column}, a repeated ${JSON.stringify(c.original.header)}, renamed)`
      : "";
    out.push(comment(`${c.spec.name}${origin}: ${c.why}`, "  "));
    out.push(columnLine(c));
  }
  return `${out.join("\n")}\n`;
}

function countBy(xs: readonly string[]): string {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m].map(([k, n]) => `${n} ${k}`).join(", ");
}
