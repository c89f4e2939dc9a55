#!/usr/bin/env bash
# The Open vSwitch testbed of flowlens's live exporter tests (tests/it/ovs_testbed.rs,
# run_ovs_testbed.rs, script_ddos_ovs.rs, run_live_mirror.rs): a private Open vSwitch on the
# userspace datapath, three hosts in network namespaces on one bridge, a kernel VXLAN endpoint
# behind an underlay bridge, GRE and ERSPAN port mirrors, and the switch's own sFlow, NetFlow
# v5 and IPFIX exporters sending to the targets given (loopback only).
#
# Usage (as root):
#   scripts/testbed.sh deps     print the Debian packages it needs (apt-get install $(... deps))
#   scripts/testbed.sh up       (re)create everything below, then check it with a few pings
#   scripts/testbed.sh status   bridges, ports, exporters, namespaces and daemons
#   scripts/testbed.sh down     remove everything `up` created (idempotent)
#
# Environment (defaults in brackets):
#   NFTB_DIR [/tmp/nftb-run]          run directory; the private ovsdb-server and ovs-vswitchd
#                                     keep their database, sockets, pidfiles and logs in
#                                     $NFTB_DIR/ovs (`down` deletes the directory)
#   SFLOW_TARGET [127.0.0.1:6343]     sFlow collector of both bridges
#   NETFLOW_TARGET [127.0.0.1:2055]   NetFlow v5 collector of nftb-br0
#   IPFIX_TARGET [127.0.0.1:4739]     IPFIX collector of nftb-br0
#   SAMPLING [10] POLLING [5] HEADER [128]   sFlow 1-in-N sampling, counter interval (s), and
#                                     sampled header bytes
#   IPFIX_SAMPLING [1]                IPFIX 1-in-N sampling
#
# Topology (every name starts with nftb):
#   netns nftb-h1 10.99.0.1/24 --veth nftb-v1--+
#   netns nftb-h2 10.99.0.2/24 --veth nftb-v2--+-- bridge nftb-br0, sFlow agent 127.0.0.1,
#   netns nftb-h3 10.99.0.3/24 --veth nftb-v3--+   NetFlow v5 and IPFIX; ports:
#       nftb-vx0   VXLAN VNI 100 to 10.99.1.2 (the overlay: 10.99.0.100 in nftb-vtep)
#       nftb-gre0  GRE key 42 to 10.99.1.2, output of the mirror of everything on nftb-v1
#       nftb-ers0  ERSPAN v1 (type II) session 7, index 3, to 10.99.1.2, output of the mirror
#                  of everything on nftb-v3
#   bridge nftb-phy (sFlow agent 127.0.0.2), the tunnels' underlay: its internal port holds
#   10.99.1.1/24 in this namespace; port nftb-vt is a veth to netns nftb-vtep (eth0
#   10.99.1.2/24, kernel VXLAN device vx0, VNI 100, 10.99.0.100/24). The kernel has no GRE
#   module, so the mirrored frames end in nftb-vtep, where a raw socket can read them.
#
# `up` itself pings nftb-h1 -> 10.99.0.2 once and nftb-h1 -> 10.99.0.100 twice (the tests
# count these), and fails unless every echo is answered.
#
# Scope: it creates, and `down` deletes, only the namespaces, links and bridges named above
# and the two Open vSwitch daemons it starts (found by their pidfiles in $NFTB_DIR/ovs); the
# system's Open vSwitch service, if any, is not used. The only address added outside the
# namespaces is 10.99.1.1/24 on nftb-phy. No kernel module and no sysctl is needed
# (datapath_type=netdev: the userspace datapath). Telemetry goes only to the targets, which
# must be loopback addresses. Every step that could wait (the daemons' start, ovs-vsctl,
# ovs-appctl, ethtool, ping, waiting for Open vSwitch) is bounded.
#
# Notes for operators:
# * The userspace datapath forwards frames as they are: the partial checksums veth transmit
#   offload leaves would reach the peer unfinished, breaking TCP, UDP and the kernel VXLAN's
#   replies (ICMP still works), so each namespace's eth0 has `ethtool -K eth0 tx off`.
# * Open vSwitch sends IPFIX templates when the exporter is configured and then every 10 min:
#   start the collector before `up`.
# * Open vSwitch exports from a connected UDP socket: with nothing listening on a target, the
#   ICMP port-unreachable makes the next datagram fail too (sFlow sequence gaps).
# * The bridges' names are also tap devices, and the userspace datapath adds one named
#   ovs-netdev; only one such testbed (or other userspace-datapath Open vSwitch) can run at a
#   time. The tests take turns with a lock on /tmp/flowlens-nftestbed.lock; by hand, hold it
#   from `up` to `down` (`exec 9>/tmp/flowlens-nftestbed.lock; flock 9` in your shell).
set -euo pipefail

NFTB_DIR=${NFTB_DIR:-/tmp/nftb-run}
SFLOW_TARGET=${SFLOW_TARGET:-127.0.0.1:6343}
NETFLOW_TARGET=${NETFLOW_TARGET:-127.0.0.1:2055}
IPFIX_TARGET=${IPFIX_TARGET:-127.0.0.1:4739}
SAMPLING=${SAMPLING:-10}
POLLING=${POLLING:-5}
HEADER=${HEADER:-128}
IPFIX_SAMPLING=${IPFIX_SAMPLING:-1}

BRIDGE=nftb-br0
UNDERLAY=nftb-phy
HOSTS=(nftb-h1 nftb-h2 nftb-h3)   # host i: veth nftb-v$i, address 10.99.0.$i
VTEP=nftb-vtep                     # veth nftb-vt, 10.99.1.2; vx0 10.99.0.100
VTEP_VETH=nftb-vt
UNDERLAY_IP=10.99.1.1
VTEP_IP=10.99.1.2
OVERLAY_IP=10.99.0.100
# Debian packages: Open vSwitch, ip (iproute2), ethtool, ping, ps (procps); iperf3, tshark and
# python3 for the tests' traffic and captures (timeout is in coreutils, always installed).
PACKAGES="openvswitch-switch openvswitch-common iproute2 ethtool iputils-ping procps iperf3 \
tshark python3"

STEP=10 # seconds any one command may take

OVS_DIR=$NFTB_DIR/ovs
export OVS_RUNDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR OVS_SYSCONFDIR=$OVS_DIR

say() { echo "testbed: $*" >&2; }
fail() {
  say "error: $*"
  exit 1
}
vsctl() { timeout "$STEP" ovs-vsctl --timeout=5 "$@"; }
appctl() { timeout "$STEP" ovs-appctl --timeout=5 -t ovs-vswitchd "$@"; } # via $OVS_RUNDIR

check_dir() {
  # `down` deletes it: only a directory of our own under /tmp, or one named for the testbed.
  case $NFTB_DIR in
    /tmp/?* | /*nftb*) ;;
    *) fail "NFTB_DIR=$NFTB_DIR: give a directory under /tmp or with 'nftb' in its path" ;;
  esac
  case /$NFTB_DIR/ in */../* | */./*) fail "NFTB_DIR=$NFTB_DIR: no '.' or '..' components" ;; esac
}

need_root() { [ "$(id -u)" = 0 ] || fail "needs root (network namespaces, Open vSwitch)"; }

need_cmds() {
  local c missing=""
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing="$missing $c"; done
  [ -z "$missing" ] || fail "missing:$missing (install the packages \`$0 deps\` lists)"
}

loopback_target() {
  case $1 in
    127.*:[0-9]* | \[::1\]:[0-9]*) ;;
    *) fail "telemetry target '$1' is not a loopback address:port" ;;
  esac
}

# Runs the command "$2..." every 0.1 s until it succeeds, for up to $1 seconds.
wait_until() {
  local secs=$1 i
  shift
  for ((i = 0; i < secs * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  "$@"
}

# SIGTERM to the processes in pidfiles "$@", then SIGKILL to those still there after 3 s; only
# to ours (their command line names $OVS_DIR: a stale pidfile's number may have been reused).
stop_daemons() {
  local pidfile pid pids=""
  for pidfile in "$@"; do
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    case $pid in '' | *[!0-9]*) continue ;; esac
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$OVS_DIR/" || continue
    kill -TERM "$pid" 2>/dev/null && pids="$pids $pid"
  done
  for pid in $pids; do
    wait_until 3 gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
    wait_until 2 gone "$pid" || say "process $pid does not exit"
  done
}

gone() { ! kill -0 "$1" 2>/dev/null; }
has_netns() { ip netns list | awk '{print $1}' | grep -qx -- "$1"; }

# Runs "$@", a daemon that detaches itself, without the descriptors above 2 this script
# inherited: a lock the caller holds (`flock`) must not stay held for the daemon's lifetime.
start_daemon() {
  (
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec timeout "$STEP" "$@"
  )
}

ovs_up() {
  mkdir -p "$OVS_DIR"
  timeout "$STEP" ovsdb-tool create "$OVS_DIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  start_daemon ovsdb-server "$OVS_DIR/conf.db" --remote="punix:$OVS_DIR/db.sock" \
    --pidfile="$OVS_DIR/ovsdb-server.pid" --detach --no-chdir -vconsole:off -vsyslog:off \
    --log-file="$OVS_DIR/ovsdb-server.log"
  vsctl --no-wait init
  # Its log warns that the kernel datapath (module openvswitch) is missing: expected, the
  # bridges use the userspace datapath.
  start_daemon ovs-vswitchd "unix:$OVS_DIR/db.sock" --pidfile="$OVS_DIR/ovs-vswitchd.pid" \
    --detach --no-chdir -vconsole:off -vsyslog:off --log-file="$OVS_DIR/ovs-vswitchd.log"
}

# Namespace $1 with eth0 at $3, the other end of veth $2 (left in this namespace).
add_host() {
  local ns=$1 veth=$2 addr=$3
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr" dev eth0
  ip -n "$ns" link set eth0 up
  ip link set "$veth" up
  ip netns exec "$ns" timeout "$STEP" ethtool -K eth0 tx off >/dev/null
}

# `ping -c $2` from namespace $1 to $3; fails unless every echo is answered.
ping_all() {
  local out
  out=$(ip netns exec "$1" timeout "$STEP" ping -q -c "$2" -i 0.2 -W 2 "$3" 2>&1) || true
  echo "$out" | grep -q " $2 received" || fail "ping $1 -> $3: $(echo "$out" | tail -n 2)"
}

# Open vSwitch's route to the VTEP goes out of the underlay bridge.
underlay_routed() { appctl ovs/route/lookup "$VTEP_IP" 2>/dev/null | grep -q "dev $UNDERLAY"; }

cmd_deps() { echo "$PACKAGES"; }

cmd_up() {
  local i
  check_dir
  need_root
  need_cmds ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl ovs-appctl ip ethtool ping timeout
  for i in "$SFLOW_TARGET" "$NETFLOW_TARGET" "$IPFIX_TARGET"; do loopback_target "$i"; done
  cmd_down
  for i in "${HOSTS[@]}" "$VTEP"; do
    ! has_netns "$i" || fail "netns $i still exists after down"
  done
  for i in nftb-v1 nftb-v2 nftb-v3 "$VTEP_VETH" "$BRIDGE" "$UNDERLAY" ovs-netdev; do
    ! ip link show "$i" >/dev/null 2>&1 \
      || fail "link $i exists: another testbed or userspace-datapath Open vSwitch runs"
  done

  ovs_up
  vsctl add-br "$BRIDGE" -- set bridge "$BRIDGE" datapath_type=netdev
  vsctl add-br "$UNDERLAY" -- set bridge "$UNDERLAY" datapath_type=netdev
  for i in 1 2 3; do
    add_host "nftb-h$i" "nftb-v$i" "10.99.0.$i/24"
    vsctl add-port "$BRIDGE" "nftb-v$i"
  done

  # The underlay: nftb-phy's internal port 10.99.1.1 and the VTEP namespace at 10.99.1.2,
  # where the kernel's VXLAN device joins 10.99.0.100 to the hosts' segment (VNI 100).
  add_host "$VTEP" "$VTEP_VETH" "$VTEP_IP/24"
  vsctl add-port "$UNDERLAY" "$VTEP_VETH"
  ip addr add "$UNDERLAY_IP/24" dev "$UNDERLAY"
  ip link set "$UNDERLAY" up
  ip -n "$VTEP" link add vx0 type vxlan id 100 local "$VTEP_IP" remote "$UNDERLAY_IP" \
    dstport 4789 dev eth0
  ip -n "$VTEP" addr add "$OVERLAY_IP/24" dev vx0
  ip -n "$VTEP" link set vx0 up

  # Tunnel ports: Open vSwitch's native tunnelling routes them by its copy of the kernel's
  # routes (10.99.1.0/24 via nftb-phy) and its own neighbour cache.
  vsctl add-port "$BRIDGE" nftb-vx0 -- set interface nftb-vx0 type=vxlan \
    options:remote_ip="$VTEP_IP" options:key=100
  vsctl add-port "$BRIDGE" nftb-gre0 -- set interface nftb-gre0 type=gre \
    options:remote_ip="$VTEP_IP" options:key=42
  vsctl add-port "$BRIDGE" nftb-ers0 -- set interface nftb-ers0 type=erspan \
    options:remote_ip="$VTEP_IP" options:key=7 options:erspan_ver=1 options:erspan_idx=3
  # Port mirrors (RSPAN over GRE, ERSPAN): both directions of nftb-v1 and of nftb-v3.
  vsctl -- --id=@src get port nftb-v1 -- --id=@out get port nftb-gre0 \
    -- --id=@m create mirror name=nftb-mirror-v1 select-src-port=@src select-dst-port=@src \
    output-port=@out -- add bridge "$BRIDGE" mirrors @m >/dev/null
  vsctl -- --id=@src get port nftb-v3 -- --id=@out get port nftb-ers0 \
    -- --id=@m create mirror name=nftb-mirror-v3 select-src-port=@src select-dst-port=@src \
    output-port=@out -- add bridge "$BRIDGE" mirrors @m >/dev/null

  # Exporters: one sFlow agent address per bridge, so that collectors tell them apart.
  vsctl -- --id=@s create sflow agent=127.0.0.1 targets="\"$SFLOW_TARGET\"" \
    sampling="$SAMPLING" polling="$POLLING" header="$HEADER" \
    -- set bridge "$BRIDGE" sflow=@s >/dev/null
  vsctl -- --id=@s create sflow agent=127.0.0.2 targets="\"$SFLOW_TARGET\"" \
    sampling="$SAMPLING" polling="$POLLING" header="$HEADER" \
    -- set bridge "$UNDERLAY" sflow=@s >/dev/null
  vsctl -- --id=@n create netflow targets="\"$NETFLOW_TARGET\"" active_timeout=10 \
    engine_type=1 engine_id=1 -- set bridge "$BRIDGE" netflow=@n >/dev/null
  vsctl -- --id=@i create ipfix targets="\"$IPFIX_TARGET\"" sampling="$IPFIX_SAMPLING" \
    obs_domain_id=123 obs_point_id=456 cache_active_timeout=10 cache_max_flows=4096 \
    -- set bridge "$BRIDGE" ipfix=@i >/dev/null

  # Before the first tunnelled frame: Open vSwitch has learned the underlay route (from
  # netlink, asynchronously) and knows the VTEP's MAC (else it would drop the frame while it
  # resolves it).
  wait_until "$STEP" underlay_routed \
    || fail "Open vSwitch has no route to $VTEP_IP via $UNDERLAY: $(appctl ovs/route/show)"
  local mac
  mac=$(ip netns exec "$VTEP" cat /sys/class/net/eth0/address)
  appctl tnl/neigh/set "$UNDERLAY" "$VTEP_IP" "$mac" >/dev/null

  # Check: the hosts' segment, then the overlay across VXLAN (the tests count these echoes).
  ping_all nftb-h1 1 10.99.0.2
  ping_all nftb-h1 2 "$OVERLAY_IP"
  say "up: bridges $BRIDGE and $UNDERLAY, netns nftb-h1..3 (10.99.0.1-3) and $VTEP" \
    "($VTEP_IP, overlay $OVERLAY_IP); sFlow -> $SFLOW_TARGET, NetFlow v5 -> $NETFLOW_TARGET," \
    "IPFIX -> $IPFIX_TARGET"
}

cmd_down() {
  local i
  check_dir
  need_root
  if [ -S "$OVS_DIR/db.sock" ]; then
    vsctl --if-exists del-br "$BRIDGE" 2>/dev/null || true
    vsctl --if-exists del-br "$UNDERLAY" 2>/dev/null || true
  fi
  stop_daemons "$OVS_DIR/ovs-vswitchd.pid" "$OVS_DIR/ovsdb-server.pid"
  for i in "${HOSTS[@]}" "$VTEP"; do
    ip netns del "$i" 2>/dev/null || true
  done
  # The host ends of the veths go with their peers; the bridges' taps with ovs-vswitchd.
  for i in nftb-v1 nftb-v2 nftb-v3 "$VTEP_VETH"; do
    ip link del "$i" 2>/dev/null || true
  done
  rm -rf "$NFTB_DIR"
}

cmd_status() {
  local i
  check_dir
  if [ -S "$OVS_DIR/db.sock" ]; then
    vsctl show || true
    echo "-- sflow"
    vsctl --columns=agent,targets,sampling,polling,header list sflow || true
    echo "-- netflow"
    vsctl --columns=targets,active_timeout,engine_type,engine_id list netflow || true
    echo "-- ipfix"
    vsctl --columns=targets,sampling,obs_domain_id,obs_point_id list ipfix || true
    echo "-- mirrors"
    vsctl --columns=name,output_port,statistics list mirror || true
  else
    echo "-- no Open vSwitch in $OVS_DIR"
  fi
  echo "-- namespaces"
  ip netns list | grep '^nftb' || true
  echo "-- daemons"
  for i in "$OVS_DIR"/*.pid; do
    [ -s "$i" ] || continue
    echo "$i: $(ps -o pid=,args= -p "$(cat "$i")" 2>/dev/null || echo 'not running')"
  done
}

case ${1:-} in
  deps) cmd_deps ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *)
    sed -n '2,13p' "$0" >&2
    exit 2
    ;;
esac
