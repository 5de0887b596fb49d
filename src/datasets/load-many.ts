/** Load several files of one dataset into one Frame (type problems refused, every one counted). */
import type { Frame } from "../core/frame.ts";
import { isTypeProblem } from "./coerce.ts";
import { FrameBuilder } from "./frame-builder.ts";
import {
  type CellProblem,
  checkHeaderAgainstSchema,
  headerError,
  typedBatches,
  typeProblemsError,
} from "./load.ts";
import { type FileFormat, readTable, type SourceRef } from "./readers.ts";
import type { DatasetSchema } from "./schema.ts";

export async function loadFiles(
  refs: readonly (SourceRef & { format?: FileFormat })[],
  schema: DatasetSchema,
  requireTarget = true,
): Promise<Frame> {
  const fb = new FrameBuilder(schema, schema.columnNames);
  for (const ref of refs) {
    const t = await readTable(ref, { schema, ...(ref.format ? { format: ref.format } : {}) });
    const hc = checkHeaderAgainstSchema(t.header, schema, requireTarget);
    if (hc.missing.length || hc.unknown.length) throw headerError(t.label, hc, schema);
    const bad: CellProblem[] = [];
    let count = 0;
    for await (const b of typedBatches(t, schema, hc)) {
      for (const p of b.problems) {
        if (isTypeProblem(p.kind) || p.kind === "unknown_label" || p.kind === "missing_label") {
          count++;
          if (bad.length < 100) bad.push(p);
        }
      }
      if (count === 0) for (const r of b.rows) fb.push(r);
    }
    if (count) throw typeProblemsError(t.label, bad, count);
  }
  return fb.build();
}
