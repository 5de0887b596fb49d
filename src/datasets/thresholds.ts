/**
 * The validation thresholds (`netsec validate --thresholds`, a pipeline config's validation.thresholds):
 * what share of missing, invalid and duplicate values still passes. Declared beside the data schemas
 * because schema inference reads the defaults too; src/validate applies them.
 */
import { z } from "zod";

export const ValidationThresholdsSchema = z
  .object({
    /** Per column: largest share of missing values that passes. */
    max_missing_rate: z.number().min(0).max(1).default(0.05),
    /** Per column: largest share of values outside the schema (type, allowed set, range) that passes. */
    max_invalid_rate: z.number().min(0).max(1).default(0),
    /** Largest share of rows whose feature vector repeats an earlier row. Phishing is at 0.477 (feature vectors). */
    max_duplicate_rate: z.number().min(0).max(1).default(0.5),
    /** Fewest rows that pass. */
    min_rows: z.number().int().min(1).default(10),
    /** Unknown (undeclared) columns fail validation unless allowed. */
    allow_unknown_columns: z.boolean().default(false),
    /** Labelled data must contain both a threat and a benign label. */
    require_both_classes: z.boolean().default(true),
  })
  .strict();

export type ValidationThresholds = z.infer<typeof ValidationThresholdsSchema>;
