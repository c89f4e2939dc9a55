// The sFlow-RT script API as globals, over one native function `__flowlens_op(name, argsJson)`
// that answers `{"v": value}` or `{"e": "message"}` (see ops/mod.rs). Evaluated once in each
// script's context before the script. Handlers are kept here; the Rust side calls
// `__flowlens_dispatch(kind, argJson)` to run them.
(function (g) {
  'use strict';
  var op = g.__flowlens_op;
  delete g.__flowlens_op;

  function call(name, args) {
    var r = JSON.parse(op(name, JSON.stringify(args)));
    if (r.e !== undefined) throw new Error(r.e);
    return r.v;
  }
  // Every global the API defines, for `// wrapglobals: NAME`.
  var exported = [];
  function api(name) {
    exported.push(name);
    g[name] = function () {
      return call(name, Array.prototype.slice.call(arguments));
    };
  }

  [
    // engine
    'setFlow', 'clearFlow', 'activeFlows', 'flowValue', 'setThreshold', 'clearThreshold',
    'thresholdTriggered', 'setGroups', 'setMap', 'metric', 'dump', 'table', 'agents',
    'metrics', 'flowKeys', 'analyzer', 'version',
    // BGP (the server's speaker, --bgp)
    'bgpAddNeighbor', 'bgpRemoveNeighbor', 'bgpAddRoute', 'bgpRemoveRoute', 'bgpRouteCount',
    'bgpAddFlow', 'bgpRemoveFlow', 'bgpFlowCount',
    // actions
    'syslog', 'graphite', 'http', 'http2', 'runCmd', 'dnsGetAllByName',
    'setForward', 'clearForward',
    // stores
    'storeGet', 'storeSet', 'storeDelete', 'storeKeys', 'sharedGet', 'sharedSet',
    // utilities
    'getSystemProperty', 'getSystemPropertyNames', 'scriptdir',
    'logFine', 'logInfo', 'logWarning', 'logSevere',
    'baselineCreate', 'baselineCheck', 'baselineStatistics', 'baselineReset', 'baselineDelete',
    'formatNumber', 'md5', 'datasourceInfo',
    // topology
    'setTopology', 'getTopology', 'topologyVersion', 'topologyNodeNames', 'topologyLinkNames',
    'topologyNode', 'topologyLink', 'topologyNodeLinks', 'topologyAgentForNode',
    'topologyNodesForAgent', 'topologyInterfaceToLink', 'topologyInterfaceToPort',
    'topologyLocateHostMac', 'topologyLocatedHostMacs', 'topologyLocateHostIP',
    'topologyLocateHostIP6', 'topologyDiameter',
    'topologyShortestPath', 'topologyShortestPaths', 'topologyMinimumSpanningTree',
    'topologyLinkMetric', 'topologyLinkToInterfaces'
  ].forEach(api);
  exported.push('setEventHandler', 'clearEventHandler', 'setFlowHandler', 'clearFlowHandler',
    'setIntervalHandler', 'clearIntervalHandler', 'setHttpHandler', 'clearHttpHandler',
    'httpAsync', 'include', 'formatDate');

  // sFlow-RT's bgpAddNeighbor(peer, as, id, opts, onOpen(peer), onClose(peer)): session
  // changes are looked up before each handler runs (event, flow, interval, HTTP), so a script
  // with an interval handler hears of them within its interval.
  var bgpWatch = {};
  var bgpAdd = g.bgpAddNeighbor, bgpRemove = g.bgpRemoveNeighbor;
  g.bgpAddNeighbor = function (peer, as, id, opts, onOpen, onClose) {
    var r = bgpAdd(peer, as, id, opts);
    delete bgpWatch[peer];
    if (typeof onOpen === 'function' || typeof onClose === 'function')
      bgpWatch[peer] = { open: onOpen, close: onClose, up: false, count: 0 };
    return r;
  };
  g.bgpRemoveNeighbor = function (peer) {
    delete bgpWatch[peer];
    return bgpRemove(peer);
  };
  function bgpCallbacks() {
    var peers = Object.keys(bgpWatch);
    if (peers.length === 0) return;
    var states = call('bgpSessions', [peers]);
    peers.forEach(function (p) {
      var w = bgpWatch[p], st = states[p];
      if (!w || !st) return;
      if (w.up && (!st.up || st.established !== w.count)) {
        w.up = false;
        if (typeof w.close === 'function') w.close(p);
      }
      if (st.up && !w.up) {
        w.up = true;
        w.count = st.established;
        if (typeof w.open === 'function') w.open(p);
      }
    });
  }

  // formatDate(date, pattern): a Java SimpleDateFormat pattern (the letters y M d H h m s S
  // a E z Z, quoted text in '…'), in UTC; a number is milliseconds since the epoch.
  g.formatDate = function (d, fmt) {
    var t = d instanceof Date ? d : new Date(d === undefined ? Date.now() : d);
    if (isNaN(t.getTime())) throw new Error('formatDate(): not a date: ' + d);
    if (fmt === undefined || fmt === null) return t.toISOString();
    var days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
    var months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    function pad(n, w) { var s = String(n); while (s.length < w) s = '0' + s; return s; }
    var out = '';
    var i = 0;
    fmt = String(fmt);
    while (i < fmt.length) {
      var c = fmt.charAt(i);
      if (c === "'") {
        var j = fmt.indexOf("'", i + 1);
        if (j === i + 1) { out += "'"; i += 2; continue; }
        if (j < 0) j = fmt.length;
        out += fmt.substring(i + 1, j);
        i = j + 1;
        continue;
      }
      var n = 1;
      while (fmt.charAt(i + n) === c) n++;
      switch (c) {
        case 'y': out += n === 2 ? pad(t.getUTCFullYear() % 100, 2) : pad(t.getUTCFullYear(), n); break;
        case 'M': out += n >= 4 ? ['January', 'February', 'March', 'April', 'May', 'June', 'July',
          'August', 'September', 'October', 'November', 'December'][t.getUTCMonth()]
          : n === 3 ? months[t.getUTCMonth()] : pad(t.getUTCMonth() + 1, n); break;
        case 'd': out += pad(t.getUTCDate(), n); break;
        case 'H': out += pad(t.getUTCHours(), n); break;
        case 'h': out += pad(t.getUTCHours() % 12 || 12, n); break;
        case 'm': out += pad(t.getUTCMinutes(), n); break;
        case 's': out += pad(t.getUTCSeconds(), n); break;
        case 'S': out += pad(t.getUTCMilliseconds(), n); break;
        case 'a': out += t.getUTCHours() < 12 ? 'AM' : 'PM'; break;
        case 'E': out += days[t.getUTCDay()]; break;
        case 'z': out += 'UTC'; break;
        case 'Z': out += '+0000'; break;
        case 'X': out += 'Z'; break;
        default: out += fmt.substr(i, n);
      }
      i += n;
    }
    return out;
  };

  // `// wrapglobals: NAME`: the API's globals move under one object (called by the loader).
  g.__flowlens_wrapglobals = function (ns) {
    var o = {};
    exported.forEach(function (name) {
      o[name] = g[name];
      delete g[name];
    });
    g[ns] = o;
  };

  var handlers = { event: null, flow: null, interval: null, http: null };
  var pending = {};
  var nextId = 1;

  g.setEventHandler = function (fn, ids) {
    handlers.event = fn;
    call('setEventHandler', [ids === undefined ? null : ids]);
  };
  g.clearEventHandler = function () {
    handlers.event = null;
    call('setEventHandler', [[]]);
  };
  g.setFlowHandler = function (fn, names) {
    handlers.flow = fn;
    call('setFlowHandler', [names === undefined ? null : names]);
  };
  g.clearFlowHandler = function () {
    handlers.flow = null;
    call('setFlowHandler', [[]]);
  };
  g.setIntervalHandler = function (fn, seconds) {
    handlers.interval = fn;
    call('setIntervalHandler', [seconds === undefined ? null : seconds]);
  };
  g.clearIntervalHandler = function () {
    handlers.interval = null;
    call('setIntervalHandler', [false]);
  };
  g.setHttpHandler = function (fn) {
    handlers.http = fn;
    call('setHttpHandler', [true]);
  };
  g.clearHttpHandler = function () {
    handlers.http = null;
    call('setHttpHandler', [false]);
  };
  g.httpAsync = function (req) {
    var id = nextId++;
    pending[id] = req;
    try {
      call('httpAsync', [id, req]);
    } catch (e) {
      delete pending[id];
      throw e;
    }
  };
  g.include = function (file) {
    // The source comes back with expression closures rewritten (as for the script).
    var src = call('include', [file]);
    if (src !== null) (0, eval)(src);
  };

  // Runs a handler; answers a JSON text (or null).
  g.__flowlens_dispatch = function (kind, text) {
    var arg = JSON.parse(text);
    bgpCallbacks();
    switch (kind) {
      case 'event':
        if (handlers.event) handlers.event(arg);
        return null;
      case 'flow':
        if (handlers.flow) handlers.flow(arg);
        return null;
      case 'interval':
        if (handlers.interval) handlers.interval(arg);
        return null;
      case 'async':
        var req = pending[arg.id];
        delete pending[arg.id];
        if (req) {
          if (arg.ok) { if (req.success) req.success(arg.res); }
          else if (req.error) req.error(arg.res);
        }
        return null;
      case 'http':
        if (!handlers.http) return JSON.stringify({ status: 404, body: 'no HTTP handler' });
        var result;
        try {
          result = handlers.http(arg);
        } catch (e) {
          if (e === 'not_found') return JSON.stringify({ status: 404, body: 'not found' });
          if (e === 'bad_request') return JSON.stringify({ status: 400, body: 'bad request' });
          throw e;
        }
        var body;
        if (result === undefined || result === null) body = '';
        else if (typeof result === 'string') body = result;
        else if (arg.format === 'txt') body = String(result);
        else body = JSON.stringify(result);
        return JSON.stringify({ status: 200, body: body });
    }
    return null;
  };
})(globalThis);
