import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { readParquetRows } from "../../src/store/duckdb/parquet.ts";
import { ethernet, F, ipv4, pcap, transport } from "../flows/build-capture.ts";
import { runCli } from "../helpers/cli.ts";
import { MIRROR, ROOT } from "../helpers/env.ts";

const dir = mkdtempSync(join(tmpdir(), "netsec-flows-cli-"));
const home = { NETSEC_HOME: dir };

// two UDP exchanges and a TCP handshake cut by a RST, 1 s apart
const frames = [
  ethernet(ipv4("10.0.0.1", "10.0.0.9", transport({ proto: "udp", sport: 5000, dport: 53, payload: 30 }))),
  ethernet(ipv4("10.0.0.9", "10.0.0.1", transport({ proto: "udp", sport: 53, dport: 5000, payload: 90 }))),
  ethernet(ipv4("10.0.0.2", "10.0.0.9", transport({ proto: "tcp", sport: 6000, dport: 80, flags: F.SYN }))),
  ethernet(
    ipv4("10.0.0.9", "10.0.0.2", transport({ proto: "tcp", sport: 80, dport: 6000, flags: F.RST | F.ACK })),
  ),
];
const capture = join(dir, "small.pcap");
writeFileSync(
  capture,
  pcap(
    1,
    frames.map((frame, i) => ({ t: 1_700_000_000 + i, frame })),
  ),
);

describe("netsec flows", () => {
  it("writes CIC flows as CSV on stdout, the summary on stderr", () => {
    const r = runCli(["flows", capture], home);
    expect(r.code, r.stderr).toBe(0);
    const rows = parse(r.stdout, { columns: true }) as Record<string, string>[];
    expect(
      rows.map((x) => [
        x["Source IP"],
        x["Destination Port"],
        x["Total Fwd Packets"],
        x["Total Backward Packets"],
      ]),
    ).toEqual([
      // flows are written as they end: the TCP one at its RST, the UDP one with the capture
      ["10.0.0.2", "80", "1", "1"],
      ["10.0.0.1", "53", "1", "1"],
    ]);
    expect(rows[1]!["Total Length of Bwd Packets"]).toBe("90");
    expect(r.stderr).toContain("4 packets, 2 flows");
  });

  it("writes Parquet with typed columns, and the NFStream set", async () => {
    const out = join(dir, "flows.parquet");
    const r = runCli(["flows", capture, "--out", out, "--features", "nfstream", "--json"], home);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ok: true, flows: 2, packets: 4, records: 4, features: "nfstream" });
    const t = await readParquetRows(out, out);
    const rows: unknown[][] = [];
    for await (const b of t.batches) rows.push(...b.rows);
    const col = (name: string) => rows.map((row) => row[t.names.indexOf(name)]);
    expect(col("src_ip")).toEqual(["10.0.0.2", "10.0.0.1"]);
    expect(col("src_port")).toEqual([6000, 5000]);
    expect(col("bidirectional_packets")).toEqual([2, 2]);
    // frames on the wire: 14 + 20 + 20 (TCP) and 14 + 20 + 8 + 30 (UDP)
    expect(col("src2dst_bytes")).toEqual([54, 72]);
    expect(col("bidirectional_duration_ms")).toEqual([1000, 1000]);
  });

  it("ends TCP flows at a RST unless --no-tcp-teardown; timeouts are flags", () => {
    const more = join(dir, "more.pcap");
    writeFileSync(
      more,
      pcap(
        1,
        [...frames, frames[2]!].map((frame, i) => ({ t: 1_700_000_000 + i, frame })),
      ),
    );
    const count = (args: string[]) => {
      const r = runCli(["flows", more, ...args], home);
      expect(r.code, r.stderr).toBe(0);
      return (parse(r.stdout, { columns: true }) as unknown[]).length;
    };
    expect(count([])).toBe(3);
    expect(count(["--no-tcp-teardown"])).toBe(2);
    // a 1 s idle timeout splits every exchange (packets are 1 s apart)
    expect(count(["--no-tcp-teardown", "--idle-timeout", "1"])).toBe(5);
  });

  it("names a file that is not a capture, and rejects bad flags", () => {
    const notCapture = join(dir, "x.csv");
    writeFileSync(notCapture, "a,b\n1,2\n");
    const r = runCli(["flows", notCapture], home);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${notCapture}: not a packet capture`);
    expect(runCli(["flows", capture, "--features", "zeek"], home).stderr).toContain(
      "--features must be one of cic, nfstream",
    );
    expect(runCli(["flows", capture, "--idle-timeout", "-3"], home).stderr).toContain(
      "--idle-timeout must be a positive",
    );
    expect(runCli(["flows", capture, "--tzsp-port", "70000"], home).stderr).toContain(
      '--tzsp-port must be a port number from 1 to 65535, not "70000"',
    );
  });

  it("netsec ingest --file <capture> says what to do with a capture", () => {
    const r = runCli(["ingest", "--dataset", "phishing", "--file", capture], home);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${capture} is a packet capture, not a table of records`);
    expect(r.stderr).toContain(`netsec flows ${capture} --out flows.csv`);
  });

  it("stops quietly when the reader of stdout goes away (| head)", async () => {
    // 2,000 one-packet UDP flows: more CSV than a pipe holds
    const many = join(dir, "many.pcap");
    const recs = Array.from({ length: 2000 }, (_, i) => ({
      t: 1_700_000_000 + i / 1000,
      frame: ethernet(ipv4("10.0.0.1", "10.0.0.9", transport({ proto: "udp", sport: 1024 + i, dport: 53 }))),
    }));
    writeFileSync(many, pcap(1, recs));
    const child = spawn(process.execPath, [join(ROOT, "src/cli/main.ts"), "flows", many], {
      env: { ...process.env, ...home, NETSEC_LOG_LEVEL: "warn" },
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise<number | null>((done) => child.on("close", done));
    expect(stderr).not.toContain("EPIPE");
    expect(code).toBe(0);
  });

  it("opens tunnels unless --no-decode-tunnels (the committed GTP-U capture)", () => {
    // make_captures.py's gtp.pcap: an HTTP connection and a DNS exchange in GTP-U, and an echo exchange
    const gtp = join(ROOT, "test/golden/flows/captures/gtp.pcap");
    const out = join(dir, "gtp.csv");
    const flows = (args: string[]) => {
      const r = runCli(["flows", gtp, "--out", out, "--json", "--no-tcp-teardown", ...args], home);
      expect(r.code, r.stderr).toBe(0);
      const rows = parse(readFileSync(out, "utf8"), { columns: true }) as Record<string, string>[];
      return {
        json: r.json,
        ends: rows.map((x) => `${x["Source IP"]}>${x["Destination IP"]}:${x["Destination Port"]}`),
      };
    };
    const decoded = flows([]);
    expect(decoded.ends.sort()).toEqual([
      "10.45.0.7>198.51.100.80:80",
      "10.6.0.1>10.6.0.2:2152",
      "2001:db8:45::7>2001:db8::53:53",
    ]);
    expect(decoded.json).toMatchObject({ packets: 13, tunnelled: { gtp: 11 } });
    const closed = flows(["--no-decode-tunnels"]);
    expect(closed.ends).toEqual(["10.6.0.1>10.6.0.2:2152"]);
    expect(closed.json).toMatchObject({ packets: 13, tunnelled: { gtp: 0 } });
  });

  it("--tzsp-port reads a TZSP stream sent to another port (the mirror's, to 31337)", () => {
    const r = runCli(
      ["flows", join(MIRROR, "pcap", "simple_http_tzsp.pcapng"), "--tzsp-port", "31337"],
      home,
    );
    expect(r.code, r.stderr).toBe(0);
    const rows = parse(r.stdout, { columns: true }) as Record<string, string>[];
    // the sniffer mirrored two HTTP connections to 192.168.88.249:56789 (tshark -d udp.port==31337,tzsp)
    expect(rows.map((x) => x["Destination Port"])).toEqual(["56789", "56789"]);
    expect(r.stderr).toContain("from tunnels: 5 tzsp");
  });

  it("reads the public pcapng capture", () => {
    const r = runCli(["flows", join(MIRROR, "pcap", "200722_tcp_anon.pcapng")], home);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("35 packets");
  });
});
