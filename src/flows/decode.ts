/**
 * One captured frame decoded down to its transport header: link layer (Ethernet II and 802.3 with
 * LLC/SNAP, 802.1Q/802.1ad VLAN tags stacked, Linux cooked capture v1 and v2, raw IP, BSD null and
 * OpenBSD loop), IPv4 (fragments recognised: a non-first fragment has no transport header), IPv6
 * (hop-by-hop, routing, destination-options, fragment, AH and mobility extension headers skipped),
 * then TCP, UDP, ICMP and ICMPv6. The result goes into a reused `DecodedPacket` (no allocation per
 * packet but the address strings); `decodePacket` returns why a packet yields no flow key, so the
 * caller can count each reason. Lengths come from the IP header, not the captured bytes, so Ethernet
 * padding is not counted and a packet cut at a snap length keeps its real size.
 *
 * Tunnels (`tunnels.ts`: TZSP, GTP-U, VXLAN, CAPWAP, GRE with ERSPAN, IP in IP) are opened when
 * asked: the inner frame is decoded the same way, up to `MAX_TUNNEL_DEPTH` tunnels deep, and the
 * result is the innermost packet (`tunnel` names the innermost tunnel, `tunnelDepth` counts them).
 * Its lengths are the inner packet's; the length on the wire stays the captured frame's (the
 * caller's).
 */

import { LINKTYPE } from "./link-types.ts";
import { ipTunnel, newTunnelHit, TUNNEL_PORT, type TunnelKind, udpTunnel } from "./tunnels.ts";

export { LINKTYPE };

const PROTO = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58 } as const;

export const TCP_FLAG = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 } as const;

/** Why a frame gave no flow key (or "ok"). */
export type DecodeOutcome = "ok" | "unsupported_link" | "not_ip" | "truncated" | "malformed" | "fragment";

export interface DecodedPacket {
  ipVersion: 4 | 6;
  src: string;
  dst: string;
  proto: number;
  /** 0 for protocols without ports (ICMP: NFStream's convention). */
  srcPort: number;
  dstPort: number;
  /** IP packet length from its header (IPv4 total length; IPv6 40 + payload length), bytes. */
  ipLength: number;
  /** IP header length including IPv6 extension headers, bytes. */
  ipHeaderLength: number;
  /** Transport header length (TCP data offset × 4, UDP 8, ICMP 8), bytes. */
  l4HeaderLength: number;
  /** Transport payload bytes: ipLength − ipHeaderLength − l4HeaderLength (never negative). */
  payloadLength: number;
  /** TCP flags byte (0 for other protocols). */
  tcpFlags: number;
  /** TCP window field (0 for other protocols). */
  tcpWindow: number;
  /** The first fragment of a fragmented datagram (its transport header is here; later ones are not). */
  firstFragment: boolean;
  /** The innermost tunnel the packet came out of ("" when none was opened). */
  tunnel: TunnelKind | "";
  /** Tunnels opened to reach this packet (0: none). */
  tunnelDepth: number;
}

export function newDecodedPacket(): DecodedPacket {
  return {
    ipVersion: 4,
    src: "",
    dst: "",
    proto: 0,
    srcPort: 0,
    dstPort: 0,
    ipLength: 0,
    ipHeaderLength: 0,
    l4HeaderLength: 0,
    payloadLength: 0,
    tcpFlags: 0,
    tcpWindow: 0,
    firstFragment: false,
    tunnel: "",
    tunnelDepth: 0,
  };
}

/** Tunnels opened at most inside one another; a deeper one is left as the packet at this depth. */
export const MAX_TUNNEL_DEPTH = 4;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = [0x8100, 0x88a8, 0x9100] as const;

/**
 * Decode frame `d` of link type `linkType` into `out`. Returns "ok" when `out` holds a flow key;
 * otherwise the reason (a later fragment is "fragment": counted, not parsed). With `decodeTunnels`
 * (the default) a tunnelled packet's key is the innermost packet's; TZSP is read on UDP `tzspPort`.
 */
export function decodePacket(
  linkType: number,
  d: Uint8Array,
  out: DecodedPacket,
  decodeTunnels = true,
  tzspPort: number = TUNNEL_PORT.TZSP,
): DecodeOutcome {
  out.tunnel = "";
  out.tunnelDepth = 0;
  tzspPortNow = tzspPort;
  return decodeFrame(linkType, d, out, decodeTunnels ? MAX_TUNNEL_DEPTH : 0);
}

/** The `tzspPort` of the decodePacket call in progress (synchronous: no other call interleaves). */
let tzspPortNow: number = TUNNEL_PORT.TZSP;

/** `budget`: how many more tunnels may be opened inside this frame. */
function decodeFrame(linkType: number, d: Uint8Array, out: DecodedPacket, budget: number): DecodeOutcome {
  let at: number;
  let etherType: number;
  switch (linkType) {
    case LINKTYPE.ETHERNET: {
      if (d.length < 14) return "truncated";
      etherType = (d[12]! << 8) | d[13]!;
      at = 14;
      if (etherType <= 1500) {
        // 802.3 length field: an LLC header follows; only SNAP (AA AA 03 + OUI + type) carries an ethertype
        if (d.length < 22) return "truncated";
        if (d[14] !== 0xaa || d[15] !== 0xaa || d[16] !== 0x03) return "not_ip";
        etherType = (d[20]! << 8) | d[21]!;
        at = 22;
      }
      while (etherType === ETH_VLAN[0] || etherType === ETH_VLAN[1] || etherType === ETH_VLAN[2]) {
        if (d.length < at + 4) return "truncated";
        etherType = (d[at + 2]! << 8) | d[at + 3]!;
        at += 4;
      }
      break;
    }
    case LINKTYPE.LINUX_SLL:
      if (d.length < 16) return "truncated";
      etherType = (d[14]! << 8) | d[15]!;
      at = 16;
      break;
    case LINKTYPE.LINUX_SLL2:
      if (d.length < 20) return "truncated";
      etherType = (d[0]! << 8) | d[1]!;
      at = 20;
      break;
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_BSD12:
    case LINKTYPE.RAW_BSD14:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6: {
      if (d.length < 1) return "truncated";
      const v = d[0]! >> 4;
      etherType = v === 4 ? ETH_IPV4 : v === 6 ? ETH_IPV6 : 0;
      at = 0;
      break;
    }
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (d.length < 4) return "truncated";
      // NULL: the address family in the capturing host's byte order; LOOP: network order. Families
      // are small numbers, so whichever end is non-zero tells the order.
      const family = d[0] !== 0 ? d[0]! : d[3]!;
      etherType =
        family === 2
          ? ETH_IPV4
          : family === 10 || family === 24 || family === 28 || family === 30
            ? ETH_IPV6
            : 0;
      at = 4;
      break;
    }
    default:
      return "unsupported_link";
  }
  if (etherType === ETH_IPV4) return decodeIpv4(d, at, out, budget);
  if (etherType === ETH_IPV6) return decodeIpv6(d, at, out, budget);
  return "not_ip";
}

function decodeIpv4(d: Uint8Array, at: number, out: DecodedPacket, budget: number): DecodeOutcome {
  if (d.length < at + 20) return "truncated";
  if (d[at]! >> 4 !== 4) return "malformed";
  const ihl = (d[at]! & 0x0f) * 4;
  // a total length of 0 is a segment captured before TCP segmentation offload split it (the
  // sending host's own capture): its length is what was captured, as Wireshark reads it
  const stated = (d[at + 2]! << 8) | d[at + 3]!;
  const total = stated === 0 ? d.length - at : stated;
  if (ihl < 20 || total < ihl) return "malformed";
  const fragField = (d[at + 6]! << 8) | d[at + 7]!;
  const moreFragments = (fragField & 0x2000) !== 0;
  const fragOffset = fragField & 0x1fff;
  if (fragOffset !== 0) return "fragment";
  out.ipVersion = 4;
  out.proto = d[at + 9]!;
  out.src = `${d[at + 12]}.${d[at + 13]}.${d[at + 14]}.${d[at + 15]}`;
  out.dst = `${d[at + 16]}.${d[at + 17]}.${d[at + 18]}.${d[at + 19]}`;
  out.ipLength = total;
  out.ipHeaderLength = ihl;
  out.firstFragment = moreFragments;
  return decodeTransport(d, at + ihl, at + total, out, budget);
}

/** IPv6 extension headers with the generic (next header, length in 8-octet units − 1) layout. */
const IPV6_EXT_GENERIC = new Set([0, 43, 60, 135, 139, 140]);

function decodeIpv6(d: Uint8Array, at: number, out: DecodedPacket, budget: number): DecodeOutcome {
  if (d.length < at + 40) return "truncated";
  if (d[at]! >> 4 !== 6) return "malformed";
  // 0 before a header that has a length (anything but "no next header", 59): a jumbogram or an
  // offloaded segment, whose length is what was captured
  const stated = (d[at + 4]! << 8) | d[at + 5]!;
  const payloadLen = stated === 0 && d[at + 6] !== 59 ? d.length - at - 40 : stated;
  let next = d[at + 6]!;
  out.ipVersion = 6;
  out.src = ipv6Text(d, at + 8);
  out.dst = ipv6Text(d, at + 24);
  out.ipLength = 40 + payloadLen;
  out.firstFragment = false;
  const end = at + 40 + payloadLen;
  let p = at + 40;
  for (;;) {
    if (IPV6_EXT_GENERIC.has(next)) {
      if (d.length < p + 2) return "truncated";
      const len = (d[p + 1]! + 1) * 8;
      next = d[p]!;
      p += len;
    } else if (next === 44) {
      // fragment header: offset in the upper 13 bits of bytes 2–3, M flag in bit 0 of byte 3
      if (d.length < p + 8) return "truncated";
      const offset = ((d[p + 2]! << 8) | d[p + 3]!) >> 3;
      if (offset !== 0) return "fragment";
      out.firstFragment = (d[p + 3]! & 1) === 1;
      next = d[p]!;
      p += 8;
    } else if (next === 51) {
      // authentication header: length in 4-octet units − 2
      if (d.length < p + 2) return "truncated";
      const len = (d[p + 1]! + 2) * 4;
      next = d[p]!;
      p += len;
    } else break;
    if (p > end) return "malformed";
  }
  out.proto = next;
  out.ipHeaderLength = p - at;
  return decodeTransport(d, p, end, out, budget);
}

function decodeTransport(
  d: Uint8Array,
  at: number,
  ipEnd: number,
  out: DecodedPacket,
  budget: number,
): DecodeOutcome {
  out.tcpFlags = 0;
  out.tcpWindow = 0;
  out.srcPort = 0;
  out.dstPort = 0;
  let hdr = 0;
  switch (out.proto) {
    case PROTO.TCP: {
      if (d.length < at + 20) return "truncated";
      out.srcPort = (d[at]! << 8) | d[at + 1]!;
      out.dstPort = (d[at + 2]! << 8) | d[at + 3]!;
      hdr = (d[at + 12]! >> 4) * 4;
      if (hdr < 20) return "malformed";
      out.tcpFlags = d[at + 13]!;
      out.tcpWindow = (d[at + 14]! << 8) | d[at + 15]!;
      break;
    }
    case PROTO.UDP:
      if (d.length < at + 8) return "truncated";
      out.srcPort = (d[at]! << 8) | d[at + 1]!;
      out.dstPort = (d[at + 2]! << 8) | d[at + 3]!;
      if (budget > 0) {
        const t = udpTunnel(d, at + 8, ipEnd, out.srcPort, out.dstPort, tzspPortNow, hit);
        if (t !== "none") return t === "inner" ? decodeTunnelled(d, out, budget) : t;
      }
      hdr = 8;
      break;
    case PROTO.ICMP:
    case PROTO.ICMPV6:
      if (d.length < at + 4) return "truncated";
      hdr = 8;
      break;
    default:
      if (budget > 0) {
        const t = ipTunnel(d, at, ipEnd, out.proto, hit);
        if (t !== "none") return t === "inner" ? decodeTunnelled(d, out, budget) : t;
      }
      hdr = 0;
  }
  out.l4HeaderLength = hdr;
  out.payloadLength = Math.max(0, ipEnd - at - hdr);
  return "ok";
}

/** The tunnel found by the last `udpTunnel`/`ipTunnel` call (read at once, before any other). */
const hit = newTunnelHit();

/** Decode the frame `hit` points at in place of the outer packet. */
function decodeTunnelled(d: Uint8Array, out: DecodedPacket, budget: number): DecodeOutcome {
  const kind = hit.kind;
  const outcome = decodeFrame(hit.linkType, d.subarray(hit.at, hit.end), out, budget - 1);
  if (outcome === "ok") {
    // the innermost tunnel is the first to return
    if (out.tunnelDepth === 0) out.tunnel = kind;
    out.tunnelDepth++;
  }
  return outcome;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16));

/** RFC 5952 text of the IPv6 address at d[at..at+16) (longest run of ≥ 2 zero groups as "::"). */
export function ipv6Text(d: Uint8Array, at: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((d[at + 2 * i]! << 8) | d[at + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number): string => (x < 256 ? HEX[x]! : x.toString(16));
  if (bestLen < 2) return g.map(hex).join(":");
  const head = g.slice(0, bestStart).map(hex).join(":");
  const tail = g
    .slice(bestStart + bestLen)
    .map(hex)
    .join(":");
  return `${head}::${tail}`;
}
