/**
 * Tiny captures assembled byte by byte for the tests: frames (Ethernet, VLAN, Linux cooked, null),
 * IPv4/IPv6 packets with TCP/UDP/ICMP, and pcap/pcapng files around them. Field layouts are the
 * RFCs' and tcpdump.org's; nothing here calls the code under test.
 */

export const be16 = (n: number): number[] => [(n >> 8) & 255, n & 255];
export const be32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const le16 = (n: number): number[] => [n & 255, (n >> 8) & 255];
const le32 = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];

export interface L4 {
  proto: "tcp" | "udp" | "icmp";
  sport?: number;
  dport?: number;
  /** TCP flags byte. */
  flags?: number;
  window?: number;
  /** TCP options bytes (multiple of 4) to lengthen the header. */
  tcpOptions?: number;
  payload?: number;
}

export const F = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ECE: 64, CWR: 128 } as const;

export function transport(l: L4): { proto: number; bytes: number[] } {
  const payload = new Array(l.payload ?? 0).fill(0x61);
  if (l.proto === "tcp") {
    const opt = l.tcpOptions ?? 0;
    const hdr = [
      ...be16(l.sport ?? 0),
      ...be16(l.dport ?? 0),
      ...be32(1),
      ...be32(0),
      ((20 + opt) / 4) << 4,
      l.flags ?? 0,
      ...be16(l.window ?? 0),
      0,
      0,
      0,
      0,
      ...new Array(opt).fill(1),
    ];
    return { proto: 6, bytes: [...hdr, ...payload] };
  }
  if (l.proto === "udp")
    return {
      proto: 17,
      bytes: [...be16(l.sport ?? 0), ...be16(l.dport ?? 0), ...be16(8 + payload.length), 0, 0, ...payload],
    };
  return { proto: 1, bytes: [8, 0, 0, 0, 0, 1, 0, 1, ...payload] };
}

const ip4 = (a: string): number[] => a.split(".").map(Number);

/** An IPv4 packet; `frag` sets the fragment offset (8-byte units) and the more-fragments flag. */
export function ipv4(
  src: string,
  dst: string,
  body: { proto: number; bytes: number[] },
  frag: { offset?: number; more?: boolean; id?: number } = {},
): number[] {
  const total = 20 + body.bytes.length;
  const fragField = ((frag.more ? 1 : 0) << 13) | (frag.offset ?? 0);
  return [
    0x45,
    0,
    ...be16(total),
    ...be16(frag.id ?? 1),
    ...be16(fragField),
    64,
    body.proto,
    0,
    0,
    ...ip4(src),
    ...ip4(dst),
    ...body.bytes,
  ];
}

function ip6(a: string): number[] {
  const [head, tail] = a.includes("::") ? a.split("::") : [a, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.flatMap((g) => be16(Number.parseInt(g, 16)));
}

/**
 * An IPv6 packet; `ext` lists extension headers before the transport one: "hbh" (hop-by-hop, 8
 * bytes), "frag0" (fragment header, offset 0, more), "frag1" (offset 8, last).
 */
export function ipv6(
  src: string,
  dst: string,
  body: { proto: number; bytes: number[] },
  ext: string[] = [],
): number[] {
  const codes = ext.map((e) => (e === "hbh" ? 0 : 44));
  const nexts = [...codes.slice(1), body.proto];
  const extBytes = ext.flatMap((e, i) => {
    const next = nexts[i]!;
    if (e === "hbh") return [next, 0, 1, 4, 0, 0, 0, 0];
    const offsetField = e === "frag0" ? (0 << 3) | 1 : 1 << 3;
    return [next, 0, ...be16(offsetField), ...be32(7)];
  });
  const payload = [...extBytes, ...body.bytes];
  const first = codes[0] ?? body.proto;
  return [0x60, 0, 0, 0, ...be16(payload.length), first, 64, ...ip6(src), ...ip6(dst), ...payload];
}

const MAC_A = [2, 0, 0, 0, 0, 1];
const MAC_B = [2, 0, 0, 0, 0, 2];

/** An Ethernet II frame; `vlans` stacks 802.1ad/802.1Q tags (outer first). */
export function ethernet(ip: number[], vlans: number[] = []): number[] {
  const type = ip[0]! >> 4 === 6 ? 0x86dd : 0x0800;
  const tags = vlans.flatMap((id, i) => [
    ...be16(i === 0 && vlans.length > 1 ? 0x88a8 : 0x8100),
    ...be16(id),
  ]);
  const out = [...MAC_A, ...MAC_B];
  if (vlans.length === 0) return [...out, ...be16(type), ...ip];
  return [...out, ...tags, ...be16(type), ...ip];
}

/** An 802.3 frame with an LLC/SNAP header carrying IPv4. */
export function ethernet8023Snap(ip: number[]): number[] {
  const llcSnap = [0xaa, 0xaa, 0x03, 0, 0, 0, ...be16(0x0800)];
  return [...MAC_A, ...MAC_B, ...be16(llcSnap.length + ip.length), ...llcSnap, ...ip];
}

export const sll = (ip: number[]): number[] => [
  ...be16(0),
  ...be16(1),
  ...be16(6),
  ...MAC_A,
  0,
  0,
  ...be16(ip[0]! >> 4 === 6 ? 0x86dd : 0x0800),
  ...ip,
];
export const sll2 = (ip: number[]): number[] => [
  ...be16(ip[0]! >> 4 === 6 ? 0x86dd : 0x0800),
  0,
  0,
  ...be32(1),
  ...be16(1),
  0,
  6,
  ...MAC_A,
  0,
  0,
  ...ip,
];
/** BSD null link layer: the address family in little-endian (the capturing host's order). */
export const nullLink = (ip: number[]): number[] => [...le32(ip[0]! >> 4 === 6 ? 30 : 2), ...ip];

export interface Rec {
  /** Seconds since the epoch (fractional). */
  t: number;
  frame: number[];
  /** Captured bytes (default all). */
  capLen?: number;
}

/** A pcap file: little- or big-endian, micro- or nanosecond timestamps. */
export function pcap(
  linkType: number,
  recs: Rec[],
  o: { bigEndian?: boolean; nano?: boolean } = {},
): Uint8Array {
  const w32 = o.bigEndian ? be32 : le32;
  const w16 = o.bigEndian ? be16 : le16;
  const out: number[] = [
    ...w32(o.nano ? 0xa1b23c4d : 0xa1b2c3d4),
    ...w16(2),
    ...w16(4),
    ...w32(0),
    ...w32(0),
    ...w32(65535),
    ...w32(linkType),
  ];
  for (const r of recs) {
    const sec = Math.floor(r.t);
    const frac = Math.round((r.t - sec) * (o.nano ? 1e9 : 1e6));
    const cap = r.capLen ?? r.frame.length;
    out.push(...w32(sec), ...w32(frac), ...w32(cap), ...w32(r.frame.length), ...r.frame.slice(0, cap));
  }
  return Uint8Array.from(out);
}

const pad4 = (b: number[]): number[] => [...b, ...new Array((4 - (b.length % 4)) % 4).fill(0)];

function block(type: number, body: number[]): number[] {
  const padded = pad4(body);
  const len = 12 + padded.length;
  return [...le32(type), ...le32(len), ...padded, ...le32(len)];
}

export interface NgIface {
  linkType: number;
  /** if_tsresol byte (default: none, i.e. microseconds). */
  tsresol?: number;
  /** if_tsoffset, seconds. */
  tsoffset?: number;
}

export interface NgRec extends Rec {
  iface: number;
  /** A simple packet block (no timestamp, interface 0). */
  simple?: boolean;
}

/** A little-endian pcapng file: one section, these interfaces, then enhanced/simple packet blocks. */
export function pcapng(ifaces: NgIface[], recs: NgRec[]): Uint8Array {
  const out: number[] = block(0x0a0d0d0a, [
    ...le32(0x1a2b3c4d),
    ...le16(1),
    ...le16(0),
    ...le32(0xffffffff),
    ...le32(0xffffffff),
  ]);
  for (const i of ifaces) {
    const opts: number[] = [];
    if (i.tsresol !== undefined) opts.push(...le16(9), ...le16(1), ...pad4([i.tsresol]));
    if (i.tsoffset !== undefined) {
      const v = new DataView(new ArrayBuffer(8));
      v.setBigInt64(0, BigInt(i.tsoffset), true);
      opts.push(...le16(14), ...le16(8), ...new Uint8Array(v.buffer));
    }
    if (opts.length) opts.push(0, 0, 0, 0);
    out.push(...block(1, [...le16(i.linkType), 0, 0, ...le32(0), ...opts]));
  }
  for (const r of recs) {
    const cap = r.capLen ?? r.frame.length;
    if (r.simple) {
      out.push(...block(3, [...le32(r.frame.length), ...r.frame.slice(0, cap)]));
      continue;
    }
    const res = ifaces[r.iface]?.tsresol;
    const unitsPerSec = res === undefined ? 1e6 : res & 0x80 ? 2 ** (res & 0x7f) : 10 ** res;
    const units =
      (BigInt(Math.round((r.t - (ifaces[r.iface]?.tsoffset ?? 0)) * 1e6)) * BigInt(unitsPerSec)) / 1_000_000n;
    const hi = Number(units >> 32n);
    const lo = Number(units & 0xffffffffn);
    out.push(
      ...block(6, [
        ...le32(r.iface),
        ...le32(hi),
        ...le32(lo),
        ...le32(cap),
        ...le32(r.frame.length),
        ...r.frame.slice(0, cap),
      ]),
    );
  }
  return Uint8Array.from(out);
}
