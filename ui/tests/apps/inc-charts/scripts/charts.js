// An app written the way InMon's heatmap and sunburst apps are, for the /inc/ browser test
// (ui/tests/inc.spec.js): flows defined at load, and an HTTP handler answering
// - `options/json`: the heat map's options (as the heatmap app's `options` resource);
// - `points/json`: the traffic matrix as heat map points, `{x, y, z}` fractions, x the source
//   and y the destination address placed in the span of the addresses seen (one address of
//   room each side), z the flow's log-scaled share of the largest;
// - `tree/json`: source → destination → protocol as a sunburst tree
//   `{label, value, depth, children: {key: {value, id, filter, children}}}`.

var SEP = '_SEP_';
var PROTOCOLS = {1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmp6'};

setFlow('inc_charts_pairs', {keys: 'ipsource,ipdestination', value: 'bytes', n: 20, t: 2, fs: SEP});
setFlow('inc_charts_tree', {keys: 'ipsource,ipdestination,ipprotocol', value: 'bytes', n: 50, t: 2, fs: SEP});

function ip2int(ip) {
  return ip.split('.').reduce(function (n, octet) { return (n << 8) + parseInt(octet, 10); }, 0) >>> 0;
}

function points() {
  var flows = activeFlows('ALL', 'inc_charts_pairs', 100, 0, 'sum') || [];
  var pairs = [];
  var lo = Infinity, hi = -Infinity;
  for (var i = 0; i < flows.length; i++) {
    var parts = flows[i].key.split(SEP);
    if (parts.length !== 2 || parts[0].indexOf('.') < 0 || parts[1].indexOf('.') < 0) continue;
    var x = ip2int(parts[0]), y = ip2int(parts[1]);
    pairs.push([x, y, flows[i].value]);
    lo = Math.min(lo, x, y);
    hi = Math.max(hi, x, y);
  }
  if (!pairs.length) return [];
  lo -= 1;
  hi += 1;
  var max = Math.log10(1 + pairs[0][2]);
  return pairs.map(function (p) {
    return {x: (p[0] - lo) / (hi - lo), y: (p[1] - lo) / (hi - lo), z: max > 0 ? Math.log10(1 + p[2]) / max : 1};
  });
}

function tree() {
  var root = {label: 'Bytes/s', value: 0, depth: 0, children: {}};
  var flows = activeFlows('ALL', 'inc_charts_tree', 50, 0, 'sum') || [];
  flows.forEach(function (f) {
    var parts = f.key.split(SEP);
    parts[2] = PROTOCOLS[parts[2]] || parts[2];
    var node = root;
    root.value += f.value;
    root.depth = Math.max(root.depth, parts.length);
    parts.forEach(function (part, i) {
      if (!node.children) node.children = {};
      var child = node.children[part];
      if (!child) child = node.children[part] = {value: 0, id: parts.slice(0, i + 1).join('/')};
      child.value += f.value;
      node = child;
    });
  });
  return root;
}

setHttpHandler(function (req) {
  var path = req.path;
  if (!path || path.length !== 1) throw 'not_found';
  switch (path[0]) {
    case 'options': return {radius: 40, update: 1000};
    case 'points': return points();
    case 'tree': return tree();
    default: throw 'not_found';
  }
});
