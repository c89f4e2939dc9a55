// The mtu app's page: a client of the app's REST only.
(function () {
  'use strict';
  var base = '../scripts/mtu.js/';
  var P = window.flowlensPage;
  var si = P.si, cell = P.cell, fill = P.fill;
  var get = P.getter(base);

  function showConfig(c) {
    var segs = Object.keys(c.segments).map(function (s) { return s + ' ' + c.segments[s]; });
    document.getElementById('config').textContent =
      'Underlay MTU ' + c.underlay_mtu_bytes + ' bytes' +
      (segs.length ? ' (' + segs.join(', ') + ')' : '') + '; rates smoothed over ' +
      c.t_secs + ' s. Refreshes every 2 s.';
  }

  function refresh() {
    Promise.all(['oversize/json', 'blackhole/json', 'icmp/json', 'fragments/json',
                 'events/json', 'paths/json'].map(get))
      .then(function (all) {
        fill('oversize', all[0], function (o) {
          return [[o.segment], [o.tenant], [o.ipsource], [o.ipdestination],
                  [o.mtu_bytes, 'num'], [si(o.frames), 'num flag'], [si(o.bytes * 8), 'num']];
        });
        fill('blackhole', all[1], function (o) {
          return [[o.segment], [o.tenant], [o.ipsource], [o.ipdestination],
                  [o.mtu_bytes, 'num'], [si(o.frames), 'num flag']];
        });
        fill('icmp', all[2], function (m) {
          return [[m.sender], [m.ipdestination], [m.mtu_bytes, 'num flag'],
                  [si(m.frames), 'num']];
        });
        fill('paths', all[5], function (m) {
          return [[m.ipsource], [m.ipdestination], [m.mtu_bytes, 'num flag'], [m.sender],
                  [si(m.frames), 'num']];
        });
        fill('fragments', all[3], function (f) {
          return [[f.ipsource], [f.ipdestination], [si(f.frames), 'num'],
                  [si(f.bytes * 8), 'num']];
        });
        fill('events', all[4].slice(0, 20), function (e) {
          var hosts = e.kind === 'icmp' ? e.sender + ' → ' + e.ipdestination
            : e.ipsource + ' → ' + e.ipdestination;
          return [[new Date(e.time).toLocaleTimeString()], [e.kind], [e.segment], [e.tenant],
                  [hosts], [e.mtu_bytes, 'num'], [si(e.value), 'num']];
        });
      })
      .catch(function (e) { console.error(e); });
  }

  get('config/json').then(showConfig).catch(function (e) { console.error(e); });
  refresh();
  setInterval(refresh, 2000);
})();
