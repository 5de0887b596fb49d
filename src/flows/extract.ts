/**
 * A capture file to flow rows: read (capture.ts) → decode (decode.ts) → assemble (assembler.ts) →
 * one row per flow in the chosen feature set, handed to `onRow` as each flow ends. Packets that give
 * no flow key are counted by reason, never fatal. Tunnels are opened by default (NFStream's default):
 * a tunnelled packet counts in its innermost flow.
 */
import { type AssemblerOptions, FlowAssembler } from "./assembler.ts";
import { type CaptureStats, readCapture } from "./capture.ts";
import { type DecodeOutcome, decodePacket, newDecodedPacket } from "./decode.ts";
import { FEATURE_SETS, type FeatureSetName } from "./feature-sets.ts";
import type { Flow } from "./flow.ts";
import { TUNNEL_PORT, type TunnelKind } from "./tunnels.ts";

export interface ExtractOptions extends AssemblerOptions {
  features?: FeatureSetName;
  /** Key tunnelled packets (TZSP, GTP-U, VXLAN, CAPWAP, GRE, IP in IP) on their innermost packet (default true). */
  decodeTunnels?: boolean;
  /** The UDP port TZSP is read on (default 37008, TZSP's). */
  tzspPort?: number;
  /** Called after each chunk read: bytes read so far, file size, packets read so far (all of them). */
  onProgress?: (bytesRead: number, totalBytes: number, packets: number) => void;
}

export interface ExtractSummary {
  capture: CaptureStats;
  /** Packets that made it into a flow. */
  packets: number;
  /** Of those, the ones taken out of a tunnel, by the innermost tunnel's kind. */
  tunnelled: Record<TunnelKind, number>;
  /** Packets with no flow key, by reason. */
  skipped: Record<Exclude<DecodeOutcome, "ok">, number>;
  /** Link types met that are not decoded (counted in skipped.unsupported_link). */
  unsupportedLinkTypes: number[];
  flows: number;
  peakActiveFlows: number;
}

/** The column names of a feature set, in output order. */
export function flowColumns(features: FeatureSetName = "cic"): string[] {
  const set = FEATURE_SETS[features];
  return [...set.idColumns, ...set.features.map(([name]) => name)];
}

/** The DuckDB type of each column of `flowColumns` (Parquet output). */
export function flowColumnTypes(features: FeatureSetName = "cic"): string[] {
  const set = FEATURE_SETS[features];
  return [...set.idTypes, ...set.features.map(() => "DOUBLE")];
}

/** Stream `path`'s flows to `onRow` (identity values, then feature values, as `flowColumns`). */
export async function extractFlows(
  path: string,
  onRow: (row: (string | number)[], flow: Flow) => void,
  o: ExtractOptions = {},
): Promise<ExtractSummary> {
  const set = FEATURE_SETS[o.features ?? "cic"];
  const assembler = new FlowAssembler((f) => {
    const row = set.identity(f);
    for (const [, get] of set.features) row.push(get(f));
    onRow(row, f);
  }, o);
  const skipped: ExtractSummary["skipped"] = {
    unsupported_link: 0,
    not_ip: 0,
    truncated: 0,
    malformed: 0,
    fragment: 0,
  };
  const tunnelled: ExtractSummary["tunnelled"] = { tzsp: 0, gtp: 0, vxlan: 0, capwap: 0, gre: 0, ipip: 0 };
  const decodeTunnels = o.decodeTunnels ?? true;
  const tzspPort = o.tzspPort ?? TUNNEL_PORT.TZSP;
  const badLinks = new Set<number>();
  const p = newDecodedPacket();
  let packets = 0;
  let records = 0;
  const capture = await readCapture(
    path,
    (rec) => {
      records++;
      const outcome = decodePacket(rec.linkType, rec.data, p, decodeTunnels, tzspPort);
      if (outcome === "ok") {
        packets++;
        if (p.tunnel !== "") tunnelled[p.tunnel]++;
        assembler.add(p, rec.tsMicros, rec.wireLength);
      } else {
        skipped[outcome]++;
        if (outcome === "unsupported_link") badLinks.add(rec.linkType);
      }
    },
    o.onProgress ? (read, total) => o.onProgress?.(read, total, records) : undefined,
  );
  assembler.finish();
  return {
    capture,
    packets,
    tunnelled,
    skipped,
    unsupportedLinkTypes: [...badLinks].sort((a, b) => a - b),
    flows: assembler.emitted,
    peakActiveFlows: assembler.peakActive,
  };
}
