/**
 * NFStream's flow columns (its default set plus `statistical_analysis=True`) under NFStream's names,
 * with its conventions: times in whole milliseconds (inter-arrival times are differences of those),
 * sizes of the link-layer frame as on the wire (its default accounting mode), and a flow's direction
 * from its first packet. Not computed: MAC addresses and OUIs, VLAN and tunnel ids, and the nDPI
 * application fields (application_name, requested_server_name, fingerprints…), which need deep
 * packet inspection.
 */
import { FLAG_ORDER, type Flow, ms } from "./flow.ts";
import type { RunningStats } from "./running-stats.ts";

export const NFSTREAM_ID_COLUMNS = [
  "src_ip",
  "src_port",
  "dst_ip",
  "dst_port",
  "protocol",
  "ip_version",
] as const;

type Get = (f: Flow) => number;
const dirs = ["bidirectional", "src2dst", "dst2src"] as const;
const wire = (f: Flow, d: (typeof dirs)[number]): RunningStats =>
  d === "bidirectional" ? f.allWire : d === "src2dst" ? f.fwdWire : f.bwdWire;
const piat = (f: Flow, d: (typeof dirs)[number]): RunningStats =>
  d === "bidirectional" ? f.flowIatMs : d === "src2dst" ? f.fwdIatMs : f.bwdIatMs;
const first = (f: Flow, d: (typeof dirs)[number]): number =>
  d === "bidirectional" ? f.firstSeen : d === "src2dst" ? f.fwdFirst : f.bwdFirst;
const last = (f: Flow, d: (typeof dirs)[number]): number =>
  d === "bidirectional" ? f.lastSeen : d === "src2dst" ? f.fwdLast : f.bwdLast;
const seen = (t: number): number => (t < 0 ? 0 : ms(t));

function build(): (readonly [string, Get])[] {
  const out: (readonly [string, Get])[] = [];
  for (const d of dirs) {
    out.push([`${d}_first_seen_ms`, (f) => seen(first(f, d))]);
    out.push([`${d}_last_seen_ms`, (f) => seen(last(f, d))]);
    out.push([`${d}_duration_ms`, (f) => (first(f, d) < 0 ? 0 : ms(last(f, d)) - ms(first(f, d)))]);
    out.push([`${d}_packets`, (f) => wire(f, d).n]);
    out.push([`${d}_bytes`, (f) => wire(f, d).sum]);
  }
  for (const d of dirs) {
    out.push([`${d}_min_ps`, (f) => wire(f, d).minOr0()]);
    out.push([`${d}_mean_ps`, (f) => wire(f, d).mean()]);
    out.push([`${d}_stddev_ps`, (f) => Math.sqrt(wire(f, d).sampleVariance())]);
    out.push([`${d}_max_ps`, (f) => wire(f, d).maxOr0()]);
  }
  for (const d of dirs) {
    out.push([`${d}_min_piat_ms`, (f) => piat(f, d).minOr0()]);
    out.push([`${d}_mean_piat_ms`, (f) => piat(f, d).mean()]);
    out.push([`${d}_stddev_piat_ms`, (f) => Math.sqrt(piat(f, d).sampleVariance())]);
    out.push([`${d}_max_piat_ms`, (f) => piat(f, d).maxOr0()]);
  }
  // NFStream's flag order: syn, cwr, ece, urg, ack, psh, rst, fin
  const nfFlags = ["SYN", "CWR", "ECE", "URG", "ACK", "PSH", "RST", "FIN"] as const;
  for (const d of dirs)
    for (const name of nfFlags) {
      const i = FLAG_ORDER.indexOf(name);
      out.push([
        `${d}_${name.toLowerCase()}_packets`,
        (f) => (d === "dst2src" ? 0 : f.fwdFlags[i]!) + (d === "src2dst" ? 0 : f.bwdFlags[i]!),
      ]);
    }
  return out;
}

export const NFSTREAM_FEATURES: readonly (readonly [string, Get])[] = build();

export function nfstreamIdentity(f: Flow): (string | number)[] {
  return [f.src, f.srcPort, f.dst, f.dstPort, f.proto, f.ipVersion];
}
