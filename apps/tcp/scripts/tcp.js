// flowlens built-in app "tcp": TCP connection health per service: SYNs that find no SYN-ACK,
// RST rates and storms, half-open estimates.
//
// A service is a server address and TCP port (IPv4 or IPv6), and, for TCP carried in an
// overlay, its segment: a VXLAN VNI (vxlanvni) or NVGRE VSID (grevsid), with the inner
// (depth 1) TCP header read, so that tenants reusing the same addresses stay apart. The
// segment's tenant name comes from the tenants app's properties (tenants.vni.<id>,
// tenants.vsid.<id>); unnamed segments show their id. Services outside any overlay have
// segment null and are read from the outermost TCP header. Flags are read from
// the flow key tcpflags (9-char bit string NS CWR ECE URG ACK PSH RST SYN FIN, RFC 9293 and
// RFC 3168):
//   SYN      SYN set, ACK clear (a connection request), counted against its destination
//   SYN-ACK  SYN and ACK set (the service accepting), counted against its source
//   RST      RST set; "rst" counts those sent by the service (its source address and port:
//            a closed port answers a SYN with RST+ACK), "rst_total" adds those sent to it
//            (by its clients)
// Every rate is in frames per second (the sampled frames scaled by the sampling rate),
// smoothed over tcp.t seconds (default 10) as every flowlens flow is.
//
// Thresholds (byFlow: one event per service; the event's flowKey is "address,port"), in
// /events/json with thresholdID:
//   tcp_syn  SYNs to one service reach tcp.syn_threshold frames/s (default 500). Answered
//            SYNs count too: set it above the busiest service's normal connection rate.
//   tcp_rst  RSTs sent by one service reach tcp.rst_threshold frames/s (default 500).
//   tcp_syn_vni, tcp_rst_vni, tcp_syn_vsid, tcp_rst_vsid: the same for services in an
//            overlay; flowKey "<segment id>,address,port".
// An event re-arms after the rate stays below the threshold for tcp.timeout seconds
// (default 60). Properties are the config file's [properties] table (or --property).
//
// REST, under /app/tcp/scripts/tcp.js/:
//   GET services/json   ?maxServices=N (default 100), ?tenant=NAME: [{segment, tenant,
//                       ipaddress, port, syn, synack, rst, rst_total, halfopen}], most SYNs
//                       first (segment and tenant null outside an overlay). syn, synack, rst, rst_total
//                       in frames/s. halfopen = max(0, syn - synack) * t: an estimate of the
//                       connection requests of about the last t seconds that no SYN-ACK
//                       answered (the half-open connections a SYN flood leaves; retransmitted
//                       SYNs count again, and a listener answering with SYN cookies keeps no
//                       state for those it answers). Services are those with SYNs to or
//                       SYN-ACKs from them.
//   GET rst/json        {sources: [{ipaddress, rst}], destinations: [{ipaddress, rst}]}: the
//                       addresses sending and receiving the most RSTs (frames/s), largest
//                       first, up to 20 each.
//   GET thresholds/json {syn, rst, t, timeout}: the thresholds (frames/s) and times (s) in
//                       effect.
//   GET anomalies/json  [{segment, tenant, ipaddress, port, status, syn, mean, sdev,
//                       since}]: services whose connection rate left its baseline, newest
//                       first (status "high": a surge of connection requests; "low": they
//                       stopped); since in ms since the epoch.
//
// Connection-rate anomalies: every tcp.baseline_interval seconds (default 10) the SYN rate
// of each of the 100 busiest services is checked against its own baseline
// (baselineCreate/baselineCheck): the last tcp.baseline_window values (default 60, i.e. ten
// minutes) inside the limits, mean ± tcp.baseline_sensitivity standard deviations (default
// 3), tcp.baseline_repeat successive values outside (default 3) make an anomaly, and only
// when the rate is also tcp.baseline_min_syn frames/s (default 10) away from the mean (a
// flat history has a tiny deviation). A service gone quiet is checked at 0 for a window,
// then forgotten.

function numberProperty(name, fallback) {
  var v = parseFloat(getSystemProperty(name));
  return isFinite(v) && v > 0 ? v : fallback;
}

var t = numberProperty('tcp.t', 10);
var synThreshold = numberProperty('tcp.syn_threshold', 500);
var rstThreshold = numberProperty('tcp.rst_threshold', 500);
var timeout = numberProperty('tcp.timeout', 60);

var SRC = 'or:ipsource:ip6source';
var DST = 'or:ipdestination:ip6destination';
// tcpflags positions: 0 NS, 1 CWR, 2 ECE, 3 URG, 4 ACK, 5 PSH, 6 RST, 7 SYN, 8 FIN.
var IS_SYN = 'tcpflags~^....0..1.$';
var IS_SYNACK = 'tcpflags~^....1..1.$';
var IS_RST = 'tcpflags~^......1..$';

function flow(name, keys, filter) {
  setFlow(name, {keys: keys, value: 'frames', filter: filter, t: t, n: 20});
}

flow('tcp_syn', DST + ',tcpdestinationport', IS_SYN);
flow('tcp_synack', SRC + ',tcpsourceport', IS_SYNACK);
flow('tcp_rst', SRC + ',tcpsourceport', IS_RST);
flow('tcp_rst_in', DST + ',tcpdestinationport', IS_RST);
flow('tcp_rst_src', SRC, IS_RST);
flow('tcp_rst_dst', DST, IS_RST);

setThreshold('tcp_syn', {metric: 'tcp_syn', value: synThreshold, byFlow: true, timeout: timeout});
setThreshold('tcp_rst', {metric: 'tcp_rst', value: rstThreshold, byFlow: true, timeout: timeout});

// The same per overlay segment, on the inner TCP header.
var SEGMENTS = [{kind: 'vni', key: 'vxlanvni'}, {kind: 'vsid', key: 'grevsid'}];
var SRC1 = 'or:ipsource.1:ip6source.1';
var DST1 = 'or:ipdestination.1:ip6destination.1';
SEGMENTS.forEach(function (g) {
  var inner = function (f) { return f.replace('tcpflags', 'tcpflags.1'); };
  flow('tcp_syn_' + g.kind, g.key + ',' + DST1 + ',tcpdestinationport.1', inner(IS_SYN));
  flow('tcp_synack_' + g.kind, g.key + ',' + SRC1 + ',tcpsourceport.1', inner(IS_SYNACK));
  flow('tcp_rst_' + g.kind, g.key + ',' + SRC1 + ',tcpsourceport.1', inner(IS_RST));
  flow('tcp_rst_in_' + g.kind, g.key + ',' + DST1 + ',tcpdestinationport.1', inner(IS_RST));
  setThreshold('tcp_syn_' + g.kind, {metric: 'tcp_syn_' + g.kind, value: synThreshold,
                                     byFlow: true, timeout: timeout});
  setThreshold('tcp_rst_' + g.kind, {metric: 'tcp_rst_' + g.kind, value: rstThreshold,
                                     byFlow: true, timeout: timeout});
});

// Tenant names of segments, from the tenants app's properties.
function tenantName(segment) {
  var m = /^(vni|vsid):(\d+)$/.exec(segment);
  return (m && getSystemProperty('tenants.' + m[1] + '.' + m[2])) || segment;
}

// {key: frames/s} of flow `name`, summed over the data sources.
function rates(name, max) {
  var out = {};
  activeFlows('ALL', name, max, 0, 'sum').forEach(function (f) { out[f.key] = f.value; });
  return out;
}

// "address,port" → [address, port]; an IPv6 address has no comma, so the last one splits.
function splitKey(key) {
  var i = key.lastIndexOf(',');
  return [key.substring(0, i), parseInt(key.substring(i + 1), 10)];
}

// The services of one set of flows (suffix '' outside overlays, '_vni', '_vsid'); keys of
// the overlay flows start with the segment id.
function servicesOf(suffix, kind) {
  var syn = rates('tcp_syn' + suffix, 1000);
  var synack = rates('tcp_synack' + suffix, 1000);
  var rst = rates('tcp_rst' + suffix, 1000);
  var rstIn = rates('tcp_rst_in' + suffix, 1000);
  var keys = {};
  Object.keys(syn).forEach(function (k) { keys[k] = true; });
  Object.keys(synack).forEach(function (k) { keys[k] = true; });
  return Object.keys(keys).map(function (k) {
    var segment = null;
    var rest = k;
    if (kind) {
      var c = k.indexOf(',');
      segment = kind + ':' + k.substring(0, c);
      rest = k.substring(c + 1);
    }
    var p = splitKey(rest);
    var s = syn[k] || 0;
    var a = synack[k] || 0;
    var r = rst[k] || 0;
    return {
      segment: segment,
      tenant: segment && tenantName(segment),
      ipaddress: p[0],
      port: p[1],
      syn: s,
      synack: a,
      rst: r,
      rst_total: r + (rstIn[k] || 0),
      halfopen: Math.max(0, s - a) * t
    };
  });
}

function services(max, tenant) {
  var out = servicesOf('', null);
  SEGMENTS.forEach(function (g) { out = out.concat(servicesOf('_' + g.kind, g.kind)); });
  if (tenant) out = out.filter(function (s) { return s.tenant === tenant; });
  out.sort(function (a, b) { return b.syn - a.syn || b.rst - a.rst; });
  return out.slice(0, max);
}

function top(name) {
  return activeFlows('ALL', name, 20, 0, 'sum').map(function (f) {
    return {ipaddress: f.key, rst: f.value};
  });
}

var baselineInterval = numberProperty('tcp.baseline_interval', 10);
var baselineWindow = Math.round(numberProperty('tcp.baseline_window', 60));
var baselineSensitivity = numberProperty('tcp.baseline_sensitivity', 3);
var baselineRepeat = Math.round(numberProperty('tcp.baseline_repeat', 3));
var baselineMinSyn = numberProperty('tcp.baseline_min_syn', 10);
var FOLLOWED_MAX = 100;
var followed = {};   // service id → {idle: checks since last seen, s: its service}
var anomalies = {};  // service id → anomaly

function serviceId(s) {
  return (s.segment || '') + '|' + s.ipaddress + '|' + s.port;
}

function checkBaseline(id, s, syn, now) {
  var name = 'tcp ' + id;
  var status = baselineCheck(name, syn);
  var st = baselineStatistics(name);
  var far = st && Math.abs(syn - st.mean) >= baselineMinSyn;
  if ((status === 'high' || status === 'low') && far) {
    var a = anomalies[id] || {since: now};
    anomalies[id] = {segment: s.segment, tenant: s.tenant, ipaddress: s.ipaddress,
                     port: s.port, status: status, syn: syn, mean: st.mean, sdev: st.sdev,
                     since: a.status === status ? a.since : now};
  } else {
    delete anomalies[id];
  }
}

setIntervalHandler(function (now) {
  var seen = {};
  services(FOLLOWED_MAX).forEach(function (s) {
    var id = serviceId(s);
    seen[id] = true;
    if (!followed[id]) {
      baselineCreate('tcp ' + id, baselineWindow, baselineSensitivity, baselineRepeat);
    }
    followed[id] = {idle: 0, s: s};
    checkBaseline(id, s, s.syn, now);
  });
  Object.keys(followed).forEach(function (id) {
    if (seen[id]) return;
    var f = followed[id];
    f.idle += 1;
    if (f.idle > baselineWindow) {
      baselineDelete('tcp ' + id);
      delete followed[id];
      delete anomalies[id];
    } else {
      checkBaseline(id, f.s, 0, now);
    }
  });
}, baselineInterval);

setHttpHandler(function (req) {
  var what = req.path[0];
  if (what === 'services') {
    var max = parseInt(req.query.maxServices && req.query.maxServices[0], 10);
    return services(max > 0 ? max : 100, req.query.tenant && req.query.tenant[0]);
  }
  if (what === 'anomalies') {
    return Object.keys(anomalies).map(function (id) { return anomalies[id]; })
      .sort(function (a, b) { return b.since - a.since; });
  }
  if (what === 'rst') return {sources: top('tcp_rst_src'), destinations: top('tcp_rst_dst')};
  if (what === 'thresholds') {
    return {syn: synThreshold, rst: rstThreshold, t: t, timeout: timeout,
            baseline: {interval: baselineInterval, window: baselineWindow,
                       sensitivity: baselineSensitivity, repeat: baselineRepeat,
                       min_syn: baselineMinSyn}};
  }
  throw 'not_found';
});
