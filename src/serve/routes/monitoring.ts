/**
 * `GET /monitoring` (JSON, or the monitoring page for a browser): a model's windows of scored traffic,
 * their drift against its training reference and the latest window's full reports; `GET
 * /monitoring/report` the latest window's drift report as the page `netsec validate` writes
 * (drift.html).
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { NetsecError } from "../../core/errors.ts";
import { MonitoredNameSchema, type MonitoringView, SinceSchema, sinceDate } from "../../monitor/monitor.ts";
import { driftHtml } from "../../validate/report/index.ts";
import type { ServeContext } from "../app.ts";
import { negotiate } from "../negotiate.ts";
import { monitoringPage } from "../views/monitoring.ts";

const MonitoringQuery = z.object({
  model: MonitoredNameSchema.optional().describe(
    "Registered model name (default: the served model's, else the first monitored one).",
  ),
  since: SinceSchema.optional().describe(
    "Only windows that ended at or after: an ISO 8601 date-time, or an age such as 24h, 7d, 30m.",
  ),
  format: z.enum(["html", "json"]).optional().describe("Response format; overrides the Accept header."),
});

const ReportQuery = z.object({ model: MonitoredNameSchema.optional() });

export function registerMonitoringRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const pick = (model: string | undefined): { view: (since?: Date) => MonitoringView; name: string } => {
    const mon = ctx.monitoring;
    if (!mon)
      throw new NetsecError("SERVICE_UNAVAILABLE", "monitoring is off on this server (NETSEC_MONITOR=off)", {
        reason: "monitoring_off",
      });
    const served = ctx.holder.current();
    const servedName = served ? mon.modelOf(served)?.name : undefined;
    const name = model ?? servedName ?? mon.monitor.models()[0];
    if (!name) throw new NetsecError("NOT_FOUND", "nothing monitored yet: no model has scored traffic", {});
    if (name !== servedName && !mon.monitor.models().includes(name))
      throw new NetsecError("NOT_FOUND", `no monitoring for model ${name}`, { value: name });
    return { name, view: (since) => mon.monitor.view(name, since) };
  };

  app.get(
    "/monitoring",
    {
      schema: {
        summary:
          "A model's monitoring: windows of scored traffic, each window's drift against the training reference (inputs and outputs), alerts, and the latest window's drift reports.",
        tags: ["monitoring"],
        querystring: MonitoringQuery,
      },
    },
    async (req, reply) => {
      const q = req.query as z.infer<typeof MonitoringQuery>;
      const format = negotiate(req.headers.accept, q.format, ["json", "html"]);
      const { view } = pick(q.model);
      const v = view(q.since ? sinceDate(q.since) : undefined);
      if (format === "html")
        return reply
          .type("text/html; charset=utf-8")
          .send(await monitoringPage(v, ctx.holder.current()?.version ?? null));
      return reply
        .type("application/json; charset=utf-8")
        .send(JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? null : x)));
    },
  );

  app.get(
    "/monitoring/report",
    {
      schema: {
        summary:
          "The latest closed window's drift report (HTML, the layout of `netsec validate`'s drift.html).",
        tags: ["monitoring"],
        querystring: ReportQuery,
      },
    },
    async (req, reply) => {
      const { name, view } = pick((req.query as z.infer<typeof ReportQuery>).model);
      const latest = view().latest;
      if (!latest)
        throw new NetsecError("NOT_FOUND", `no closed monitoring window yet for model ${name}`, {});
      const s = latest.summary;
      return reply
        .type("text/html; charset=utf-8")
        .send(
          await driftHtml(
            latest.inputs,
            `Drift report — ${name} ${s.version}: scored traffic ${s.start} – ${s.end} (${s.rows} rows) vs training`,
          ),
        );
    },
  );
}
