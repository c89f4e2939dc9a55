// What the built-in apps' pages (apps/<app>/html/) share: number formatting, table filling
// and fetching their app's REST. A classic script (not a module): it defines
// window.flowlensPage. Served at /ui/app-page.js; its stylesheet is /ui/app-page.css.
(function () {
  'use strict';

  // 1234567 → "1.23M": SI prefixes, three significant digits; below 10, two decimals.
  function si(v) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    var units = ['', 'k', 'M', 'G', 'T'];
    var i = 0;
    while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    if (i === 0) return Math.abs(v) < 10 && v !== 0 ? v.toFixed(2) : v.toFixed(0);
    return (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)) + units[i];
  }

  // Appends a cell with `text` (never parsed as HTML) and class `cls` to row `tr`.
  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '' : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  // Replaces the body of table #id with one row per item of `rows`: `make(row, i)` returns a
  // <tr>, or an array of [text, class] cells. No rows: one "none" row.
  function fill(id, rows, make) {
    var table = document.getElementById(id);
    var body = table.querySelector('tbody');
    body.textContent = '';
    if (!rows || !rows.length) {
      var tr = document.createElement('tr');
      cell(tr, 'none', 'muted').colSpan = table.querySelectorAll('thead th').length || 1;
      body.appendChild(tr);
      return;
    }
    rows.forEach(function (r, i) {
      var made = make(r, i);
      if (Array.isArray(made)) {
        var tr = document.createElement('tr');
        made.forEach(function (c) { cell(tr, c[0], c[1]); });
        made = tr;
      }
      body.appendChild(made);
    });
  }

  // A getter of `base` + path answering the parsed JSON (rejects on an HTTP error).
  function getter(base) {
    return function (path) {
      return fetch(base + path).then(function (r) {
        if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
        return r.json();
      });
    };
  }

  window.flowlensPage = {si: si, cell: cell, fill: fill, getter: getter};
})();
