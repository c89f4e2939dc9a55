// The tenants app's page: a client of the app's REST only.
(function () {
  'use strict';
  var base = '../scripts/tenants.js/';
  var P = window.flowlensPage;
  var si = P.si, cell = P.cell, fill = P.fill;
  var get = P.getter(base);
  var selected = null;

  function refresh() {
    var q = selected ? '?maxFlows=50&tenant=' + encodeURIComponent(selected) : '?maxFlows=50';
    Promise.all([get('tenants/json'), get('flows/json' + q), get('crossing/json'),
                 get('events/json')])
      .then(function (all) {
        fill('tenants', all[0], function (t) {
          var tr = document.createElement('tr');
          tr.dataset.tenant = t.tenant;
          if (t.tenant === selected) tr.className = 'sel';
          cell(tr, t.tenant + (t.named ? '' : ' (unnamed)'));
          cell(tr, t.segments.join(' '));
          cell(tr, si(t.bytes * 8), 'num');
          cell(tr, si(t.frames), 'num');
          cell(tr, String(t.flows), 'num');
          cell(tr, String(t.crossing), t.crossing ? 'num flag' : 'num');
          tr.onclick = function () {
            selected = selected === t.tenant ? null : t.tenant;
            refresh();
          };
          return tr;
        });
        document.getElementById('flows-title').textContent =
          'Top flows' + (selected ? ' of ' + selected : '');
        fill('flows', all[1], function (f) {
          var tr = document.createElement('tr');
          cell(tr, f.tenant);
          cell(tr, f.segment);
          cell(tr, f.ipsource);
          cell(tr, f.ipdestination);
          cell(tr, String(f.ipprotocol), 'num');
          cell(tr, si(f.bytes * 8), 'num');
          cell(tr, si(f.frames), 'num');
          return tr;
        });
        fill('events', all[3].slice(0, 20), function (e) {
          var tr = document.createElement('tr');
          cell(tr, new Date(e.time).toLocaleTimeString());
          cell(tr, e.tenant);
          cell(tr, e.segment);
          cell(tr, e.ipsource);
          cell(tr, e.ipdestination);
          cell(tr, String(e.ipprotocol), 'num');
          cell(tr, si(e.value * 8), 'num');
          return tr;
        });
        fill('crossing', all[2], function (c) {
          var tr = document.createElement('tr');
          cell(tr, c.ipsource);
          cell(tr, c.ipdestination);
          cell(tr, String(c.ipprotocol), 'num');
          cell(tr, c.tenants.join(', '), 'flag');
          return tr;
        });
      })
      .catch(function (e) { console.error(e); });
  }

  refresh();
  setInterval(refresh, 2000);
})();
