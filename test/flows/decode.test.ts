import { describe, expect, it } from "vitest";
import { decodePacket, ipv6Text, LINKTYPE, newDecodedPacket } from "../../src/flows/decode.ts";
import {
  ethernet,
  ethernet8023Snap,
  F,
  ipv4,
  ipv6,
  nullLink,
  sll,
  sll2,
  transport,
} from "./build-capture.ts";

const decode = (linkType: number, frame: number[]) => {
  const p = newDecodedPacket();
  const outcome = decodePacket(linkType, Uint8Array.from(frame), p);
  return { outcome, p };
};

const tcp = transport({
  proto: "tcp",
  sport: 40000,
  dport: 443,
  flags: F.SYN | F.ACK,
  window: 29200,
  tcpOptions: 12,
  payload: 10,
});
const v4 = ipv4("192.168.1.10", "10.0.0.1", tcp);

describe("decodePacket", () => {
  it("Ethernet II, IPv4, TCP: addresses, ports, flags, window and the lengths from the headers", () => {
    const { outcome, p } = decode(LINKTYPE.ETHERNET, ethernet(v4));
    expect(outcome).toBe("ok");
    expect(p).toMatchObject({
      ipVersion: 4,
      src: "192.168.1.10",
      dst: "10.0.0.1",
      proto: 6,
      srcPort: 40000,
      dstPort: 443,
      tcpFlags: F.SYN | F.ACK,
      tcpWindow: 29200,
      ipLength: 20 + 32 + 10,
      ipHeaderLength: 20,
      l4HeaderLength: 32,
      payloadLength: 10,
      firstFragment: false,
    });
  });

  it("does not count Ethernet padding as payload", () => {
    const small = ipv4("1.1.1.1", "2.2.2.2", transport({ proto: "tcp", sport: 1, dport: 2, flags: F.ACK }));
    const padded = [...ethernet(small), ...new Array(6).fill(0)]; // 54-byte frame padded to 60
    const { p } = decode(LINKTYPE.ETHERNET, padded);
    expect(p.payloadLength).toBe(0);
    expect(p.ipLength).toBe(40);
  });

  it("an IPv4 total length or IPv6 payload length of 0 (offload, jumbogram) is the captured length", () => {
    const tso = ethernet(
      ipv4(
        "1.1.1.1",
        "2.2.2.2",
        transport({ proto: "tcp", sport: 1, dport: 2, flags: F.ACK, payload: 3000 }),
      ),
    );
    tso[14 + 2] = 0;
    tso[14 + 3] = 0;
    const { outcome, p } = decode(LINKTYPE.ETHERNET, tso);
    expect(outcome).toBe("ok");
    expect(p).toMatchObject({ ipLength: 20 + 20 + 3000, payloadLength: 3000 });
    const tso6 = ethernet(
      ipv6("::1", "::2", transport({ proto: "tcp", sport: 1, dport: 2, flags: F.ACK, payload: 70000 })),
    );
    tso6[14 + 4] = 0;
    tso6[14 + 5] = 0;
    expect(decode(LINKTYPE.ETHERNET, tso6).p).toMatchObject({
      ipLength: 40 + 20 + 70000,
      payloadLength: 70000,
    });
    // but an IPv6 packet with no next header (59) is empty: its Ethernet padding is not payload
    const empty = [...ethernet(ipv6("::1", "::2", { proto: 59, bytes: [] })), 0, 0, 0, 0, 0, 0];
    expect(decode(LINKTYPE.ETHERNET, empty).p).toMatchObject({ proto: 59, ipLength: 40, payloadLength: 0 });
  });

  for (const [name, vlans] of [
    ["802.1Q", [100]],
    ["QinQ (802.1ad + 802.1Q)", [200, 100]],
  ] as const)
    it(`skips ${name} tags`, () => {
      const { outcome, p } = decode(LINKTYPE.ETHERNET, ethernet(v4, [...vlans]));
      expect(outcome).toBe("ok");
      expect(p).toMatchObject({ src: "192.168.1.10", dstPort: 443, payloadLength: 10 });
    });

  it("reads 802.3 frames with LLC/SNAP, and calls other 802.3 frames not IP", () => {
    expect(decode(LINKTYPE.ETHERNET, ethernet8023Snap(v4)).p).toMatchObject({ src: "192.168.1.10" });
    const stp = [1, 0x80, 0xc2, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0, 38, 0x42, 0x42, 3, ...new Array(35).fill(0)];
    expect(decode(LINKTYPE.ETHERNET, stp).outcome).toBe("not_ip");
  });

  for (const [name, link, wrap] of [
    ["Linux cooked v1", LINKTYPE.LINUX_SLL, sll],
    ["Linux cooked v2", LINKTYPE.LINUX_SLL2, sll2],
    ["raw IP", LINKTYPE.RAW, (ip: number[]) => ip],
    ["BSD null", LINKTYPE.NULL, nullLink],
  ] as const)
    it(`${name}: IPv4 and IPv6`, () => {
      expect(decode(link, wrap(v4)).p).toMatchObject({ ipVersion: 4, src: "192.168.1.10", srcPort: 40000 });
      const v6 = ipv6(
        "2001:db8::1",
        "fe80::2",
        transport({ proto: "udp", sport: 5353, dport: 53, payload: 3 }),
      );
      expect(decode(link, wrap(v6)).p).toMatchObject({
        ipVersion: 6,
        src: "2001:db8::1",
        dst: "fe80::2",
        proto: 17,
        dstPort: 53,
        payloadLength: 3,
      });
    });

  it("IPv6: skips extension headers to the transport header", () => {
    const v6 = ipv6("2001:db8::1", "2001:db8::2", tcp, ["hbh"]);
    const { outcome, p } = decode(LINKTYPE.ETHERNET, ethernet(v6));
    expect(outcome).toBe("ok");
    expect(p).toMatchObject({
      proto: 6,
      srcPort: 40000,
      ipHeaderLength: 48,
      l4HeaderLength: 32,
      payloadLength: 10,
    });
  });

  it("IPv6 fragments: the first carries the ports, a later one is a fragment", () => {
    const first = decode(LINKTYPE.RAW, ipv6("::1", "::2", tcp, ["frag0"]));
    expect(first.outcome).toBe("ok");
    expect(first.p).toMatchObject({ srcPort: 40000, firstFragment: true });
    const later = decode(LINKTYPE.RAW, ipv6("::1", "::2", { proto: 6, bytes: [1, 2, 3, 4] }, ["frag1"]));
    expect(later.outcome).toBe("fragment");
  });

  it("IPv4 fragments: the first carries the ports, a later one is a fragment", () => {
    const first = decode(LINKTYPE.RAW, ipv4("1.1.1.1", "2.2.2.2", tcp, { more: true }));
    expect(first.outcome).toBe("ok");
    expect(first.p).toMatchObject({ srcPort: 40000, firstFragment: true });
    const later = decode(
      LINKTYPE.RAW,
      ipv4("1.1.1.1", "2.2.2.2", { proto: 6, bytes: [1, 2, 3, 4] }, { offset: 3 }),
    );
    expect(later.outcome).toBe("fragment");
  });

  it("ICMP has ports 0", () => {
    const { p } = decode(LINKTYPE.RAW, ipv4("1.1.1.1", "2.2.2.2", transport({ proto: "icmp", payload: 56 })));
    expect(p).toMatchObject({ proto: 1, srcPort: 0, dstPort: 0, l4HeaderLength: 8, payloadLength: 56 });
  });

  it("a packet cut inside its headers is truncated; a bad IP version is malformed; others are not IP", () => {
    const frame = ethernet(v4);
    expect(decode(LINKTYPE.ETHERNET, frame.slice(0, 14 + 20 + 10)).outcome).toBe("truncated");
    expect(decode(LINKTYPE.ETHERNET, frame.slice(0, 20)).outcome).toBe("truncated");
    expect(decode(LINKTYPE.ETHERNET, frame.slice(0, 10)).outcome).toBe("truncated");
    const bad = [...frame];
    bad[14] = 0x35;
    expect(decode(LINKTYPE.ETHERNET, bad).outcome).toBe("malformed");
    const arp = [...frame.slice(0, 12), 0x08, 0x06, ...new Array(28).fill(0)];
    expect(decode(LINKTYPE.ETHERNET, arp).outcome).toBe("not_ip");
    expect(decode(147, frame).outcome).toBe("unsupported_link");
  });

  it("a packet cut after its transport header keeps the lengths its IP header states", () => {
    const { outcome, p } = decode(LINKTYPE.ETHERNET, ethernet(v4).slice(0, 14 + 20 + 32));
    expect(outcome).toBe("ok");
    expect(p.payloadLength).toBe(10);
  });
});

describe("ipv6Text", () => {
  const text = (groups: number[]) => ipv6Text(Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 255])), 0);
  it("writes RFC 5952 text", () => {
    expect(text([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])).toBe("2001:db8::1");
    expect(text([0, 0, 0, 0, 0, 0, 0, 1])).toBe("::1");
    expect(text([0, 0, 0, 0, 0, 0, 0, 0])).toBe("::");
    expect(text([0xfe80, 0, 0, 0, 0xabcd, 0, 0, 1])).toBe("fe80::abcd:0:0:1");
    expect(text([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])).toBe("2001:db8:0:1:1:1:1:1");
  });
});
