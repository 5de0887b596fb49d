/**
 * One bidirectional flow's state, updated packet by packet in constant memory: counts, running
 * statistics of payload and wire lengths and of inter-arrival times per direction, TCP flag counts,
 * header bytes, initial windows, active/idle periods and bulk transfers. The features of each set
 * (`cic-features.ts`, `nfstream-features.ts`) are read from this state when the flow ends.
 *
 * Direction: the first packet's source is the flow's source ("forward", "src2dst"). Times are
 * microseconds since the epoch.
 */
import { type DecodedPacket, TCP_FLAG } from "./decode.ts";
import { RunningStats } from "./running-stats.ts";

/** Why a flow ended. */
export type FlowEnd = "idle" | "active" | "fin" | "rst" | "end_of_capture";

/** The flags in the order of the per-direction flag counters. */
export const FLAG_ORDER = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"] as const;

/** Bulk-transfer state of one direction (CICFlowMeter's updateForwardBulk/updateBackwardBulk). */
class Bulk {
  startHelper = 0;
  lastTs = 0;
  countHelper = 0;
  sizeHelper = 0;
  stateCount = 0;
  packetCount = 0;
  sizeTotal = 0;
  /** µs. */
  duration = 0;

  /** A packet of `size` payload bytes at `ts`; `lastInOther` is the other direction's last bulk packet time. */
  update(ts: number, size: number, lastInOther: number, clumpMicros: number): void {
    if (lastInOther > this.startHelper) this.startHelper = 0;
    if (size <= 0) return;
    if (this.startHelper === 0) {
      this.startHelper = ts;
      this.countHelper = 1;
      this.sizeHelper = size;
      this.lastTs = ts;
    } else if (ts - this.lastTs > clumpMicros) {
      this.startHelper = ts;
      this.lastTs = ts;
      this.countHelper = 1;
      this.sizeHelper = size;
    } else {
      this.countHelper++;
      this.sizeHelper += size;
      if (this.countHelper === BULK_MIN_PACKETS) {
        this.stateCount++;
        this.packetCount += this.countHelper;
        this.sizeTotal += this.sizeHelper;
        this.duration += ts - this.startHelper;
      } else if (this.countHelper > BULK_MIN_PACKETS) {
        this.packetCount++;
        this.sizeTotal += size;
        this.duration += ts - this.lastTs;
      }
      this.lastTs = ts;
    }
  }
}

/** Packets with payload, at most `BULK_CLUMP` apart, from one side without the other interrupting, that make a bulk. */
const BULK_MIN_PACKETS = 4;
/** A gap longer than this (µs) starts a new bulk (CICFlowMeter: 1 s). */
export const BULK_CLUMP_MICROS = 1_000_000;

export interface FlowTimeouts {
  /** µs without a packet after which the flow ends. */
  idleMicros: number;
  /** µs since the flow's first packet after which it ends (the next packet starts a new flow). */
  activeMicros: number;
  /** A gap of more than this (µs) between packets closes an active period and opens an idle one. */
  activityMicros: number;
}

export class Flow {
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly proto: number;
  readonly ipVersion: 4 | 6;
  firstSeen: number;
  lastSeen: number;
  fwdFirst = -1;
  fwdLast = -1;
  bwdFirst = -1;
  bwdLast = -1;
  /** Transport payload lengths (bytes). */
  readonly fwdPayload = new RunningStats();
  readonly bwdPayload = new RunningStats();
  readonly allPayload = new RunningStats();
  /** Lengths on the wire (the link-layer frame, bytes). */
  readonly fwdWire = new RunningStats();
  readonly bwdWire = new RunningStats();
  readonly allWire = new RunningStats();
  /** Inter-arrival times (µs). */
  readonly flowIat = new RunningStats();
  readonly fwdIat = new RunningStats();
  readonly bwdIat = new RunningStats();
  /** Inter-arrival times between whole-millisecond timestamps (ms; NFStream's piat). */
  readonly flowIatMs = new RunningStats();
  readonly fwdIatMs = new RunningStats();
  readonly bwdIatMs = new RunningStats();
  /** Packets carrying each flag (FLAG_ORDER), forward then backward. */
  readonly fwdFlags = new Uint32Array(8);
  readonly bwdFlags = new Uint32Array(8);
  /** Transport header bytes per direction, and the smallest forward one. */
  fwdHeaderBytes = 0;
  bwdHeaderBytes = 0;
  fwdHeaderMin = Number.POSITIVE_INFINITY;
  /** The TCP window of each direction's first packet (-1: none). */
  initWinFwd = -1;
  initWinBwd = -1;
  /** Forward packets with at least one byte of payload. */
  fwdDataPackets = 0;
  /** Active and idle periods (µs). */
  readonly active = new RunningStats();
  readonly idle = new RunningStats();
  private startActive: number;
  private endActive: number;
  readonly fwdBulk = new Bulk();
  readonly bwdBulk = new Bulk();
  /** TCP teardown: FIN seen from each side; the flow is closed when `end` is set. */
  private finFwd = false;
  private finBwd = false;
  end: FlowEnd | null = null;

  constructor(p: DecodedPacket, ts: number) {
    this.src = p.src;
    this.dst = p.dst;
    this.srcPort = p.srcPort;
    this.dstPort = p.dstPort;
    this.proto = p.proto;
    this.ipVersion = p.ipVersion;
    this.firstSeen = ts;
    this.lastSeen = ts;
    this.startActive = ts;
    this.endActive = ts;
  }

  get packets(): number {
    return this.allWire.n;
  }

  /** Add a packet; `forward` when it travels from the flow's source. */
  add(
    p: DecodedPacket,
    ts: number,
    wireLength: number,
    forward: boolean,
    t: FlowTimeouts,
    tcpTeardown: boolean,
  ): void {
    if (this.allWire.n > 0) {
      this.flowIat.add(ts - this.lastSeen);
      this.flowIatMs.add(ms(ts) - ms(this.lastSeen));
      // active/idle periods (CICFlowMeter's updateActiveIdleTime)
      if (ts - this.endActive > t.activityMicros) {
        if (this.endActive - this.startActive > 0) this.active.add(this.endActive - this.startActive);
        this.idle.add(ts - this.endActive);
        this.startActive = ts;
        this.endActive = ts;
      } else this.endActive = ts;
    }
    const payload = p.payloadLength;
    const flags = p.tcpFlags;
    this.allPayload.add(payload);
    this.allWire.add(wireLength);
    if (forward) {
      if (this.fwdLast >= 0) {
        this.fwdIat.add(ts - this.fwdLast);
        this.fwdIatMs.add(ms(ts) - ms(this.fwdLast));
      } else this.fwdFirst = ts;
      this.fwdLast = ts;
      this.fwdPayload.add(payload);
      this.fwdWire.add(wireLength);
      this.fwdHeaderBytes += p.l4HeaderLength;
      if (p.l4HeaderLength < this.fwdHeaderMin) this.fwdHeaderMin = p.l4HeaderLength;
      if (payload > 0) this.fwdDataPackets++;
      if (this.initWinFwd < 0 && p.proto === 6) this.initWinFwd = p.tcpWindow;
      countFlags(this.fwdFlags, flags);
      this.fwdBulk.update(ts, payload, this.bwdBulk.lastTs, BULK_CLUMP_MICROS);
    } else {
      if (this.bwdLast >= 0) {
        this.bwdIat.add(ts - this.bwdLast);
        this.bwdIatMs.add(ms(ts) - ms(this.bwdLast));
      } else this.bwdFirst = ts;
      this.bwdLast = ts;
      this.bwdPayload.add(payload);
      this.bwdWire.add(wireLength);
      this.bwdHeaderBytes += p.l4HeaderLength;
      if (this.initWinBwd < 0 && p.proto === 6) this.initWinBwd = p.tcpWindow;
      countFlags(this.bwdFlags, flags);
      this.bwdBulk.update(ts, payload, this.fwdBulk.lastTs, BULK_CLUMP_MICROS);
    }
    if (ts > this.lastSeen) this.lastSeen = ts;
    if (tcpTeardown && p.proto === 6) {
      if (flags & TCP_FLAG.RST) this.end = "rst";
      else if (this.finFwd && this.finBwd && !(flags & TCP_FLAG.FIN) && flags & TCP_FLAG.ACK) {
        // the ACK of the second FIN: the connection is closed and this packet is its last
        this.end = "fin";
      } else if (flags & TCP_FLAG.FIN) {
        if (forward) this.finFwd = true;
        else this.finBwd = true;
      }
    }
  }

  /** Close the last active period (CICFlowMeter's endActiveIdleTime). */
  finish(end: FlowEnd): void {
    if (this.end === null) this.end = end;
    if (this.endActive - this.startActive > 0) this.active.add(this.endActive - this.startActive);
  }
}

/** A time in µs as whole milliseconds (NFStream's clock). */
export const ms = (micros: number): number => Math.floor(micros / 1000);

function countFlags(counts: Uint32Array, flags: number): void {
  if (flags === 0) return;
  for (let i = 0; i < 8; i++) if (flags & (1 << i)) counts[i]!++;
}
