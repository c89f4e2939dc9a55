// flowlens built-in app "mtu": MTU trouble in an overlay fabric and on its paths.
//
// 1. Oversize (DF packets that cannot fit the overlay): a tunnelled packet whose inner
//    (depth 1) IPv4 header has DF set (or whose inner header is IPv6, which routers never
//    fragment) and whose encapsulated size, the inner packet plus the tunnel's overhead
//    (tunneloverhead_bytes: VXLAN/IPv4 50, NVGRE/IPv4 42), exceeds the segment's underlay
//    MTU. The encapsulated size is the outer IP packet: ipbytes (IPv4 total length) or
//    ip6bytes + 40 (IPv6 payload length plus its fixed header), so the test is made on the
//    outer header, exactly inner size + tunneloverhead_bytes > MTU. Segments: VXLAN VNI
//    (RFC 7348, vxlanvni) and NVGRE VSID (RFC 7637, grevsid); flows keyed by segment, inner
//    source and inner destination.
// 2. ICMP fragmentation needed (ICMPv4 type 3 code 4, RFC 1191) and ICMPv6 packet too big
//    (type 2, RFC 4443 §3.2): keyed by the ICMP sender (the router that could not forward),
//    the ICMP destination (the host whose packet was too big) and the next-hop MTU it
//    announces (icmpnexthopmtu). Per path, the learned path MTU: the host told, the
//    destination its too-big packet was for (icmptoobighost, the quoted packet's
//    destination) and the MTU.
// 3. Fragments: IPv4 packets with MF set or a non-zero fragment offset, IPv6 packets with a
//    fragment header, per (outermost) source and destination.
// 4. Black-hole suspicion (REST only, no event): an oversize flow of 1. that keeps going,
//    at least mtu.blackhole.frames oversize frames within the smoothing time (a sender with
//    working path-MTU discovery stops after the first ICMP; one that repeats is
//    retransmitting into a drop), while no ICMP of 2. addressed to its inner source has been
//    seen in the same time: the too-big packets are dropped without the ICMP that would let
//    the sender lower its packet size. The heuristic sees only what the capture sees: an
//    ICMP sent on a path the agents do not sample is missed (suspicion, not proof).
//
// Properties (config file [properties] or --property):
//   mtu.underlay            underlay MTU of every segment, bytes (default 1500)
//   mtu.vni.<id>            underlay MTU of VXLAN VNI <id>, bytes (overrides mtu.underlay)
//   mtu.vsid.<id>           underlay MTU of NVGRE VSID <id>, bytes
//   mtu.t                   flows' smoothing time, seconds (default 10)
//   mtu.oversize.frames_per_sec   threshold of the oversize events (default 1)
//   mtu.icmp.frames_per_sec       threshold of the ICMP events (default 1)
//   mtu.fragments.frames_per_sec  threshold of the fragment events (default 100)
//   mtu.blackhole.frames    oversize frames within mtu.t making a black-hole suspicion
//                           (default 3)
//   tenants.vni.<id>, tenants.vsid.<id>   tenant names (the tenants app's map), shown
//                           beside the segment
//
// Thresholds (byFlow, so each event's flowKey names the segment and hosts):
//   mtu_oversize_vni  flowKey "<vni>,<inner source>,<inner destination>"
//   mtu_oversize_vsid flowKey "<vsid>,<inner source>,<inner destination>"
//   mtu_icmp          flowKey "<icmp sender>,<icmp destination>,<next-hop mtu>"
//   mtu_fragments     flowKey "<source>,<destination>"
//
// REST, under /app/mtu/scripts/mtu.js/ (rates per second, largest first):
//   GET config/json     {underlay_mtu_bytes, segments: {"vni:100": 1450, ...}, t_secs,
//                       thresholds: {...}}
//   GET oversize/json   [{segment, tenant, ipsource, ipdestination, mtu_bytes, frames, bytes}]
//   GET icmp/json       [{sender, ipdestination, mtu_bytes, frames}]
//   GET paths/json      [{ipsource, ipdestination, mtu_bytes, sender, frames}]: the path MTU
//                       learnt per path, from the host told (ipsource) to the destination
//                       of its too-big packet, as the router (sender) announced it
//   GET fragments/json  [{ipsource, ipdestination, frames, bytes}]
//   GET blackhole/json  [{segment, tenant, ipsource, ipdestination, mtu_bytes, frames}]
//   GET events/json     the app's last 100 events, newest first: [{time, thresholdID, agent,
//                       kind, segment, tenant, ipsource, ipdestination, sender, mtu_bytes,
//                       value}] (time: ms since the epoch)

function numberProperty(name, dflt) {
  var v = parseFloat(getSystemProperty(name));
  return isFinite(v) && v > 0 ? v : dflt;
}

var t = numberProperty('mtu.t', 10);
var underlay = numberProperty('mtu.underlay', 1500);
var levels = {
  oversize: numberProperty('mtu.oversize.frames_per_sec', 1),
  icmp: numberProperty('mtu.icmp.frames_per_sec', 1),
  fragments: numberProperty('mtu.fragments.frames_per_sec', 100)
};
var blackholeFrames = numberProperty('mtu.blackhole.frames', 3);

var KINDS = [
  {kind: 'vni', key: 'vxlanvni'},
  {kind: 'vsid', key: 'grevsid'}
];

// Per segment MTUs: {vni: {"100": 1450}, vsid: {}}, and tenant names {"vni:100": "blue"}.
var segmentMtu = {vni: {}, vsid: {}};
var tenantNames = {};
getSystemPropertyNames().forEach(function (name) {
  var m = /^mtu\.(vni|vsid)\.(\d+)$/.exec(name);
  if (m) {
    var v = parseFloat(getSystemProperty(name));
    if (isFinite(v) && v > 0) segmentMtu[m[1]][m[2]] = v;
  }
  m = /^tenants\.(vni|vsid)\.(\d+)$/.exec(name);
  if (m) tenantNames[m[1] + ':' + m[2]] = getSystemProperty(name);
});

function mtuOf(kind, id) {
  var v = segmentMtu[kind][id];
  return v === undefined ? underlay : v;
}

// The outer IP packet is larger than mtu bytes.
function tooBig(mtu) {
  return '(range:ipbytes:' + (mtu + 1) + '=true|range:ip6bytes:' + (mtu - 39) + '=true)';
}

function oversizeFilter(k) {
  var ids = Object.keys(segmentMtu[k.kind]);
  var sizes = ids.map(function (id) {
    return '(' + k.key + '=' + id + '&' + tooBig(segmentMtu[k.kind][id]) + ')';
  });
  sizes.push('(' + k.key + (ids.length ? '!=' + ids.join(',') : '!=null') + '&' +
             tooBig(underlay) + ')');
  return k.key + '!=null&(ipdontfragment.1=true|ip6source.1!=null)&(' + sizes.join('|') + ')';
}

function oversizeName(k, value) {
  return 'mtu_oversize_' + k.kind + (value ? '_' + value : '');
}

KINDS.forEach(function (k) {
  var keys = k.key + ',or:ipsource.1:ip6source.1,or:ipdestination.1:ip6destination.1';
  var filter = oversizeFilter(k);
  setFlow(oversizeName(k, 'frames'), {keys: keys, value: 'frames', filter: filter, t: t, n: 20});
  setFlow(oversizeName(k, 'bytes'), {keys: keys, value: 'bytes', filter: filter, t: t, n: 20});
  setThreshold(oversizeName(k), {metric: oversizeName(k, 'frames'), value: levels.oversize,
                                 byFlow: true, timeout: 60});
});

setFlow('mtu_icmp_frames', {
  keys: 'or:ipsource:ip6source,or:ipdestination:ip6destination,icmpnexthopmtu',
  value: 'frames',
  filter: 'icmpnexthopmtu!=null',
  t: t,
  n: 20
});
setThreshold('mtu_icmp', {metric: 'mtu_icmp_frames', value: levels.icmp, byFlow: true,
                          timeout: 60});
setFlow('mtu_paths_frames', {
  keys: 'or:ipdestination:ip6destination,icmptoobighost,icmpnexthopmtu,or:ipsource:ip6source',
  value: 'frames',
  filter: 'icmptoobighost!=null',
  t: t,
  n: 20
});

var FRAGMENT = '(ipflags~..1|ipfragoffset!=0,null|ip6fragm=yes)';
var PAIR = 'or:ipsource:ip6source,or:ipdestination:ip6destination';
setFlow('mtu_fragments_frames', {keys: PAIR, value: 'frames', filter: FRAGMENT, t: t, n: 20});
setFlow('mtu_fragments_bytes', {keys: PAIR, value: 'bytes', filter: FRAGMENT, t: t, n: 20});
setThreshold('mtu_fragments', {metric: 'mtu_fragments_frames', value: levels.fragments,
                               byFlow: true, timeout: 60});

function values(name) {
  var out = {};
  activeFlows('ALL', name, 1000, 0, 'sum').forEach(function (f) { out[f.key] = f.value; });
  return out;
}

function byRate(a, b) { return b.frames - a.frames; }

function oversize() {
  var out = [];
  KINDS.forEach(function (k) {
    var bytes = values(oversizeName(k, 'bytes'));
    activeFlows('ALL', oversizeName(k, 'frames'), 1000, 0, 'sum').forEach(function (f) {
      var p = f.key.split(',');
      var segment = k.kind + ':' + p[0];
      out.push({
        segment: segment,
        tenant: tenantNames[segment] || null,
        ipsource: p[1],
        ipdestination: p[2],
        mtu_bytes: mtuOf(k.kind, p[0]),
        frames: f.value,
        bytes: bytes[f.key] || 0
      });
    });
  });
  return out.sort(byRate);
}

function icmp() {
  return activeFlows('ALL', 'mtu_icmp_frames', 1000, 0, 'sum').map(function (f) {
    var p = f.key.split(',');
    return {sender: p[0], ipdestination: p[1], mtu_bytes: parseInt(p[2], 10), frames: f.value};
  }).sort(byRate);
}

function paths() {
  return activeFlows('ALL', 'mtu_paths_frames', 1000, 0, 'sum').map(function (f) {
    var p = f.key.split(',');
    return {ipsource: p[0], ipdestination: p[1], mtu_bytes: parseInt(p[2], 10), sender: p[3],
            frames: f.value};
  }).sort(byRate);
}

function fragments() {
  var bytes = values('mtu_fragments_bytes');
  return activeFlows('ALL', 'mtu_fragments_frames', 1000, 0, 'sum').map(function (f) {
    var p = f.key.split(',');
    return {ipsource: p[0], ipdestination: p[1], frames: f.value, bytes: bytes[f.key] || 0};
  }).sort(byRate);
}

function blackhole() {
  var told = {};
  icmp().forEach(function (m) { told[m.ipdestination] = true; });
  return oversize().filter(function (o) {
    return o.frames * t >= blackholeFrames && !told[o.ipsource];
  }).map(function (o) {
    return {segment: o.segment, tenant: o.tenant, ipsource: o.ipsource,
            ipdestination: o.ipdestination, mtu_bytes: o.mtu_bytes, frames: o.frames};
  });
}

// The app's events, named: newest first, at most 100 (memory only).
var events = [];

setEventHandler(function (evt) {
  var p = String(evt.flowKey || '').split(',');
  var e = {time: evt.timestamp, thresholdID: evt.thresholdID, value: evt.value,
           agent: evt.agent};
  var m = /^mtu_oversize_(vni|vsid)$/.exec(evt.thresholdID);
  if (m) {
    e.kind = 'oversize';
    e.segment = m[1] + ':' + p[0];
    e.tenant = tenantNames[e.segment] || null;
    e.ipsource = p[1];
    e.ipdestination = p[2];
    e.mtu_bytes = mtuOf(m[1], p[0]);
  } else if (evt.thresholdID === 'mtu_icmp') {
    e.kind = 'icmp';
    e.sender = p[0];
    e.ipdestination = p[1];
    e.mtu_bytes = parseInt(p[2], 10);
  } else {
    e.kind = 'fragments';
    e.ipsource = p[0];
    e.ipdestination = p[1];
  }
  events.unshift(e);
  if (events.length > 100) events.length = 100;
  logInfo('mtu ' + e.kind + ': ' + JSON.stringify(e));
}, ['mtu_oversize_vni', 'mtu_oversize_vsid', 'mtu_icmp', 'mtu_fragments']);

function config() {
  var segments = {};
  KINDS.forEach(function (k) {
    for (var id in segmentMtu[k.kind]) segments[k.kind + ':' + id] = segmentMtu[k.kind][id];
  });
  return {underlay_mtu_bytes: underlay, segments: segments, tenants: tenantNames, t_secs: t,
          thresholds: {oversize_frames_per_sec: levels.oversize,
                       icmp_frames_per_sec: levels.icmp,
                       fragments_frames_per_sec: levels.fragments,
                       blackhole_frames: blackholeFrames}};
}

setHttpHandler(function (req) {
  switch (req.path[0]) {
    case 'config': return config();
    case 'oversize': return oversize();
    case 'icmp': return icmp();
    case 'paths': return paths();
    case 'fragments': return fragments();
    case 'blackhole': return blackhole();
    case 'events': return events;
  }
  throw 'not_found';
});
