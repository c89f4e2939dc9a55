// The placement app's page: a client of the app's REST only.
(function () {
  'use strict';
  var base = '../scripts/placement.js/';
  var P = window.flowlensPage;
  var si = P.si, cell = P.cell, fill = P.fill;
  var get = P.getter(base);

  function fixed(v, digits) {
    return v === null || v === undefined ? '–' : v.toFixed(digits);
  }

  function showConfig(c) {
    var w = c.weights;
    document.getElementById('weights').textContent =
      'CPU ' + w.cpu + ', memory ' + w.mem + ', load ' + w.load + ', network ' + w.net +
      ' of ' + si(c.net_capacity_bps) + 'bit/s';
    document.getElementById('limits').textContent =
      'CPU ≥ ' + c.cpu_hotspot + ' %, memory ≥ ' + c.mem_hotspot + ' %, load per CPU ≥ ' +
      c.load_hotspot + ', network ≥ ' + c.net_hotspot + ' %. CPU and memory hotspots are ' +
      'also events (thresholds placement_cpu, placement_mem).';
  }

  function refresh() {
    Promise.all([get('rank/json'), get('hotspots/json')])
      .then(function (all) {
        fill('rank', all[0], function (h, i) {
          var tr = document.createElement('tr');
          var hot = h.hotspots.length > 0;
          cell(tr, String(i + 1), 'num');
          cell(tr, h.hostname);
          cell(tr, h.agent);
          var td = cell(tr, '', 'num');
          if (h.score !== null) {
            var bar = document.createElement('span');
            bar.className = h.score < 0.2 ? 'bar low' : 'bar';
            bar.style.width = Math.round(Math.max(0, Math.min(1, h.score)) * 60) + 'px';
            td.appendChild(bar);
          }
          td.appendChild(document.createTextNode(fixed(h.score, 2)));
          cell(tr, fixed(h.cpu_utilization, 1), 'num');
          cell(tr, fixed(h.mem_utilization, 1), 'num');
          cell(tr, fixed(h.load_one_per_cpu, 2), 'num');
          cell(tr, h.cpu_num === null ? '–' : String(h.cpu_num), 'num');
          cell(tr, h.net_bytes_per_sec === null ? '–' : si(h.net_bytes_per_sec * 8), 'num');
          cell(tr, hot ? h.hotspots.join(', ') : '', hot ? 'flag' : '');
          return tr;
        });
        fill('hotspots', all[1], function (x) {
          var tr = document.createElement('tr');
          cell(tr, x.hostname);
          cell(tr, x.agent);
          cell(tr, x.metric, 'flag');
          cell(tr, fixed(x.value, 2), 'num');
          cell(tr, String(x.threshold), 'num');
          return tr;
        });
      })
      .catch(function (e) { console.error(e); });
  }

  get('config/json').then(showConfig).catch(function (e) { console.error(e); });
  refresh();
  setInterval(refresh, 2000);
})();
