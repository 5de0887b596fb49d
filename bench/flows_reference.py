"""The reference flow meters for bench/flows.ts, each on a capture, flows written to a CSV file.

    .venv/bin/python bench/flows_reference.py nfstream <capture> <out.csv>
    .venv/bin/python bench/flows_reference.py cicflowmeter <capture> <out.csv>

nfstream: NFStreamer with statistical_analysis=True (its statistical features on), tunnel decoding
off, to_csv. cicflowmeter (PyPI 0.2.0): its FlowSession fed the capture's IPv4 TCP/UDP packets read by
scapy (its command line needs libpcap to compile that filter; this is the same work). Prints one JSON
line: flows written.
"""

import json
import sys


def nfstream_run(capture, out):
    import nfstream

    n = nfstream.NFStreamer(source=capture, statistical_analysis=True, decode_tunnels=False).to_csv(path=out)
    return n


def cicflowmeter_run(capture, out):
    from cicflowmeter.flow_session import FlowSession
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.utils import PcapReader

    FlowSession.output_mode = "csv"
    FlowSession.output = out
    session = FlowSession()
    for pkt in PcapReader(capture):
        if IP in pkt and (TCP in pkt or UDP in pkt):
            session.on_packet_received(pkt)
    session.garbage_collect(None)
    lines = session.output_writer.line
    del session.output_writer
    return lines


if __name__ == "__main__":
    tool, capture, out = sys.argv[1:4]
    flows = {"nfstream": nfstream_run, "cicflowmeter": cicflowmeter_run}[tool](capture, out)
    print(json.dumps({"flows": int(flows)}))
