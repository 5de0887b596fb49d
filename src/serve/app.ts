/**
 * The netsec HTTP application: `buildApp(deps)` returns a ready-to-use fastify instance that never
 * listens (tests drive it with `app.inject()`; `server.ts` is the only file that listens).
 *
 * Cross-cutting pieces live here: helmet with a strict CSP, rate limiting, optional CORS, zod
 * validation, OpenAPI + Swagger UI, request metrics and logging (4xx at info, 5xx at error, never a
 * header), and the one error handler that maps every failure to `{error: {code, status, message,
 * details}}` (or an HTML page for a browser).
 */
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import helmet from "@fastify/helmet";
import multipart from "@fastify/multipart";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import { isNetsecError, NetsecError } from "../core/errors.ts";
import { makeAuthCheck } from "./auth.ts";
import { JobManager } from "./jobs.ts";
import { registerJsonParser } from "./json-body.ts";
import { createServeMetrics, type ServeMetrics } from "./metrics.ts";
import { ModelHolder } from "./model-holder.ts";
import { ServeMonitoring } from "./monitoring.ts";
import { wantsHtml } from "./negotiate.ts";
import { outputDir } from "./output.ts";
import { pathScrubber, serverRoots } from "./public-paths.ts";
import { OutputRetention } from "./retention.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerMonitoringRoutes } from "./routes/monitoring.ts";
import { registerPageRoutes } from "./routes/pages.ts";
import { registerPredictRoutes } from "./routes/predict.ts";
import { registerRunRoutes } from "./routes/runs.ts";
import { registerTrainRoutes } from "./routes/train.ts";
import { zodSwaggerTransform, zodValidatorCompiler } from "./schemas.ts";
import { ScoringPool } from "./scoring.ts";
import { gatedRoute, ScoringGate } from "./scoring-gate.ts";
import { type AppDeps, DEFAULT_LIMITS, type ServeLimits } from "./types.ts";
import { errorPage } from "./views/pages.ts";

/** What routes share. */
export interface ServeContext {
  deps: AppDeps;
  limits: ServeLimits;
  holder: ModelHolder;
  jobs: JobManager | null;
  metrics: ServeMetrics;
  requireToken: (req: FastifyRequest) => void;
  /** Scoring threads for CSV uploads (inline when there are none). */
  scoring: ScoringPool;
  /** The cap on scoring requests in flight (slots, then a queue, then 503). */
  scoringGate: ScoringGate;
  /** Prunes prediction_output/ to its byte and age budget after each kept output. */
  retention: OutputRetention;
  /** Windows of the scored traffic and their drift (null when `deps.monitoring` is false). */
  monitoring: ServeMonitoring | null;
}

declare module "fastify" {
  interface FastifyInstance {
    netsec: ServeContext;
  }
}

/** Routes whose requests hold a slot of the scoring cap. */
const SCORING_ROUTES = new Set(["/predict", "/predict/records"]);

/** The CSP of every page except the Swagger UI: only same-origin scripts, styles and images. */
const CSP_DIRECTIVES = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", "data:"],
  fontSrc: ["'self'"],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  scriptSrcAttr: ["'none'"],
  // plain-HTTP deployments on 127.0.0.1 must keep working; TLS is the proxy's job
  upgradeInsecureRequests: null,
};

/** Swagger UI sets styles at run time, so its pages (and only those) allow inline styles. */
const DOCS_CSP =
  "default-src 'self'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const limits: ServeLimits = {
    ...DEFAULT_LIMITS,
    maxScoring: Math.max(1, deps.scoringThreads ?? 0),
    ...deps.limits,
  };
  const log = deps.logger;
  const metrics = createServeMetrics();

  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.maxJsonBytes,
    trustProxy: false,
    return503OnClosing: true,
    requestIdHeader: false,
    genReqId: () => `req-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    routerOptions: { ignoreTrailingSlash: true },
    ajv: { customOptions: { coerceTypes: false } },
    // errors fastify answers before routing (a path parameter over 100 characters: 414, a malformed
    // URL: 400) in the same {error: {code, …}} shape as every other error
    frameworkErrors: (err, req, reply) => sendError(toNetsecError(err), req, reply, ctx),
    clientErrorHandler: answerClientError,
  });

  const scoring = new ScoringPool(deps.scoringThreads ?? 0, log);
  const holder = new ModelHolder(deps.models, log, {
    onSwap(p) {
      scoring.warm(p);
      metrics.modelInfo.reset();
      metrics.modelInfo.set({ version: p.version }, 1);
      metrics.modelLoaded.set({}, 1);
    },
    onReloadResult(result) {
      metrics.modelReloads.inc({ result });
    },
  });
  metrics.modelLoaded.set({}, 0);

  const jobs = deps.training
    ? new JobManager({
        runner: deps.training.runner,
        log,
        onSucceeded: async () => {
          await holder.refresh();
        },
        onChange(all) {
          for (const s of ["running", "succeeded", "failed", "cancelled"]) {
            metrics.trainingJobs.set({ state: s }, all.filter((j) => j.state === s).length);
          }
        },
      })
    : null;

  const ctx: ServeContext = {
    deps,
    limits,
    holder,
    jobs,
    metrics,
    requireToken: makeAuthCheck(deps.apiToken),
    scoring,
    scoringGate: new ScoringGate(limits.maxScoring, limits.scoringQueue),
    retention: new OutputRetention(
      outputDir(deps.home),
      { maxBytes: limits.outputMaxBytes, maxAgeMs: limits.outputMaxAgeMs },
      log,
    ),
    monitoring:
      deps.monitoring === false ? null : new ServeMonitoring(deps.home, deps.monitoring ?? {}, log, metrics),
  };
  app.decorate("netsec", ctx);

  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  // ---- no absolute server path in any JSON or HTML answer (see public-paths.ts) --------------
  const scrub = pathScrubber(serverRoots(deps.home, deps.dataDirs));
  app.addHook("onSend", async (req, reply, payload) => {
    if (typeof payload !== "string") return payload;
    // scored answers (megabytes of labels and probabilities, made here) are not scanned; their errors are
    if (reply.statusCode < 400 && SCORING_ROUTES.has(req.routeOptions.url ?? "")) return payload;
    const type = String(reply.getHeader("content-type") ?? "");
    return type.startsWith("application/json") || type.startsWith("text/html") ? scrub(payload) : payload;
  });

  // ---- metrics and logging of every request -------------------------------------------------
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    const labels = { method: req.method, route, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.latency.observe(labels, reply.elapsedTime / 1000);
    const line = {
      method: req.method,
      route,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (reply.statusCode >= 500) req.log.error(line, "request failed");
    else req.log.info(line, "request");
  });

  // ---- security ----------------------------------------------------------------------------
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
    crossOriginEmbedderPolicy: false,
    // HSTS only makes sense behind TLS, which a proxy terminates
    strictTransportSecurity: false,
  });

  if (deps.corsOrigins && deps.corsOrigins.length > 0) {
    const allowed = new Set(deps.corsOrigins);
    app.addHook("onRequest", async (req, reply) => {
      const origin = req.headers.origin;
      if (typeof origin !== "string" || !(allowed.has(origin) || allowed.has("*"))) return;
      reply.header("access-control-allow-origin", allowed.has("*") ? "*" : origin);
      reply.header("vary", "Origin");
      if (req.method === "OPTIONS") {
        reply.header("access-control-allow-methods", "GET, POST");
        reply.header("access-control-allow-headers", "authorization, content-type, accept");
        reply.header("access-control-max-age", "600");
        return reply.code(204).send();
      }
    });
  }

  if (deps.rateLimit !== false) {
    const rl = deps.rateLimit ?? { max: 1200, timeWindowMs: 60_000 };
    await app.register(rateLimit, {
      max: rl.max,
      timeWindow: rl.timeWindowMs,
      allowList: (req) => req.url.startsWith("/health/") || req.url === "/metrics",
      // the plugin sets Retry-After (seconds); the message names the window, then the wait
      errorResponseBuilder: (_req, c) =>
        new NetsecError(
          "TOO_MANY_REQUESTS",
          `rate limit of ${c.max} requests per ${windowWords(rl.timeWindowMs)} exceeded; retry in ${Math.ceil(c.ttl / 1000)} s`,
          { limit: c.max, window_seconds: rl.timeWindowMs / 1000, retry_after: Math.ceil(c.ttl / 1000) },
        ),
    });
  }

  await app.register(multipart, {
    limits: {
      // one byte over the limit lets our own counter name the limit in its message
      fileSize: limits.maxUploadBytes + 1,
      // two: a second file part then reaches the route, which refuses it naming its field
      files: 2,
      fields: 10,
      fieldSize: 1024,
      parts: 12,
      headerPairs: 50,
    },
  });
  registerJsonParser(app);
  // `curl --data-binary @file.csv -H 'content-type: text/csv'` streams the body as is
  app.addContentTypeParser(["text/csv", "application/csv"], (_req, payload, done) => done(null, payload));

  // ---- OpenAPI and Swagger UI ---------------------------------------------------------------
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "netsec",
        description: "Threat detection for network traffic: scoring, training jobs, runs and models.",
        version: "0.1.0",
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "NETSEC_API_TOKEN" } },
      },
    },
    transform: zodSwaggerTransform as never,
  });
  const docsPath = deps.docsPath ?? "/docs";
  await app.register(swaggerUi, {
    routePrefix: docsPath,
    staticCSP: DOCS_CSP,
    uiConfig: { validatorUrl: null, deepLinking: false } as never,
  });

  // ---- errors ------------------------------------------------------------------------------
  app.setErrorHandler((err: FastifyError, req, reply) => sendError(toNetsecError(err), req, reply, ctx));
  app.setNotFoundHandler((req, reply) =>
    sendError(
      new NetsecError("NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`, {}),
      req,
      reply,
      ctx,
    ),
  );

  // ---- the cap on scoring work: a slot from before the body is read until the answer is sent --
  const gated = gatedRoute(ctx.scoringGate);
  const isScoring = (req: FastifyRequest): boolean =>
    req.method === "POST" && SCORING_ROUTES.has(req.routeOptions.url ?? "");
  app.addHook("preParsing", async (req, reply, payload) =>
    isScoring(req) ? gated.preParsing(req, reply, payload) : payload,
  );
  app.addHook("onResponse", gated.onResponse);
  app.addHook("onRequestAbort", gated.onRequestAbort);
  // a scored upload was kept (its id in x-prediction-id): prune the folder, keeping that output
  app.addHook("onResponse", async (_req, reply) => {
    const id = reply.getHeader("x-prediction-id");
    if (typeof id === "string" && reply.statusCode < 300) void ctx.retention.prune(`${id}.csv`);
  });

  // ---- routes ------------------------------------------------------------------------------
  registerPageRoutes(app, ctx);
  registerPredictRoutes(app, ctx);
  registerTrainRoutes(app, ctx);
  registerRunRoutes(app, ctx);
  registerHealthRoutes(app, ctx);
  registerMonitoringRoutes(app, ctx);

  // ---- model lifecycle ---------------------------------------------------------------------
  app.addHook("onReady", async () => {
    void ctx.retention.prune();
    ctx.monitoring?.start();
    await holder.refresh();
    holder.startPolling(deps.modelPollMs ?? 0);
  });
  app.addHook("onClose", async () => {
    await ctx.retention.prune();
    holder.stopPolling();
    await jobs?.cancel();
    await scoring.close();
    await ctx.monitoring?.stop();
  });

  return app;
}

/** A rate-limit window in words: "minute", "10 seconds". */
export function windowWords(ms: number): string {
  if (ms === 60_000) return "minute";
  if (ms === 3_600_000) return "hour";
  return `${ms / 1000} seconds`;
}

/** Map anything thrown to a NetsecError: user mistakes keep their 4xx, everything else is a 500. */
export function toNetsecError(err: unknown): NetsecError {
  if (isNetsecError(err)) return err;
  const e = err as FastifyError & { statusCode?: number; code?: string };
  const status = typeof e?.statusCode === "number" ? e.statusCode : 500;
  const code = e?.code ?? "";
  if (status === 413 || /LIMIT|TOO_LARGE/.test(code)) {
    return new NetsecError("PAYLOAD_TOO_LARGE", `request too large: ${e.message}`, { fastify_code: code });
  }
  if (
    status === 415 ||
    code === "FST_ERR_CTP_INVALID_MEDIA_TYPE" ||
    code === "FST_INVALID_MULTIPART_CONTENT_TYPE"
  ) {
    return new NetsecError("UNSUPPORTED_MEDIA_TYPE", `unsupported content type: ${e.message}`, {
      fastify_code: code,
    });
  }
  if (status === 414 || code === "FST_ERR_MAX_PARAM_LENGTH") {
    return new NetsecError("URI_TOO_LONG", `URI too long: ${e.message}`, { fastify_code: code });
  }
  if (status === 429) return new NetsecError("TOO_MANY_REQUESTS", e.message, {});
  if (status === 404) return new NetsecError("NOT_FOUND", e.message, {});
  if (status >= 400 && status < 500) {
    return new NetsecError("BAD_REQUEST", e.message || "bad request", { fastify_code: code });
  }
  return new NetsecError("INTERNAL", "internal error", {}, { cause: err });
}

/**
 * Errors Node's HTTP parser meets before fastify sees a request (headers over 16 KiB: 431, a request
 * timeout: 408, malformed HTTP: 400), answered on the socket in the {error: {code, …}} shape.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const e =
    err.code === "HPE_HEADER_OVERFLOW"
      ? new NetsecError(
          "HEADERS_TOO_LARGE",
          "the request headers exceed 16 KiB (the request line included)",
          {},
        )
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? new NetsecError("REQUEST_TIMEOUT", "the request was not received in time", {})
        : new NetsecError("BAD_REQUEST", "malformed HTTP request", {});
  const body = JSON.stringify({ error: e.toJSON() });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

function sendError(
  e: NetsecError,
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: ServeContext,
): FastifyReply {
  // the message names the user's row/column/value; it never holds headers or tokens
  if (e.status >= 500) req.log.error({ err: e.cause ?? e, code: e.code }, e.message);
  else req.log.info({ code: e.code, status: e.status }, `request rejected: ${e.message}`);
  if (e.status === 401) reply.header("www-authenticate", 'Bearer realm="netsec"');
  const retryAfter = (e.details as { retry_after?: unknown }).retry_after;
  if (typeof retryAfter === "number") reply.header("retry-after", String(retryAfter));
  const query = req.query as Record<string, unknown> | undefined;
  // a 500 never echoes internals; the request id lets an operator find the logged cause
  const body = { ...e.toJSON(), request_id: req.id };
  reply.code(e.status);
  if (wantsHtml(req.headers.accept, query?.format)) {
    return reply
      .type("text/html; charset=utf-8")
      .send(
        errorPage(
          e.status,
          e.code,
          e.message,
          e.details as Record<string, unknown>,
          ctx.holder.current()?.version ?? null,
        ),
      );
  }
  return reply.type("application/json; charset=utf-8").send(JSON.stringify({ error: body }));
}
