// flowlens built-in app "placement": rank hosts for the next workload from their Host sFlow
// counters (hsflowd's host_cpu, host_memory, host_net_io records) and flag hotspots.
//
// A host is a data source carrying host_descr (host_name), normally data source 2.1 of the
// agent. Its usage, each a fraction where 1 is full:
//   cpu  = cpu_utilization / 100      (100 − the idle share of the CPU time counters)
//   mem  = mem_utilization / 100      ((mem_total − free − buffers − cached) / mem_total)
//   load = load_one / cpu_num         (load_one_per_cpu: 1 = one runnable task per CPU)
//   net  = max(bytes_in, bytes_out) × 8 / placement.net_capacity_bps   (net_utilization)
// and its score, the headroom left by its busiest resource:
//   score = 1 − max(w_cpu × cpu, w_mem × mem, w_load × load, w_net × net)
// over the usages the host reports (cpu_utilization needs two samples; a host reporting
// none has score null and comes last). 1 is an idle host, 0 a full one, below 0 an
// overloaded one (load_one above cpu_num). Hosts are ranked by score, highest first (ties by
// agent address): the first is the best place for the next workload.
//
// Hotspots: a host whose cpu_utilization ≥ placement.cpu_hotspot, mem_utilization ≥
// placement.mem_hotspot, load_one_per_cpu ≥ placement.load_hotspot or net_utilization ≥
// placement.net_hotspot. The first two are also engine thresholds (placement_cpu,
// placement_mem on the metrics cpu_utilization, mem_utilization): crossing one raises an
// event in /events/json naming the agent and data source (once, until the value stays below
// for placement.timeout seconds).
//
// System properties (the config file's [properties] table, or --property), with defaults:
//   placement.cpu_hotspot      90    percent
//   placement.mem_hotspot      90    percent
//   placement.load_hotspot     1     load_one per CPU
//   placement.net_hotspot      90    percent of placement.net_capacity_bps
//   placement.net_capacity_bps 1e10  bits/s of each host's network (host_net_io has no speed)
//   placement.w_cpu, placement.w_mem, placement.w_load, placement.w_net   1   weights
//   placement.timeout          60    seconds below a threshold before it re-arms
//
// REST, under /app/placement/scripts/placement.js/:
//   GET rank/json       ?maxHosts=N: [{agent, dataSource, hostname, cpu_num,
//                       cpu_utilization, mem_utilization, load_one, load_one_per_cpu,
//                       bytes_in, bytes_out, net_bytes_per_sec, net_utilization, score,
//                       hotspots}] best first; utilisations in percent, bytes per second,
//                       null when the host does not report them; hotspots: the metrics over
//                       their hotspot threshold
//   GET hotspots/json   [{agent, dataSource, hostname, metric, value, threshold}], worst
//                       first (value / threshold)
//   GET config/json     {cpu_hotspot, mem_hotspot, load_hotspot, net_hotspot,
//                       net_capacity_bps, weights: {cpu, mem, load, net}, timeout}

function prop(name, dflt) {
  var v = parseFloat(getSystemProperty('placement.' + name));
  return isFinite(v) && v >= 0 ? v : dflt;
}

var CONFIG = {
  cpu_hotspot: prop('cpu_hotspot', 90),
  mem_hotspot: prop('mem_hotspot', 90),
  load_hotspot: prop('load_hotspot', 1),
  net_hotspot: prop('net_hotspot', 90),
  net_capacity_bps: prop('net_capacity_bps', 1e10) || 1e10,
  weights: {cpu: prop('w_cpu', 1), mem: prop('w_mem', 1), load: prop('w_load', 1),
            net: prop('w_net', 1)},
  timeout: prop('timeout', 60)
};

setThreshold('placement_cpu', {metric: 'cpu_utilization', value: CONFIG.cpu_hotspot,
                               timeout: CONFIG.timeout});
setThreshold('placement_mem', {metric: 'mem_utilization', value: CONFIG.mem_hotspot,
                               timeout: CONFIG.timeout});

var COLUMNS = ['host_name', 'null:cpu_num', 'null:load_one', 'null:cpu_utilization',
               'null:mem_utilization', 'null:bytes_in', 'null:bytes_out'];

function num(cell) {
  if (!cell || typeof cell.metricValue !== 'number' || !isFinite(cell.metricValue)) return null;
  return cell.metricValue;
}

// The hotspot tests of a host row: [metric, threshold].
function limits() {
  return [['cpu_utilization', CONFIG.cpu_hotspot], ['mem_utilization', CONFIG.mem_hotspot],
          ['load_one_per_cpu', CONFIG.load_hotspot], ['net_utilization', CONFIG.net_hotspot]];
}

function hostRow(r) {
  var h = {
    agent: r[0].agent,
    dataSource: r[0].dataSource,
    hostname: String(r[0].metricValue),
    cpu_num: num(r[1]),
    cpu_utilization: num(r[3]),
    mem_utilization: num(r[4]),
    load_one: num(r[2]),
    load_one_per_cpu: null,
    bytes_in: num(r[5]),
    bytes_out: num(r[6]),
    net_bytes_per_sec: null,
    net_utilization: null,
    score: null,
    hotspots: []
  };
  if (h.load_one !== null && h.cpu_num > 0) h.load_one_per_cpu = h.load_one / h.cpu_num;
  if (h.bytes_in !== null || h.bytes_out !== null) {
    var i = h.bytes_in || 0, o = h.bytes_out || 0;
    h.net_bytes_per_sec = i + o;
    h.net_utilization = Math.max(i, o) * 8 / CONFIG.net_capacity_bps * 100;
  }
  var w = CONFIG.weights;
  var usage = [];
  if (h.cpu_utilization !== null) usage.push(w.cpu * h.cpu_utilization / 100);
  if (h.mem_utilization !== null) usage.push(w.mem * h.mem_utilization / 100);
  if (h.load_one_per_cpu !== null) usage.push(w.load * h.load_one_per_cpu);
  if (h.net_utilization !== null) usage.push(w.net * h.net_utilization / 100);
  if (usage.length) h.score = 1 - Math.max.apply(null, usage);
  limits().forEach(function (l) {
    if (h[l[0]] !== null && h[l[0]] >= l[1]) h.hotspots.push(l[0]);
  });
  return h;
}

function compareAgents(a, b) {
  var pa = a.agent.split('.'), pb = b.agent.split('.');
  if (pa.length === 4 && pb.length === 4) {
    for (var i = 0; i < 4; i++) {
      var d = parseInt(pa[i], 10) - parseInt(pb[i], 10);
      if (d) return d;
    }
    return a.dataSource < b.dataSource ? -1 : a.dataSource > b.dataSource ? 1 : 0;
  }
  return a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0;
}

function rank() {
  var hosts = table('ALL', COLUMNS).map(hostRow);
  hosts.sort(function (a, b) {
    if (a.score === null || b.score === null) {
      if (a.score !== b.score) return a.score === null ? 1 : -1;
    } else if (a.score !== b.score) {
      return b.score - a.score;
    }
    return compareAgents(a, b);
  });
  return hosts;
}

function hotspots() {
  var out = [];
  rank().forEach(function (h) {
    limits().forEach(function (l) {
      if (h.hotspots.indexOf(l[0]) < 0) return;
      out.push({agent: h.agent, dataSource: h.dataSource, hostname: h.hostname, metric: l[0],
                value: h[l[0]], threshold: l[1]});
    });
  });
  function over(x) { return x.threshold > 0 ? x.value / x.threshold : x.value; }
  out.sort(function (a, b) { return over(b) - over(a); });
  return out;
}

setHttpHandler(function (req) {
  var what = req.path[0];
  if (what === 'rank') {
    var max = parseInt(req.query.maxHosts && req.query.maxHosts[0], 10);
    var hosts = rank();
    return max > 0 ? hosts.slice(0, max) : hosts;
  }
  if (what === 'hotspots') return hotspots();
  if (what === 'config') return CONFIG;
  throw 'not_found';
});
