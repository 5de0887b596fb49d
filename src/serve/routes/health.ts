/** Liveness, readiness (a model is loaded) and Prometheus metrics. */
import type { FastifyInstance } from "fastify";
import type { ServeContext } from "../app.ts";
import { Health } from "../schemas.ts";

export function registerHealthRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.get(
    "/health/live",
    { schema: { summary: "The process is up.", tags: ["health"], response: { 200: Health } } },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/health/ready",
    {
      schema: {
        summary: "A model is loaded and the server can score (503 until then).",
        tags: ["health"],
        response: { 200: Health, 503: Health },
      },
    },
    async (_req, reply) => {
      // messages name files under NETSEC_HOME; a public answer shows them relative to it
      const shown = (m: string): string => m.split(ctx.deps.home).join("$NETSEC_HOME");
      const p = ctx.holder.current();
      if (!p) {
        return reply.code(503).send({
          status: "not_ready" as const,
          model_version: null,
          message: shown(ctx.holder.error ?? "no model loaded yet"),
        });
      }
      // ready, but not with the champion: say why
      const warning = ctx.holder.warning;
      return {
        status: "ready" as const,
        model_version: p.version,
        ...(warning ? { message: shown(warning) } : {}),
      };
    },
  );

  app.get(
    "/metrics",
    { schema: { summary: "Prometheus metrics (text format 0.0.4).", tags: ["health"] } },
    async (_req, reply) => {
      return reply.type("text/plain; version=0.0.4; charset=utf-8").send(ctx.metrics.registry.render());
    },
  );
}
