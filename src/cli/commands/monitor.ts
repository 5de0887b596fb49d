/**
 * `netsec monitor [--model <name>] [--since <when>] [--json]`: each monitored model's windows of scored
 * traffic (served or `netsec predict`), their drift against the training reference and alerts, and
 * the latest window's drifted inputs. Without a running server it first adds what `netsec predict`
 * left in the inboxes and closes the windows that are due (as the server's tick would).
 */
import type { Command } from "commander";
import { NetsecError } from "../../core/errors.ts";
import { AlertSink } from "../../monitor/alerts.ts";
import {
  Monitor,
  MonitoredNameSchema,
  type MonitoringView,
  monitoringOwner,
  monitorSettingsFrom,
  SinceSchema,
  sinceDate,
} from "../../monitor/monitor.ts";
import { runCommand } from "../context.ts";

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

function describe(v: MonitoringView): string[] {
  const lines = [`model ${v.model}: ${v.message ?? v.status}`];
  if (v.open) lines.push(`  open window: ${v.open.version}, ${v.open.rows} rows since ${v.open.start}`);
  if (v.windows.length === 0) lines.push("  no closed window");
  for (const w of v.windows)
    lines.push(
      `  ${w.end}  ${w.version}  ${String(w.rows).padStart(7)} rows  drifted ${w.drifted.length}/${Object.keys(w.features).length} (${pct(w.share_drifted)})  threat rate ${pct(w.outputs.threat_rate)} (training ${pct(w.outputs.reference_threat_rate)})  unseen ${pct(w.unseen_share)}${w.alerts.length ? `  ALERTS: ${w.alerts.join(", ")}` : ""}`,
    );
  const l = v.latest?.summary;
  if (l?.drifted.length) {
    lines.push(`  latest window's drifted inputs:`);
    for (const f of l.drifted) {
      const x = l.features[f]!;
      lines.push(
        `    ${f}: ${x.method} ${x.score === null ? "—" : x.score.toPrecision(4)} (threshold ${x.threshold})`,
      );
    }
  }
  return lines;
}

export function registerMonitor(program: Command): void {
  program
    .command("monitor")
    .description("drift and alerts of the traffic each model scored (windows against its training reference)")
    .option("--model <name>", "one registered model (default: every monitored model)")
    .option(
      "--since <when>",
      "windows that ended at or after: an ISO 8601 date-time, or an age (30m, 24h, 7d)",
    )
    .option("--json", "print a machine-readable summary as the last line")
    .action((o: { model?: string; since?: string; json?: boolean }) =>
      runCommand(o, async (ctx) => {
        const bad = (flag: string, value: string, message: string): NetsecError =>
          new NetsecError("CONFIG_INVALID", `${flag} ${JSON.stringify(value)}: ${message}`, { value });
        if (o.model !== undefined) {
          const r = MonitoredNameSchema.safeParse(o.model);
          if (!r.success) throw bad("--model", o.model, r.error.issues[0]!.message);
        }
        if (o.since !== undefined) {
          const r = SinceSchema.safeParse(o.since);
          if (!r.success) throw bad("--since", o.since, r.error.issues[0]!.message);
        }
        const c = ctx.config;
        const mon = new Monitor(c.home, monitorSettingsFrom(c), ctx.log, new AlertSink(ctx.log, null));
        // the server owns monitoring/ while it runs; otherwise bring the windows up to date here
        if (monitoringOwner(c.home) === null) {
          mon.tick();
          await mon.shutdown();
        }
        const names = o.model !== undefined ? [o.model] : mon.models();
        if (o.model !== undefined && !mon.models().includes(o.model))
          throw new NetsecError(
            "MODEL_NOT_FOUND",
            `no monitoring for model ${o.model}: it has scored nothing yet`,
            {
              value: o.model,
            },
          );
        const since = o.since !== undefined ? sinceDate(o.since) : undefined;
        const views = names.map((n) => mon.view(n, since));
        if (views.length === 0) ctx.say("nothing monitored yet: no model has scored traffic");
        for (const v of views) for (const line of describe(v)) ctx.say(line);
        ctx.result({
          ok: true,
          models: views.map((v) => ({ ...v, latest: v.latest ? { summary: v.latest.summary } : null })),
        });
        return 0;
      }),
    );
}
