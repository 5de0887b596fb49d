/**
 * `GET /runs`, `GET /runs/:id` (JSON or HTML) and `GET /runs/:id/files/:name` for the run's reports
 * and curves. File names come from a fixed list and the run id from a strict pattern, so no path is
 * ever built from free-form input. Report HTML is served in a CSP sandbox (an opaque origin).
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { runPaths } from "../../config/home.ts";
import { NetsecError } from "../../core/errors.ts";
import type { ServeContext } from "../app.ts";
import { negotiate } from "../negotiate.ts";
import { ErrorResponse, HtmlJsonQuery, RUN_ID_RE, RunParams } from "../schemas.ts";
import { RUN_FILES, type RunFileName, runPage, runsPage } from "../views/pages.ts";

const RunFileParams = z.object({
  id: z.string().regex(RUN_ID_RE),
  name: z.enum(Object.keys(RUN_FILES) as [RunFileName, ...RunFileName[]]),
});

const FILE_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  svg: "image/svg+xml",
  json: "application/json; charset=utf-8",
  yaml: "text/yaml; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  md: "text/markdown; charset=utf-8",
};

const REPORT_CSP =
  "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

export function registerRunRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const source = ctx.deps.runs;
  const runFile = (id: string, name: RunFileName): string =>
    join(runPaths(ctx.deps.home, id)[RUN_FILES[name]], name);
  const available = async (id: string): Promise<RunFileName[]> => {
    const out: RunFileName[] = [];
    for (const name of Object.keys(RUN_FILES) as RunFileName[]) {
      try {
        if ((await stat(runFile(id, name))).isFile()) out.push(name);
      } catch {
        // absent: not linked
      }
    }
    return out;
  };

  app.get(
    "/runs",
    {
      schema: {
        summary: "Pipeline runs, newest first.",
        tags: ["runs"],
        querystring: HtmlJsonQuery.extend({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      },
    },
    async (req, reply) => {
      const q = req.query as { format?: "html" | "json"; limit: number };
      const runs = source ? await source.list({ limit: q.limit }) : [];
      if (negotiate(req.headers.accept, q.format, ["json", "html"]) === "html") {
        return reply
          .type("text/html; charset=utf-8")
          .send(runsPage(runs, ctx.holder.current()?.version ?? null));
      }
      return { runs };
    },
  );

  app.get(
    "/runs/:id",
    {
      schema: {
        summary: "One run: summary, leaderboard, links to curves and drift reports.",
        tags: ["runs"],
        params: RunParams,
        querystring: HtmlJsonQuery,
        response: { "4xx": ErrorResponse },
      },
    },
    async (req, reply) => {
      const { id } = req.params as z.infer<typeof RunParams>;
      const run = source ? await source.get(id) : null;
      if (!run) throw new NetsecError("RUN_NOT_FOUND", `no run ${id}`, { value: id });
      const files = await available(id);
      if (
        negotiate(req.headers.accept, (req.query as z.infer<typeof HtmlJsonQuery>).format, [
          "json",
          "html",
        ]) === "html"
      ) {
        return reply
          .type("text/html; charset=utf-8")
          .send(runPage(run, files, ctx.holder.current()?.version ?? null));
      }
      return { ...run, files: files.map((f) => `/runs/${id}/files/${f}`) };
    },
  );

  app.get(
    "/runs/:id/files/:name",
    {
      schema: {
        summary: "A report or chart of a run (drift report, leaderboard, curves, model card).",
        tags: ["runs"],
        params: RunFileParams,
      },
    },
    async (req, reply) => {
      const { id, name } = req.params as z.infer<typeof RunFileParams>;
      let body: Buffer;
      try {
        body = await readFile(runFile(id, name));
      } catch {
        throw new NetsecError("NOT_FOUND", `run ${id} has no ${name}`, { value: name });
      }
      const ext = name.slice(name.lastIndexOf(".") + 1);
      reply.type(FILE_TYPES[ext] ?? "application/octet-stream");
      if (ext === "html" || ext === "svg") reply.header("content-security-policy", REPORT_CSP);
      return reply.send(body);
    },
  );
}
