// The mtu app's page: a client of the app's REST only.
(function () {
  'use strict';
  var base = '../scripts/mtu.js/';

  function si(v) {
    var units = ['', 'k', 'M', 'G', 'T'];
    var i = 0;
    while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return (v >= 100 || i === 0 ? v.toFixed(v < 10 && i === 0 ? 2 : 0) : v.toPrecision(3)) +
      units[i];
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function fill(id, rows, make) {
    var body = document.querySelector('#' + id + ' tbody');
    body.textContent = '';
    if (!rows.length) {
      var tr = document.createElement('tr');
      var td = cell(tr, 'none', 'muted');
      td.colSpan = 8;
      body.appendChild(tr);
      return;
    }
    rows.forEach(function (r) {
      var tr = document.createElement('tr');
      make(r).forEach(function (c) { cell(tr, c[0], c[1]); });
      body.appendChild(tr);
    });
  }

  function get(path) {
    return fetch(base + path).then(function (r) {
      if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
      return r.json();
    });
  }

  function showConfig(c) {
    var segs = Object.keys(c.segments).map(function (s) { return s + ' ' + c.segments[s]; });
    document.getElementById('config').textContent =
      'Underlay MTU ' + c.underlay_mtu_bytes + ' bytes' +
      (segs.length ? ' (' + segs.join(', ') + ')' : '') + '; rates smoothed over ' +
      c.t_secs + ' s. Refreshes every 2 s.';
  }

  function refresh() {
    Promise.all(['oversize/json', 'blackhole/json', 'icmp/json', 'fragments/json',
                 'events/json'].map(get))
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
