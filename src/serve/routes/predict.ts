/**
 * Scoring: `POST /predict` (a CSV, streamed, as multipart or text/csv; answers HTML, JSON or CSV) and
 * `POST /predict/records` (JSON records in, JSON out with the top contributing features), plus
 * `GET /predictions/:file` to download a kept output. Each request reads the served model once, so a
 * champion swap mid-request never mixes versions.
 */
import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import { labelMetrics } from "../../bundle/label-metrics.ts";
import type { Predictor } from "../../bundle/predictor.ts";
import { NetsecError } from "../../core/errors.ts";
import type { ServeContext } from "../app.ts";
import { collectUpload } from "../csv-upload.ts";
import { negotiate } from "../negotiate.ts";
import { labelCounts, newPredictionId, outputPath, savePredictionOutput } from "../output.ts";
import { type JsonScalar, recordsToFrame } from "../records.ts";
import {
  ErrorResponse,
  FormatQuery,
  PredictionFileParams,
  PredictJsonResponse,
  RecordsQuery,
  RecordsResponse,
  recordsBody,
} from "../schemas.ts";
import { csvScoreError, labelMetricsHeader } from "../score-csv.ts";
import { resultsPage } from "../views/pages.ts";

/** Content types a browser or client may give a CSV file part. */
const CSV_TYPES = new Set([
  "text/csv",
  "application/csv",
  "text/x-csv",
  "application/x-csv",
  "text/comma-separated-values",
  "application/vnd.ms-excel",
  "text/plain",
  "application/octet-stream",
  "",
]);

function requireModel(ctx: ServeContext): Predictor {
  const p = ctx.holder.current();
  if (!p) {
    throw new NetsecError(
      "SERVICE_UNAVAILABLE",
      "no model is loaded yet: train one (netsec train or POST /train) and try again",
      {
        reason: "no_model",
      },
    );
  }
  return p;
}

/** Count predictions per label (and threats) in the metrics; returns the threats. */
function countLabels(ctx: ServeContext, counts: { byName: [string, number][]; threats: number }): number {
  for (const [label, n] of counts.byName) ctx.metrics.predictions.inc({ label }, n);
  ctx.metrics.predictedRows.inc({}, counts.threats);
  return counts.threats;
}

/** A multipart parser's error as a 4xx (its own 4xx as they are). */
function multipartError(e: unknown): unknown {
  if (e instanceof NetsecError) return e;
  const err = e as Error & { statusCode?: number; code?: string };
  if (err.statusCode && err.statusCode < 500) return e;
  return new NetsecError("PARSE_ERROR", `malformed multipart body: ${err.message}`, { part: "body" });
}

type MultipartPart = Awaited<ReturnType<ReturnType<FastifyRequest["parts"]>["next"]>>["value"];

interface Upload {
  stream: Readable;
  label: string;
  drain: () => void;
  /**
   * Once the file is read: refuse the rest of a multipart body if it holds another file part (one
   * CSV per request, in the field `file`); text fields are ignored.
   */
  rest: () => Promise<void>;
}

/** The CSV stream of a request: the one file part of a multipart body, or a text/csv body. */
async function openUpload(req: FastifyRequest): Promise<Upload> {
  if (req.isMultipart()) {
    const parts = req.parts();
    const next = async (): Promise<MultipartPart | undefined> => {
      try {
        const n = await parts.next();
        return n.done ? undefined : n.value;
      } catch (e) {
        throw multipartError(e);
      }
    };
    let part: MultipartPart | undefined;
    do part = await next();
    while (part !== undefined && part.type !== "file");
    if (!part) {
      throw new NetsecError(
        "BAD_REQUEST",
        "the multipart body has no file part; send the CSV in a field named `file`",
        { part: "file" },
      );
    }
    const name = (part.filename || "upload.csv").replace(/^.*[\\/]/, "").slice(0, 120);
    const type = (part.mimetype || "").split(";")[0]!.trim().toLowerCase();
    const ext = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
    const drain = (): void => {
      part.file.on("error", () => undefined);
      part.file.resume();
    };
    if (!CSV_TYPES.has(type) || (ext !== undefined && ext !== "csv" && ext !== "txt")) {
      drain();
      throw new NetsecError(
        "UNSUPPORTED_MEDIA_TYPE",
        `part ${JSON.stringify(part.fieldname)} is ${JSON.stringify(name)} of type ${JSON.stringify(type || "unknown")}; upload a .csv file (text/csv)`,
        {
          part: part.fieldname,
          file: name,
          value: type,
        },
      );
    }
    const rest = async (): Promise<void> => {
      for (let more = await next(); more !== undefined; more = await next()) {
        if (more.type !== "file") continue;
        more.file.on("error", () => undefined);
        more.file.resume();
        throw new NetsecError(
          "BAD_REQUEST",
          `the multipart body has a second file part (field ${JSON.stringify(more.fieldname)}, file ${JSON.stringify(more.filename)}); send one CSV per request, in the field \`file\``,
          { part: more.fieldname, file: more.filename },
        );
      }
    };
    return { stream: part.file, label: name, drain, rest };
  }
  const body = req.body as unknown;
  if (body && typeof (body as Readable).pipe === "function") {
    const stream = body as Readable;
    return {
      stream,
      label: "request body",
      drain: () => stream.on("error", () => undefined),
      rest: async () => undefined,
    };
  }
  throw new NetsecError(
    "UNSUPPORTED_MEDIA_TYPE",
    `send the CSV as multipart/form-data (field \`file\`) or as a text/csv body, not ${JSON.stringify(req.headers["content-type"] ?? "(none)")}`,
    { value: req.headers["content-type"] ?? null },
  );
}

export function registerPredictRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const uploadLimits = {
    maxBytes: ctx.limits.maxUploadBytes,
    maxRows: ctx.limits.maxUploadRows,
    maxRowChars: ctx.limits.maxRowChars,
  };

  app.post(
    "/predict",
    {
      schema: {
        summary: "Score a CSV upload (multipart field `file`, or a text/csv body).",
        description:
          "Answers by `?format=` or Accept: an HTML table, JSON, or CSV (input rows + prediction + probability). " +
          "The output is kept as prediction_output/<id>.csv and as prediction_output/output.csv. " +
          "Only the model's input columns are required; the label column is optional (checked, and the model measured on it: " +
          "label_metrics, or the x-label-metrics header of a CSV answer); other columns are passed through. " +
          "One file part per request. Formula-like CSV cells are neutralised with a leading '. " +
          "4xx answers name the row, column and value of the problem.",
        tags: ["predict"],
        consumes: ["multipart/form-data", "text/csv"],
        querystring: FormatQuery,
        response: {
          200: {
            description: "Predictions (JSON shown; text/html and text/csv by Accept or ?format=).",
            content: { "application/json": { schema: PredictJsonResponse } },
          },
          "4xx": ErrorResponse,
        },
      },
      config: {
        openapiBody: {
          content: {
            "multipart/form-data": {
              schema: {
                type: "object",
                properties: { file: { type: "string", format: "binary" } },
                required: ["file"],
              },
            },
            "text/csv": { schema: { type: "string" } },
          },
        },
      },
    },
    async (req, reply) => {
      const predictor = requireModel(ctx);
      const format = negotiate(req.headers.accept, (req.query as z.infer<typeof FormatQuery>).format, [
        "json",
        "html",
        "csv",
      ]);
      const upload = await openUpload(req);
      // the bytes are read here, everything else on a scoring thread (serve/score-csv.ts): the parse,
      // the scoring, the output text and, for a page, its rows with their explanations
      let bytes: Buffer;
      try {
        bytes = await collectUpload(upload.stream, upload.label, uploadLimits);
      } catch (e) {
        upload.drain();
        throw e;
      }
      await upload.rest();
      const htmlRows = format === "html" ? ctx.limits.htmlRowLimit : 0;
      const r = await ctx.scoring.scoreCsv(
        predictor,
        upload.label,
        bytes,
        uploadLimits,
        format === "json",
        htmlRows,
        ctx.monitoring !== null,
      );
      if (!r.ok) throw csvScoreError(r);
      if (r.monitor !== "off") ctx.monitoring?.record(predictor, r.counts);
      ctx.metrics.uploadBytes.inc({}, r.bytes);
      countLabels(ctx, { byName: r.labels, threats: r.threats });
      const id = newPredictionId();
      await savePredictionOutput(ctx.deps.home, id, r.csv);
      reply.header("x-model-version", predictor.version).header("x-prediction-id", id);
      if (r.labelMetrics) reply.header("x-label-metrics", labelMetricsHeader(r.labelMetrics));
      if (format === "csv") {
        return reply
          .type("text/csv; charset=utf-8")
          .header("content-disposition", `attachment; filename="${id}.csv"`)
          .send(r.csv);
      }
      if (format === "html") {
        return reply.type("text/html; charset=utf-8").send(
          resultsPage({
            id,
            fileName: upload.label,
            version: predictor.version,
            threshold: predictor.manifest.threshold,
            rows: r.rows,
            threats: r.threats,
            columns: r.header,
            shown: r.shown ?? [],
            labelMetrics: r.labelMetrics,
          }),
        );
      }
      const head = JSON.stringify({
        id,
        model_version: predictor.version,
        threshold: predictor.manifest.threshold,
        rows: r.rows,
        threats: r.threats,
        download: `/predictions/${id}.csv`,
        label_metrics: r.labelMetrics,
      });
      return reply
        .type("application/json; charset=utf-8")
        .send(`${head.slice(0, -1)},"predictions":${r.predictions}}`);
    },
  );

  const RecordsBody = recordsBody(ctx.limits.maxRecords);
  app.post(
    "/predict/records",
    {
      schema: {
        summary:
          "Score JSON records; each answer has the label, threat probability and the top contributing features (3 unless ?top_features=0..10 says otherwise).",
        tags: ["predict"],
        querystring: RecordsQuery,
        body: RecordsBody,
        response: { 200: RecordsResponse, "4xx": ErrorResponse },
      },
    },
    async (req: FastifyRequest, reply: FastifyReply) => {
      const predictor = requireModel(ctx);
      const records = req.body as Record<string, JsonScalar>[];
      const { frame, labels, passthrough } = recordsToFrame(
        records,
        predictor.schema,
        predictor.manifest.input_columns,
      );
      const pred = predictor.predict(frame);
      ctx.monitoring?.recordFrame(predictor, frame, pred);
      const threats = countLabels(ctx, labelCounts(pred));
      const version = predictor.version;
      const k = (req.query as z.infer<typeof RecordsQuery>).top_features ?? 3;
      const why =
        k === 0
          ? records.map(() => [])
          : predictor.explainAll
            ? predictor.explainAll(frame, k)
            : records.map((_, i) => predictor.explain(frame, i, k));
      const predictions = records.map((_, i) => ({
        row: i + 1,
        label: pred.labels[i]!,
        label_name: pred.labelNames[i]!,
        probability: pred.probability[i]!,
        is_threat: pred.isThreat[i] === 1,
        model_version: version,
        top_features: why[i]!.slice(0, k),
        ...(Object.keys(passthrough[i]!).length > 0 ? { passthrough: passthrough[i]! } : {}),
      }));
      reply.header("x-model-version", version);
      return {
        model_version: version,
        threshold: predictor.manifest.threshold,
        count: records.length,
        threats,
        label_metrics: labels
          ? labelMetrics(labels, pred.isThreat, predictor.schema, "the request's records")
          : null,
        predictions,
      };
    },
  );

  app.get(
    "/predictions/:file",
    {
      schema: {
        summary: "Download a kept prediction output (CSV).",
        tags: ["predict"],
        params: PredictionFileParams,
      },
    },
    async (req, reply) => {
      const id = (req.params as z.infer<typeof PredictionFileParams>).file.replace(/\.csv$/, "");
      let text: Buffer;
      try {
        text = await readFile(outputPath(ctx.deps.home, id));
      } catch {
        throw new NetsecError("NOT_FOUND", `no prediction output ${id}`, { value: id });
      }
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="${id}.csv"`)
        .send(text);
    },
  );
}
