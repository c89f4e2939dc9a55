// flowlens built-in app "tenants": traffic and top flows per tenant of an overlay fabric.
//
// A tenant is named by the segment its packets travel in: a VXLAN VNI (RFC 7348, flow key
// vxlanvni), an NVGRE VSID (RFC 7637, grevsid) or an 802.1Q VLAN (vlan). Inside a tunnel the
// flows are keyed by the inner addresses (ipsource.1, ipdestination.1, ipprotocol.1), always
// together with the segment, so tenants whose address spaces overlap (two tenants on
// 10.0.0.0/24) are never merged. A segment with no name in the map is shown by its id
// ("vni:300") with named = false.
//
// The map: system properties tenants.vni.<id>, tenants.vsid.<id>, tenants.vlan.<id> = name
// (the config file's [properties] table, or --property), overridden entry by entry by the
// map PUT over REST (kept in the script store, so it survives restarts). tenants.t sets the
// flows' smoothing time, seconds (default 10).
//
// Events: a tenant flow above tenants.flow_threshold_bytes (bytes per second, default
// 12500000 = 100 Mbit/s) raises a threshold event in the usual event stream (/events/json,
// thresholdID tenants_<kind>_bytes, flowKey "<segment id>,<source>,<destination>,<protocol>");
// the last 100 are kept with their tenant name at events/json.
//
// REST, under /app/tenants/scripts/tenants.js/:
//   GET map/json        {"vni:100": "blue", ...}: the map in effect
//   PUT map/json        {"vni:100": "blue", "vlan:10": null}: set (or, with null, remove)
//                       REST entries; answers the map in effect
//   GET tenants/json    [{tenant, named, segments, bytes, frames, flows, crossing}] by bytes
//                       (bytes and frames per second; crossing: flows whose address pair is
//                       also active in another tenant)
//   GET flows/json      ?tenant=NAME&maxFlows=N: [{tenant, segment, ipsource, ipdestination,
//                       ipprotocol, bytes, frames}], largest first
//   GET events/json     [{time, tenant, segment, ipsource, ipdestination, ipprotocol, value,
//                       threshold}]: the app's threshold events, newest first
//   GET crossing/json   [{ipsource, ipdestination, ipprotocol, tenants}]: address pairs
//                       active in more than one tenant at once (a gateway or bridge carrying
//                       traffic between tenants, or two tenants reusing the same pair)

var KINDS = [
  {kind: 'vni', key: 'vxlanvni', inner: true},
  {kind: 'vsid', key: 'grevsid', inner: true},
  {kind: 'vlan', key: 'vlan', inner: false}
];

var t = parseFloat(getSystemProperty('tenants.t')) || 10;

function flowName(k, value) {
  return 'tenants_' + k.kind + '_' + value;
}

var flowThreshold = parseFloat(getSystemProperty('tenants.flow_threshold_bytes')) || 12500000;

KINDS.forEach(function (k) {
  var s = k.inner ? '.1' : '';
  var keys = k.key + ',ipsource' + s + ',ipdestination' + s + ',ipprotocol' + s;
  setFlow(flowName(k, 'bytes'), {keys: keys, value: 'bytes', t: t, n: 20});
  setFlow(flowName(k, 'frames'), {keys: keys, value: 'frames', t: t, n: 20});
  setThreshold(flowName(k, 'bytes'), {metric: flowName(k, 'bytes'), value: flowThreshold,
                                      byFlow: true, timeout: 60});
});

function configMap() {
  var map = {};
  getSystemPropertyNames().forEach(function (name) {
    var m = /^tenants\.(vni|vsid|vlan)\.(\d+)$/.exec(name);
    if (m) map[m[1] + ':' + m[2]] = getSystemProperty(name);
  });
  return map;
}

function restMap() {
  return storeGet('map') || {};
}

function mapInEffect() {
  var map = configMap();
  var rest = restMap();
  for (var seg in rest) map[seg] = rest[seg];
  return map;
}

var SEGMENT = /^(vni|vsid|vlan):(\d+)$/;

function putMap(body) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw 'bad_request';
  var rest = restMap();
  for (var seg in body) {
    if (!SEGMENT.test(seg)) throw 'bad_request';
    var name = body[seg];
    if (name === null) delete rest[seg];
    else if (typeof name === 'string' && name.length > 0 && name.length <= 64) rest[seg] = name;
    else throw 'bad_request';
  }
  storeSet('map', rest);
  return mapInEffect();
}

// Every active flow of every kind, with its tenant: {tenant, named, segment, ipsource,
// ipdestination, ipprotocol, bytes, frames}.
function tenantFlows() {
  var map = mapInEffect();
  var out = [];
  KINDS.forEach(function (k) {
    var frames = {};
    activeFlows('ALL', flowName(k, 'frames'), 1000, 0, 'sum').forEach(function (f) {
      frames[f.key] = f.value;
    });
    activeFlows('ALL', flowName(k, 'bytes'), 1000, 0, 'sum').forEach(function (f) {
      var p = f.key.split(',');
      var segment = k.kind + ':' + p[0];
      var name = map[segment];
      out.push({
        tenant: name || segment,
        named: name !== undefined,
        segment: segment,
        ipsource: p[1],
        ipdestination: p[2],
        ipprotocol: parseInt(p[3], 10),
        bytes: f.value,
        frames: frames[f.key] || 0
      });
    });
  });
  out.sort(function (a, b) { return b.bytes - a.bytes; });
  return out;
}

function pairOf(f) {
  return f.ipsource + ',' + f.ipdestination + ',' + f.ipprotocol;
}

function crossing(flows) {
  var seen = {};
  flows.forEach(function (f) {
    var p = pairOf(f);
    if (!seen[p]) seen[p] = {};
    seen[p][f.tenant] = true;
  });
  var out = [];
  for (var p in seen) {
    var tenants = Object.keys(seen[p]).sort();
    if (tenants.length > 1) {
      var q = p.split(',');
      out.push({ipsource: q[0], ipdestination: q[1], ipprotocol: parseInt(q[2], 10),
                tenants: tenants});
    }
  }
  return out;
}

function tenants() {
  var flows = tenantFlows();
  var crossed = {};
  crossing(flows).forEach(function (c) { crossed[c.ipsource + ',' + c.ipdestination + ',' + c.ipprotocol] = true; });
  var by = {};
  var order = [];
  flows.forEach(function (f) {
    var e = by[f.tenant];
    if (!e) {
      e = by[f.tenant] = {tenant: f.tenant, named: f.named, segments: [], bytes: 0, frames: 0,
                          flows: 0, crossing: 0};
      order.push(e);
    }
    if (e.segments.indexOf(f.segment) < 0) e.segments.push(f.segment);
    e.bytes += f.bytes;
    e.frames += f.frames;
    e.flows += 1;
    if (crossed[pairOf(f)]) e.crossing += 1;
  });
  order.sort(function (a, b) { return b.bytes - a.bytes; });
  return order;
}

var recentEvents = [];

setEventHandler(function (evt) {
  var kind = KINDS.filter(function (k) { return evt.thresholdID === flowName(k, 'bytes'); })[0];
  if (!kind) return;
  var p = String(evt.flowKey).split(',');
  var segment = kind.kind + ':' + p[0];
  var name = mapInEffect()[segment];
  recentEvents.unshift({
    time: evt.timestamp,
    tenant: name || segment,
    segment: segment,
    ipsource: p[1],
    ipdestination: p[2],
    ipprotocol: parseInt(p[3], 10),
    value: evt.value,
    threshold: evt.threshold
  });
  if (recentEvents.length > 100) recentEvents.length = 100;
}, KINDS.map(function (k) { return flowName(k, 'bytes'); }));

setHttpHandler(function (req) {
  var what = req.path[0];
  if (what === 'map') {
    if (req.method === 'PUT' || req.method === 'POST') return putMap(req.body);
    return mapInEffect();
  }
  if (what === 'tenants') return tenants();
  if (what === 'flows') {
    var flows = tenantFlows();
    var name = req.query.tenant && req.query.tenant[0];
    if (name) flows = flows.filter(function (f) { return f.tenant === name; });
    var max = parseInt(req.query.maxFlows && req.query.maxFlows[0], 10);
    return flows.slice(0, max > 0 ? max : 100);
  }
  if (what === 'crossing') return crossing(tenantFlows());
  if (what === 'events') return recentEvents;
  throw 'not_found';
});
