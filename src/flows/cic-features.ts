/**
 * CICFlowMeter's features under CIC-IDS2017's column names, so that a model trained on the public
 * CIC-IDS2017/2018 CSVs can score flows from a user's own capture. Definitions follow the Java
 * CICFlowMeter that made those CSVs (lengths are transport payload bytes, header lengths transport
 * header bytes, times microseconds, standard deviations the sample ones, statistics of one value are
 * that value with deviation 0), not the PyPI port `cicflowmeter` where the two differ. Every
 * deliberate difference from either is listed in README "Flows from packet captures" and here:
 * - Flow Bytes/s and the packet rates are 0 when the duration is 0 (CIC-IDS2017 has Infinity/NaN
 *   there; the PyPI port has 0).
 * - Down/Up Ratio is bwd/fwd packets rounded down, as the Java code's integer division (PyPI: a float).
 * - Subflow columns equal the totals (as in CIC-IDS2017's CSVs and the PyPI port; the Java code's
 *   subflow split by 1 s gaps was never reflected in the released data).
 * - CWE Flag Count (the dataset's own misspelling) counts CWR; the PyPI port copies Fwd URG Flags.
 * - Init_Win_bytes_* are each direction's first TCP window, -1 when that direction has no TCP packet
 *   (the PyPI port keeps the *last* backward window and 0 for none).
 * - min_seg_size_forward is the smallest forward transport header (the Java code's meaning).
 * - Timestamp is the first packet's time in ISO 8601 UTC with microseconds (the CSVs have local
 *   "d/m/yyyy h:mm").
 * Columns: the identity columns (`CIC_ID_COLUMNS`) then the numeric features (`CIC_FEATURES`).
 */
import { FLAG_ORDER, type Flow } from "./flow.ts";

export const CIC_ID_COLUMNS = [
  "Flow ID",
  "Source IP",
  "Source Port",
  "Destination IP",
  "Destination Port",
  "Protocol",
  "Timestamp",
] as const;

const flag = (f: Flow, name: (typeof FLAG_ORDER)[number], dir: "fwd" | "bwd" | "both"): number => {
  const i = FLAG_ORDER.indexOf(name);
  return (dir === "bwd" ? 0 : f.fwdFlags[i]!) + (dir === "fwd" ? 0 : f.bwdFlags[i]!);
};
const sd = (s: { sampleVariance(): number }): number => Math.sqrt(s.sampleVariance());
const perSecond = (x: number, micros: number): number => (micros > 0 ? (x * 1e6) / micros : 0);
const duration = (f: Flow): number => f.lastSeen - f.firstSeen;

/** Each numeric feature: its CIC-IDS2017 column name and how it is read from a finished flow. */
export const CIC_FEATURES: readonly (readonly [string, (f: Flow) => number])[] = [
  ["Flow Duration", duration],
  ["Total Fwd Packets", (f) => f.fwdPayload.n],
  ["Total Backward Packets", (f) => f.bwdPayload.n],
  ["Total Length of Fwd Packets", (f) => f.fwdPayload.sum],
  ["Total Length of Bwd Packets", (f) => f.bwdPayload.sum],
  ["Fwd Packet Length Max", (f) => f.fwdPayload.maxOr0()],
  ["Fwd Packet Length Min", (f) => f.fwdPayload.minOr0()],
  ["Fwd Packet Length Mean", (f) => f.fwdPayload.mean()],
  ["Fwd Packet Length Std", (f) => sd(f.fwdPayload)],
  ["Bwd Packet Length Max", (f) => f.bwdPayload.maxOr0()],
  ["Bwd Packet Length Min", (f) => f.bwdPayload.minOr0()],
  ["Bwd Packet Length Mean", (f) => f.bwdPayload.mean()],
  ["Bwd Packet Length Std", (f) => sd(f.bwdPayload)],
  ["Flow Bytes/s", (f) => perSecond(f.allPayload.sum, duration(f))],
  ["Flow Packets/s", (f) => perSecond(f.allPayload.n, duration(f))],
  ["Flow IAT Mean", (f) => f.flowIat.mean()],
  ["Flow IAT Std", (f) => sd(f.flowIat)],
  ["Flow IAT Max", (f) => f.flowIat.maxOr0()],
  ["Flow IAT Min", (f) => f.flowIat.minOr0()],
  ["Fwd IAT Total", (f) => f.fwdIat.sum],
  ["Fwd IAT Mean", (f) => f.fwdIat.mean()],
  ["Fwd IAT Std", (f) => sd(f.fwdIat)],
  ["Fwd IAT Max", (f) => f.fwdIat.maxOr0()],
  ["Fwd IAT Min", (f) => f.fwdIat.minOr0()],
  ["Bwd IAT Total", (f) => f.bwdIat.sum],
  ["Bwd IAT Mean", (f) => f.bwdIat.mean()],
  ["Bwd IAT Std", (f) => sd(f.bwdIat)],
  ["Bwd IAT Max", (f) => f.bwdIat.maxOr0()],
  ["Bwd IAT Min", (f) => f.bwdIat.minOr0()],
  ["Fwd PSH Flags", (f) => flag(f, "PSH", "fwd")],
  ["Bwd PSH Flags", (f) => flag(f, "PSH", "bwd")],
  ["Fwd URG Flags", (f) => flag(f, "URG", "fwd")],
  ["Bwd URG Flags", (f) => flag(f, "URG", "bwd")],
  ["Fwd Header Length", (f) => f.fwdHeaderBytes],
  ["Bwd Header Length", (f) => f.bwdHeaderBytes],
  ["Fwd Packets/s", (f) => perSecond(f.fwdPayload.n, duration(f))],
  ["Bwd Packets/s", (f) => perSecond(f.bwdPayload.n, duration(f))],
  ["Min Packet Length", (f) => f.allPayload.minOr0()],
  ["Max Packet Length", (f) => f.allPayload.maxOr0()],
  ["Packet Length Mean", (f) => f.allPayload.mean()],
  ["Packet Length Std", (f) => sd(f.allPayload)],
  ["Packet Length Variance", (f) => f.allPayload.sampleVariance()],
  ["FIN Flag Count", (f) => flag(f, "FIN", "both")],
  ["SYN Flag Count", (f) => flag(f, "SYN", "both")],
  ["RST Flag Count", (f) => flag(f, "RST", "both")],
  ["PSH Flag Count", (f) => flag(f, "PSH", "both")],
  ["ACK Flag Count", (f) => flag(f, "ACK", "both")],
  ["URG Flag Count", (f) => flag(f, "URG", "both")],
  ["CWE Flag Count", (f) => flag(f, "CWR", "both")],
  ["ECE Flag Count", (f) => flag(f, "ECE", "both")],
  ["Down/Up Ratio", (f) => (f.fwdPayload.n > 0 ? Math.floor(f.bwdPayload.n / f.fwdPayload.n) : 0)],
  ["Average Packet Size", (f) => f.allPayload.mean()],
  ["Avg Fwd Segment Size", (f) => f.fwdPayload.mean()],
  ["Avg Bwd Segment Size", (f) => f.bwdPayload.mean()],
  ["Fwd Header Length_2", (f) => f.fwdHeaderBytes],
  ["Fwd Avg Bytes/Bulk", (f) => (f.fwdBulk.stateCount > 0 ? f.fwdBulk.sizeTotal / f.fwdBulk.stateCount : 0)],
  [
    "Fwd Avg Packets/Bulk",
    (f) => (f.fwdBulk.stateCount > 0 ? f.fwdBulk.packetCount / f.fwdBulk.stateCount : 0),
  ],
  ["Fwd Avg Bulk Rate", (f) => perSecond(f.fwdBulk.sizeTotal, f.fwdBulk.duration)],
  ["Bwd Avg Bytes/Bulk", (f) => (f.bwdBulk.stateCount > 0 ? f.bwdBulk.sizeTotal / f.bwdBulk.stateCount : 0)],
  [
    "Bwd Avg Packets/Bulk",
    (f) => (f.bwdBulk.stateCount > 0 ? f.bwdBulk.packetCount / f.bwdBulk.stateCount : 0),
  ],
  ["Bwd Avg Bulk Rate", (f) => perSecond(f.bwdBulk.sizeTotal, f.bwdBulk.duration)],
  ["Subflow Fwd Packets", (f) => f.fwdPayload.n],
  ["Subflow Fwd Bytes", (f) => f.fwdPayload.sum],
  ["Subflow Bwd Packets", (f) => f.bwdPayload.n],
  ["Subflow Bwd Bytes", (f) => f.bwdPayload.sum],
  ["Init_Win_bytes_forward", (f) => f.initWinFwd],
  ["Init_Win_bytes_backward", (f) => f.initWinBwd],
  ["act_data_pkt_fwd", (f) => f.fwdDataPackets],
  ["min_seg_size_forward", (f) => (f.fwdPayload.n > 0 ? f.fwdHeaderMin : 0)],
  ["Active Mean", (f) => f.active.mean()],
  ["Active Std", (f) => sd(f.active)],
  ["Active Max", (f) => f.active.maxOr0()],
  ["Active Min", (f) => f.active.minOr0()],
  ["Idle Mean", (f) => f.idle.mean()],
  ["Idle Std", (f) => sd(f.idle)],
  ["Idle Max", (f) => f.idle.maxOr0()],
  ["Idle Min", (f) => f.idle.minOr0()],
];

/** "2026-01-02T03:04:05.123456Z" for a time in µs since the epoch. */
function isoMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const sub = Math.round(micros - ms * 1000);
  return new Date(ms).toISOString().replace("Z", `${String(Math.min(sub, 999)).padStart(3, "0")}Z`);
}

/** The identity columns' values: Flow ID is "src-dst-srcport-dstport-proto", as in the CSVs. */
export function cicIdentity(f: Flow): (string | number)[] {
  return [
    `${f.src}-${f.dst}-${f.srcPort}-${f.dstPort}-${f.proto}`,
    f.src,
    f.srcPort,
    f.dst,
    f.dstPort,
    f.proto,
    isoMicros(f.firstSeen),
  ];
}
