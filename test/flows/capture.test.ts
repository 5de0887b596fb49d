import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CHUNK_BYTES, type PacketRecord, readCapture } from "../../src/flows/capture.ts";
import { MIRROR } from "../helpers/env.ts";
import { ethernet, ipv4, pcap, pcapng, type Rec, transport } from "./build-capture.ts";

const dir = mkdtempSync(join(tmpdir(), "netsec-capture-"));
let n = 0;
function file(bytes: Uint8Array): string {
  const p = join(dir, `c${n++}.cap`);
  writeFileSync(p, bytes);
  return p;
}

interface Seen {
  linkType: number;
  tsMicros: number;
  len: number;
  wire: number;
  first: number;
}

async function read(path: string): Promise<{ seen: Seen[]; stats: Awaited<ReturnType<typeof readCapture>> }> {
  const seen: Seen[] = [];
  const stats = await readCapture(path, (p: PacketRecord) =>
    seen.push({
      linkType: p.linkType,
      tsMicros: p.tsMicros,
      len: p.data.length,
      wire: p.wireLength,
      first: p.data[0]!,
    }),
  );
  return { seen, stats };
}

const frame = (i: number): number[] =>
  ethernet(ipv4("10.0.0.1", "10.0.0.2", transport({ proto: "udp", sport: 1000 + i, dport: 53, payload: i })));
const recs: Rec[] = [
  { t: 1_700_000_000.123456, frame: frame(1) },
  { t: 1_700_000_001.5, frame: frame(2) },
];

describe("readCapture: pcap", () => {
  for (const bigEndian of [false, true])
    for (const nano of [false, true])
      it(`reads ${bigEndian ? "big" : "little"}-endian, ${nano ? "nano" : "micro"}second timestamps`, async () => {
        const { seen, stats } = await read(file(pcap(1, recs, { bigEndian, nano })));
        expect(stats).toMatchObject({ format: "pcap", records: 2, truncatedRecords: 0 });
        expect(seen.map((s) => s.linkType)).toEqual([1, 1]);
        expect(seen[0]!.tsMicros).toBeCloseTo(1_700_000_000_123_456, 0);
        expect(seen[1]!.tsMicros).toBe(1_700_000_001_500_000);
        expect(seen.map((s) => s.len)).toEqual([recs[0]!.frame.length, recs[1]!.frame.length]);
      });

  it("keeps the wire length of a packet cut at the snap length", async () => {
    const { seen } = await read(file(pcap(1, [{ ...recs[0]!, capLen: 20 }])));
    expect(seen[0]).toMatchObject({ len: 20, wire: recs[0]!.frame.length });
  });

  it("counts a record cut off by the end of the file, keeping the ones before it", async () => {
    const whole = pcap(1, recs);
    const { seen, stats } = await read(file(whole.subarray(0, whole.length - 5)));
    expect(seen).toHaveLength(1);
    expect(stats.truncatedRecords).toBe(1);
  });

  it("reads records across chunk boundaries (a file larger than one chunk)", async () => {
    const many: Rec[] = [];
    // 1,500-byte frames: enough to straddle several 1 MiB chunks
    for (let i = 0; i < Math.ceil((3 * CHUNK_BYTES) / 1500); i++)
      many.push({ t: 1_700_000_000 + i, frame: frame(1400 + (i % 50)) });
    const { seen, stats } = await read(file(pcap(1, many)));
    expect(stats.records).toBe(many.length);
    expect(seen.every((s, i) => s.len === many[i]!.frame.length && s.first === 2)).toBe(true);
  });
});

describe("readCapture: pcapng", () => {
  it("reads interfaces with their own link types, resolutions and offsets, and simple packet blocks", async () => {
    const ip = ipv4("10.0.0.1", "10.0.0.2", transport({ proto: "udp", sport: 1, dport: 2 }));
    const bytes = pcapng(
      [
        { linkType: 1 },
        { linkType: 101, tsresol: 9 },
        { linkType: 101, tsresol: 0x80 | 10, tsoffset: 1_000 },
      ],
      [
        { iface: 0, t: 1_700_000_000.25, frame: ethernet(ip) },
        { iface: 1, t: 1_700_000_000.000_001, frame: ip },
        { iface: 2, t: 1_700_000_002, frame: ip },
        { iface: 0, t: 0, frame: ethernet(ip), simple: true },
      ],
    );
    const { seen, stats } = await read(file(bytes));
    expect(stats).toMatchObject({ format: "pcapng", records: 4, truncatedRecords: 0 });
    expect(seen.map((s) => s.linkType)).toEqual([1, 101, 101, 1]);
    expect(seen[0]!.tsMicros).toBe(1_700_000_000_250_000);
    expect(seen[1]!.tsMicros).toBeCloseTo(1_700_000_000_000_001, -1);
    // 2^-10 s units plus a 1,000 s offset
    expect(seen[2]!.tsMicros).toBeCloseTo(1_700_000_002_000_000, -3);
    expect(seen[3]!.len).toBe(ethernet(ip).length);
  });

  it("skips packets of an undescribed interface, counting them", async () => {
    const ip = ipv4("10.0.0.1", "10.0.0.2", transport({ proto: "udp" }));
    const { seen, stats } = await read(file(pcapng([{ linkType: 101 }], [{ iface: 3, t: 1, frame: ip }])));
    expect(seen).toHaveLength(0);
    expect(stats.unknownInterface).toBe(1);
  });
});

describe("readCapture: damaged pcapng sections", () => {
  const ip = ipv4("10.0.0.1", "10.0.0.2", transport({ proto: "udp" }));
  // a section header block whose byte-order magic is garbage
  const badShb = [0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4, ...new Array(12).fill(0), 28, 0, 0, 0];
  it("a damaged later section header ends the reading, counted, keeping the packets before it", async () => {
    const good = pcapng([{ linkType: 101 }], [{ iface: 0, t: 1, frame: ip }]);
    const { seen, stats } = await read(file(Uint8Array.from([...good, ...badShb])));
    expect(seen).toHaveLength(1);
    expect(stats.truncatedRecords).toBe(1);
  });
  it("a damaged first section header is not a capture", async () => {
    const p = file(Uint8Array.from(badShb));
    await expect(readCapture(p, () => {})).rejects.toMatchObject({
      code: "FILE_UNREADABLE",
      message: expect.stringContaining(`${p}: not a packet capture`),
    });
  });
});

describe("readCapture: errors", () => {
  it("names a file that is not a capture", async () => {
    const p = file(new TextEncoder().encode("a,b,c\n1,2,3\n"));
    await expect(readCapture(p, () => {})).rejects.toMatchObject({
      code: "FILE_UNREADABLE",
      message: expect.stringContaining(`${p}: not a packet capture`),
    });
  });
  it("names a file that does not exist", async () => {
    await expect(readCapture(join(dir, "missing.pcap"), () => {})).rejects.toMatchObject({
      code: "FILE_UNREADABLE",
      message: expect.stringContaining("missing.pcap"),
    });
  });
});

describe("readCapture: the public captures", () => {
  // packet counts from tshark, listed in the mirror's pcap/README.md
  for (const [name, packets, format] of [
    ["simple_http.pcap", 24, "pcap"],
    ["simple_http_sll2.pcap", 24, "pcap"],
    ["simple_http_tzsp.pcapng", 5, "pcapng"],
    ["200722_tcp_anon.pcapng", 35, "pcapng"],
    ["teardrop.pcap", 17, "pcap"],
  ] as const)
    it(`${name}: ${packets} packets`, async () => {
      const { stats } = await read(join(MIRROR, "pcap", name));
      expect(stats).toMatchObject({ format, records: packets, truncatedRecords: 0 });
    });
});
