import { resolve } from "node:path";
import type { Command } from "commander";
import { NetsecError } from "../../core/errors.ts";
import { DEFAULT_TIMEOUTS } from "../../flows/assembler.ts";
import { extractFlows, flowColumns, flowColumnTypes } from "../../flows/extract.ts";
import { FEATURE_SETS, isFeatureSetName } from "../../flows/feature-sets.ts";
import { TUNNEL_PORT } from "../../flows/tunnels.ts";
import { csvToFile, csvToStdout, type FlowSink, parquetToFile } from "../../flows/write.ts";
import { runCommand } from "../context.ts";

interface FlowsOpts {
  out?: string;
  features: string;
  idleTimeout: string;
  activeTimeout: string;
  activityTimeout: string;
  tcpTeardown: boolean;
  decodeTunnels: boolean;
  tzspPort: string;
  json?: boolean;
}

function seconds(flag: string, text: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0)
    throw new NetsecError(
      "CONFIG_INVALID",
      `${flag} must be a positive number of seconds, not ${JSON.stringify(text)}`,
      {
        value: text,
      },
    );
  return v;
}

function udpPort(flag: string, text: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1 || v > 65535)
    throw new NetsecError(
      "CONFIG_INVALID",
      `${flag} must be a port number from 1 to 65535, not ${JSON.stringify(text)}`,
      {
        value: text,
      },
    );
  return v;
}

export function registerFlows(program: Command): void {
  program
    .command("flows")
    .description(
      "turn a packet capture (pcap or pcapng) into bidirectional flow records with CICFlowMeter's features (CIC-IDS2017 column names) or NFStream's; CSV on stdout by default",
    )
    .argument("<capture>", "a .pcap or .pcapng file (recognised by its magic number, not its name)")
    .option("--out <file>", "write here instead of stdout: CSV, or Parquet when the name ends in .parquet")
    .option(`--features <set>`, `feature set: ${Object.keys(FEATURE_SETS).join(" | ")}`, "cic")
    .option(
      "--idle-timeout <s>",
      "seconds without a packet that end a flow",
      String(DEFAULT_TIMEOUTS.idleTimeout),
    )
    .option(
      "--active-timeout <s>",
      "seconds after a flow's first packet that end it (CICFlowMeter's 120 s flow timeout is this kind)",
      String(DEFAULT_TIMEOUTS.activeTimeout),
    )
    .option(
      "--activity-timeout <s>",
      "a gap longer than this between packets ends an active period and starts an idle one (Active/Idle columns)",
      String(DEFAULT_TIMEOUTS.activityTimeout),
    )
    .option("--no-tcp-teardown", "do not end TCP flows at RST or at the ACK after both FINs (NFStream's way)")
    .option(
      "--no-decode-tunnels",
      "keep a tunnel (TZSP, GTP-U, VXLAN, CAPWAP, GRE, IP in IP) as one flow between its end points instead of the flows inside it",
    )
    .option(
      "--tzsp-port <port>",
      "the UDP port a TZSP sniffer streams to (default 37008, TZSP's own)",
      String(TUNNEL_PORT.TZSP),
    )
    .option(
      "--json",
      "print a machine-readable summary as the last line (needs --out: stdout carries the CSV otherwise)",
    )
    .action((capture: string, o: FlowsOpts) =>
      runCommand(o, async (ctx) => {
        if (!isFeatureSetName(o.features))
          throw new NetsecError(
            "CONFIG_INVALID",
            `--features must be one of ${Object.keys(FEATURE_SETS).join(", ")}, not ${JSON.stringify(o.features)}`,
            { value: o.features },
          );
        if (o.json && !o.out)
          throw new NetsecError(
            "CONFIG_INVALID",
            "--json needs --out (the flows go to stdout otherwise)",
            {},
          );
        const options = {
          features: o.features,
          idleTimeout: seconds("--idle-timeout", o.idleTimeout),
          activeTimeout: seconds("--active-timeout", o.activeTimeout),
          activityTimeout: seconds("--activity-timeout", o.activityTimeout),
          tcpTeardown: o.tcpTeardown,
          decodeTunnels: o.decodeTunnels,
          tzspPort: udpPort("--tzsp-port", o.tzspPort),
        };
        const path = resolve(capture);
        const header = flowColumns(o.features);
        const out = o.out ? resolve(o.out) : undefined;
        const sink: FlowSink = !out
          ? csvToStdout(header)
          : out.toLowerCase().endsWith(".parquet")
            ? parquetToFile(header, flowColumnTypes(o.features), out)
            : csvToFile(header, out);
        // packets/s, with the ETA from the share of the file's bytes read so far
        const meter = ctx.meter(capture, "packets");
        const summary = await extractFlows(path, (row) => sink.row(row), {
          ...options,
          ...(meter
            ? {
                onProgress: (read: number, total: number, packets: number) =>
                  meter.update(packets, read > 0 ? Math.round((packets * total) / read) : undefined),
              }
            : {}),
        });
        meter?.finish();
        await sink.close();
        const s = summary.skipped;
        const inTunnels = Object.entries(summary.tunnelled).filter(([, n]) => n > 0);
        const notes = [
          inTunnels.length ? `from tunnels: ${inTunnels.map(([k, n]) => `${n} ${k}`).join(", ")}` : "",
          s.fragment ? `${s.fragment} later IP fragment(s) counted, not parsed` : "",
          s.truncated ? `${s.truncated} truncated` : "",
          s.malformed ? `${s.malformed} malformed` : "",
          s.not_ip ? `${s.not_ip} not IP` : "",
          s.unsupported_link
            ? `${s.unsupported_link} of unsupported link type(s) ${summary.unsupportedLinkTypes.join(", ")}`
            : "",
          summary.capture.truncatedRecords ? `${summary.capture.truncatedRecords} record(s) cut off` : "",
        ].filter(Boolean);
        const line = `${capture}: ${summary.capture.records} packets, ${summary.flows} flows (${summary.packets} packets in flows${notes.length ? `; ${notes.join(", ")}` : ""})${out ? ` → ${o.out}` : ""}`;
        // with the CSV on stdout the summary goes to stderr
        if (out) ctx.say(line);
        else ctx.note(line);
        ctx.result({
          ok: true,
          capture: path,
          format: summary.capture.format,
          features: o.features,
          records: summary.capture.records,
          packets: summary.packets,
          tunnelled: summary.tunnelled,
          flows: summary.flows,
          peakActiveFlows: summary.peakActiveFlows,
          skipped: summary.skipped,
          truncatedRecords: summary.capture.truncatedRecords,
          output: out ?? null,
        });
        return 0;
      }),
    );
}
