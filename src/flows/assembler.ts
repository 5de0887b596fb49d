/**
 * Packets into bidirectional flows. A flow is keyed by its 5-tuple (addresses, ports, protocol) in
 * either direction; its first packet sets the direction. A flow ends, and is handed to `onFlow` at
 * once, when:
 * - no packet came for `idleTimeout` seconds (checked as capture time advances; default 120 s),
 * - a packet arrives `activeTimeout` seconds or more after the flow's first (default 1800 s, NFStream's;
 *   CICFlowMeter's "flow timeout" of 120 s is this kind: `--active-timeout 120` gives it): that packet
 *   starts the next flow,
 * - TCP teardown (`tcpTeardown`, on by default): a RST, or the ACK after both sides' FINs, is the
 *   flow's last packet; a later packet with the same 5-tuple starts a new flow,
 * - the capture ends (`finish`).
 * Memory is the active flows: the map is kept in last-seen order (a packet moves its flow to the end),
 * so idle flows are found at the front without a scan. Capture time is the largest timestamp seen, so
 * a packet slightly out of order does not expire anything early.
 */
import type { DecodedPacket } from "./decode.ts";
import { Flow, type FlowEnd, type FlowTimeouts } from "./flow.ts";

export interface AssemblerOptions {
  /** Seconds (default 120). */
  idleTimeout?: number;
  /** Seconds (default 1800). */
  activeTimeout?: number;
  /** Seconds between packets that separate active periods (default 5, CICFlowMeter's activity timeout). */
  activityTimeout?: number;
  /** End TCP flows at RST and at the ACK after both FINs (default true). */
  tcpTeardown?: boolean;
}

export const DEFAULT_TIMEOUTS = { idleTimeout: 120, activeTimeout: 1800, activityTimeout: 5 } as const;

export class FlowAssembler {
  private readonly flows = new Map<string, Flow>();
  private readonly t: FlowTimeouts;
  private readonly tcpTeardown: boolean;
  private now = Number.NEGATIVE_INFINITY;
  /** Flows emitted so far, and the most alive at once. */
  emitted = 0;
  peakActive = 0;

  private readonly onFlow: (f: Flow) => void;

  constructor(onFlow: (f: Flow) => void, o: AssemblerOptions = {}) {
    this.onFlow = onFlow;
    for (const [k, v] of Object.entries(o))
      if (typeof v === "number" && !(v > 0))
        throw new RangeError(`${k} must be a positive number of seconds, not ${v}`);
    this.t = {
      idleMicros: (o.idleTimeout ?? DEFAULT_TIMEOUTS.idleTimeout) * 1e6,
      activeMicros: (o.activeTimeout ?? DEFAULT_TIMEOUTS.activeTimeout) * 1e6,
      activityMicros: (o.activityTimeout ?? DEFAULT_TIMEOUTS.activityTimeout) * 1e6,
    };
    this.tcpTeardown = o.tcpTeardown ?? true;
  }

  get activeFlows(): number {
    return this.flows.size;
  }

  /** Add a decoded packet seen at `ts` (µs since the epoch) with `wireLength` bytes on the wire. */
  add(p: DecodedPacket, ts: number, wireLength: number): void {
    if (ts > this.now) {
      this.now = ts;
      this.expireIdle();
    }
    const a = `${p.src}|${p.srcPort}`;
    const b = `${p.dst}|${p.dstPort}`;
    const key = a < b ? `${p.proto}|${a}|${b}` : `${p.proto}|${b}|${a}`;
    let flow = this.flows.get(key);
    if (flow !== undefined) {
      this.flows.delete(key);
      if (ts - flow.lastSeen >= this.t.idleMicros) {
        this.emit(flow, "idle");
        flow = undefined;
      } else if (ts - flow.firstSeen >= this.t.activeMicros) {
        this.emit(flow, "active");
        flow = undefined;
      }
    }
    if (flow === undefined) flow = new Flow(p, ts);
    // a packet from the flow's source is forward (a flow from an address and port to themselves is all forward)
    const forward = flow.src === p.src && flow.srcPort === p.srcPort;
    flow.add(p, ts, wireLength, forward, this.t, this.tcpTeardown);
    if (flow.end !== null) this.emit(flow, flow.end);
    else {
      this.flows.set(key, flow);
      if (this.flows.size > this.peakActive) this.peakActive = this.flows.size;
    }
  }

  /** End every flow still open (the capture is over), oldest last-seen first. */
  finish(): void {
    for (const f of this.flows.values()) this.emit(f, "end_of_capture");
    this.flows.clear();
  }

  private expireIdle(): void {
    for (const [key, f] of this.flows) {
      if (this.now - f.lastSeen < this.t.idleMicros) break;
      this.flows.delete(key);
      this.emit(f, "idle");
    }
  }

  private emit(f: Flow, why: FlowEnd): void {
    f.finish(why);
    this.emitted++;
    this.onFlow(f);
  }
}
