import { describe, expect, it } from "vitest";
import { type AssemblerOptions, FlowAssembler } from "../../src/flows/assembler.ts";
import { CIC_FEATURES, cicIdentity } from "../../src/flows/cic-features.ts";
import { type DecodedPacket, newDecodedPacket } from "../../src/flows/decode.ts";
import type { Flow } from "../../src/flows/flow.ts";
import { F } from "./build-capture.ts";

const A = "10.0.0.1";
const B = "10.0.0.2";

interface P {
  t: number; // seconds
  from: "A" | "B";
  proto?: number;
  flags?: number;
  payload?: number;
  hdr?: number;
  win?: number;
  sport?: number;
}

function packet(p: P): DecodedPacket {
  const d = newDecodedPacket();
  const fromA = p.from === "A";
  const sport = p.sport ?? 1234;
  d.src = fromA ? A : B;
  d.dst = fromA ? B : A;
  d.srcPort = fromA ? sport : 80;
  d.dstPort = fromA ? 80 : sport;
  d.proto = p.proto ?? 6;
  d.tcpFlags = p.flags ?? 0;
  d.tcpWindow = p.win ?? 5000;
  d.l4HeaderLength = p.hdr ?? 20;
  d.payloadLength = p.payload ?? 0;
  d.ipHeaderLength = 20;
  d.ipLength = 20 + d.l4HeaderLength + d.payloadLength;
  return d;
}

function run(ps: P[], o: AssemblerOptions = {}): Flow[] {
  const out: Flow[] = [];
  const asm = new FlowAssembler((f) => out.push(f), o);
  for (const p of ps) {
    const d = packet(p);
    asm.add(d, p.t * 1e6, 14 + d.ipLength);
  }
  asm.finish();
  return out;
}

const cic = (f: Flow): Record<string, number> =>
  Object.fromEntries(CIC_FEATURES.map(([n, get]) => [n, get(f)]));

// a whole TCP connection, times in seconds; the values below are worked out by hand from it
const connection: P[] = [
  { t: 0, from: "A", flags: F.SYN, win: 1000 },
  { t: 0.1, from: "B", flags: F.SYN | F.ACK, win: 2000 },
  { t: 0.2, from: "A", flags: F.ACK },
  { t: 0.3, from: "A", flags: F.PSH | F.ACK, payload: 100, hdr: 32 },
  { t: 0.5, from: "B", flags: F.PSH | F.ACK, payload: 300 },
  { t: 0.6, from: "A", flags: F.FIN | F.ACK },
  { t: 0.7, from: "B", flags: F.FIN | F.ACK },
  { t: 0.8, from: "A", flags: F.ACK },
];

describe("FlowAssembler + CIC features", () => {
  it("a TCP connection: one flow, ended by its teardown, with hand-computed features", () => {
    const flows = run(connection);
    expect(flows).toHaveLength(1);
    const f = flows[0]!;
    expect(f.end).toBe("fin");
    expect(cicIdentity(f).slice(0, 6)).toEqual([`${A}-${B}-1234-80-6`, A, 1234, B, 80, 6]);
    const v = cic(f);
    const close = (name: string, want: number) => expect(v[name], name).toBeCloseTo(want, 3);
    expect(v).toMatchObject({
      "Flow Duration": 800_000,
      "Total Fwd Packets": 5,
      "Total Backward Packets": 3,
      "Total Length of Fwd Packets": 100,
      "Total Length of Bwd Packets": 300,
      "Fwd Packet Length Max": 100,
      "Fwd Packet Length Min": 0,
      "Bwd Packet Length Max": 300,
      "Flow IAT Max": 200_000,
      "Flow IAT Min": 100_000,
      "Fwd IAT Total": 800_000,
      "Fwd IAT Max": 300_000,
      "Fwd IAT Min": 100_000,
      "Bwd IAT Total": 600_000,
      "Fwd PSH Flags": 1,
      "Bwd PSH Flags": 1,
      "FIN Flag Count": 2,
      "SYN Flag Count": 2,
      "RST Flag Count": 0,
      "PSH Flag Count": 2,
      "ACK Flag Count": 7,
      "Fwd Header Length": 112,
      "Bwd Header Length": 60,
      "Fwd Header Length_2": 112,
      "Down/Up Ratio": 0,
      Init_Win_bytes_forward: 1000,
      Init_Win_bytes_backward: 2000,
      act_data_pkt_fwd: 1,
      min_seg_size_forward: 20,
      "Subflow Fwd Packets": 5,
      "Subflow Bwd Bytes": 300,
      "Active Max": 800_000,
      "Active Std": 0,
      "Idle Max": 0,
    });
    close("Fwd Packet Length Mean", 20);
    close("Fwd Packet Length Std", Math.sqrt(8000 / 4));
    close("Bwd Packet Length Mean", 100);
    close("Bwd Packet Length Std", Math.sqrt(60000 / 2));
    close("Flow Bytes/s", 400 / 0.8);
    close("Flow Packets/s", 8 / 0.8);
    close("Fwd Packets/s", 5 / 0.8);
    close("Flow IAT Mean", 800_000 / 7);
    close("Fwd IAT Mean", 200_000);
    close("Fwd IAT Std", Math.sqrt(2e10 / 3));
    close("Bwd IAT Mean", 300_000);
    close("Bwd IAT Std", Math.sqrt(2e10));
    close("Packet Length Mean", 50);
    // lengths 0,0,0,100,300,0,0,0: mean 50, squared deviations 6 × 2500 + 2500 + 62500
    close("Packet Length Variance", 80_000 / 7);
  });

  it("the direction comes from the first packet", () => {
    const [f] = run([
      { t: 0, from: "B", proto: 17, payload: 10 },
      { t: 1, from: "A", proto: 17, payload: 20 },
      { t: 2, from: "A", proto: 17, payload: 30 },
    ]);
    expect(f).toMatchObject({ src: B, srcPort: 80, dst: A, dstPort: 1234 });
    expect(cic(f!)).toMatchObject({
      "Total Fwd Packets": 1,
      "Total Backward Packets": 2,
      "Down/Up Ratio": 2,
    });
  });

  it("packets after the teardown's last ACK start a new flow", () => {
    const flows = run([...connection, { t: 0.9, from: "B", flags: F.ACK }]);
    expect(flows.map((f) => [f.end, f.packets])).toEqual([
      ["fin", 8],
      ["end_of_capture", 1],
    ]);
    expect(flows[1]!.src).toBe(B);
  });

  it("a RST ends the flow; with teardown off the flows end with the capture", () => {
    const ps: P[] = [
      { t: 0, from: "A", flags: F.SYN },
      { t: 0.1, from: "B", flags: F.RST | F.ACK },
      { t: 0.2, from: "A", flags: F.SYN },
    ];
    expect(run(ps).map((f) => [f.end, f.packets])).toEqual([
      ["rst", 2],
      ["end_of_capture", 1],
    ]);
    expect(run(ps, { tcpTeardown: false }).map((f) => [f.end, f.packets])).toEqual([["end_of_capture", 3]]);
    expect(run(connection, { tcpTeardown: false }).map((f) => f.end)).toEqual(["end_of_capture"]);
  });

  it("idle timeout: a gap of the timeout or more ends the flow, which is emitted as time passes", () => {
    const out: Flow[] = [];
    const asm = new FlowAssembler((f) => out.push(f), { idleTimeout: 120 });
    const add = (p: P) => {
      const d = packet(p);
      asm.add(d, p.t * 1e6, 60);
    };
    add({ t: 0, from: "A", proto: 17 });
    add({ t: 100, from: "A", proto: 17, sport: 999 }); // another flow
    add({ t: 119, from: "B", proto: 17 });
    expect(out).toHaveLength(0);
    add({ t: 219, from: "A", proto: 17, sport: 7 }); // the 999 flow has been idle 119 s: not yet
    expect(out).toHaveLength(0);
    add({ t: 220, from: "A", proto: 17, sport: 7 }); // now 120 s
    expect(out.map((f) => [f.srcPort, f.end, f.packets])).toEqual([[999, "idle", 1]]);
    add({ t: 239, from: "A", proto: 17, sport: 7 }); // the first flow: 120 s since its packet at 119
    expect(out.map((f) => [f.srcPort, f.end, f.packets])).toEqual([
      [999, "idle", 1],
      [1234, "idle", 2],
    ]);
    add({ t: 400, from: "A", proto: 17 }); // same 5-tuple as the first: a new flow
    expect(out.map((f) => [f.srcPort, f.end])).toEqual([
      [999, "idle"],
      [1234, "idle"],
      [7, "idle"],
    ]);
    expect(asm.activeFlows).toBe(1);
    expect(asm.peakActive).toBe(3);
    asm.finish();
    expect(out.at(-1)).toMatchObject({ srcPort: 1234, end: "end_of_capture", firstSeen: 400e6 });
  });

  it("active timeout: a flow is cut when a packet comes that long after its start", () => {
    const ps: P[] = [0, 10, 20, 30, 40, 50].map((t) => ({ t, from: "A", proto: 17 }));
    expect(run(ps, { activeTimeout: 30 }).map((f) => [f.end, f.firstSeen / 1e6, f.packets])).toEqual([
      ["active", 0, 3],
      ["end_of_capture", 30, 3],
    ]);
  });

  it("active and idle periods split at the activity timeout", () => {
    // packets at 0, 1, 2 (active 2 s), a 10 s gap, then 12, 13 (active 1 s)
    const [f] = run([0, 1, 2, 12, 13].map((t) => ({ t, from: "A" as const, proto: 17 })));
    const v = cic(f!);
    expect(v).toMatchObject({
      "Active Max": 2e6,
      "Active Min": 1e6,
      "Active Mean": 1.5e6,
      "Idle Max": 10e6,
      "Idle Min": 10e6,
    });
  });

  it("rejects a timeout that is not a positive number", () => {
    expect(() => new FlowAssembler(() => {}, { idleTimeout: 0 })).toThrow(/idleTimeout/);
  });
});
