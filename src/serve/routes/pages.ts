/** `GET /` (the start page), `GET /models`, and the two local static files. */
import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { ServeContext } from "../app.ts";
import { negotiate } from "../negotiate.ts";
import { HtmlJsonQuery } from "../schemas.ts";
import { homePage, modelsPage } from "../views/pages.ts";

const STATIC: Record<string, { type: string; body: Buffer }> = {
  "app.css": {
    type: "text/css; charset=utf-8",
    body: readFileSync(new URL("../static/app.css", import.meta.url)),
  },
  "table-sort.js": {
    type: "application/javascript; charset=utf-8",
    body: readFileSync(new URL("../static/table-sort.js", import.meta.url)),
  },
};

export function registerPageRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.get("/", { schema: { hide: true } }, async (_req, reply) => {
    const p = ctx.holder.current();
    return reply.type("text/html; charset=utf-8").send(homePage(p, ctx.holder.error, ctx.limits));
  });

  app.get(
    "/static/:file",
    {
      schema: {
        hide: true,
        params: z.object({ file: z.enum(Object.keys(STATIC) as [string, ...string[]]) }),
      },
    },
    async (req, reply) => {
      const f = STATIC[(req.params as { file: string }).file]!;
      return reply.type(f.type).header("cache-control", "public, max-age=3600").send(f.body);
    },
  );

  app.get("/favicon.ico", { schema: { hide: true } }, async (_req, reply) => reply.code(204).send());

  app.get(
    "/models",
    {
      schema: {
        summary: "Registered models, their versions and aliases (the champion among them).",
        tags: ["models"],
        querystring: HtmlJsonQuery,
      },
    },
    async (req, reply) => {
      const list = ctx.deps.models.list();
      const current = ctx.holder.current();
      const format = negotiate(req.headers.accept, (req.query as z.infer<typeof HtmlJsonQuery>).format, [
        "json",
        "html",
      ]);
      if (format === "html") return reply.type("text/html; charset=utf-8").send(modelsPage(list, current));
      return { serving: current?.version ?? null, models: list };
    },
  );
}
