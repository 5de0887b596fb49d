/**
 * Hand-built captures through the whole path (file → records → decode → flows → CIC rows): the edge
 * cases the public captures lack, with the expected flows worked out from the bytes written.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { extractFlows, flowColumns } from "../../src/flows/extract.ts";
import { ethernet, F, ipv4, ipv6, pcap, pcapng, type Rec, sll, transport } from "./build-capture.ts";

const dir = mkdtempSync(join(tmpdir(), "netsec-extract-"));
let n = 0;
async function flows(bytes: Uint8Array, o = {}) {
  const p = join(dir, `x${n++}.pcap`);
  writeFileSync(p, bytes);
  const cols = flowColumns("cic");
  const rows: Record<string, string | number>[] = [];
  const summary = await extractFlows(
    p,
    (r) => rows.push(Object.fromEntries(cols.map((c, i) => [c, r[i]!]))),
    o,
  );
  return { rows, summary };
}

const T0 = 1_700_000_000;
const tcp = (sport: number, dport: number, flags: number, payload = 0) =>
  transport({ proto: "tcp", sport, dport, flags, payload, window: 1024 });

describe("extractFlows on hand-built captures", () => {
  it("VLAN-tagged and untagged packets of one conversation make one flow", async () => {
    const recs: Rec[] = [
      { t: T0, frame: ethernet(ipv4("10.1.1.1", "10.1.1.2", tcp(1111, 22, F.SYN)), [10]) },
      { t: T0 + 0.01, frame: ethernet(ipv4("10.1.1.2", "10.1.1.1", tcp(22, 1111, F.SYN | F.ACK)), [20, 10]) },
      { t: T0 + 0.02, frame: ethernet(ipv4("10.1.1.1", "10.1.1.2", tcp(1111, 22, F.ACK, 5))) },
    ];
    const { rows } = await flows(pcap(1, recs));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      "Total Fwd Packets": 2,
      "Total Backward Packets": 1,
      "Total Length of Fwd Packets": 5,
    });
  });

  it("IPv6 flows over Linux cooked capture, with an extension header", async () => {
    const recs: Rec[] = [
      {
        t: T0,
        frame: sll(
          ipv6(
            "2001:db8::a",
            "2001:db8::b",
            transport({ proto: "udp", sport: 546, dport: 547, payload: 40 }),
            ["hbh"],
          ),
        ),
      },
      {
        t: T0 + 1,
        frame: sll(
          ipv6(
            "2001:db8::b",
            "2001:db8::a",
            transport({ proto: "udp", sport: 547, dport: 546, payload: 80 }),
          ),
        ),
      },
    ];
    const { rows } = await flows(pcap(113, recs));
    expect(rows).toEqual([
      expect.objectContaining({
        "Source IP": "2001:db8::a",
        "Destination IP": "2001:db8::b",
        Protocol: 17,
        "Total Length of Fwd Packets": 40,
        "Total Length of Bwd Packets": 80,
        "Flow Duration": 1e6,
      }),
    ]);
  });

  it("counts truncated packets, later fragments and non-IP frames, and keeps the rest", async () => {
    const whole = ethernet(
      ipv4("10.0.0.1", "10.0.0.2", transport({ proto: "udp", sport: 1, dport: 2, payload: 100 })),
    );
    const recs: Rec[] = [
      { t: T0, frame: whole },
      { t: T0 + 0.1, frame: whole, capLen: 30 }, // cut inside the IPv4 header
      { t: T0 + 0.2, frame: ethernet(ipv4("10.0.0.1", "10.0.0.2", tcp(5, 6, F.SYN), { more: true, id: 9 })) },
      {
        t: T0 + 0.3,
        frame: ethernet(
          ipv4("10.0.0.1", "10.0.0.2", { proto: 6, bytes: new Array(16).fill(0) }, { offset: 5, id: 9 }),
        ),
      },
      { t: T0 + 0.4, frame: [...whole.slice(0, 12), 0x08, 0x06, ...new Array(28).fill(0)] }, // ARP
    ];
    const calls: number[][] = [];
    const { rows, summary } = await flows(pcap(1, recs), {
      onProgress: (read: number, total: number, packets: number) => calls.push([read, total, packets]),
    });
    // progress counts every packet read, not only those in flows, and ends at the file's size
    const last = calls.at(-1)!;
    expect(last[0]).toBe(last[1]);
    expect(last[2]).toBe(5);
    expect(summary).toMatchObject({
      packets: 2,
      flows: 2,
      skipped: { truncated: 1, fragment: 1, not_ip: 1, malformed: 0, unsupported_link: 0 },
    });
    expect(rows.map((r) => [r.Protocol, r["Total Fwd Packets"]])).toEqual([
      [17, 1],
      [6, 1],
    ]);
  });

  it("FIN teardown, RST, and an idle gap split one 5-tuple into flows", async () => {
    const a = (t: number, flags: number) => ({
      t: T0 + t,
      frame: ethernet(ipv4("10.0.0.1", "10.0.0.2", tcp(4000, 80, flags))),
    });
    const b = (t: number, flags: number) => ({
      t: T0 + t,
      frame: ethernet(ipv4("10.0.0.2", "10.0.0.1", tcp(80, 4000, flags))),
    });
    const recs: Rec[] = [
      a(0, F.SYN),
      b(0.1, F.SYN | F.ACK),
      a(0.2, F.FIN | F.ACK),
      b(0.3, F.FIN | F.ACK),
      a(0.4, F.ACK), // closes flow 1
      a(1, F.SYN),
      b(1.1, F.RST | F.ACK), // closes flow 2
      a(2, F.SYN),
      a(200, F.SYN), // 198 s later: flow 3 has been idle past 120 s
    ];
    const { rows } = await flows(pcap(1, recs));
    expect(
      rows.map((r) => [
        r["Total Fwd Packets"],
        r["Total Backward Packets"],
        r["FIN Flag Count"],
        r["RST Flag Count"],
      ]),
    ).toEqual([
      [3, 2, 2, 0],
      [1, 1, 0, 1],
      [1, 0, 0, 0],
      [1, 0, 0, 0],
    ]);
    const noTeardown = await flows(pcap(1, recs), { tcpTeardown: false });
    expect(noTeardown.rows.map((r) => r["Total Fwd Packets"])).toEqual([5, 1]);
  });

  it("pcapng with two interfaces of different link types feeds one flow table", async () => {
    const ip = ipv4("10.9.9.9", "10.8.8.8", transport({ proto: "udp", sport: 53, dport: 5353, payload: 12 }));
    const back = ipv4(
      "10.8.8.8",
      "10.9.9.9",
      transport({ proto: "udp", sport: 5353, dport: 53, payload: 24 }),
    );
    const { rows } = await flows(
      pcapng(
        [{ linkType: 1 }, { linkType: 101, tsresol: 9 }],
        [
          { iface: 0, t: T0, frame: ethernet(ip) },
          { iface: 1, t: T0 + 0.5, frame: back },
        ],
      ),
    );
    expect(rows).toEqual([
      expect.objectContaining({
        "Total Fwd Packets": 1,
        "Total Backward Packets": 1,
        "Flow Duration": 500_000,
      }),
    ]);
  });
});
