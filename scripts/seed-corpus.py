#!/usr/bin/env python3
"""Seeds the cargo-fuzz corpora from the real captures in shared/data.

sflow_datagram:  every sFlow UDP payload (from pcaps and payload files).
packet_walk:     every captured frame, prefixed with a selector byte for its link type
                 (index into LINKS in fuzz_targets/packet_walk.rs: 0 Ethernet, 3 raw IP,
                 4 Linux SLL, 7 PPP).
netflow_v5, netflow_v9, ipfix: every NetFlow v5 / v9 / IPFIX UDP payload and payload file.
engine_sflow:    the sFlow datagrams again (fed to an engine with several definitions).
flow_expr:       the filters, keys and flow definitions of the sFlow-RT seed scripts.
rest_body:       those filters inside flow definitions in JavaScript-object syntax.
mirror_strip:    every IPv4 packet carrying GRE (port-mirror copies: GRE, ERSPAN I/II/III).
netflow_session: per capture or payload file, its NetFlow/IPFIX datagrams (up to 40) joined
                 with the separator the target splits on, so templates precede their data.
config_file:     packaging/flowlens.toml as shipped, with every `#key = value` line made a
                 setting, and each such line alone.
Standard library only; classic pcap (all shared captures are classic pcap).

With --permissive, only captures whose licence allows copying them into this repository
(BSD, MIT, Apache, and the project's own exporter captures) seed the corpora: the corpora
committed under fuzz/corpora/ are grown from those alone (see scripts/fuzz-long).
"""
import hashlib
import os
import struct
import sys

SELECTOR = {1: 0, 101: 3, 12: 3, 14: 3, 228: 1, 229: 2, 113: 4, 276: 5, 0: 6, 9: 7, 50: 7}


def pcap_frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return
    linktype = struct.unpack(e + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        yield linktype, data[off:off + caplen]
        off += caplen


def udp_payload_eth(frame):
    if len(frame) < 14 or frame[12:14] != b"\x08\x00":
        return None
    ihl = (frame[14] & 0x0F) * 4
    if len(frame) < 14 + ihl + 8 or frame[14 + 9] != 17:
        return None
    return frame[14 + ihl + 8:]


def gre_packet_eth(frame):
    """The IPv4 packet of an Ethernet frame carrying GRE (protocol 47), as a raw GRE socket
    returns it (the mirror_strip target's input), or None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[14 + 9] != 47:
        return None
    return frame[14:]


SEPARATOR = b"FLOWLENS"
NETFLOW_TARGET = {5: "netflow_v5", 9: "netflow_v9", 10: "ipfix"}


def netflow_version(p):
    if p is None or len(p) < 16:
        return None
    v = struct.unpack(">H", p[:2])[0]
    return v if v in NETFLOW_TARGET else None


EXPR_SEEDS = [
    "outputifindex!=discard&direction=ingress&sourcegroup=external",
    "dnsqr=false&dnsqtype=255",
    "destinationgroup~^phish.*",
    'dnsqname="example.com.,phish.example.org."',
    "(ipprotocol=6|ipprotocol=17)&ipsource=10.0.0.0/8,192.168.0.0/16",
    "tcpflags~.......1.&vxlanvni=null",
    "prefix:[uri:httpurl:path]:/:2",
    "group:[or:ipsource:ip6source]:default",
    "if:[first:stack:.:ip:ip6]:ip:[mask:ipsource:24]:[mask:ip6source:64]",
    "concat:-:ipsource:range:bytes:65:127",
    "count:ipsource",
    '{"keys":"ipsource,ipdestination","value":"bytes","t":2,"n":10,"filter":"ipprotocol=6"}',
    '{"metric":"ddos","value":1000,"byFlow":true,"timeout":5}',
]


def put(dirname, blob):
    name = hashlib.sha1(blob).hexdigest()
    with open(os.path.join(dirname, name), "wb") as f:
        f.write(blob)


# Capture-name prefixes of copyleft sources (AGPL, GPL, LGPL, MPL): left out with --permissive.
COPYLEFT = ("akvorado__", "pmacct__", "ndpi__", "pktvisor__", "packetnet__")


def seed_config(config_dir):
    """The packaged settings file: as shipped, all settings on, and each setting alone."""
    os.makedirs(config_dir, exist_ok=True)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "packaging", "flowlens.toml"), "rb") as f:
        shipped = f.read()
    put(config_dir, shipped)
    lines = []
    for line in shipped.decode().splitlines():
        rest = line[1:] if line.startswith("#") else None
        if rest and (rest[0].isascii() and rest[0].isalpha() or rest[0] in '["'):
            lines.append(rest)
            # Alone (a key of a table needs its table header, which the previous seeds hold).
            put(config_dir, (rest + "\n").encode())
        else:
            lines.append(line)
    put(config_dir, ("\n".join(lines) + "\n").encode())


def main():
    args = [a for a in sys.argv[1:] if a != "--permissive"]
    permissive = len(args) != len(sys.argv) - 1
    data, out = args[0], args[1]
    sflow_dir = os.path.join(out, "sflow_datagram")
    engine_dir = os.path.join(out, "engine_sflow")
    expr_dir = os.path.join(out, "flow_expr")
    # bgp_session has no seeds in the captures: its corpus is fuzz/corpora/bgp_session.
    for d in (engine_dir, expr_dir, os.path.join(out, "bgp_session")):
        os.makedirs(d, exist_ok=True)
    for seed in EXPR_SEEDS:
        put(expr_dir, seed.encode())
    # rest_body: REST bodies in JavaScript-object syntax built from the same filters.
    body_dir = os.path.join(out, "rest_body")
    os.makedirs(body_dir, exist_ok=True)
    for seed in EXPR_SEEDS:
        quoted = seed.replace("\\", "\\\\").replace("'", "\\'")
        put(body_dir, ("{keys:'ipsource', value:'bytes', filter:'%s', t:20}" % quoted).encode())
    seed_config(os.path.join(out, "config_file"))
    walk_dir = os.path.join(out, "packet_walk")
    session_dir = os.path.join(out, "netflow_session")
    mirror_dir = os.path.join(out, "mirror_strip")
    for d in [sflow_dir, walk_dir, session_dir, mirror_dir] + [os.path.join(out, t) for t in NETFLOW_TARGET.values()]:
        os.makedirs(d, exist_ok=True)
    n_sflow = n_walk = n_netflow = 0
    for root, _, files in os.walk(data):
        for fn in sorted(files):
            source_dirs = os.path.relpath(root, data).split(os.sep)
            if permissive and (
                fn.startswith(COPYLEFT) or any(d + "__" in COPYLEFT for d in source_dirs)
            ):
                continue
            path = os.path.join(root, fn)
            chain = []
            if fn.endswith(".pcap"):
                for i, (lt, frame) in enumerate(pcap_frames(path)):
                    sel = SELECTOR.get(lt)
                    if sel is not None and i < 200:
                        put(walk_dir, bytes([sel]) + frame)
                        n_walk += 1
                    g = gre_packet_eth(frame) if lt == 1 else None
                    if g and i < 200:
                        put(mirror_dir, g)
                    p = udp_payload_eth(frame) if lt == 1 else None
                    if p and p[:4] == b"\x00\x00\x00\x05" and i < 200:
                        put(sflow_dir, p)
                        put(engine_dir, p)
                        n_sflow += 1
                    v = netflow_version(p)
                    if v and i < 200:
                        put(os.path.join(out, NETFLOW_TARGET[v]), p)
                        n_netflow += 1
                        if len(chain) < 40:
                            chain.append(p)
            elif fn.endswith(".dat") or (fn.endswith(".bin") and "sflow" not in fn):
                with open(path, "rb") as f:
                    blob = f.read()
                v = netflow_version(blob)
                if v:
                    put(os.path.join(out, NETFLOW_TARGET[v]), blob)
                    n_netflow += 1
                    chain.append(blob)
            elif fn.endswith(".bin") and "sflow" in fn:
                with open(path, "rb") as f:
                    blob = f.read()
                if fn.endswith(".eth.bin"):
                    put(walk_dir, bytes([0]) + blob)
                    blob = udp_payload_eth(blob) or b""
                if blob:
                    put(sflow_dir, blob)
                    put(engine_dir, blob)
                    n_sflow += 1
            if chain:
                put(session_dir, SEPARATOR.join(chain))
    print(f"seeded {n_sflow} sFlow datagrams, {n_walk} frames, {n_netflow} NetFlow/IPFIX datagrams")


if __name__ == "__main__":
    main()
