/**
 * Every request body, query and path parameter is a zod schema, validated once by fastify's validator
 * hook (`zodValidatorCompiler`); the OpenAPI document is generated from the same schemas with
 * `z.toJSONSchema` (`zodSwaggerTransform`). Response schemas are documentation only: responses are
 * serialised with JSON.stringify, never validated.
 */
import type { FastifySchema } from "fastify";
import { z } from "zod";
import { NetsecError } from "../core/errors.ts";
import { JOB_ID_RE } from "./jobs.ts";

export const RUN_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
export const PREDICTION_ID_RE = /^pred-[0-9]{8}-[0-9]{6}-[a-f0-9]{8}$/;

export const FormatQuery = z.object({
  format: z
    .enum(["html", "json", "csv"])
    .optional()
    .describe("Response format; overrides the Accept header."),
});

export const RecordsQuery = z.object({
  // plain decimal digits only: Number() would also take "0x5", "1e1" and " 5"
  top_features: z
    .string()
    .regex(/^(?:[0-9]|10)$/, "a whole number from 0 to 10, in plain digits")
    .transform(Number)
    .optional()
    .describe(
      "How many contributing features to return per record (0 to 10, default 3; 0 skips explanations).",
    ),
});

export const HtmlJsonQuery = z.object({
  format: z.enum(["html", "json"]).optional().describe("Response format; overrides the Accept header."),
});

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export function recordsBody(maxRecords: number) {
  return z
    .array(z.record(z.string(), scalar).describe("One record: input column → raw value (null = missing)."))
    .min(1)
    .max(maxRecords)
    .describe(
      `1 to ${maxRecords} records, each with every input column of the model; the label column is optional (checked when present), other keys are passed through.`,
    );
}

export const LabelMetricsSchema = z
  .object({
    source: z.string().describe("Where the truth came from: the label column of the data scored."),
    column: z.string(),
    labelled_rows: z.number().int(),
    accuracy: z.number(),
    precision: z.number().describe("Of the threat class."),
    recall: z.number(),
    f1: z.number(),
    confusion: z.object({ tp: z.number(), fp: z.number(), tn: z.number(), fn: z.number() }),
  })
  .nullable()
  .describe(
    "The threat decisions measured against the upload's own label column (rows without a label left out); null when it has none.",
  );

const Passthrough = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
  .optional()
  .describe("The row's columns the model does not read (ids, metadata, the label), as sent.");

export const Contribution = z.object({
  feature: z.string(),
  contribution: z.number().describe("Signed contribution to the threat score (model units)."),
  value: z.union([z.number(), z.string(), z.null()]),
});

export const RecordPrediction = z.object({
  row: z.number().int().describe("1-based record number."),
  label: z.string().describe("Predicted label in the dataset's own values."),
  label_name: z.string(),
  probability: z.number().describe("Probability of the threat class."),
  is_threat: z.boolean(),
  model_version: z.string(),
  top_features: z.array(Contribution).max(10),
  passthrough: Passthrough,
});

export const RecordsResponse = z.object({
  model_version: z.string(),
  threshold: z.number(),
  count: z.number().int(),
  threats: z.number().int(),
  label_metrics: LabelMetricsSchema,
  predictions: z.array(RecordPrediction),
});

export const PredictJsonResponse = z.object({
  id: z.string().describe("Prediction id; the CSV output is kept as prediction_output/<id>.csv."),
  model_version: z.string(),
  threshold: z.number(),
  rows: z.number().int(),
  threats: z.number().int(),
  download: z.string().describe("Path of the CSV output."),
  label_metrics: LabelMetricsSchema,
  predictions: z.array(
    z.object({
      row: z.number().int(),
      label: z.string(),
      label_name: z.string(),
      probability: z.number(),
      is_threat: z.boolean(),
      passthrough: Passthrough,
    }),
  ),
});

export const ErrorResponse = z.object({
  error: z.object({
    code: z.string(),
    status: z.number().int(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
    request_id: z.string().optional(),
  }),
});

export const TrainBody = z
  .record(z.string(), z.unknown())
  // fastify hands over null when there is no body
  .nullish()
  .describe("Optional pipeline configuration (the same keys as the pipeline YAML).");

export const JobAccepted = z.object({ jobId: z.string(), status_url: z.string() });

export const JobView = z.object({
  id: z.string(),
  state: z.enum(["running", "succeeded", "failed", "cancelled"]),
  created: z.string(),
  finished: z.string().nullable(),
  step: z.string(),
  progress: z.number().min(0).max(1),
  message: z.string(),
  history: z.array(z.object({ step: z.string(), progress: z.number(), message: z.string(), at: z.string() })),
  result: z.unknown(),
  error: z
    .object({
      code: z.string(),
      status: z.number(),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
    })
    .nullable(),
  redacted: z
    .boolean()
    .optional()
    .describe("true: asked without the token, so messages, result and error details are left out."),
});

export const JobParams = z.object({ id: z.string().regex(JOB_ID_RE, "a job id like job-0123456789abcdef") });
export const RunParams = z.object({
  id: z.string().regex(RUN_ID_RE, "letters, digits, - and _ (at most 128)"),
});
export const PredictionFileParams = z.object({
  file: z
    .string()
    .regex(
      /^pred-[0-9]{8}-[0-9]{6}-[a-f0-9]{8}\.csv$/,
      "a prediction output like pred-20250101-120000-0a1b2c3d.csv",
    ),
});

export const Health = z.object({
  status: z.enum(["ok", "ready", "not_ready"]),
  model_version: z.string().nullable().optional(),
  message: z.string().optional(),
});

/** Turn zod issues into one 400 that names the path (for records: `row` and `column`) and the value. */
export function zodError(error: z.ZodError, part: string, data: unknown): NetsecError {
  const issues = error.issues
    .slice(0, 20)
    .map((i) => ({ path: i.path.map(String).join("."), message: i.message, code: i.code }));
  const first = error.issues[0]!;
  const details: Record<string, unknown> = { part, issues, total: error.issues.length };
  let where = first.path.length ? `${part}.${first.path.map(String).join(".")}` : part;
  if (part === "body" && Array.isArray(data) && typeof first.path[0] === "number") {
    details.row = first.path[0] + 1;
    where = `record ${first.path[0] + 1}`;
    if (first.path[1] !== undefined) {
      details.column = String(first.path[1]);
      where += `, column ${String(first.path[1])}`;
      const rec = data[first.path[0]] as Record<string, unknown> | undefined;
      const v = rec && typeof rec === "object" ? rec[String(first.path[1])] : undefined;
      details.value = v;
      where += `: value ${JSON.stringify(v)?.slice(0, 80)}`;
    }
  }
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : "";
  return new NetsecError("BAD_REQUEST", `invalid ${part}: ${where}: ${first.message}${more}`, details);
}

/** fastify validatorCompiler for zod schemas. */
export function zodValidatorCompiler({ schema, httpPart }: { schema: unknown; httpPart?: string }) {
  const s = schema as z.ZodType;
  return (data: unknown) => {
    const r = s.safeParse(data);
    if (r.success) return { value: r.data };
    return { error: zodError(r.error, httpPart ?? "request", data) };
  };
}

function toJson(s: unknown, io: "input" | "output"): unknown {
  if (!(s instanceof z.ZodType)) return s;
  const j = z.toJSONSchema(s, { io, unrepresentable: "any", target: "draft-2020-12" }) as Record<
    string,
    unknown
  >;
  delete j.$schema;
  return j;
}

/**
 * @fastify/swagger `transform`: zod → JSON Schema for body, querystring, params and responses, and
 * documentation-only request bodies (multipart uploads) from `config.openapiBody`.
 */
export function zodSwaggerTransform({
  schema,
  url,
  route,
}: {
  schema: FastifySchema;
  url: string;
  route?: { config?: unknown };
}) {
  if (!schema) return { schema, url };
  const out: Record<string, unknown> = { ...schema };
  for (const k of ["body", "querystring", "params", "headers"] as const) {
    if (schema[k]) out[k] = toJson(schema[k], "input");
  }
  if (schema.response && typeof schema.response === "object") {
    const resp: Record<string, unknown> = {};
    for (const [code, s] of Object.entries(schema.response as Record<string, unknown>)) {
      if (s && typeof s === "object" && "content" in s) {
        const content = (s as { content: Record<string, { schema: unknown }>; description?: string }).content;
        resp[code] = {
          ...(s as object),
          content: Object.fromEntries(
            Object.entries(content).map(([ct, v]) => [ct, { schema: toJson(v.schema, "output") }]),
          ),
        };
      } else resp[code] = toJson(s, "output");
    }
    out.response = resp;
  }
  const docBody = (route?.config as { openapiBody?: unknown } | undefined)?.openapiBody;
  if (docBody) out.body = docBody;
  return { schema: out as FastifySchema, url };
}
