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
  function api(name) {
    g[name] = function () {
      return call(name, Array.prototype.slice.call(arguments));
    };
  }

  [
    // engine
    'setFlow', 'clearFlow', 'activeFlows', 'flowValue', 'setThreshold', 'clearThreshold',
    'thresholdTriggered', 'setGroups', 'setMap', 'metric', 'dump', 'table', 'agents',
    'metrics', 'flowKeys', 'analyzer', 'version',
    // actions
    'syslog', 'graphite', 'http', 'http2', 'runCmd', 'dnsGetAllByName',
    // stores
    'storeGet', 'storeSet', 'storeDelete', 'storeKeys', 'sharedGet', 'sharedSet',
    // utilities
    'getSystemProperty', 'getSystemPropertyNames', 'scriptdir',
    'logFine', 'logInfo', 'logWarning', 'logSevere',
    'baselineCreate', 'baselineCheck', 'baselineStatistics', 'baselineReset', 'baselineDelete'
  ].forEach(api);

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
    var src = call('include', [file]);
    if (src !== null) (0, eval)(src);
  };

  // Runs a handler; answers a JSON text (or null).
  g.__flowlens_dispatch = function (kind, text) {
    var arg = JSON.parse(text);
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
