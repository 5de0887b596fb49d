/** `POST /train` (token required; 202 with a job id; 409 while one runs) and `GET /jobs/:id`. */
import type { FastifyInstance } from "fastify";
import type { z } from "zod";
import { NetsecError } from "../../core/errors.ts";
import type { ServeContext } from "../app.ts";
import { confineTrainFiles } from "../data-dirs.ts";
import type { Job } from "../jobs.ts";
import { ErrorResponse, JobAccepted, JobParams, JobView, TrainBody, zodError } from "../schemas.ts";

export function registerTrainRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.post(
    "/train",
    {
      // the token is checked before the body is even looked at
      onRequest: async (req) => ctx.requireToken(req),
      schema: {
        summary: "Start a training job (one at a time). Needs `Authorization: Bearer <NETSEC_API_TOKEN>`.",
        tags: ["train"],
        security: [{ bearer: [] }],
        body: TrainBody,
        response: { 202: JobAccepted, "4xx": ErrorResponse, 503: ErrorResponse },
      },
    },
    async (req, reply) => {
      if (!ctx.jobs) {
        throw new NetsecError(
          "SERVICE_UNAVAILABLE",
          "training is not available on this server (no pipeline runner configured)",
          {
            reason: "training_not_configured",
          },
        );
      }
      let config: unknown = (req.body as z.infer<typeof TrainBody>) ?? {};
      const schema = ctx.deps.training?.configSchema;
      if (schema) {
        const r = schema.safeParse(config);
        if (!r.success) throw zodError(r.error, "body", config);
        // the worker gets the config as sent; the runner applies defaults itself
      }
      // files only from the data directories, by their real paths (403 otherwise)
      config = confineTrainFiles(config, ctx.deps.dataDirs ?? []);
      const job = ctx.jobs.start(config);
      config = undefined;
      return reply
        .code(202)
        .header("location", `/jobs/${job.id}`)
        .send({ jobId: job.id, status_url: `/jobs/${job.id}` });
    },
  );

  app.get(
    "/jobs/:id",
    {
      schema: {
        summary:
          "A training job: state, step and progress (0..1); with the API token also its messages and its result or error.",
        tags: ["train"],
        params: JobParams,
        response: { 200: JobView, "4xx": ErrorResponse },
      },
    },
    async (req) => {
      const id = (req.params as z.infer<typeof JobParams>).id;
      const job = ctx.jobs?.get(id);
      if (!job) throw new NetsecError("NOT_FOUND", `no training job ${id} on this server`, { value: id });
      // messages, result and error can quote the training data (a bad cell, a file name): token only
      if (req.headers.authorization === undefined) return publicJobView(job);
      ctx.requireToken(req);
      return job;
    },
  );
}

/** What a caller without the token sees of a job: its state and progress, no text from the run. */
export function publicJobView(job: Job): Job & { redacted: true } {
  return {
    id: job.id,
    state: job.state,
    created: job.created,
    finished: job.finished,
    step: job.step,
    progress: job.progress,
    message: "",
    history: [],
    result: null,
    error: job.error
      ? {
          code: job.error.code,
          status: job.error.status,
          message: "the job failed; send `Authorization: Bearer <NETSEC_API_TOKEN>` to see why",
          details: {},
        }
      : null,
    redacted: true,
  };
}
