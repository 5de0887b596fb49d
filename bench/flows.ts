/**
 * `netsec flows` beside NFStream (statistical features on) and the PyPI cicflowmeter, in one run on
 * the same capture: packets per second and peak RSS of each (from /usr/bin/time).
 *
 * The capture (default 1,000,000 packets) is made here, in a temporary directory, by replaying the
 * mirror's Ethernet captures (simple_http.pcap, 200722_tcp_anon.pcapng, teardrop.pcap) round after
 * round: each round's timestamps are shifted past the previous round's, and every IPv4 address gets
 * the round number in its middle two bytes, so each round's flows are new flows. cicflowmeter is
 * run on the first `--cic-packets` packets only (default 100,000: it handles a few thousand packets
 * a second), and its rate is stated as such.
 *
 * Usage: npx node bench/flows.ts [--packets=1000000] [--cic-packets=100000] [--write]
 *        npx node bench/flows.ts --packets=N --make-only=<file.pcap>   (only write the capture)
 * Needs NETSEC_DATASET_MIRROR and the project's venv (scripts/python-env).
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readCapture } from "../src/flows/capture.ts";
import { timed } from "./timed.ts";

const ROOT = resolve(import.meta.dirname, "..");
const PYTHON = join(ROOT, ".venv/bin/python");
const MIRROR = process.env.NETSEC_DATASET_MIRROR ?? resolve(ROOT, "../shared/datasets");
const arg = (name: string): string | undefined =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
const packets = Number(arg("packets") ?? 1_000_000);
const cicPackets = Number(arg("cic-packets") ?? 100_000);

interface Rec {
  tsMicros: number;
  data: Uint8Array;
  wire: number;
}

/** The Ethernet records of the public captures, each capture's times made relative to its start. */
async function sources(): Promise<Rec[][]> {
  const out: Rec[][] = [];
  for (const name of ["simple_http.pcap", "200722_tcp_anon.pcapng", "teardrop.pcap"]) {
    const recs: Rec[] = [];
    await readCapture(join(MIRROR, "pcap", name), (p) => {
      if (p.linkType === 1) recs.push({ tsMicros: p.tsMicros, data: p.data.slice(), wire: p.wireLength });
    });
    const t0 = recs[0]!.tsMicros;
    for (const r of recs) r.tsMicros -= t0;
    out.push(recs);
  }
  return out;
}

/** Write a little-endian microsecond pcap of `total` packets (rounds of the sources); returns its path. */
async function makeCapture(dir: string, total: number, name: string): Promise<string> {
  const src = await sources();
  const round = src.flat().sort((a, b) => a.tsMicros - b.tsMicros);
  const span = round.at(-1)!.tsMicros + 1_000_000;
  const path = join(dir, name);
  const fd = openSync(path, "w");
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20);
  writeSync(fd, header);
  const base = 1_700_000_000_000_000;
  let written = 0;
  let chunk: Buffer[] = [];
  let chunkBytes = 0;
  for (let r = 0; written < total; r++) {
    for (const rec of round) {
      if (written >= total) break;
      const t = base + r * span + rec.tsMicros;
      const h = Buffer.alloc(16);
      h.writeUInt32LE(Math.floor(t / 1e6), 0);
      h.writeUInt32LE(Math.round(t % 1e6), 4);
      h.writeUInt32LE(rec.data.length, 8);
      h.writeUInt32LE(rec.wire, 12);
      const d = Buffer.from(rec.data);
      // IPv4 over Ethernet II: put the round in the middle bytes of both addresses
      if (d.length >= 34 && d[12] === 0x08 && d[13] === 0x00) {
        for (const at of [14 + 12, 14 + 16]) {
          d[at + 1] = (r >> 8) & 255;
          d[at + 2] = r & 255;
        }
      }
      chunk.push(h, d);
      chunkBytes += 16 + d.length;
      written++;
      if (chunkBytes > 1 << 20) {
        writeSync(fd, Buffer.concat(chunk));
        chunk = [];
        chunkBytes = 0;
      }
    }
  }
  if (chunk.length) writeSync(fd, Buffer.concat(chunk));
  closeSync(fd);
  return path;
}

const fmt = (x: number, d = 0): string =>
  Number.isFinite(x) ? x.toLocaleString("en-US", { maximumFractionDigits: d }) : "—";

async function main(): Promise<void> {
  const only = arg("make-only");
  if (only) {
    // just the capture, for manual runs: --make-only=<path>
    const d = mkdtempSync(join(tmpdir(), "netsec-bench-flows-"));
    const p = await makeCapture(d, packets, "replay.pcap");
    writeFileSync(only, readFileSync(p));
    rmSync(d, { recursive: true, force: true });
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "netsec-bench-flows-"));
  try {
    console.error(`making a ${fmt(packets)}-packet capture…`);
    const big = await makeCapture(dir, packets, "replay.pcap");
    const small = await makeCapture(dir, Math.min(cicPackets, packets), "replay-small.pcap");
    const env = { ...process.env, NETSEC_HOME: dir, NETSEC_LOG_LEVEL: "warn", NETSEC_PROGRESS: "off" };
    const node = process.execPath;
    const runs: { tool: string; packets: number; seconds: number; peakRssMb: number; flows: number }[] = [];
    const csvRows = (p: string): number => readFileSync(p, "utf8").trim().split("\n").length - 1;

    console.error("netsec flows…");
    const n = await timed(
      node,
      [join(ROOT, "src/cli/main.ts"), "flows", big, "--out", join(dir, "netsec.csv")],
      env,
      3600,
    );
    runs.push({
      tool: "netsec flows (CIC features)",
      packets,
      seconds: n.seconds,
      peakRssMb: n.peakRssMb,
      flows: csvRows(join(dir, "netsec.csv")),
    });
    const nn = await timed(
      node,
      [
        join(ROOT, "src/cli/main.ts"),
        "flows",
        big,
        "--features",
        "nfstream",
        "--no-tcp-teardown",
        "--out",
        join(dir, "netsec-nf.csv"),
      ],
      env,
      3600,
    );
    runs.push({
      tool: "netsec flows --features nfstream",
      packets,
      seconds: nn.seconds,
      peakRssMb: nn.peakRssMb,
      flows: csvRows(join(dir, "netsec-nf.csv")),
    });

    console.error("NFStream (statistical_analysis=True)…");
    const nf = await timed(
      PYTHON,
      [join(ROOT, "bench/flows_reference.py"), "nfstream", big, join(dir, "nfstream.csv")],
      env,
      3600,
    );
    runs.push({
      tool: "NFStream 6.6 (statistical_analysis)",
      packets,
      seconds: nf.seconds,
      peakRssMb: nf.peakRssMb,
      flows: JSON.parse(nf.stdout.trim().split("\n").at(-1)!).flows,
    });

    console.error(`cicflowmeter on the first ${fmt(cicPackets)} packets…`);
    const cic = await timed(
      PYTHON,
      [join(ROOT, "bench/flows_reference.py"), "cicflowmeter", small, join(dir, "cic.csv")],
      env,
      7200,
    );
    runs.push({
      tool: "cicflowmeter 0.2.0 (PyPI)",
      packets: Math.min(cicPackets, packets),
      seconds: cic.seconds,
      peakRssMb: cic.peakRssMb,
      flows: JSON.parse(cic.stdout.trim().split("\n").at(-1)!).flows,
    });

    const netsecRate = runs[0]!.packets / runs[0]!.seconds;
    const lines = [
      `Capture: ${fmt(packets)} packets (the mirror's Ethernet captures replayed with shifted times and addresses), ${cpus().length} cores, ${new Date().toISOString().slice(0, 10)}.`,
      "",
      "| tool | packets | wall s | packets/s | netsec CIC ÷ this | peak RSS MB | flows |",
      "|---|---|---|---|---|---|---|",
      ...runs.map((r) => {
        const rate = r.packets / r.seconds;
        return `| ${r.tool} | ${fmt(r.packets)} | ${fmt(r.seconds, 1)} | ${fmt(rate)} | ${fmt(netsecRate / rate, 2)}× | ${fmt(r.peakRssMb)} | ${fmt(r.flows)} |`;
      }),
    ];
    const table = lines.join("\n");
    console.log(table);
    if (process.argv.includes("--write")) {
      writeFileSync(join(ROOT, "bench/results/flows.md"), `${table}\n`);
      console.error("wrote bench/results/flows.md");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
