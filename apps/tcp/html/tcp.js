// The tcp app's page: a client of the app's REST and of /events/json (its thresholds only).
(function () {
  'use strict';
  var base = '../scripts/tcp.js/';
  var P = window.flowlensPage;
  var cell = P.cell, fill = P.fill;
  var get = P.getter('');
  var num = P.si;
  var EVENTS = '/events/json?maxEvents=50&thresholdID=tcp_syn&thresholdID=tcp_rst' +
    '&thresholdID=tcp_syn_vni&thresholdID=tcp_rst_vni&thresholdID=tcp_syn_vsid&thresholdID=tcp_rst_vsid';
  var NAMES = {tcp_syn: 'SYN flood', tcp_rst: 'RST storm', tcp_syn_vni: 'SYN flood',
    tcp_rst_vni: 'RST storm', tcp_syn_vsid: 'SYN flood', tcp_rst_vsid: 'RST storm'};

  function service(key) {
    var i = key.lastIndexOf(',');
    var addr = key.substring(0, i);
    return (addr.indexOf(':') >= 0 ? '[' + addr + ']' : addr) + ':' + key.substring(i + 1);
  }

  function refresh() {
    Promise.all([get(base + 'services/json'), get(base + 'rst/json'), get(EVENTS),
                 get(base + 'thresholds/json'), get(base + 'anomalies/json')])
      .then(function (all) {
        var th = all[3];
        document.getElementById('about').textContent =
          'Connection requests per service (tenant segment, server address and port; the ' +
          'inner TCP header in overlays), frames/s smoothed over ' + th.t + ' s. Half-open: SYNs of about the last ' +
          th.t + ' s not answered by a SYN-ACK. Events at ' + th.syn + ' SYN/s and ' + th.rst +
          ' RST/s per service. Refreshes every 2 s.';
        fill('services', all[0], function (s) {
          var tr = document.createElement('tr');
          cell(tr, s.tenant ? s.tenant + (s.tenant === s.segment ? '' : ' (' + s.segment + ')') : '—');
          cell(tr, s.ipaddress);
          cell(tr, String(s.port), 'num');
          cell(tr, num(s.syn), s.syn >= th.syn ? 'num flag' : 'num');
          cell(tr, num(s.synack), 'num');
          cell(tr, num(s.rst), s.rst >= th.rst ? 'num flag' : 'num');
          cell(tr, num(s.rst_total), 'num');
          cell(tr, num(s.halfopen), s.syn > 0 && s.synack === 0 ? 'num flag' : 'num');
          return tr;
        });
        var rstRow = function (r) {
          var tr = document.createElement('tr');
          cell(tr, r.ipaddress);
          cell(tr, num(r.rst), 'num');
          return tr;
        };
        fill('rst-sources', all[1].sources, rstRow);
        fill('rst-destinations', all[1].destinations, rstRow);
        fill('anomalies', all[4], function (a) {
          var tr = document.createElement('tr');
          cell(tr, new Date(a.since).toLocaleTimeString());
          cell(tr, a.tenant || '—');
          cell(tr, service(a.ipaddress + ',' + a.port));
          cell(tr, a.status === 'high' ? 'surge' : 'drop', 'flag');
          cell(tr, num(a.syn), 'num');
          cell(tr, num(a.mean), 'num');
          cell(tr, num(a.sdev), 'num');
          return tr;
        });
        fill('events', all[2], function (e) {
          var tr = document.createElement('tr');
          cell(tr, new Date(e.timestamp).toLocaleTimeString());
          cell(tr, NAMES[e.thresholdID] || e.thresholdID, 'flag');
          var m = /_(vni|vsid)$/.exec(e.thresholdID);
          var key = String(e.flowKey || '');
          var c = key.indexOf(',');
          cell(tr, !key ? '' : m ? m[1] + ':' + key.substring(0, c) + ' ' +
            service(key.substring(c + 1)) : service(key));
          cell(tr, num(e.value), 'num');
          cell(tr, num(e.threshold), 'num');
          cell(tr, e.agent);
          cell(tr, e.dataSource);
          return tr;
        });
      })
      .catch(function (e) { console.error(e); });
  }

  refresh();
  setInterval(refresh, 2000);
})();
