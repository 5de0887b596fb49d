"""Synthetic captures for the flow golden tests (test/flows/golden.test.ts): DNS, a port scan, TCP
teardown edge cases, IPv6, and conversations inside TZSP, GTP-U, GRE (with ERSPAN), VXLAN and CAPWAP tunnels,
kinds of traffic the mirror's public captures lack.

Run from the repository root (scapy comes with scripts/python-env):

    .venv/bin/python test/golden/flows/make_captures.py

Writes test/golden/flows/captures/*.pcap (Ethernet, microsecond pcap). Deterministic: every timestamp,
address, port, sequence number and payload is fixed here, so rerunning rewrites the same bytes.
"""

from pathlib import Path

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import PcapWriter

OUT = Path(__file__).with_name("captures")
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z, seconds
MAC_A = "02:00:00:00:00:01"
MAC_B = "02:00:00:00:00:02"


def write(name, packets):
    """packets: (seconds after T0, layer-3 packet, sent by A?) in capture order."""
    OUT.mkdir(exist_ok=True)
    w = PcapWriter(str(OUT / name), linktype=1, sync=True)
    for t, l3, from_a in packets:
        frame = Ether(src=MAC_A, dst=MAC_B) / l3 if from_a else Ether(src=MAC_B, dst=MAC_A) / l3
        frame = Ether(bytes(frame))  # checksums and lengths computed once, fixed
        frame.time = T0 + t
        w.write(frame)
    w.close()


def dns():
    """Three clients ask one resolver; one query (the last) gets no answer."""
    resolver = "10.0.0.53"
    asks = [
        ("10.0.0.11", 40001, 0x1001, "example.com", "93.184.216.34"),
        ("10.0.0.11", 40002, 0x1002, "example.org", "93.184.216.35"),
        ("10.0.0.12", 50001, 0x2001, "netsec.test", "192.0.2.7"),
        ("10.0.0.13", 33333, 0x3001, "mail.example.net", "198.51.100.25"),
        ("10.0.0.13", 33334, 0x3002, "unanswered.example", None),
    ]
    pkts = []
    for i, (client, port, qid, qname, answer) in enumerate(asks):
        t = 0.1 * i
        q = IP(src=client, dst=resolver, id=qid) / UDP(sport=port, dport=53) / DNS(id=qid, rd=1, qd=DNSQR(qname=qname))
        pkts.append((t, q, True))
        if answer:
            r = (
                IP(src=resolver, dst=client, id=qid + 1)
                / UDP(sport=53, dport=port)
                / DNS(id=qid, qr=1, rd=1, ra=1, qd=DNSQR(qname=qname), an=DNSRR(rrname=qname, ttl=300, rdata=answer))
            )
            pkts.append((t + 0.012, r, False))
    # a second query on an open client socket, 2 s later: same flow as the first
    q = IP(src="10.0.0.12", dst=resolver, id=0x2002) / UDP(sport=50001, dport=53) / DNS(id=0x2002, rd=1, qd=DNSQR(qname="www.netsec.test", qtype="AAAA"))
    r = IP(src=resolver, dst="10.0.0.12", id=0x2003) / UDP(sport=53, dport=50001) / DNS(id=0x2002, qr=1, rd=1, ra=1, rcode=3, qd=DNSQR(qname="www.netsec.test", qtype="AAAA"))
    pkts += [(2.0, q, True), (2.009, r, False)]
    write("dns.pcap", sorted(pkts, key=lambda p: p[0]))


def port_scan():
    """A SYN scan of 50 ports on one host from one source port: open ports answer SYN-ACK (the scanner
    resets), closed ones RST-ACK, filtered ones (every seventh) nothing."""
    scanner, target = "10.1.0.66", "10.1.0.10"
    open_ports = {22, 80, 443}
    pkts = []
    for i, port in enumerate([*range(20, 30), *range(75, 85), 110, 135, 139, 143, 443, *range(1000, 1025), 3306, 3389, 8080][:50]):
        t = 0.002 * i
        syn = IP(src=scanner, dst=target, id=1000 + i) / TCP(sport=61000, dport=port, seq=12345, flags="S", window=1024)
        pkts.append((t, syn, True))
        if i % 7 == 6 and port not in open_ports:
            continue  # filtered: no answer
        if port in open_ports:
            sa = IP(src=target, dst=scanner, id=1) / TCP(sport=port, dport=61000, seq=900000 + port, ack=12346, flags="SA", window=64240)
            rst = IP(src=scanner, dst=target, id=2000 + i) / TCP(sport=61000, dport=port, seq=12346, flags="R", window=0)
            pkts += [(t + 0.0004, sa, False), (t + 0.0005, rst, True)]
        else:
            ra = IP(src=target, dst=scanner, id=1) / TCP(sport=port, dport=61000, seq=0, ack=12346, flags="RA", window=0)
            pkts.append((t + 0.0003, ra, False))
    write("port_scan.pcap", sorted(pkts, key=lambda p: p[0]))


class Conn:
    """One TCP connection's packets, sequence numbers kept by hand."""

    def __init__(self, c, cp, s, sp, ip=IP):
        self.c, self.cp, self.s, self.sp, self.ip = c, cp, s, sp, ip
        self.seq = {True: 1000, False: 5000}  # True: client (A) side
        self.pkts = []

    def send(self, t, from_client, flags, data=b""):
        src, dst = (self.c, self.s) if from_client else (self.s, self.c)
        sport, dport = (self.cp, self.sp) if from_client else (self.sp, self.cp)
        ack = self.seq[not from_client] if "A" in flags else 0
        seg = TCP(sport=sport, dport=dport, seq=self.seq[from_client], ack=ack, flags=flags, window=29200 if from_client else 65160)
        l3 = self.ip(src=src, dst=dst) / seg / data if data else self.ip(src=src, dst=dst) / seg
        self.seq[from_client] += len(data) + (1 if ("S" in flags or "F" in flags) else 0)
        self.pkts.append((t, l3, from_client))
        return self

    def handshake(self, t):
        return self.send(t, True, "S").send(t + 0.01, False, "SA").send(t + 0.02, True, "A")


def teardown():
    """TCP endings: (1) FIN from the client, the server sends data after it, then its own FIN, the last
    ACK, and a late retransmitted ACK after it; (2) RST in the middle of a transfer, then stray data;
    (3) simultaneous close (both FINs cross); (4) a connection idle 150 s (beyond the 120 s idle
    timeout) then resumed and closed."""
    s = "10.2.0.80"
    half = Conn("10.2.0.1", 41000, s, 80).handshake(0.0)
    half.send(0.1, True, "PA", b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n").send(0.11, False, "A")
    half.send(0.2, True, "FA").send(0.21, False, "A")
    half.send(0.3, False, "PA", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").send(0.31, True, "A")
    half.send(0.4, False, "FA").send(0.41, True, "A")
    half.send(0.9, True, "A")  # after the final ACK: a duplicate ACK

    rst = Conn("10.2.0.2", 41001, s, 80).handshake(1.0)
    rst.send(1.1, True, "PA", b"GET /big HTTP/1.1\r\n\r\n").send(1.12, False, "PA", b"x" * 400)
    rst.send(1.13, False, "PA", b"y" * 400).send(1.14, True, "R")
    rst.send(1.15, False, "PA", b"z" * 100)  # in flight when the reset went out

    sim = Conn("10.2.0.3", 41002, s, 80).handshake(2.0)
    sim.send(2.1, True, "PA", b"ping").send(2.11, False, "PA", b"pong")
    # both FINs before either is acknowledged
    fin_c = sim.seq[True]
    sim.send(2.2, True, "FA")
    sim.seq[True] = fin_c  # the server's FIN acknowledges only the data, not the crossing FIN
    sim.send(2.2005, False, "FA")
    sim.seq[True] = fin_c + 1
    sim.send(2.21, True, "A").send(2.2105, False, "A")

    idle = Conn("10.2.0.4", 41003, s, 80).handshake(3.0)
    idle.send(3.1, True, "PA", b"first").send(3.11, False, "A")
    idle.send(153.2, True, "PA", b"second, 150 s later").send(153.21, False, "PA", b"ok")
    idle.send(153.3, True, "FA").send(153.31, False, "FA").send(153.32, True, "A")

    pkts = half.pkts + rst.pkts + sim.pkts + idle.pkts
    write("tcp_teardown.pcap", sorted(pkts, key=lambda p: p[0]))


def ipv6():
    """A TCP connection, UDP datagrams both ways and an ICMPv6 echo, all over IPv6."""
    c, s = "2001:db8::10", "2001:db8:1::80"
    tcp = Conn(c, 42000, s, 443, ip=IPv6).handshake(0.0)
    tcp.send(0.05, True, "PA", b"\x16\x03\x01" + bytes(range(60))).send(0.06, False, "PA", b"\x16\x03\x03" + bytes(range(120)))
    tcp.send(0.07, True, "A").send(0.1, True, "FA").send(0.11, False, "FA").send(0.12, True, "A")
    pkts = tcp.pkts
    for i in range(4):
        pkts.append((0.5 + 0.1 * i, IPv6(src=c, dst=s) / UDP(sport=5353, dport=9999) / (b"q%d" % i * (i + 1)), True))
        if i != 2:
            pkts.append((0.55 + 0.1 * i, IPv6(src=s, dst=c) / UDP(sport=9999, dport=5353) / (b"answer%d" % i), False))
    for i in range(3):
        pkts.append((1.0 + i, IPv6(src=c, dst=s) / ICMPv6EchoRequest(id=7, seq=i, data=b"abcdefgh" * 4), True))
        pkts.append((1.001 + i, IPv6(src=s, dst=c) / ICMPv6EchoReply(id=7, seq=i, data=b"abcdefgh" * 4), False))
    # an IPv4 ICMP echo beside them (cicflowmeter drops ICMP; netsec and NFStream keep it)
    pkts.append((4.0, IP(src="10.3.0.1", dst="10.3.0.2") / ICMP(id=9, seq=1) / b"v4", True))
    write("ipv6.pcap", sorted(pkts, key=lambda p: p[0]))


def tunnel(name, inner, wrap, extra=()):
    """The inner packets, (seconds, layer-3 packet, sent by the client?), each wrapped by
    wrap(l3 packet, sent by the client?) into an outer layer-3 packet; `extra`: more (seconds, outer
    packet, sent by A?) as they are."""
    pkts = [(t, wrap(l3, from_client), from_client) for t, l3, from_client in inner]
    write(name, sorted([*pkts, *extra], key=lambda p: p[0]))


def inner_ether(l3, from_client):
    """An inner packet as the Ethernet frame a mirror or a bridge carries."""
    return bytes(Ether(src=MAC_A, dst=MAC_B) / l3 if from_client else Ether(src=MAC_B, dst=MAC_A) / l3)


def http_conn(client, cport, server, t):
    """A short HTTP exchange's packets: handshake, request, response, FIN close."""
    c = Conn(client, cport, server, 80).handshake(t)
    c.send(t + 0.05, True, "PA", b"GET /tunnelled HTTP/1.1\r\nHost: inner\r\n\r\n").send(t + 0.06, False, "A")
    c.send(t + 0.07, False, "PA", b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello tunnel")
    c.send(t + 0.08, True, "FA").send(t + 0.09, False, "FA").send(t + 0.1, True, "A")
    return c.pkts


def dns_exchange(t, client, server, cport, name, answer=None):
    """A DNS query at `t` and its answer 10 ms later (over IPv6 when the addresses are), as packets."""
    ip = IPv6 if ":" in client else IP
    q = ip(src=client, dst=server) / UDP(sport=cport, dport=53) / DNS(id=cport & 0xFFFF, rd=1, qd=DNSQR(qname=name))
    an = DNSRR(rrname=name, rdata=answer) if answer else None
    r = ip(src=server, dst=client) / UDP(sport=53, dport=cport) / DNS(id=cport & 0xFFFF, qr=1, rd=1, ra=1, qd=DNSQR(qname=name), an=an)
    return [(t, q, True), (t + 0.01, r, False)]


def tzsp():
    """A MikroTik-style sniffer streaming two mirrored HTTP connections to a collector on UDP 37008:
    TZSP version 1, type 0 (received), encapsulation 1 (Ethernet), no tagged field but TAG_END (the
    only layout NFStream 6.6 reads right); plus a keepalive (type 4), which carries no packet."""
    sensor, collector = "10.5.0.1", "10.5.0.2"
    header = bytes([1, 0, 0, 1, 1])

    def wrap(l3, from_client):
        return IP(src=sensor, dst=collector) / UDP(sport=40000, dport=37008) / Raw(header + inner_ether(l3, from_client))

    keepalive = IP(src=sensor, dst=collector) / UDP(sport=40000, dport=37008) / Raw(bytes([1, 4, 0, 0]))
    inner = http_conn("192.168.88.10", 50500, "192.168.88.249", 0.0) + http_conn("192.168.88.11", 50600, "192.168.88.249", 0.5)
    tunnel("tzsp.pcap", inner, wrap, [(1.0, keepalive, True)])


def gtp():
    """A UE's HTTP connection over IPv4 and a DNS exchange over IPv6, both in GTP-U between an eNodeB
    and a gateway (UDP 2152): uplink T-PDUs with no optional field, downlink ones with a sequence number
    and a PDU session container extension header; plus an echo request/response, which carry no packet."""
    enb, gw = "10.6.0.1", "10.6.0.2"
    seq = [0]

    def gtp_header(payload, uplink):
        if uplink:
            return bytes([0x30, 0xFF]) + len(payload).to_bytes(2, "big") + (0x1001).to_bytes(4, "big") + payload
        seq[0] += 1
        # E and S: sequence number, N-PDU number, next extension 0x85 (PDU session container, 4 bytes, last)
        opt = seq[0].to_bytes(2, "big") + bytes([0, 0x85]) + bytes([1, 0x00, 0x09, 0x00])
        return bytes([0x36, 0xFF]) + (len(opt) + len(payload)).to_bytes(2, "big") + (0x2002).to_bytes(4, "big") + opt + payload

    def wrap(l3, uplink):
        src, dst = (enb, gw) if uplink else (gw, enb)
        return IP(src=src, dst=dst) / UDP(sport=2152, dport=2152) / Raw(gtp_header(bytes(l3), uplink))

    inner = http_conn("10.45.0.7", 43000, "198.51.100.80", 0.0)
    inner += dns_exchange(0.3, "2001:db8:45::7", "2001:db8::53", 53001, "gtp.example")
    echo = [
        (1.0, IP(src=enb, dst=gw) / UDP(sport=2152, dport=2152) / Raw(bytes([0x32, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0])), True),
        (1.001, IP(src=gw, dst=enb) / UDP(sport=2152, dport=2152) / Raw(bytes([0x32, 2, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0])), False),
    ]
    tunnel("gtp.pcap", inner, wrap, echo)


def gre():
    """Three tunnels between two routers (IP protocol 47): plain GRE with a key carrying IPv4 (an HTTP
    connection), transparent Ethernet bridging (0x6558; another HTTP connection) and ERSPAN type II
    (a mirrored DNS exchange, with GRE sequence numbers)."""
    r1, r2 = "10.7.0.1", "10.7.0.2"
    seq = [0]

    def outer(proto_type, flags, body, from_client):
        words = b""
        if flags & 0x2000:
            words += (42).to_bytes(4, "big")
        if flags & 0x1000:
            seq[0] += 1
            words += seq[0].to_bytes(4, "big")
        src, dst = (r1, r2) if from_client else (r2, r1)
        return IP(src=src, dst=dst, proto=47) / Raw(flags.to_bytes(2, "big") + proto_type.to_bytes(2, "big") + words + body)

    plain = http_conn("172.16.1.10", 44000, "172.16.2.80", 0.0)
    bridged = http_conn("172.16.1.11", 44001, "172.16.2.80", 0.5)
    mirrored = dns_exchange(1.0, "172.16.1.12", "172.16.2.53", 53002, "erspan.example", "192.0.2.99")
    erspan2 = bytes([0x10, 0x64, 0x00, 0x01, 0, 0, 0, 0])  # version 1 (type II), VLAN 100, session 1, index 0
    pkts = [(t, outer(0x0800, 0x2000, bytes(l3), fc), fc) for t, l3, fc in plain]
    pkts += [(t, outer(0x6558, 0x2000, inner_ether(l3, fc), fc), fc) for t, l3, fc in bridged]
    pkts += [(t, outer(0x88BE, 0x1000, erspan2 + inner_ether(l3, fc), fc), fc) for t, l3, fc in mirrored]
    write("gre.pcap", sorted(pkts, key=lambda p: p[0]))


def vxlan():
    """Two VTEPs (UDP 4789; the source port from the inner flow's ports, as VTEPs hash them) bridging
    an HTTP connection and a DNS exchange between hosts of VNI 5001."""
    v1, v2 = "10.8.0.1", "10.8.0.2"
    header = bytes([0x08, 0, 0, 0]) + (5001 << 8).to_bytes(4, "big")

    def wrap(l3, from_client):
        src, dst = (v1, v2) if from_client else (v2, v1)
        sport = 49152 + (l3.sport ^ l3.dport) % 16384
        return IP(src=src, dst=dst) / UDP(sport=sport, dport=4789) / Raw(header + inner_ether(l3, from_client))

    inner = http_conn("192.168.50.10", 45000, "192.168.50.80", 0.0)
    inner += dns_exchange(0.4, "192.168.50.10", "192.168.50.53", 53003, "vxlan.example", "192.0.2.98")
    tunnel("vxlan.pcap", inner, wrap)


def capwap():
    """An access point (WTP) and its controller (AC) on the CAPWAP data channel (UDP 5247): a station's
    HTTP connection as native IEEE 802.11 data frames (T set, WBID 1; to the distribution system
    uplink, from it downlink; LLC/SNAP before IPv4), and a data channel keepalive (K set), which
    carries no frame."""
    wtp, ac = "10.9.0.1", "10.9.0.2"
    bssid, station, gateway = bytes.fromhex("020000000a01"), bytes.fromhex("020000000a10"), bytes.fromhex("020000000a80")
    # preamble 0, HLEN 2 words, RID 0, WBID 1, T set; no fragment, no keepalive
    header = bytes([0x00, 0x10, 0x03, 0x00, 0, 0, 0, 0])
    llc_ip = bytes([0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00])

    def wrap(l3, uplink):
        if uplink:  # frame control: data, to DS; addresses: BSSID, source, destination
            dot11 = bytes([0x08, 0x01, 0, 0]) + bssid + station + gateway
        else:  # from DS; addresses: destination, BSSID, source
            dot11 = bytes([0x08, 0x02, 0, 0]) + station + bssid + gateway
        dot11 += bytes([0x10, 0x00])  # sequence control
        src, dst = (wtp, ac) if uplink else (ac, wtp)
        sport, dport = (5247, 5247)
        return IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(header + dot11 + llc_ip + bytes(l3))

    keepalive = IP(src=wtp, dst=ac) / UDP(sport=5247, dport=5247) / Raw(bytes([0x00, 0x10, 0x02, 0x08, 0, 0, 0, 0, 0x00, 0x23, 0x00, 0x02, 0x00, 0x00]))
    tunnel("capwap.pcap", http_conn("192.168.60.10", 46000, "192.168.60.80", 0.0), wrap, [(1.0, keepalive, True)])


if __name__ == "__main__":
    dns()
    port_scan()
    teardown()
    ipv6()
    tzsp()
    gtp()
    gre()
    vxlan()
    capwap()
    print(f"wrote {sorted(p.name for p in OUT.glob('*.pcap'))}")
