// An app written the way InMon writes sFlow-RT apps, for the /inc/ browser test
// (ui/tests/inc.spec.js): flows defined at load, a one-second interval handler keeping a
// trend of the total and the top source/destination pairs, and an HTTP handler answering
// the trend (after a time) and the current top flows.

var SEP = '_SEP_';
var MAX_POINTS = 300;

setFlow('inc_demo_bytes', {value: 'bytes', t: 2, fs: SEP});
setFlow('inc_demo_pairs', {keys: 'ipsource,ipdestination', value: 'bytes', n: 10, t: 2, fs: SEP});

// The trend: times (ms) and, per name, one value (or one {key: value} object) per time.
var trend = {maxPoints: MAX_POINTS, times: [], trends: {bps: [], 'top-flows': []}};

function trendAfter(t) {
  var i, name, res = {maxPoints: MAX_POINTS, times: [], trends: {}};
  for (i = 0; i < trend.times.length && trend.times[i] <= t; i++);
  res.times = trend.times.slice(i);
  for (name in trend.trends) res.trends[name] = trend.trends[name].slice(i);
  return res;
}

function topFlows(n) {
  var top = activeFlows('ALL', 'inc_demo_pairs', n, 0, 'sum') || [];
  var rows = [];
  for (var i = 0; i < top.length; i++) {
    var parts = top[i].key.split(SEP);
    rows.push({source: parts[0], destination: parts[1], bps: top[i].value * 8, key: top[i].key});
  }
  return rows;
}

setIntervalHandler(function (now) {
  var res = metric('ALL', 'sum:inc_demo_bytes');
  var bps = res && res.length && res[0].metricValue ? 8 * res[0].metricValue : 0;
  var top = {};
  var flows = topFlows(5);
  for (var i = 0; i < flows.length; i++) top[flows[i].key] = flows[i].bps;
  trend.times.push(now);
  trend.trends.bps.push(bps);
  trend.trends['top-flows'].push(top);
  if (trend.times.length > MAX_POINTS) {
    trend.times.shift();
    for (var name in trend.trends) trend.trends[name].shift();
  }
}, 1);

setHttpHandler(function (req) {
  var path = req.path;
  if (!path || path.length !== 1) throw 'not_found';
  switch (path[0]) {
    case 'trend':
      return {trend: req.query.after ? trendAfter(parseInt(req.query.after)) : trend};
    case 'flows':
      return topFlows(10);
    default:
      throw 'not_found';
  }
});
