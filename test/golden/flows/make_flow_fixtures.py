"""Reference flows for test/golden/flows.test.ts, from NFStream and the PyPI port of CICFlowMeter.

Run from the repository root (the captures are read from the dataset mirror, never committed):

    NETSEC_DATASET_MIRROR=../shared/datasets .venv/bin/python test/golden/flows/make_flow_fixtures.py

Writes test/golden/flows/reference.json: for each capture, NFStream's flows (statistical features on,
idle 120 s, active 1800 s) with tunnel decoding off ("nfstream") and on ("nfstream_tunnels", NFStream's
default), cicflowmeter's flows, and tshark's TCP/UDP conversations (`tshark -n -o ip.defragment:FALSE
-q -z conv,tcp -z conv,udp`: frames each way, and bytes each way where tshark prints them in bytes
rather than kB; `-o capwap.swap_fc:FALSE`: 802.11 frame control in RFC 5416's byte order, not the
swapped one of some Cisco access points, tshark's default) with the tunnel dissectors disabled
("tshark": `--disable-protocol` tzsp, gtp, gre, vxlan, erspan, capwap.data) and enabled ("tshark_tunnels", tshark's default; the mirror's TZSP capture, streamed to
UDP 31337, with `-d udp.port==31337,tzsp`, which NFStream has no way to be told). "nfstream_tunnels" and
"tshark_tunnels" are left out where they equal "nfstream" and "tshark" (every capture without a
tunnel the tool decodes), to keep the file small. tshark is the
Debian package (`apt-get install tshark`), needed only to remake the fixture. cicflowmeter's command line
filters packets with a BPF expression ("ip and (tcp or udp)"), which needs libpcap; this script feeds
its FlowSession the same packets (IPv4 carrying TCP or UDP) read by scapy instead.

Besides the mirror's public captures, the committed synthetic ones in test/golden/flows/captures/ (DNS,
a port scan, TCP teardown edge cases, IPv6, and TZSP, GTP-U, GRE/ERSPAN, VXLAN and CAPWAP tunnels; made by
make_captures.py) are run through the same three tools, but cicflowmeter not on the tunnel ones (its
flow key takes the first IP layer scapy finds and the first TCP/UDP one: the outer addresses with the
inner ports of a GRE or VXLAN packet, a mix no other tool makes; "cicflowmeter" is null there). What each reference cannot do there: cicflowmeter sees only IPv4 TCP/UDP (no IPv6 flow, no ICMP);
tshark's `-z conv,tcp/udp` has no ICMP/ICMPv6 and no idle timeout (a conversation idle beyond 120 s is
one conversation, two flows for netsec and NFStream).
"""

import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import cicflowmeter
import nfstream
from cicflowmeter.flow_session import FlowSession
from scapy.layers.inet import IP, TCP, UDP
from scapy.utils import PcapNgReader, PcapReader

MIRROR = Path(os.environ.get("NETSEC_DATASET_MIRROR", "../shared/datasets"))
CAPTURES = [
    "simple_http.pcap",
    "simple_http_sll2.pcap",
    "simple_http_tzsp.pcapng",
    "200722_tcp_anon.pcapng",
    "teardrop.pcap",
]
# committed synthetic captures (make_captures.py), read from beside this script
LOCAL_CAPTURES = ["dns.pcap", "port_scan.pcap", "tcp_teardown.pcap", "ipv6.pcap"]
TUNNEL_CAPTURES = ["tzsp.pcap", "gtp.pcap", "gre.pcap", "vxlan.pcap", "capwap.pcap"]
TUNNEL_DISSECTORS = ["tzsp", "gtp", "gre", "vxlan", "erspan", "capwap.data"]
# captures whose TZSP stream is on another port than TZSP's 37008
TZSP_PORTS = {"simple_http_tzsp.pcapng": 31337}
NFSTREAM_COLUMNS = [
    "src_ip", "src_port", "dst_ip", "dst_port", "protocol", "ip_version",
    "bidirectional_first_seen_ms", "bidirectional_last_seen_ms", "bidirectional_duration_ms",
    "bidirectional_packets", "bidirectional_bytes",
    "src2dst_first_seen_ms", "src2dst_last_seen_ms", "src2dst_duration_ms", "src2dst_packets", "src2dst_bytes",
    "dst2src_first_seen_ms", "dst2src_last_seen_ms", "dst2src_duration_ms", "dst2src_packets", "dst2src_bytes",
] + [
    f"{d}_{s}"
    for d in ("bidirectional", "src2dst", "dst2src")
    for s in ("min_ps", "mean_ps", "stddev_ps", "max_ps", "min_piat_ms", "mean_piat_ms", "stddev_piat_ms", "max_piat_ms")
] + [
    f"{d}_{f}_packets"
    for d in ("bidirectional", "src2dst", "dst2src")
    for f in ("syn", "cwr", "ece", "urg", "ack", "psh", "rst", "fin")
]


def plain(v):
    """numpy scalars as JSON numbers."""
    return v.item() if hasattr(v, "item") else v


def nfstream_flows(path, decode_tunnels):
    df = nfstream.NFStreamer(
        source=str(path), statistical_analysis=True, decode_tunnels=decode_tunnels, idle_timeout=120, active_timeout=1800
    ).to_pandas()
    if df is None:  # no flows at all
        return []
    return [{c: plain(row[c]) for c in NFSTREAM_COLUMNS} for _, row in df.iterrows()]


def cicflowmeter_flows(path):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "flows.csv"
        FlowSession.output_mode = "csv"
        FlowSession.output = str(out)
        session = FlowSession()
        reader = PcapNgReader if str(path).endswith(".pcapng") else PcapReader
        for pkt in reader(str(path)):
            if IP in pkt and (TCP in pkt or UDP in pkt):
                session.on_packet_received(pkt)
        session.garbage_collect(None)
        del session.output_writer
        if not out.exists():
            return []
        with open(out, newline="") as f:
            return [{k: (float(v) if k not in ("src_ip", "dst_ip", "timestamp") else v) for k, v in r.items()} for r in csv.DictReader(f)]


CONV = re.compile(
    r"^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+) (\d+) (bytes|kB|MB)\s+(\d+) (\d+) (bytes|kB|MB)"
)


def tshark_conversations(path, decode_tunnels):
    disable = [] if decode_tunnels else [a for p in TUNNEL_DISSECTORS for a in ("--disable-protocol", p)]
    if decode_tunnels and path.name in TZSP_PORTS:
        disable = ["-d", f"udp.port=={TZSP_PORTS[path.name]},tzsp"]
    out = subprocess.run(
        ["tshark", "-n", "-o", "ip.defragment:FALSE", "-o", "capwap.swap_fc:FALSE", *disable, "-r", str(path),
         "-q", "-z", "conv,tcp", "-z", "conv,udp"],
        check=True, capture_output=True, text=True,
    ).stdout
    convs = []
    proto = None
    for line in out.splitlines():
        if line.startswith("TCP Conversations"):
            proto = 6
        elif line.startswith("UDP Conversations"):
            proto = 17
        m = CONV.match(line)
        if m:
            a, pa, b, pb, f_ba, by_ba, u_ba, f_ab, by_ab, u_ab = m.groups()
            # tshark's "<-" column is B to A, "->" is A to B
            convs.append({
                "protocol": proto, "a": a, "a_port": int(pa), "b": b, "b_port": int(pb),
                "a_to_b_frames": int(f_ab), "b_to_a_frames": int(f_ba),
                "a_to_b_bytes": int(by_ab) if u_ab == "bytes" else None,
                "b_to_a_bytes": int(by_ba) if u_ba == "bytes" else None,
            })
    return convs


def main():
    ref = {
        "tools": {
            "nfstream": nfstream.__version__,
            "cicflowmeter": getattr(cicflowmeter, "__version__", "0.2.0"),
            "python": sys.version.split()[0],
            "tshark": subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.split("\n")[0],
        },
        "captures": {},
    }
    paths = [(name, MIRROR / "pcap" / name) for name in CAPTURES]
    paths += [(name, Path(__file__).with_name("captures") / name) for name in LOCAL_CAPTURES + TUNNEL_CAPTURES]
    for name, path in paths:
        entry = {
            "nfstream": nfstream_flows(path, False),
            "nfstream_tunnels": nfstream_flows(path, True),
            "cicflowmeter": None if name in TUNNEL_CAPTURES else cicflowmeter_flows(path),
            "tshark": tshark_conversations(path, False),
            "tshark_tunnels": tshark_conversations(path, True),
        }
        for tool in ("nfstream", "tshark"):
            if entry[f"{tool}_tunnels"] == entry[tool]:
                del entry[f"{tool}_tunnels"]
        ref["captures"][name] = entry
    target = Path(__file__).with_name("reference.json")
    target.write_text(json.dumps(ref, indent=1) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
