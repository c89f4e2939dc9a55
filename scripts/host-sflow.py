#!/usr/bin/env python3
"""host-sflow.py - send Host sFlow counter samples built from THIS machine's /proc values.

Purpose: the Debian machines the tests run on have no Host sFlow agent (hsflowd is not
packaged) and the shared captures hold no host_cpu record, so this script plays a few
hsflowd agents. It encodes real sFlow version 5 datagrams (sflow.org "sFlow Version 5",
counter_sample = enterprise 0 format 2) carrying the Host sFlow structures of
sflow.org/sflow_host.txt:

  host_descr (format 2000)            host_cpu (format 2003)
    string hostname<64>                 float    load_one, load_five, load_fifteen
    opaque uuid[16]                     unsigned proc_run, proc_total, cpu_num,
    machine_type machine_type             cpu_speed (MHz), uptime (s),
    os_name os_name                       cpu_user, cpu_nice, cpu_system, cpu_idle,
    string os_release<32>                 cpu_wio, cpu_intr, cpu_sintr (ms),
                                          interrupts, contexts

(XDR: big-endian 32-bit words, strings and opaque<> as length + bytes padded to 4, the
fixed opaque uuid[16] without a length). machine_type is the spec's enum (x86_64 = 3,
from os.uname()), os_name is 2 = linux. The data source is 2:1 (sFlowDataSource type 2 =
entPhysicalEntry, index 1), as hsflowd sends for its physical host.

The values are the machine's own: /proc/loadavg (load averages, running/total
processes), /proc/stat (CPU times in ms, interrupts, context switches, CPU count),
/proc/uptime and /proc/cpuinfo (MHz, 0 when absent). To simulate several hosts, agent k
(k = 1..--hosts) gets agent address 192.0.2.k (TEST-NET-1: it only appears inside the
datagram), hostname "<this host>-k", a distinct UUID, and load averages multiplied by k,
so that the sum over the hosts is known: sum(load_one) = load_one * (1 + 2 + ... + n),
each term rounded to float32 as sFlow carries it.

Safety: datagrams go only to a loopback address (127.0.0.0/8 or ::1), anything else is
refused; nothing is read but /proc and nothing is written but --pcap.

Output: for every round, one JSON line on stdout with the values sent (float32-rounded,
as a receiver decodes them):
  {"time": 1700000000.1, "datagrams": 3, "sum_load_one": 8.45...,
   "hosts": [{"agent": "192.0.2.1", "hostname": "box-1", "os_name": "linux",
              "load_one": 1.40999..., "load_five": ..., "load_fifteen": ..., ...}, ...]}

Examples
  host-sflow.py -p 6343 --once                 # one datagram per host, now
  host-sflow.py -p 6343 --interval 10          # every 10 s until interrupted
  host-sflow.py --once --pcap /tmp/host.pcap   # no sending, a pcap for tshark -r
"""
import argparse
import ipaddress
import json
import os
import socket
import struct
import sys
import time
import uuid

SFLOW_VERSION = 5
COUNTER_SAMPLE = 2  # enterprise 0, format 2
HOST_DESCR = 2000
HOST_CPU = 2003
OS_NAME_LINUX = 2  # sflow_host.txt: enum os_name { unknown=0, other=1, linux=2, ... }
MACHINE_TYPES = {  # sflow_host.txt: enum machine_type
    'x86': 2, 'i386': 2, 'i486': 2, 'i586': 2, 'i686': 2, 'x86_64': 3, 'ia64': 4,
    'sparc': 5, 'alpha': 6, 'ppc': 7, 'ppc64': 7, 'ppc64le': 7, 'm68k': 8, 'mips': 9,
    'arm': 10, 'aarch64': 10, 'hppa': 11, 's390': 12, 's390x': 12,
}
U32 = 0xFFFFFFFF


# ----------------------------------------------------------------------------- XDR

def u32(v):
    return struct.pack('>I', int(v) & U32)


def f32(v):
    return struct.pack('>f', v)


def as_f32(v):
    """The value a receiver decodes from the float32 sent for v."""
    return struct.unpack('>f', struct.pack('>f', v))[0]


def xdr_string(s, limit):
    b = s.encode()[:limit]
    return u32(len(b)) + b + b'\0' * (-len(b) % 4)


def record(fmt, body):
    return u32(fmt) + u32(len(body)) + body


# ----------------------------------------------------------------------------- /proc

def read_proc():
    """This machine's values, as hsflowd reads them."""
    with open('/proc/loadavg') as f:
        la = f.read().split()
    run, total = la[3].split('/')
    hz = os.sysconf('SC_CLK_TCK') if hasattr(os, 'sysconf') else 100
    cpu = [0] * 7
    cpu_num = 0
    interrupts = contexts = 0
    with open('/proc/stat') as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == 'cpu':
                # user nice system idle iowait irq softirq ... in USER_HZ ticks
                cpu = [int(x) * 1000 // hz for x in w[1:8]]
            elif w[0].startswith('cpu'):
                cpu_num += 1
            elif w[0] == 'intr':
                interrupts = int(w[1])
            elif w[0] == 'ctxt':
                contexts = int(w[1])
    with open('/proc/uptime') as f:
        uptime = int(float(f.read().split()[0]))
    mhz = 0
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.lower().startswith('cpu mhz'):
                    mhz = int(float(line.split(':')[1]))
                    break
    except OSError:
        pass
    return {
        'load_one': float(la[0]), 'load_five': float(la[1]), 'load_fifteen': float(la[2]),
        'proc_run': int(run), 'proc_total': int(total), 'cpu_num': cpu_num,
        'cpu_speed': mhz, 'uptime': uptime,
        'cpu_user': cpu[0], 'cpu_nice': cpu[1], 'cpu_system': cpu[2], 'cpu_idle': cpu[3],
        'cpu_wio': cpu[4], 'cpu_intr': cpu[5], 'cpu_sintr': cpu[6],
        'interrupts': interrupts, 'contexts': contexts,
    }


# ----------------------------------------------------------------------------- sFlow

CPU_FIELDS = ('proc_run', 'proc_total', 'cpu_num', 'cpu_speed', 'uptime', 'cpu_user',
              'cpu_nice', 'cpu_system', 'cpu_idle', 'cpu_wio', 'cpu_intr', 'cpu_sintr',
              'interrupts', 'contexts')


def host_values(base, k, hostname):
    """Host k's values: the machine's own, load averages scaled by k."""
    v = dict(base)
    for name in ('load_one', 'load_five', 'load_fifteen'):
        v[name] = as_f32(base[name] * k)
    for name in CPU_FIELDS:
        v[name] = v[name] & U32
    v['agent'] = '192.0.2.%d' % k
    v['hostname'] = hostname
    v['uuid'] = str(uuid.uuid5(uuid.NAMESPACE_DNS, hostname))
    v['os_name'] = 'linux'
    v['os_release'] = os.uname().release
    v['machine_type'] = os.uname().machine
    return v


def datagram(v, seq, uptime_ms):
    descr = (xdr_string(v['hostname'], 64) + uuid.UUID(v['uuid']).bytes
             + u32(MACHINE_TYPES.get(v['machine_type'], 1)) + u32(OS_NAME_LINUX)
             + xdr_string(v['os_release'], 32))
    cpu = (f32(v['load_one']) + f32(v['load_five']) + f32(v['load_fifteen'])
           + b''.join(u32(v[n]) for n in CPU_FIELDS))
    assert len(cpu) == 68
    records = record(HOST_DESCR, descr) + record(HOST_CPU, cpu)
    # counter_sample: sequence_number, source_id (type 2 << 24 | index 1), records
    sample = u32(seq) + u32((2 << 24) | 1) + u32(2) + records
    return (u32(SFLOW_VERSION) + u32(1) + socket.inet_aton(v['agent'])  # IPv4 agent
            + u32(0) + u32(seq) + u32(uptime_ms)  # sub_agent_id, sequence, uptime
            + u32(1) + record(COUNTER_SAMPLE, sample))


# ----------------------------------------------------------------------------- pcap

def pcap_frame(payload, dport):
    """Ethernet/IPv4/UDP 127.0.0.1:6343 -> 127.0.0.1:dport around payload."""
    udp = struct.pack('>HHHH', 6343, dport, 8 + len(payload), 0) + payload
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     socket.inet_aton('127.0.0.1'), socket.inet_aton('127.0.0.1'))
    s = sum(struct.unpack('>10H', ip))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    ip = ip[:10] + struct.pack('>H', ~s & 0xFFFF) + ip[12:]
    return b'\0' * 12 + b'\x08\x00' + ip + udp


def write_pcap(path, frames):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for t, fr in frames:
            f.write(struct.pack('<IIII', int(t), int((t % 1) * 1e6), len(fr), len(fr)))
            f.write(fr)


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('-H', '--host', default='127.0.0.1', help='loopback destination')
    ap.add_argument('-p', '--port', type=int, help='destination UDP port (sFlow collector)')
    ap.add_argument('-n', '--hosts', type=int, default=3, help='simulated hosts (1-254)')
    ap.add_argument('--interval', type=float, default=10.0, help='seconds between rounds')
    ap.add_argument('--once', action='store_true', help='one round, then exit')
    ap.add_argument('--pcap', help='also write the datagrams to this pcap (Ethernet)')
    args = ap.parse_args()
    if not 1 <= args.hosts <= 254:
        ap.error('--hosts must be 1..254')
    if args.port is None and not args.pcap:
        ap.error('give --port, --pcap or both')
    dest = None
    if args.port is not None:
        if not ipaddress.ip_address(args.host).is_loopback:
            ap.error('refusing to send to %s: loopback only' % args.host)
        dest = (args.host, args.port)
    fam = socket.AF_INET6 if ':' in args.host else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    me = socket.gethostname().split('.')[0] or 'host'
    names = ['%s-%d' % (me, k) for k in range(1, args.hosts + 1)]
    seq = 0
    frames = []
    start = time.monotonic()
    try:
        while True:
            seq += 1
            base = read_proc()
            hosts = [host_values(base, k, names[k - 1]) for k in range(1, args.hosts + 1)]
            now = time.time()
            for v in hosts:
                d = datagram(v, seq, int((time.monotonic() - start) * 1000) + 1)
                if dest:
                    sock.sendto(d, dest)
                if args.pcap:
                    frames.append((now, pcap_frame(d, args.port or 6343)))
            total = 0.0
            for v in hosts:
                total += v['load_one']
            print(json.dumps({'time': now, 'datagrams': len(hosts), 'sum_load_one': total,
                              'hosts': hosts}), flush=True)
            if args.once:
                break
            time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    finally:
        if args.pcap:
            write_pcap(args.pcap, frames)
    return 0


if __name__ == '__main__':
    sys.exit(main())
