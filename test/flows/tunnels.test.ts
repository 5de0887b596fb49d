/**
 * Tunnel decoding on frames assembled byte by byte from the protocols' specifications (TZSP: its
 * Wireshark/Wikipedia description; GTP-U: 3GPP TS 29.281; VXLAN: RFC 7348; CAPWAP: RFC 5415/5416 and
 * IEEE 802.11's data frame; GRE: RFC 2784/2890; ERSPAN: draft-foschiano-erspan): the inner packet's
 * 5-tuple and lengths, what stays the outer flow, and what is counted as damaged.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { captureAsFlowsCsv } from "../../src/flows/capture-input.ts";
import { decodePacket, LINKTYPE, MAX_TUNNEL_DEPTH, newDecodedPacket } from "../../src/flows/decode.ts";
import { extractFlows, flowColumns } from "../../src/flows/extract.ts";
import { be16, be32, ethernet, F, ipv4, ipv6, pcap, transport } from "./build-capture.ts";

const decode = (frame: number[], decodeTunnels = true) => {
  const p = newDecodedPacket();
  const outcome = decodePacket(LINKTYPE.ETHERNET, Uint8Array.from(frame), p, decodeTunnels);
  return { outcome, p };
};

/** A UDP datagram carrying exactly `payload`. */
const udp = (sport: number, dport: number, payload: number[]) => ({
  proto: 17,
  bytes: [...be16(sport), ...be16(dport), ...be16(8 + payload.length), 0, 0, ...payload],
});
const raw = (proto: number, bytes: number[]) => ({ proto, bytes });

// the conversation inside: 10 bytes of TCP payload from a client to a web server
const innerTcp = ipv4(
  "172.16.0.5",
  "93.184.216.34",
  transport({ proto: "tcp", sport: 51000, dport: 80, flags: F.PSH | F.ACK, payload: 10 }),
);
const innerUdp6 = ipv6(
  "2001:db8::5",
  "2001:db8::53",
  transport({ proto: "udp", sport: 5353, dport: 53, payload: 12 }),
);
const outer = (body: { proto: number; bytes: number[] }) => ethernet(ipv4("192.0.2.1", "192.0.2.2", body));

const innerTcpKey = {
  ipVersion: 4,
  src: "172.16.0.5",
  dst: "93.184.216.34",
  proto: 6,
  srcPort: 51000,
  dstPort: 80,
  ipLength: 20 + 20 + 10,
  l4HeaderLength: 20,
  payloadLength: 10,
  tcpFlags: F.PSH | F.ACK,
};

/** TZSP header: version 1, `type`, encapsulated protocol, then `tags` (which must end with TAG_END, 1). */
const tzsp = (type: number, encap: number, tags: number[]) => [1, type, ...be16(encap), ...tags];

describe("TZSP (UDP 37008)", () => {
  it("a received Ethernet frame behind tagged fields: the inner TCP packet is the flow key", () => {
    // padding, RX channel (tag 0x12, one byte), signal (tag 0x0a, one byte), END
    const frame = outer(
      udp(45000, 37008, [...tzsp(0, 1, [0, 0x12, 1, 6, 0x0a, 1, 0xc8, 1]), ...ethernet(innerTcp)]),
    );
    const { outcome, p } = decode(frame);
    expect(outcome).toBe("ok");
    expect(p).toMatchObject({ ...innerTcpKey, tunnel: "tzsp", tunnelDepth: 1 });
  });

  it("--no-decode-tunnels: the datagram to the collector is the flow", () => {
    const frame = outer(udp(45000, 37008, [...tzsp(0, 1, [1]), ...ethernet(innerTcp)]));
    const { outcome, p } = decode(frame, false);
    expect(outcome).toBe("ok");
    expect(p).toMatchObject({ src: "192.0.2.1", dstPort: 37008, proto: 17, tunnel: "", tunnelDepth: 0 });
    expect(p.payloadLength).toBe(5 + 14 + innerTcp.length);
  });

  it("on another port only when told (--tzsp-port)", () => {
    const frame = Uint8Array.from(outer(udp(45000, 31337, [...tzsp(0, 1, [1]), ...ethernet(innerTcp)])));
    const p = newDecodedPacket();
    expect(decodePacket(LINKTYPE.ETHERNET, frame, p)).toBe("ok");
    expect(p).toMatchObject({ dstPort: 31337, tunnel: "" });
    expect(decodePacket(LINKTYPE.ETHERNET, frame, p, true, 31337)).toBe("ok");
    expect(p).toMatchObject({ ...innerTcpKey, tunnel: "tzsp" });
    // the port given replaces 37008
    const onDefault = Uint8Array.from(outer(udp(45000, 37008, [...tzsp(0, 1, [1]), ...ethernet(innerTcp)])));
    expect(decodePacket(LINKTYPE.ETHERNET, onDefault, p, true, 31337)).toBe("ok");
    expect(p).toMatchObject({ dstPort: 37008, tunnel: "" });
  });

  it("a keepalive (type 4) and an 802.11 encapsulation carry no packet netsec reads: the outer flow", () => {
    for (const body of [tzsp(4, 1, [1]), [...tzsp(0, 18, [1]), ...new Array(40).fill(0)]]) {
      const { outcome, p } = decode(outer(udp(45000, 37008, body)));
      expect(outcome).toBe("ok");
      expect(p).toMatchObject({ dstPort: 37008, tunnel: "" });
    }
  });

  it("tagged fields running past the datagram: truncated, not the outer flow", () => {
    expect(decode(outer(udp(45000, 37008, tzsp(0, 1, [0x0a, 1, 0xc8])))).outcome).toBe("truncated");
    expect(decode(outer(udp(45000, 37008, tzsp(0, 1, [0x0a, 9, 1])))).outcome).toBe("truncated");
  });

  it("an inner frame that is not IP (ARP) is counted as not IP", () => {
    const arp = [...new Array(12).fill(0xff), ...be16(0x0806), ...new Array(28).fill(0)];
    expect(decode(outer(udp(45000, 37008, [...tzsp(0, 1, [1]), ...arp]))).outcome).toBe("not_ip");
  });
});

describe("GTP-U (UDP 2152)", () => {
  /** GTPv1 header, PT=1, with `flags` (E 4, S 2, PN 1) and message type `type` around `body`. */
  const gtp = (flags: number, type: number, extra: number[], body: number[]) => [
    0x30 | flags,
    type,
    ...be16(extra.length + body.length),
    ...be32(0x1234),
    ...extra,
    ...body,
  ];

  it("a T-PDU with no optional fields carries an IPv4 packet", () => {
    const { outcome, p } = decode(outer(udp(2152, 2152, gtp(0, 0xff, [], innerTcp))));
    expect(outcome).toBe("ok");
    expect(p).toMatchObject({ ...innerTcpKey, tunnel: "gtp", tunnelDepth: 1 });
  });

  it("a sequence number and a chain of two extension headers before an IPv6 packet", () => {
    // optional word: sequence 7, N-PDU 0, next extension 0x85 (PDU session container, 4 bytes);
    // then a 0x40 (UDP port, 4 bytes) and the end of the chain (0)
    const extra = [...be16(7), 0, 0x85, 1, 0x10, 0x01, 0x40, 1, 0x08, 0x68, 0];
    const { outcome, p } = decode(outer(udp(2152, 2152, gtp(0x04 | 0x02, 0xff, extra, innerUdp6))));
    expect(outcome).toBe("ok");
    expect(p).toMatchObject({
      ipVersion: 6,
      src: "2001:db8::5",
      dst: "2001:db8::53",
      proto: 17,
      srcPort: 5353,
      dstPort: 53,
      payloadLength: 12,
      tunnel: "gtp",
    });
  });

  it("an echo request (type 1) is no T-PDU: the outer flow", () => {
    const { outcome, p } = decode(outer(udp(40000, 2152, gtp(0x02, 1, [0, 1, 0, 0], []))));
    expect(outcome).toBe("ok");
    expect(p).toMatchObject({ dstPort: 2152, tunnel: "" });
  });

  it("an extension header of length 0 is malformed; a chain past the datagram truncated", () => {
    const zero = [0, 0, 0, 0x85, 0, 0, 0, 0];
    expect(decode(outer(udp(2152, 2152, gtp(0x04, 0xff, zero, innerTcp)))).outcome).toBe("malformed");
    const long = [0, 0, 0, 0x85, 9, 0, 0, 0];
    expect(decode(outer(udp(2152, 2152, gtp(0x04, 0xff, long, [])))).outcome).toBe("truncated");
  });
});

describe("VXLAN (UDP 4789)", () => {
  const vxlan = (flags: number, body: number[]) => [flags, 0, 0, 0, ...be32(5001 << 8), ...body];

  it("an Ethernet frame (VLAN-tagged here) behind the 8-byte header", () => {
    const { outcome, p } = decode(outer(udp(61000, 4789, vxlan(0x08, ethernet(innerTcp, [100])))));
    expect(outcome).toBe("ok");
    expect(p).toMatchObject({ ...innerTcpKey, tunnel: "vxlan" });
  });

  it("the group-based policy extension (G flag, policy id in bytes 2-3)", () => {
    const gbp = [0x88, 0, ...be16(0x1234), ...be32(5001 << 8), ...ethernet(innerTcp)];
    expect(decode(outer(udp(61000, 4789, gbp))).p).toMatchObject({ ...innerTcpKey, tunnel: "vxlan" });
  });

  it("without the I flag, or with reserved bits set, it is not VXLAN: the outer flow", () => {
    for (const body of [
      vxlan(0, ethernet(innerTcp)),
      vxlan(0x0c, ethernet(innerTcp)),
      // a DNS answer to a client that picked port 4789: ID 0x08c3, flags 0x8180
      [0x08, 0xc3, 0x81, 0x80, 0, 1, 0, 1, ...new Array(30).fill(0)],
    ]) {
      const { outcome, p } = decode(outer(udp(53, 4789, body)));
      expect(outcome).toBe("ok");
      expect(p).toMatchObject({ dstPort: 4789, tunnel: "" });
    }
  });
});

describe("CAPWAP data (UDP 5247)", () => {
  const mac = (n: number) => [2, 0, 0, 0, 0, n];
  /** CAPWAP header of 2 words, WBID 1; `t`: native frame; byte 3 carries F (0x80) and K (0x08). */
  const capwap = (t: boolean, b3: number, body: number[], fragOffset = 0) => [
    0,
    0x10,
    0x02 | (t ? 1 : 0),
    b3,
    0,
    0,
    ...be16(fragOffset << 3),
    ...body,
  ];
  /** An 802.11 data frame: frame control bytes, addresses, sequence control, [QoS, HT control], LLC/SNAP. */
  const dot11 = (fc0: number, fc1: number, ip: number[], etherType = 0x0800) => {
    const qos = fc0 & 0x80 ? [0, 0, ...(fc1 & 0x80 ? [0, 0, 0, 0] : [])] : [];
    const addr4 = (fc1 & 3) === 3 ? mac(4) : [];
    const llc = [0xaa, 0xaa, 0x03, 0, 0, 0, ...be16(etherType)];
    return [fc0, fc1, 0, 0, ...mac(1), ...mac(2), ...mac(3), 0x10, 0, ...addr4, ...qos, ...llc, ...ip];
  };
  const over = (body: number[]) => decode(outer(udp(5247, 5247, body)));

  it("native 802.11 data frames: plain, QoS with HT control, four addresses", () => {
    for (const [fc0, fc1] of [
      [0x08, 0x01],
      [0x88, 0x81],
      [0x08, 0x03],
    ] as const) {
      const { outcome, p } = over(capwap(true, 0, dot11(fc0, fc1, innerTcp)));
      expect(outcome, `${fc0} ${fc1}`).toBe("ok");
      expect(p).toMatchObject({ ...innerTcpKey, tunnel: "capwap" });
    }
  });

  it("an 802.3 frame (T clear)", () => {
    expect(over(capwap(false, 0, ethernet(innerTcp))).p).toMatchObject({ ...innerTcpKey, tunnel: "capwap" });
  });

  it("a keepalive stays the outer flow; a later fragment, a null or protected frame, ARP are counted", () => {
    expect(over(capwap(false, 0x08, [0, 0x23, 0, 2, 0, 0])).p).toMatchObject({ dstPort: 5247, tunnel: "" });
    expect(over(capwap(true, 0x80, new Array(40).fill(0), 200)).outcome).toBe("fragment");
    expect(over(capwap(true, 0, dot11(0x48, 0x01, []))).outcome).toBe("not_ip");
    expect(over(capwap(true, 0, dot11(0x08, 0x41, innerTcp))).outcome).toBe("not_ip");
    expect(over(capwap(true, 0, dot11(0x08, 0x01, new Array(28).fill(0), 0x0806))).outcome).toBe("not_ip");
    // the first fragment holds the headers
    expect(over(capwap(true, 0x80, dot11(0x08, 0x01, innerTcp))).p).toMatchObject(innerTcpKey);
  });
});

describe("GRE (IP protocol 47)", () => {
  /** GRE header with `flags` (C 0x8000, K 0x2000, S 0x1000) and the words they call for. */
  const gre = (flags: number, type: number, body: number[]) => {
    const words = [flags & 0x8000, flags & 0x2000, flags & 0x1000].filter(Boolean).length;
    return raw(47, [...be16(flags), ...be16(type), ...new Array(4 * words).fill(0x11), ...body]);
  };

  it("checksum, key and sequence words before an IPv4 packet", () => {
    const { outcome, p } = decode(outer(gre(0x8000 | 0x2000 | 0x1000, 0x0800, innerTcp)));
    expect(outcome).toBe("ok");
    expect(p).toMatchObject({ ...innerTcpKey, tunnel: "gre" });
  });

  it("transparent Ethernet bridging (0x6558) and IPv6 (0x86DD)", () => {
    expect(decode(outer(gre(0x2000, 0x6558, ethernet(innerTcp)))).p).toMatchObject(innerTcpKey);
    expect(decode(outer(gre(0, 0x86dd, innerUdp6))).p).toMatchObject({ src: "2001:db8::5", dstPort: 53 });
  });

  it("ERSPAN type I, II and III (with its platform subheader)", () => {
    const mirrored = ethernet(innerTcp);
    // type I: no sequence number, no ERSPAN header
    expect(decode(outer(gre(0, 0x88be, mirrored))).p).toMatchObject(innerTcpKey);
    // type II: sequence number, 8-byte ERSPAN header
    const erspan2 = [0x10, 0x64, 0, 1, 0, 0, 0, 0];
    expect(decode(outer(gre(0x1000, 0x88be, [...erspan2, ...mirrored]))).p).toMatchObject(innerTcpKey);
    // type III: 12-byte header whose last octet's O bit adds an 8-byte platform subheader
    const erspan3 = [0x20, 0x64, 0, 1, ...be32(0xabcdef), 0, 0, 0, 1, ...new Array(8).fill(0x22)];
    expect(decode(outer(gre(0x1000, 0x22eb, [...erspan3, ...mirrored]))).p).toMatchObject(innerTcpKey);
  });

  it("PPTP's enhanced GRE (version 1) stays the outer flow", () => {
    const { outcome, p } = decode(
      outer(raw(47, [0x30, 0x81, ...be16(0x880b), 0, 4, 0, 1, 0, 0, 0, 1, 0xff, 0x03, 0, 0x21])),
    );
    expect(outcome).toBe("ok");
    expect(p).toMatchObject({ proto: 47, srcPort: 0, tunnel: "" });
  });

  it("over IPv6 as over IPv4", () => {
    const frame = ethernet(ipv6("2001:db8:ff::1", "2001:db8:ff::2", gre(0x2000, 0x0800, innerTcp)));
    expect(decode(frame).p).toMatchObject({ ...innerTcpKey, tunnel: "gre" });
  });

  it("a header cut short is truncated", () => {
    expect(decode(outer(raw(47, [0x20, 0, 0x08, 0, 0, 0]))).outcome).toBe("truncated");
  });
});

describe("IP in IP and nesting", () => {
  it("IPv4 in IPv4 (protocol 4) and IPv6 in IPv4 (41)", () => {
    expect(decode(outer(raw(4, innerTcp))).p).toMatchObject({ ...innerTcpKey, tunnel: "ipip" });
    expect(decode(outer(raw(41, innerUdp6))).p).toMatchObject({ dstPort: 53, tunnel: "ipip" });
  });

  it("VXLAN inside GRE inside GTP-U: the innermost packet, three tunnels deep", () => {
    const vx = [0x08, 0, 0, 0, 0, 0, 1, 0, ...ethernet(innerTcp)];
    const greBody = raw(47, [0, 0, ...be16(0x0800), ...ipv4("10.9.9.1", "10.9.9.2", udp(50000, 4789, vx))]);
    const gtpBody = ipv4("10.8.8.1", "10.8.8.2", greBody);
    const frame = outer(udp(2152, 2152, [0x30, 0xff, ...be16(gtpBody.length), ...be32(1), ...gtpBody]));
    expect(decode(frame).p).toMatchObject({ ...innerTcpKey, tunnel: "vxlan", tunnelDepth: 3 });
  });

  it(`stops after ${MAX_TUNNEL_DEPTH} tunnels: the packet there is the flow`, () => {
    let pkt = innerTcp;
    for (let i = 0; i < MAX_TUNNEL_DEPTH + 1; i++) pkt = ipv4(`10.0.${i}.1`, `10.0.${i}.2`, raw(4, pkt));
    const { outcome, p } = decode(ethernet(pkt));
    expect(outcome).toBe("ok");
    // the outermost IP is 10.0.4.x; four tunnels opened reach 10.0.0.x, which still carries protocol 4
    expect(p).toMatchObject({ src: "10.0.0.1", proto: 4, tunnelDepth: MAX_TUNNEL_DEPTH });
  });
});

describe("a capture given to netsec predict (captureAsFlowsCsv)", () => {
  it("opens tunnels by default: the committed GTP-U capture's inner flows", async () => {
    const gtp = fileURLToPath(new URL("../golden/flows/captures/gtp.pcap", import.meta.url));
    const c = (await captureAsFlowsCsv(gtp))!;
    try {
      const rows = parse(readFileSync(c.csv, "utf8"), { columns: true }) as Record<string, string>[];
      expect(
        rows.map((r) => `${r["Source IP"]}>${r["Destination IP"]}:${r["Destination Port"]}`).sort(),
      ).toEqual(["10.45.0.7>198.51.100.80:80", "10.6.0.1>10.6.0.2:2152", "2001:db8:45::7>2001:db8::53:53"]);
      expect(c.summary.tunnelled.gtp).toBe(11);
    } finally {
      c.cleanup();
    }
  });
});

describe("extractFlows with tunnels", () => {
  const dir = mkdtempSync(join(tmpdir(), "netsec-tunnels-"));
  const T0 = 1_700_000_000;
  const file = join(dir, "gre.pcap");
  // a TCP exchange through a GRE tunnel: request 10 bytes, answer 30 bytes
  const a2b = ipv4(
    "172.16.0.5",
    "93.184.216.34",
    transport({ proto: "tcp", sport: 51000, dport: 80, flags: F.ACK, payload: 10 }),
  );
  const b2a = ipv4(
    "93.184.216.34",
    "172.16.0.5",
    transport({ proto: "tcp", sport: 80, dport: 51000, flags: F.ACK, payload: 30 }),
  );
  const greIn = (pkt: number[], fromA: boolean) =>
    ethernet(
      fromA
        ? ipv4("192.0.2.1", "192.0.2.2", raw(47, [0, 0, 8, 0, ...pkt]))
        : ipv4("192.0.2.2", "192.0.2.1", raw(47, [0, 0, 8, 0, ...pkt])),
    );
  const frames = [greIn(a2b, true), greIn(b2a, false), greIn(a2b, true)];
  writeFileSync(
    file,
    pcap(
      1,
      frames.map((frame, i) => ({ t: T0 + i * 0.01, frame })),
    ),
  );

  const run = async (o: { decodeTunnels?: boolean; features: "cic" | "nfstream" }) => {
    const cols = flowColumns(o.features);
    const rows: Record<string, string | number>[] = [];
    const summary = await extractFlows(
      file,
      (r) => rows.push(Object.fromEntries(cols.map((c, i) => [c, r[i]!]))),
      o,
    );
    return { rows, summary };
  };

  it("one inner flow: CIC lengths are the inner payloads; NFStream's bytes the captured frames", async () => {
    const frame = (payload: number) => 14 + 20 + 4 + 20 + 20 + payload;
    const cic = await run({ features: "cic" });
    expect(cic.summary.tunnelled.gre).toBe(3);
    expect(cic.rows).toHaveLength(1);
    expect(cic.rows[0]).toMatchObject({
      "Source IP": "172.16.0.5",
      "Destination Port": 80,
      "Total Fwd Packets": 2,
      "Total Backward Packets": 1,
      "Total Length of Fwd Packets": 20,
      "Total Length of Bwd Packets": 30,
      "Fwd Header Length": 40,
    });
    const nf = await run({ features: "nfstream" });
    expect(nf.rows[0]).toMatchObject({
      src_ip: "172.16.0.5",
      src2dst_bytes: 2 * frame(10),
      dst2src_bytes: frame(30),
    });
  });

  it("decodeTunnels false: one GRE flow between the tunnel's end points", async () => {
    const { rows, summary } = await run({ features: "nfstream", decodeTunnels: false });
    expect(summary.tunnelled.gre).toBe(0);
    expect(rows.map((r) => [r.src_ip, r.dst_ip, r.protocol, r.bidirectional_packets])).toEqual([
      ["192.0.2.1", "192.0.2.2", 47, 3],
    ]);
  });
});
