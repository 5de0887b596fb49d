/**
 * The model card: what the model is, what it was trained on, how it was evaluated, how to use it, and
 * its limits — as Markdown (for MLflow and git) and as a standalone HTML page (strict-CSP safe: no scripts).
 */
import type { BundleManifest } from "./manifest.ts";

/** Per-class test metrics of a multiclass model (train.ts PerClassReport, the fields the card shows). */
export interface CardPerClass {
  classes: string[];
  class_is_threat: boolean[];
  per_class: Record<string, { precision: number; recall: number; f1: number; support: number }>;
  macro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
  decision: string;
  unseen: { rows: number; threats: number; threats_flagged: number; classes: Record<string, number> };
}

export interface CardExtras {
  perClass?: CardPerClass | null;
  leaderboard?: { model: string; cv_mean: number; cv_std: number; params: Record<string, unknown> }[];
  drift?: { share_drifted: number; dataset_drift: boolean } | null;
  registry?: { name: string; version: number; champion: boolean } | null;
}

const fmt = (v: number | null | undefined, d = 4): string =>
  v === null || v === undefined || Number.isNaN(v) ? "—" : v.toFixed(d);

export function modelCardMarkdown(m: BundleManifest, x: CardExtras = {}): string {
  const test = m.metrics.test;
  const cv = m.metrics.cv;
  const lines: string[] = [];
  lines.push(`# Model card — ${m.model} on ${m.dataset}`);
  lines.push("");
  lines.push(
    `- Run: \`${m.run_id}\`, created ${m.created}, netsec ${m.code_version.netsec}${m.code_version.git_commit ? ` (${m.code_version.git_commit.slice(0, 10)})` : ""}`,
  );
  if (x.registry)
    lines.push(
      `- Registry: ${x.registry.name} version ${x.registry.version}${x.registry.champion ? " — **champion**" : ""}`,
    );
  lines.push(
    `- Task: ${m.target_mode === "binary" ? "binary threat detection" : `multiclass (${m.target_mode})`}; classes: ${m.classes.map((c, i) => `${c}${m.class_is_threat[i] ? " (threat)" : ""}`).join(", ")}`,
  );
  lines.push(
    `- Decision threshold on the threat probability: **${fmt(m.threshold)}** (${m.threshold_strategy}, chosen on cross-validated predictions, not on the test set)`,
  );
  lines.push("");
  lines.push("## Data");
  lines.push(
    `- Dataset: ${m.schema.title} (\`${m.dataset}\`)${m.schema.license ? `, license ${m.schema.license}` : ""}`,
  );
  lines.push(
    `- Training rows: ${m.data.train_rows} (sha256 ${m.data.train_sha256.slice(0, 16)}…), test rows: ${m.data.test_rows} (sha256 ${m.data.test_sha256.slice(0, 16)}…)`,
  );
  lines.push(
    `- Inputs: ${m.input_columns.length} raw columns → ${m.feature_names.length} features after preprocessing`,
  );
  if (x.drift)
    lines.push(
      `- Drift at training time: ${(100 * x.drift.share_drifted).toFixed(1)}% of columns drifted${x.drift.dataset_drift ? " (dataset drift)" : ""}`,
    );
  lines.push("");
  lines.push("## Hyperparameters");
  lines.push("```json");
  lines.push(JSON.stringify(m.params, null, 2));
  lines.push("```");
  lines.push("");
  lines.push("## Evaluation");
  lines.push("| metric | cross-validation | test (untouched split) |");
  lines.push("|---|---|---|");
  const keys = [...new Set([...Object.keys(cv), ...Object.keys(test)])];
  for (const k of keys) lines.push(`| ${k} | ${fmt(cv[k])} | ${fmt(test[k])} |`);
  const pc = x.perClass;
  if (pc) {
    lines.push("");
    lines.push(`### Per class (test split; predicted class: ${pc.decision})`);
    lines.push("| class | side | precision | recall | F1 | support |");
    lines.push("|---|---|---|---|---|---|");
    pc.classes.forEach((c, k) => {
      const r = pc.per_class[c]!;
      lines.push(
        `| ${c} | ${pc.class_is_threat[k] ? "threat" : "benign"} | ${fmt(r.precision)} | ${fmt(r.recall)} | ${fmt(r.f1)} | ${r.support} |`,
      );
    });
    for (const [name, a] of [
      ["macro avg", pc.macro],
      ["weighted avg", pc.weighted],
    ] as const)
      lines.push(`| ${name} | | ${fmt(a.precision)} | ${fmt(a.recall)} | ${fmt(a.f1)} | |`);
    if (pc.unseen.rows)
      lines.push(
        `\n${pc.unseen.rows} test rows carry ${Object.keys(pc.unseen.classes).length} label(s) never seen in training (${Object.keys(pc.unseen.classes).join(", ")}): they count on their side in the threat metrics; ${pc.unseen.threats_flagged} of their ${pc.unseen.threats} threats were flagged.`,
      );
  }
  if (x.leaderboard?.length) {
    lines.push("");
    lines.push("## Candidates (leaderboard)");
    lines.push("| model | CV mean | CV std | best params |");
    lines.push("|---|---|---|---|");
    for (const r of x.leaderboard)
      lines.push(`| ${r.model} | ${fmt(r.cv_mean)} | ${fmt(r.cv_std)} | \`${JSON.stringify(r.params)}\` |`);
  }
  lines.push("");
  lines.push("## Use");
  lines.push("- `netsec predict --model <bundle dir | champion> --input data.csv --output scored.csv`");
  lines.push(
    "- ONNX: `onnx/model.onnx` (inputs: one column each; outputs `label`, `probability`), loadable with `mlflow.pyfunc.load_model`.",
  );
  lines.push("");
  lines.push("## Limits");
  lines.push(
    "- Scores are only meaningful for data drawn like the training data; check drift (`netsec validate --reference <run> --current <file>`).",
  );
  lines.push(
    "- Labels never seen in training (e.g. new attack types) are scored by similarity to known ones; the test metrics above say how well that worked on the test split.",
  );
  return `${lines.join("\n")}\n`;
}

function esc(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** A tiny Markdown → HTML for the card's own constructs (headings, lists, tables, code blocks, bold, code). */
export function modelCardHtml(md: string, title: string): string {
  const out: string[] = [];
  const lines = md.split("\n");
  let i = 0;
  const inline = (s: string): string =>
    esc(s)
      .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
      .replace(/`([^`]+)`/g, "<code>$1</code>");
  while (i < lines.length) {
    const l = lines[i]!;
    if (l.startsWith("```")) {
      const buf: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.startsWith("```")) buf.push(lines[i++]!);
      i++;
      out.push(`<pre><code>${esc(buf.join("\n"))}</code></pre>`);
      continue;
    }
    if (l.startsWith("# ")) out.push(`<h1>${inline(l.slice(2))}</h1>`);
    else if (l.startsWith("## ")) out.push(`<h2>${inline(l.slice(3))}</h2>`);
    else if (l.startsWith("- ")) {
      out.push("<ul>");
      while (i < lines.length && lines[i]!.startsWith("- "))
        out.push(`<li>${inline(lines[i++]!.slice(2))}</li>`);
      out.push("</ul>");
      continue;
    } else if (l.startsWith("|")) {
      const rows: string[][] = [];
      while (i < lines.length && lines[i]!.startsWith("|")) {
        const cells = lines[i++]!.slice(1, -1)
          .split("|")
          .map((c) => c.trim());
        if (!cells.every((c) => /^-+$/.test(c))) rows.push(cells);
      }
      out.push("<table>");
      for (const [k, r] of rows.entries()) {
        out.push(
          `<tr>${r.map((c) => (k === 0 ? `<th>${inline(c)}</th>` : `<td>${inline(c)}</td>`)).join("")}</tr>`,
        );
      }
      out.push("</table>");
      continue;
    } else if (l.trim() !== "") out.push(`<p>${inline(l)}</p>`);
    i++;
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>
body{font:15px/1.5 system-ui,sans-serif;max-width:900px;margin:2rem auto;padding:0 1rem;color:#1f2328}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d0d7de;padding:4px 10px;text-align:left}
th{background:#f6f8fa}code,pre{background:#f6f8fa;border-radius:4px}pre{padding:10px;overflow:auto}code{padding:1px 4px}
</style></head><body>${out.join("\n")}</body></html>\n`;
}
