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
  host_memory (format 2004)           host_net_io (format 2006)
    unsigned hyper mem_total, mem_free,  unsigned hyper bytes_in
      mem_shared, mem_buffers,           unsigned pkts_in, errs_in, drops_in
      mem_cached, swap_total,            unsigned hyper bytes_out
      swap_free (bytes)                  unsigned pkts_out, errs_out, drops_out
    unsigned page_in, page_out,
      swap_in, swap_out

(XDR: big-endian 32-bit words, hyper = 64 bits, strings and opaque<> as length + bytes
padded to 4, the fixed opaque uuid[16] without a length). machine_type is the spec's enum
(x86_64 = 3, from os.uname()), os_name is 2 = linux. The data source is 2:1
(sFlowDataSource type 2 = entPhysicalEntry, index 1), as hsflowd sends for its physical
host.

The values are the machine's own: /proc/loadavg (load averages, running/total
processes), /proc/stat (CPU times in ms, interrupts, context switches, CPU count),
/proc/uptime and /proc/cpuinfo (MHz, 0 when absent), /proc/meminfo (kB -> bytes; mem_shared
= Shmem), /proc/vmstat (pgpgin, pgpgout, pswpin, pswpout) and /proc/net/dev (summed over the
interfaces but lo, as hsflowd does; inside a network namespace, that namespace's). To
simulate several hosts, agent k (k = 1..--hosts) gets agent address 192.0.2.k (TEST-NET-1:
it only appears inside the datagram; --agent moves it), hostname "<this host>-k"
(--hostname), a distinct UUID, and load averages multiplied by k, so that the sum over the
hosts is known: sum(load_one) = load_one * (1 + 2 + ... + n), each term rounded to float32
as sFlow carries it.

Set loads (--load-one, --cpu-util, --mem-util): the values a real hsflowd would report on a
host under that load, for every simulated host, so that a receiver's results are known:
  --load-one X   load_one = load_five = load_fifteen = X (times k for host k), a steady load.
  --cpu-num N    cpu_num = N (a host of another size).
  --cpu-util Y   the CPU time counters advance, each round, by cpu_num * interval * 1000 ms
                 in all, of which round(that * Y / 100) in cpu_user and the rest in
                 cpu_idle (the other times stay put): a receiver's cpu_utilization
                 (100 - the idle share of the increase) is Y, to the millisecond.
  --mem-util Z   mem_total as the machine's; mem_buffers and mem_cached as the machine's
                 (mem_cached cut down if needed) and mem_free = mem_total - used -
                 mem_buffers - mem_cached with used = round(mem_total * Z / 100): a
                 receiver's mem_utilization ((total - free - buffers - cached) / total) is Z.

Safety: datagrams go only to a loopback address (127.0.0.0/8 or ::1) or to a peer on a
directly connected link (`ip route get` shows no gateway: e.g. a test's veth from a network
namespace), anything else is refused; nothing is read but /proc and nothing is written but
--pcap.

Output: for every round, one JSON line on stdout with the values sent (float32-rounded,
as a receiver decodes them):
  {"time": 1700000000.1, "datagrams": 3, "sum_load_one": 8.45...,
   "hosts": [{"agent": "192.0.2.1", "hostname": "box-1", "os_name": "linux",
              "load_one": 1.40999..., "load_five": ..., "load_fifteen": ..., ...,
              "cpu_utilization": 12.5, "mem_utilization": 40.1, ...}, ...]}
cpu_utilization is that of the counters' increase since the last round (null in the first
round); mem_utilization is (mem_total - mem_free - mem_buffers - mem_cached) / mem_total *
100 of the values sent.

Examples
  host-sflow.py -p 6343 --once                 # one datagram per host, now
  host-sflow.py -p 6343 --interval 10          # every 10 s until interrupted
  host-sflow.py --once --pcap /tmp/host.pcap   # no sending, a pcap for tshark -r
  ip netns exec ns1 host-sflow.py -H 10.1.0.1 -p 6343 -n 1 --agent 10.1.0.2 \
      --hostname web1 --cpu-num 2 --load-one 3 --cpu-util 95 --mem-util 60 --interval 1
"""
import argparse
import ipaddress
import json
import os
import socket
import struct
import subprocess
import sys
import time
import uuid

SFLOW_VERSION = 5
COUNTER_SAMPLE = 2  # enterprise 0, format 2
HOST_DESCR = 2000
HOST_CPU = 2003
HOST_MEMORY = 2004
HOST_NET_IO = 2006
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


def u64(v):
    return struct.pack('>Q', int(v) & 0xFFFFFFFFFFFFFFFF)


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
    v = {
        'load_one': float(la[0]), 'load_five': float(la[1]), 'load_fifteen': float(la[2]),
        'proc_run': int(run), 'proc_total': int(total), 'cpu_num': cpu_num,
        'cpu_speed': mhz, 'uptime': uptime,
        'cpu_user': cpu[0], 'cpu_nice': cpu[1], 'cpu_system': cpu[2], 'cpu_idle': cpu[3],
        'cpu_wio': cpu[4], 'cpu_intr': cpu[5], 'cpu_sintr': cpu[6],
        'interrupts': interrupts, 'contexts': contexts,
    }
    v.update(read_memory())
    v.update(read_net())
    return v


def read_memory():
    """host_memory from /proc/meminfo (kB) and /proc/vmstat."""
    kb = {}
    with open('/proc/meminfo') as f:
        for line in f:
            w = line.replace(':', ' ').split()
            if len(w) >= 2:
                kb[w[0]] = int(w[1]) * 1024
    vm = {}
    try:
        with open('/proc/vmstat') as f:
            for line in f:
                w = line.split()
                if len(w) == 2:
                    vm[w[0]] = int(w[1])
    except OSError:
        pass
    return {
        'mem_total': kb.get('MemTotal', 0), 'mem_free': kb.get('MemFree', 0),
        'mem_shared': kb.get('Shmem', 0), 'mem_buffers': kb.get('Buffers', 0),
        'mem_cached': kb.get('Cached', 0), 'swap_total': kb.get('SwapTotal', 0),
        'swap_free': kb.get('SwapFree', 0),
        'page_in': vm.get('pgpgin', 0), 'page_out': vm.get('pgpgout', 0),
        'swap_in': vm.get('pswpin', 0), 'swap_out': vm.get('pswpout', 0),
    }


def read_net():
    """host_net_io from /proc/net/dev, summed over the interfaces but lo."""
    t = dict.fromkeys(NET_FIELDS, 0)
    with open('/proc/net/dev') as f:
        for line in f.readlines()[2:]:
            name, _, rest = line.partition(':')
            if name.strip() == 'lo':
                continue
            w = [int(x) for x in rest.split()]
            # receive: bytes packets errs drop fifo frame compressed multicast; transmit: ...
            for field, i in (('bytes_in', 0), ('pkts_in', 1), ('errs_in', 2), ('drops_in', 3),
                             ('bytes_out', 8), ('pkts_out', 9), ('errs_out', 10),
                             ('drops_out', 11)):
                t[field] += w[i]
    return t


# ----------------------------------------------------------------------------- sFlow

CPU_FIELDS = ('proc_run', 'proc_total', 'cpu_num', 'cpu_speed', 'uptime', 'cpu_user',
              'cpu_nice', 'cpu_system', 'cpu_idle', 'cpu_wio', 'cpu_intr', 'cpu_sintr',
              'interrupts', 'contexts')
CPU_TIMES = ('cpu_user', 'cpu_nice', 'cpu_system', 'cpu_idle', 'cpu_wio', 'cpu_intr',
             'cpu_sintr')
MEM_FIELDS = ('mem_total', 'mem_free', 'mem_shared', 'mem_buffers', 'mem_cached',
              'swap_total', 'swap_free')
PAGE_FIELDS = ('page_in', 'page_out', 'swap_in', 'swap_out')
NET_FIELDS = ('bytes_in', 'pkts_in', 'errs_in', 'drops_in', 'bytes_out', 'pkts_out',
              'errs_out', 'drops_out')


class Host:
    """One simulated agent: its identity and, with --cpu-util, its CPU time counters."""

    def __init__(self, k, agent, hostname, args):
        self.k = k
        self.agent = agent
        self.hostname = hostname
        self.args = args
        self.cpu = None  # CPU times (ms) of the last round
        self.cpu_sent = None  # with --cpu-util: the counters sent last round

    def values(self, base):
        """This round's values: the machine's, load averages scaled by k, set loads applied."""
        a = self.args
        v = dict(base)
        if a.cpu_num is not None:
            v['cpu_num'] = a.cpu_num
        for name in ('load_one', 'load_five', 'load_fifteen'):
            load = base[name] if a.load_one is None else a.load_one
            v[name] = as_f32(load * self.k)
        if a.cpu_util is not None:
            if self.cpu_sent is None:
                self.cpu_sent = {n: base[n] for n in CPU_TIMES}
            else:
                total = max(1, v['cpu_num']) * int(round(a.interval * 1000))
                busy = int(round(total * a.cpu_util / 100.0))
                self.cpu_sent['cpu_user'] += busy
                self.cpu_sent['cpu_idle'] += total - busy
            v.update(self.cpu_sent)
        if a.mem_util is not None:
            t = base['mem_total']
            used = int(round(t * a.mem_util / 100.0))
            v['mem_cached'] = max(0, min(v['mem_cached'], t - used - v['mem_buffers']))
            v['mem_buffers'] = min(v['mem_buffers'], t - used)
            v['mem_free'] = t - used - v['mem_buffers'] - v['mem_cached']
        for name in CPU_FIELDS + PAGE_FIELDS + NET_FIELDS:
            if name not in ('bytes_in', 'bytes_out'):
                v[name] = v[name] & U32
        # As a receiver computes them.
        now = [v[n] for n in CPU_TIMES]
        v['cpu_utilization'] = None
        if self.cpu is not None:
            d = [(x - y) & U32 for x, y in zip(now, self.cpu)]
            if sum(d) > 0:
                v['cpu_utilization'] = 100.0 - d[3] / sum(d) * 100.0
        self.cpu = now
        v['mem_utilization'] = None
        if v['mem_total'] > 0:
            used = v['mem_total'] - v['mem_free'] - v['mem_buffers'] - v['mem_cached']
            v['mem_utilization'] = min(100.0, max(0.0, used / v['mem_total'] * 100.0))
        v['agent'] = self.agent
        v['hostname'] = self.hostname
        v['uuid'] = str(uuid.uuid5(uuid.NAMESPACE_DNS, self.hostname))
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
    mem = b''.join(u64(v[n]) for n in MEM_FIELDS) + b''.join(u32(v[n]) for n in PAGE_FIELDS)
    assert len(mem) == 72
    net = b''.join(u64(v[n]) if n in ('bytes_in', 'bytes_out') else u32(v[n])
                   for n in NET_FIELDS)
    assert len(net) == 40
    records = (record(HOST_DESCR, descr) + record(HOST_CPU, cpu) + record(HOST_MEMORY, mem)
               + record(HOST_NET_IO, net))
    # counter_sample: sequence_number, source_id (type 2 << 24 | index 1), records
    sample = u32(seq) + u32((2 << 24) | 1) + u32(4) + records
    return (u32(SFLOW_VERSION) + u32(1) + socket.inet_aton(v['agent'])  # IPv4 agent
            + u32(0) + u32(seq) + u32(uptime_ms)  # sub_agent_id, sequence, uptime
            + u32(1) + record(COUNTER_SAMPLE, sample))


def directly_connected(addr):
    """True when `ip route get` reaches addr without a gateway (a local or on-link peer)."""
    try:
        out = subprocess.run(['ip', '-j', 'route', 'get', addr], capture_output=True,
                             text=True, check=True).stdout
        routes = json.loads(out)
    except (OSError, subprocess.CalledProcessError, ValueError):
        return False
    return bool(routes) and all('gateway' not in r for r in routes)


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

def percent(text):
    v = float(text)
    if not 0.0 <= v <= 100.0:
        raise argparse.ArgumentTypeError('%s is not a percentage (0-100)' % text)
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('-H', '--host', default='127.0.0.1',
                    help='destination: loopback, or a peer on a directly connected link')
    ap.add_argument('-p', '--port', type=int, help='destination UDP port (sFlow collector)')
    ap.add_argument('-n', '--hosts', type=int, default=3, help='simulated hosts (1-254)')
    ap.add_argument('--agent', default='192.0.2.1',
                    help='agent address of host 1 (IPv4); host k gets it + k - 1')
    ap.add_argument('--hostname',
                    help='hostname: NAME with one host, NAME-k for host k of several '
                    '(default: <this host>-k)')
    ap.add_argument('--load-one', type=float,
                    help='load averages of host 1 (host k: k times), instead of the machine\'s')
    ap.add_argument('--cpu-num', type=int, help="CPUs (cpu_num), instead of the machine's")
    ap.add_argument('--cpu-util', type=percent,
                    help='CPU utilisation, percent: the CPU time counters advance so')
    ap.add_argument('--mem-util', type=percent,
                    help='memory utilisation, percent: mem_free set so')
    ap.add_argument('--interval', type=float, default=10.0, help='seconds between rounds')
    ap.add_argument('--once', action='store_true', help='one round, then exit')
    ap.add_argument('--pcap', help='also write the datagrams to this pcap (Ethernet)')
    args = ap.parse_args()
    if not 1 <= args.hosts <= 254:
        ap.error('--hosts must be 1..254')
    if args.port is None and not args.pcap:
        ap.error('give --port, --pcap or both')
    if args.cpu_num is not None and not 1 <= args.cpu_num <= 65535:
        ap.error('--cpu-num must be 1..65535')
    if args.load_one is not None and args.load_one < 0:
        ap.error('--load-one must not be negative')
    try:
        first = ipaddress.IPv4Address(args.agent)
        agents = [str(first + k) for k in range(args.hosts)]
    except (ValueError, ipaddress.AddressValueError):
        ap.error('--agent must be an IPv4 address with room for --hosts addresses')
    dest = None
    if args.port is not None:
        if not (ipaddress.ip_address(args.host).is_loopback or directly_connected(args.host)):
            ap.error('refusing to send to %s: loopback or a directly connected peer only'
                     % args.host)
        dest = (args.host, args.port)
    fam = socket.AF_INET6 if ':' in args.host else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    me = socket.gethostname().split('.')[0] or 'host'
    if args.hostname and args.hosts == 1:
        names = [args.hostname]
    else:
        names = ['%s-%d' % (args.hostname or me, k) for k in range(1, args.hosts + 1)]
    hosts = [Host(k, agents[k - 1], names[k - 1], args) for k in range(1, args.hosts + 1)]
    seq = 0
    frames = []
    start = time.monotonic()
    try:
        while True:
            seq += 1
            base = read_proc()
            values = [h.values(base) for h in hosts]
            now = time.time()
            for v in values:
                d = datagram(v, seq, int((time.monotonic() - start) * 1000) + 1)
                if dest:
                    sock.sendto(d, dest)
                if args.pcap:
                    frames.append((now, pcap_frame(d, args.port or 6343)))
            total = 0.0
            for v in values:
                total += v['load_one']
            print(json.dumps({'time': now, 'datagrams': len(values), 'sum_load_one': total,
                              'hosts': values}), flush=True)
            if args.once:
                break
            time.sleep(args.interval)
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    finally:
        if args.pcap:
            write_pcap(args.pcap, frames)
    return 0


if __name__ == '__main__':
    sys.exit(main())
