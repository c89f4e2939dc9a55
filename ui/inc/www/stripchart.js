// flowlens: sFlow-RT's `chart` jQuery plugin for app pages, flowlens's own implementation of
// the interface apps call (see ui/inc/README.md). Needs jquery.stripchart.js.
//
//   var db = {};
//   $('#total').chart({type: 'trend', metrics: ['bps'], stack: true, units: 'Bits per Second'}, db);
//   $('#top').chart({type: 'topn', metric: 'top-5-flows', legendHeadings: ['Source'],
//                    sep: '_SEP_', stack: true, units: 'Bits per Second'}, db);
//   db.trend = {times: [ms, …], trends: {bps: [n, …], 'top-5-flows': [{key: n, …}, …]},
//               values: {threshold: n}};
//   $.event.trigger({type: 'updateChart'});   // every visible chart redraws from db.trend
//
// A `topn` chart is clickable: a click on the plot selects that time, whose top keys then
// head the legend; a click outside the data goes back to the latest time.
(function ($) {
  'use strict';

  var DEFAULTS = {
    type: 'trend',
    step: false,
    stack: false,
    mirror: false,
    includeMillis: false,
    sep: ',',
    keyName: function (key) { return key; },
    includeOther: true,
    otherStr: '-other-',
    otherColor: 'darkgray'
  };

  /** The stripchart `draw` data of a `trend` chart: one series per metric. */
  function trendData(opt, trend, cdata) {
    cdata.values = (opt.metrics || []).map(function (m) {
      return trend.trends[m] || new Array(trend.times.length).fill(0);
    });
    if (opt.colors) cdata.colors = opt.colors;
    if (opt.legend) cdata.legend = { labels: opt.legend };
    return cdata;
  }

  /** The `draw` data of a `topn` chart: the keys largest at `idx`, then the rest as one series. */
  function topnData(opt, trend, idx, cdata) {
    var topn = trend.trends[opt.metric] || [];
    var n = trend.times.length;
    var at = topn[idx] || {};
    var keys = Object.keys(at).filter(function (k) { return k !== opt.otherStr; });
    keys.sort(function (a, b) { return at[b] - at[a]; });
    var index = {};
    keys.forEach(function (k, i) { index[k] = i; });
    var lines = keys.map(function () { return new Array(n).fill(0); });
    var rest = new Array(n).fill(0);
    for (var i = 0; i < n; i++) {
      var entry = topn[i] || {};
      for (var k in entry) {
        var v = Number(entry[k]) || 0;
        if (k in index) lines[index[k]][i] = v;
        else if (opt.includeOther || k !== opt.otherStr) {
          rest[i] = opt.stack ? rest[i] + v : Math.max(rest[i], v);
        }
      }
    }
    var palette = opt.colors || $.inmon.stripchart.prototype.options.colors;
    var colors = keys.map(function (k, i) { return palette[i % palette.length]; });
    colors.push(opt.otherColor);
    lines.push(rest);
    cdata.values = lines;
    cdata.colors = colors;
    cdata.selectedIdx = idx;
    cdata.legend = {
      labels: keys.map(function (k) {
        return String(k).split(opt.sep).map(function (part, i) { return opt.keyName(part, i); });
      }),
      headings: opt.legendHeadings,
      links: opt.legendLinks
    };
    return cdata;
  }

  $.fn.chart = function (settings, db) {
    return this.each(function () {
      var $div = $(this);
      var opt = $.extend({}, DEFAULTS, settings);
      var topn = opt.type === 'topn';
      $div.stripchart({
        clickable: topn,
        includeMillis: opt.includeMillis,
        stack: opt.stack,
        mirror: opt.mirror,
        step: opt.step
      });
      var selected = 0; // selected time (ms); 0: the latest

      function draw() {
        var trend = db && db.trend;
        if (!$div.stripchart('instance')) return; // destroyed by the app
        if (!trend || !trend.times || trend.times.length === 0) return;
        var cdata = { times: trend.times };
        if (opt.units) cdata.units = opt.units;
        if (opt.ymargin) cdata.ymargin = opt.ymargin;
        if (opt.hrule) {
          cdata.hrule = [];
          opt.hrule.forEach(function (r) {
            var value = r.value !== undefined ? r.value
              : (r.name && trend.values ? trend.values[r.name] : undefined);
            if (value !== undefined && value !== null) {
              cdata.hrule.push({ value: value, color: r.color, scale: r.scale });
            }
          });
        }
        if (topn) {
          var idx = trend.times.length - 1;
          if (selected && selected >= trend.times[0]) {
            for (idx = 0; idx < trend.times.length - 1 && trend.times[idx] < selected; idx++);
          } else selected = 0;
          topnData(opt, trend, idx, cdata);
        } else trendData(opt, trend, cdata);
        $div.stripchart('draw', cdata);
      }

      if (topn) {
        $div.on('stripchartclick', function (e, pt) {
          var times = db && db.trend && db.trend.times;
          if (!times || times.length === 0) return;
          var t0 = times[0];
          var t1 = times[times.length - 1];
          if (pt.x < 0 || pt.x > 1) selected = 0;
          else {
            var t = t0 + (t1 - t0) * pt.x;
            var best = times[0];
            times.forEach(function (tv) { if (Math.abs(tv - t) < Math.abs(best - t)) best = tv; });
            selected = best === t1 ? 0 : best;
          }
          draw();
        });
      }
      $(document).on('updateChart', function () {
        if ($div.is(':visible')) draw();
      });
    });
  };
}(jQuery));
