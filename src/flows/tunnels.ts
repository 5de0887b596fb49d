/**
 * Tunnel headers between an outer transport header and the packet they carry: which tunnel a packet
 * is in (by IP protocol or well-known UDP port), where its inner frame starts and ends, and as what
 * link type to read it. `decode.ts` then decodes that frame as it would a captured one, so the flow
 * is keyed on the innermost 5-tuple.
 *
 * - TZSP (UDP 37008 or the port given, either side; the Wikipedia/Wireshark description): version
 *   1, type 0 (received) or 1 (for transmit) carry a packet; tagged fields (padding 0, END 1, else
 *   type, length, value) up to TAG_END; encapsulation 1 is Ethernet. Other types (keepalive, config…) and encapsulations
 *   (802.11, Prism, AVS) are no packet netsec reads: the datagram stays the outer flow.
 * - GTP-U (UDP 2152, either side; 3GPP TS 29.281): version 1, protocol type GTP, message type 255
 *   (T-PDU); the optional sequence/N-PDU/next-extension word when any of E, S, PN is set; the
 *   extension header chain (length in 4-octet units, the next type in its last octet). The inner
 *   packet is IPv4 or IPv6 (by its version nibble). Other messages (echo, error indication) stay the
 *   outer flow.
 * - VXLAN (UDP 4789, either side; RFC 7348): the I flag set and the reserved fields zero (or the
 *   group-based policy extension's G flag and policy), then an Ethernet frame.
 * - CAPWAP data (UDP 5247, either side; RFC 5415, RFC 5416): a plain (not DTLS) header of HLEN words,
 *   then an 802.3 frame (T clear) or a native IEEE 802.11 frame (T set, WBID 1): a data frame's
 *   header (three or four addresses, QoS and HT control fields by its flags) and LLC/SNAP before IPv4
 *   or IPv6. A later fragment of a fragmented CAPWAP packet is "fragment"; management, control, null
 *   and protected (encrypted) 802.11 frames and other ethertypes "not_ip". Keepalives and other
 *   wireless bindings stay the outer flow.
 * - GRE (IP protocol 47; RFC 2784/2890): version 0; checksum, key and sequence words by their flags
 *   (a routing-present header, RFC 1701, stays outer); payload 0x0800 IPv4, 0x86DD IPv6, 0x6558
 *   transparent Ethernet bridging, 0x88BE ERSPAN type II (type I without a sequence number: no
 *   ERSPAN header) and 0x22EB ERSPAN type III (with its optional platform subheader). Enhanced GRE
 *   (version 1, PPTP's PPP) stays outer.
 * - IP in IP (IP protocols 4 and 41): the inner IPv4/IPv6 packet.
 *
 * A header recognised as carrying a packet but cut short or inconsistent is "truncated" or
 * "malformed": the packet is counted under that reason, as a damaged packet is.
 */
import { LINKTYPE } from "./link-types.ts";

export type TunnelKind = "tzsp" | "gtp" | "vxlan" | "capwap" | "gre" | "ipip";

export const TUNNEL_PORT = { TZSP: 37008, GTP_U: 2152, VXLAN: 4789, CAPWAP_DATA: 5247 } as const;
const TUNNEL_PROTO = { IPIP: 4, IPV6: 41, GRE: 47 } as const;

/** Where a tunnel's inner frame is: d[at, end) read as `linkType`. Reused between packets. */
export interface TunnelHit {
  kind: TunnelKind;
  linkType: number;
  at: number;
  end: number;
}

export function newTunnelHit(): TunnelHit {
  return { kind: "gre", linkType: 0, at: 0, end: 0 };
}

/** "none": no tunnel (the packet is the outer flow); "inner": `hit` is set; else why no flow key. */
export type TunnelOutcome = "none" | "inner" | "truncated" | "malformed" | "not_ip" | "fragment";

/**
 * The tunnel inside a UDP datagram whose payload is d[at, end) between `srcPort` and `dstPort`, TZSP
 * being read on `tzspPort` (a sniffer can stream to any port; 37008 is its default).
 */
export function udpTunnel(
  d: Uint8Array,
  at: number,
  end: number,
  srcPort: number,
  dstPort: number,
  tzspPort: number,
  hit: TunnelHit,
): TunnelOutcome {
  if (srcPort === TUNNEL_PORT.GTP_U || dstPort === TUNNEL_PORT.GTP_U) return gtpU(d, at, end, hit);
  if (srcPort === TUNNEL_PORT.VXLAN || dstPort === TUNNEL_PORT.VXLAN) return vxlan(d, at, end, hit);
  if (srcPort === tzspPort || dstPort === tzspPort) return tzsp(d, at, end, hit);
  if (srcPort === TUNNEL_PORT.CAPWAP_DATA || dstPort === TUNNEL_PORT.CAPWAP_DATA)
    return capwap(d, at, end, hit);
  return "none";
}

/** The tunnel an IP packet of protocol `proto` carries in d[at, end) (GRE, IP in IP). */
export function ipTunnel(
  d: Uint8Array,
  at: number,
  end: number,
  proto: number,
  hit: TunnelHit,
): TunnelOutcome {
  if (proto === TUNNEL_PROTO.GRE) return gre(d, at, end, hit);
  if (proto === TUNNEL_PROTO.IPIP || proto === TUNNEL_PROTO.IPV6)
    return set(hit, "ipip", LINKTYPE.RAW, at, end);
  return "none";
}

function set(hit: TunnelHit, kind: TunnelKind, linkType: number, at: number, end: number): "inner" {
  hit.kind = kind;
  hit.linkType = linkType;
  hit.at = at;
  hit.end = end;
  return "inner";
}

const TZSP_ENCAP_ETHERNET = 1;

function tzsp(d: Uint8Array, at: number, end: number, hit: TunnelHit): TunnelOutcome {
  const stop = Math.min(end, d.length);
  if (stop < at + 4) return "none";
  const type = d[at + 1]!;
  const encap = (d[at + 2]! << 8) | d[at + 3]!;
  // type 0: a received packet, 1: a packet for transmission; the rest carry none
  if (d[at] !== 1 || type > 1 || encap !== TZSP_ENCAP_ETHERNET) return "none";
  let p = at + 4;
  for (;;) {
    if (p >= stop) return "truncated";
    const tag = d[p]!;
    if (tag === 1) {
      p += 1;
      break;
    }
    if (tag === 0) p += 1;
    else {
      if (p + 2 > stop) return "truncated";
      p += 2 + d[p + 1]!;
    }
  }
  return set(hit, "tzsp", LINKTYPE.ETHERNET, p, end);
}

const GTP_T_PDU = 0xff;

function gtpU(d: Uint8Array, at: number, end: number, hit: TunnelHit): TunnelOutcome {
  const stop = Math.min(end, d.length);
  if (stop < at + 8) return "none";
  const flags = d[at]!;
  // version 1 (top three bits), protocol type 1 (GTP, not GTP'), a T-PDU: the rest carry no packet
  if (flags >> 5 !== 1 || (flags & 0x10) === 0 || d[at + 1] !== GTP_T_PDU) return "none";
  // the length counts what follows the 8-byte mandatory header (optional word and extensions included)
  const inner = at + 8 + ((d[at + 2]! << 8) | d[at + 3]!);
  let p = at + 8;
  if (flags & 0x07) {
    // E, S or PN: sequence number (2), N-PDU number (1) and next extension type (1) are all present
    if (stop < p + 4) return "truncated";
    let next = flags & 0x04 ? d[p + 3]! : 0;
    p += 4;
    while (next !== 0) {
      if (p >= stop) return "truncated";
      const len = d[p]! * 4;
      if (len === 0) return "malformed";
      if (p + len > stop) return "truncated";
      next = d[p + len - 1]!;
      p += len;
    }
  }
  if (p > inner) return "malformed";
  return set(hit, "gtp", LINKTYPE.RAW, p, Math.min(inner, end));
}

function vxlan(d: Uint8Array, at: number, end: number, hit: TunnelHit): TunnelOutcome {
  if (Math.min(end, d.length) < at + 8) return "none";
  // flags: I (the VNI is valid) alone, its reserved bits and bytes zero (RFC 7348); or I with G, the
  // group-based policy extension, whose bytes 1-3 carry the policy. Anything else on the port (an
  // application that happens to use 4789) is not VXLAN and stays its own flow.
  const flags = d[at]!;
  const plain = flags === 0x08 && d[at + 1] === 0 && d[at + 2] === 0 && d[at + 3] === 0;
  if (!(plain || flags === 0x88) || d[at + 7] !== 0) return "none";
  return set(hit, "vxlan", LINKTYPE.ETHERNET, at + 8, end);
}

const CAPWAP_WBID_IEEE80211 = 1;

function capwap(d: Uint8Array, at: number, end: number, hit: TunnelHit): TunnelOutcome {
  const stop = Math.min(end, d.length);
  if (stop < at + 8) return "none";
  // preamble: version 0, type 0 (a CAPWAP header follows; 1 is DTLS, encrypted)
  if (d[at] !== 0) return "none";
  const hlen = (d[at + 1]! >> 3) * 4;
  const wbid = (d[at + 2]! >> 1) & 0x1f;
  const native = (d[at + 2]! & 1) === 1;
  const fragmented = (d[at + 3]! & 0x80) !== 0;
  const keepalive = (d[at + 3]! & 0x08) !== 0;
  if (hlen < 8) return "malformed";
  // a data channel keepalive carries message elements, no frame
  if (keepalive || (native && wbid !== CAPWAP_WBID_IEEE80211)) return "none";
  // fragment offset (upper 13 bits of bytes 6-7), in 8-byte units: only the first holds the headers
  if (fragmented && ((d[at + 6]! << 8) | d[at + 7]!) >> 3 !== 0) return "fragment";
  const p = at + hlen;
  if (p > stop) return "truncated";
  if (!native) return set(hit, "capwap", LINKTYPE.ETHERNET, p, end);
  return ieee80211Data(d, p, end, stop, hit);
}

/** An IEEE 802.11 data frame at d[p, end) carrying IPv4 or IPv6 behind LLC/SNAP. */
function ieee80211Data(d: Uint8Array, p: number, end: number, stop: number, hit: TunnelHit): TunnelOutcome {
  if (stop < p + 24) return "truncated";
  const fc0 = d[p]!;
  const fc1 = d[p + 1]!;
  const subtype = fc0 >> 4;
  // type 2 (data) with a body (subtype bit 2 marks the null frames); a protected body is encrypted
  if (((fc0 >> 2) & 3) !== 2 || subtype & 0x4 || fc1 & 0x40) return "not_ip";
  let h = 24;
  if ((fc1 & 3) === 3) h += 6; // to and from the distribution system: a fourth address
  if (subtype & 0x8) {
    h += 2; // QoS control
    if (fc1 & 0x80) h += 4; // +HTC: HT control
  }
  const llc = p + h;
  if (stop < llc + 8) return "truncated";
  if (d[llc] !== 0xaa || d[llc + 1] !== 0xaa || d[llc + 2] !== 0x03) return "not_ip";
  const etherType = (d[llc + 6]! << 8) | d[llc + 7]!;
  if (etherType !== 0x0800 && etherType !== 0x86dd) return "not_ip";
  return set(hit, "capwap", LINKTYPE.RAW, llc + 8, end);
}

const GRE_FLAG = { CHECKSUM: 0x8000, ROUTING: 0x4000, KEY: 0x2000, SEQUENCE: 0x1000 } as const;
const GRE_TYPE = { IPV4: 0x0800, IPV6: 0x86dd, TEB: 0x6558, ERSPAN2: 0x88be, ERSPAN3: 0x22eb } as const;

function gre(d: Uint8Array, at: number, end: number, hit: TunnelHit): TunnelOutcome {
  const stop = Math.min(end, d.length);
  if (stop < at + 4) return "truncated";
  const flags = (d[at]! << 8) | d[at + 1]!;
  const type = (d[at + 2]! << 8) | d[at + 3]!;
  // version 0 only (1 is PPTP's enhanced GRE, carrying PPP); source routing (RFC 1701) not read
  if ((flags & 0x7) !== 0 || flags & GRE_FLAG.ROUTING) return "none";
  let p = at + 4;
  if (flags & GRE_FLAG.CHECKSUM) p += 4;
  if (flags & GRE_FLAG.KEY) p += 4;
  if (flags & GRE_FLAG.SEQUENCE) p += 4;
  if (p > stop) return "truncated";
  switch (type) {
    case GRE_TYPE.IPV4:
    case GRE_TYPE.IPV6:
      return set(hit, "gre", LINKTYPE.RAW, p, end);
    case GRE_TYPE.TEB:
      return set(hit, "gre", LINKTYPE.ETHERNET, p, end);
    case GRE_TYPE.ERSPAN2:
      // type I has no sequence number and no ERSPAN header; type II an 8-byte one
      if (flags & GRE_FLAG.SEQUENCE) p += 8;
      if (p > stop) return "truncated";
      return set(hit, "gre", LINKTYPE.ETHERNET, p, end);
    case GRE_TYPE.ERSPAN3: {
      // 12-byte header; the O flag (bit 0 of its last octet) adds an 8-byte platform subheader
      if (stop < p + 12) return "truncated";
      const o = d[p + 11]! & 1;
      p += 12 + o * 8;
      if (p > stop) return "truncated";
      return set(hit, "gre", LINKTYPE.ETHERNET, p, end);
    }
    default:
      return "none";
  }
}
