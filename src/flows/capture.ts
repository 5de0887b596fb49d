/**
 * Packet records out of a capture file, streamed: pcap (either byte order, micro- or nanosecond
 * timestamps) and pcapng (section header, interface description, enhanced, simple and the obsolete
 * packet blocks; each interface with its own link type, timestamp resolution and offset; a new
 * section resets the interfaces). The file is read in chunks (`CHUNK_BYTES`), never whole: memory is
 * one chunk plus the largest record. A record cut off by the end of the file is counted
 * (`truncatedRecords`), never fatal; a file that starts with neither format's magic number is a
 * FILE_UNREADABLE naming it.
 *
 * Each packet is handed to a callback as a view into the chunk (valid only during the call) with its
 * timestamp in microseconds since the epoch (a float: nanosecond captures keep their fraction, to
 * within float64's precision, about 0.25 µs today).
 */
import { open } from "node:fs/promises";
import { NetsecError } from "../core/errors.ts";

/** What each record gives: link type, time (µs since the epoch), captured bytes and original length. */
export interface PacketRecord {
  linkType: number;
  tsMicros: number;
  data: Uint8Array;
  /** The packet's length on the wire (≥ data.length when the capture was cut at a snap length). */
  wireLength: number;
}

export interface CaptureStats {
  format: "pcap" | "pcapng";
  records: number;
  /** Records (or pcapng blocks) cut off by the end of the file or with impossible lengths. */
  truncatedRecords: number;
  /** pcapng packets naming an interface no IDB described (skipped). */
  unknownInterface: number;
  bytesRead: number;
}

/** Bytes read per chunk. */
export const CHUNK_BYTES = 1 << 20;
/** A record longer than this is malformed (pcapng allows no more; a pcap's snaplen is at most 256 KiB). */
const MAX_RECORD = 64 << 20;

const PCAP_MICRO = 0xa1b2c3d4;
const PCAP_NANO = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;

export type CaptureFormat = "pcap" | "pcapng";

/** The capture format from a file's first four bytes (null: not a capture). */
export function captureFormat(head: Uint8Array): CaptureFormat | null {
  if (head.length < 4) return null;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const be = dv.getUint32(0, false);
  const le = dv.getUint32(0, true);
  if (be === PCAPNG_SHB) return "pcapng";
  for (const m of [be, le]) if (m === PCAP_MICRO || m === PCAP_NANO) return "pcap";
  return null;
}

interface Iface {
  linkType: number;
  /** Multiply a timestamp in the interface's units by this to get microseconds. */
  toMicros: number;
  /** if_tsoffset, in microseconds. */
  offsetMicros: number;
}

/**
 * Read every packet of `path`, calling `onPacket` for each (the record object and its `data` are
 * reused: copy what you keep). `onChunk(bytesRead)` is called after each chunk (progress).
 */
export async function readCapture(
  path: string,
  onPacket: (p: PacketRecord) => void,
  onChunk?: (bytesRead: number, totalBytes: number) => void,
): Promise<CaptureStats> {
  let fh: Awaited<ReturnType<typeof open>>;
  let size: number;
  try {
    fh = await open(path, "r");
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new Error("not a regular file");
    }
    size = st.size;
  } catch (e) {
    throw new NetsecError(
      "FILE_UNREADABLE",
      `cannot read capture ${path}: ${(e as Error).message}`,
      { file: path },
      { cause: e },
    );
  }
  try {
    let buf = new Uint8Array(CHUNK_BYTES);
    let start = 0; // first unconsumed byte in buf
    let end = 0; // end of valid bytes in buf
    let dv = new DataView(buf.buffer);
    let fileOffset = 0;
    let eof = false;
    /** Make at least `need` bytes available from `start`; false at the end of the file. */
    const fill = async (need: number): Promise<boolean> => {
      if (end - start >= need) return true;
      if (need > buf.length) {
        const bigger = new Uint8Array(Math.max(need, buf.length * 2));
        bigger.set(buf.subarray(start, end));
        end -= start;
        start = 0;
        buf = bigger;
        dv = new DataView(buf.buffer);
      } else if (start > 0) {
        buf.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      while (end - start < need && !eof) {
        let bytesRead: number;
        try {
          ({ bytesRead } = await fh.read(buf, end, buf.length - end, fileOffset));
        } catch (e) {
          throw new NetsecError(
            "FILE_UNREADABLE",
            `cannot read capture ${path} at byte ${fileOffset}: ${(e as Error).message}`,
            { file: path },
            { cause: e },
          );
        }
        if (bytesRead === 0) eof = true;
        fileOffset += bytesRead;
        end += bytesRead;
        onChunk?.(fileOffset, size);
      }
      return end - start >= need;
    };

    if (!(await fill(4))) throw notCapture(path, "shorter than a capture header");
    const format = captureFormat(buf.subarray(0, 4));
    if (format === null) throw notCapture(path, "neither a pcap nor a pcapng file (unknown magic number)");
    const stats: CaptureStats = {
      format,
      records: 0,
      truncatedRecords: 0,
      unknownInterface: 0,
      bytesRead: 0,
    };
    const rec: PacketRecord = { linkType: 0, tsMicros: 0, data: buf, wireLength: 0 };

    if (format === "pcap") {
      if (!(await fill(24))) throw notCapture(path, "pcap header cut short");
      const le = dv.getUint32(start, true) === PCAP_MICRO || dv.getUint32(start, true) === PCAP_NANO;
      const nano = dv.getUint32(start, le) === PCAP_NANO;
      // the upper bits of the link-type field carry FCS information (pcap spec, LinkType and additional information)
      rec.linkType = dv.getUint32(start + 20, le) & 0x0fffffff;
      start += 24;
      for (;;) {
        if (!(await fill(16))) {
          if (end - start > 0) stats.truncatedRecords++;
          break;
        }
        const sec = dv.getUint32(start, le);
        const frac = dv.getUint32(start + 4, le);
        const inclLen = dv.getUint32(start + 8, le);
        const origLen = dv.getUint32(start + 12, le);
        if (inclLen > MAX_RECORD) {
          // a corrupt length: nothing after it can be framed
          stats.truncatedRecords++;
          break;
        }
        if (!(await fill(16 + inclLen))) {
          stats.truncatedRecords++;
          break;
        }
        rec.tsMicros = sec * 1e6 + (nano ? frac / 1000 : frac);
        rec.data = buf.subarray(start + 16, start + 16 + inclLen);
        rec.wireLength = Math.max(origLen, inclLen);
        stats.records++;
        onPacket(rec);
        start += 16 + inclLen;
      }
    } else {
      let ifaces: Iface[] = [];
      let le = true;
      for (;;) {
        if (!(await fill(12))) {
          if (end - start > 0) stats.truncatedRecords++;
          break;
        }
        const typeBE = dv.getUint32(start, false);
        if (typeBE === PCAPNG_SHB) {
          // the byte-order magic decides how this section (this block included) is read
          const bom = dv.getUint32(start + 8, true);
          if (bom === PCAPNG_BOM) le = true;
          else if (dv.getUint32(start + 8, false) === PCAPNG_BOM) le = false;
          else if (fileOffset - (end - start) === 0)
            throw notCapture(path, "its pcapng section header has no byte-order magic");
          else {
            // a damaged section header later in the file: nothing after it can be framed
            stats.truncatedRecords++;
            break;
          }
          ifaces = [];
        }
        const type = dv.getUint32(start, le);
        const blockLen = dv.getUint32(start + 4, le);
        if (blockLen < 12 || blockLen % 4 !== 0 || blockLen > MAX_RECORD) {
          stats.truncatedRecords++;
          break;
        }
        if (!(await fill(blockLen))) {
          stats.truncatedRecords++;
          break;
        }
        const body = start + 8;
        const bodyEnd = start + blockLen - 4;
        if (type === 1) {
          ifaces.push(readIdb(buf, dv, body, bodyEnd, le));
        } else if (type === 6 || type === 2 || type === 3) {
          let ifIndex = 0;
          let units = 0;
          let capLen: number;
          let origLen: number;
          let dataAt: number;
          if (type === 3) {
            // simple packet block: interface 0, no timestamp, captured length = what fits in the block
            origLen = dv.getUint32(body, le);
            dataAt = body + 4;
            capLen = Math.min(origLen, bodyEnd - dataAt);
          } else {
            ifIndex = type === 6 ? dv.getUint32(body, le) : dv.getUint16(body, le);
            units = dv.getUint32(body + 4, le) * 4294967296 + dv.getUint32(body + 8, le);
            capLen = dv.getUint32(body + 12, le);
            origLen = dv.getUint32(body + 16, le);
            dataAt = body + 20;
          }
          const iface = ifaces[ifIndex];
          if (!iface) stats.unknownInterface++;
          else if (dataAt + capLen > bodyEnd) stats.truncatedRecords++;
          else {
            rec.linkType = iface.linkType;
            rec.tsMicros = units * iface.toMicros + iface.offsetMicros;
            rec.data = buf.subarray(dataAt, dataAt + capLen);
            rec.wireLength = Math.max(origLen, capLen);
            stats.records++;
            onPacket(rec);
          }
        }
        start += blockLen;
      }
    }
    stats.bytesRead = fileOffset;
    return stats;
  } finally {
    await fh.close();
  }
}

/** An interface description block: link type, if_tsresol (option 9), if_tsoffset (option 14). */
function readIdb(buf: Uint8Array, dv: DataView, body: number, bodyEnd: number, le: boolean): Iface {
  const linkType = dv.getUint16(body, le);
  let toMicros = 1; // default resolution 10^-6 s
  let offsetMicros = 0;
  let at = body + 8;
  while (at + 4 <= bodyEnd) {
    const code = dv.getUint16(at, le);
    const len = dv.getUint16(at + 2, le);
    if (code === 0) break;
    const v = at + 4;
    if (v + len > bodyEnd) break;
    if (code === 9 && len >= 1) {
      const r = buf[v]!;
      // MSB clear: 10^-r seconds per unit; set: 2^-(r & 0x7f)
      toMicros = r & 0x80 ? 1e6 / 2 ** (r & 0x7f) : 10 ** (6 - r);
    } else if (code === 14 && len >= 8) {
      offsetMicros = Number(dv.getBigInt64(v, le)) * 1e6;
    }
    at = v + ((len + 3) & ~3);
  }
  return { linkType, toMicros, offsetMicros };
}

function notCapture(path: string, why: string): NetsecError {
  return new NetsecError("FILE_UNREADABLE", `${path}: not a packet capture: ${why}`, { file: path });
}
