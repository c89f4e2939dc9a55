// flowlens: the `stripchart` jQuery widget of sFlow-RT's app pages (`$.inmon.stripchart`),
// flowlens's own implementation of the interface apps call (see ui/inc/README.md).
// Needs `$.widget`: load jquery-ui/jquery-ui.min.js or jquery.widget.js first.
//
//   var w = $('#chart').stripchart({stack: true});
//   w.stripchart('draw', {times: [ms, …], values: [[…], …], units: 'Bits per Second',
//                         colors: [...], legend: {labels: [...], headings: [...]},
//                         hrule: [{value, color, scale}], ymargin: 0.1, selectedIdx: n});
//   $('#chart').on('stripchartclick', function (e, pt) { pt.x, pt.y: 0..1 in the plot });
//   $.inmon.stripchart.prototype.valueStr(1234567) === '1.23M'
(function ($) {
  'use strict';
  if (!$.widget) {
    throw new Error('jquery.stripchart.js needs $.widget: load jquery.widget.js or jquery-ui first');
  }

  var SI = [[1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];

  function digits(x) {
    var a = Math.abs(x);
    if (a >= 100) return x.toFixed(0);
    if (a >= 10) return x.toFixed(1).replace(/\.0$/, '');
    return x.toFixed(2).replace(/\.?0+$/, '');
  }

  /** A number as text with an SI prefix: 1234567 -> '1.23M', 0.005 -> '5m'. */
  function valueStr(v) {
    if (v === null || v === undefined || v === '' || isNaN(v)) return '';
    v = Number(v);
    var a = Math.abs(v);
    if (a === 0) return '0';
    for (var i = 0; i < SI.length; i++) {
      if (a >= SI[i][0]) return digits(v / SI[i][0]) + SI[i][1];
    }
    if (a >= 1) return digits(v);
    if (a >= 1e-3) return digits(v * 1e3) + 'm';
    if (a >= 1e-6) return digits(v * 1e6) + '\u00b5';
    return v.toExponential(1);
  }

  function pad(n, w) {
    var s = String(n);
    while (s.length < w) s = '0' + s;
    return s;
  }

  function timeStr(t, millis) {
    var d = new Date(t);
    var s = pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2);
    return millis ? s + '.' + pad(d.getMilliseconds(), 3) : s;
  }

  /** A round step (1, 2 or 5 times a power of ten) near `raw`. */
  function niceStep(raw) {
    if (!(raw > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  var TIME_STEPS = [100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5,
    18e5, 36e5, 72e5, 144e5, 216e5, 432e5, 864e5];

  function esc(s) {
    return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;');
  }

  $.widget('inmon.stripchart', {
    options: {
      /** Series colours, in order (apps read `$.inmon.stripchart.prototype.options.colors`). */
      colors: ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477',
        '#66aa00', '#b82e2e', '#316395', '#994499', '#22aa99', '#aaaa11', '#6633cc'],
      /** Clicks on the plot trigger `stripchartclick` with {x, y} (fractions of the plot). */
      clickable: false,
      /** Time labels with milliseconds. */
      includeMillis: false,
      /** Series stacked as filled areas (else lines). */
      stack: false,
      /** Second half of the series drawn below the axis (in above, out below). */
      mirror: false,
      /** Values held until the next time (steps, not slopes). */
      step: false,
      /** Units when `draw` data carries none. */
      units: '',
      gridColor: '#e3e3e3',
      textColor: '#555',
      font: '11px sans-serif'
    },

    _create: function () {
      this.element.addClass('stripchart');
      this._canvas = $('<canvas class="stripchart-canvas"></canvas>').appendTo(this.element);
      this._legend = $('<div class="stripchart-legend"></div>').appendTo(this.element);
      this._plot = null;
      this._data = null;
      if (this.options.clickable) {
        this.element.addClass('stripchart-clickable');
        this._on(this._canvas, { click: '_click' });
      }
    },

    _destroy: function () {
      this._canvas.remove();
      this._legend.remove();
      this.element.removeClass('stripchart stripchart-clickable');
    },

    _click: function (e) {
      var p = this._plot;
      if (!p) return;
      var r = this._canvas[0].getBoundingClientRect();
      this._trigger('click', e, {
        x: (e.clientX - r.left - p.x) / p.w,
        y: 1 - (e.clientY - r.top - p.y) / p.h
      });
    },

    /** Draws `data` (see the file's header); with no argument, redraws the last data. */
    draw: function (data) {
      if (data) this._data = data;
      data = this._data;
      if (!data) return;
      var o = this.options;
      var colors = data.colors || o.colors;
      this._drawLegend(data.legend, colors);
      var canvas = this._canvas[0];
      var width = this.element.width();
      if (!width || !canvas.getContext) return;
      var height = Math.max(80, Math.floor(this.element.height() - this._legend.outerHeight(true)));
      var ratio = window.devicePixelRatio || 1;
      this._canvas.css({ width: width + 'px', height: height + 'px' });
      canvas.width = Math.floor(width * ratio);
      canvas.height = Math.floor(height * ratio);
      var ctx = canvas.getContext('2d');
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, width, height);
      ctx.font = o.font;

      var times = data.times || [];
      var values = data.values || [];
      var n = times.length;
      this.element.attr('data-points', n); // how many times the last draw had
      var stack = data.stack !== undefined ? data.stack : o.stack;
      var mirrorFrom = o.mirror ? Math.ceil(values.length / 2) : values.length;

      // Each series as [low, high] per point: stacked series sit on the ones before them.
      var bands = [];
      var baseUp = new Array(n).fill(0);
      var baseDown = new Array(n).fill(0);
      var ymax = 0;
      var ymin = 0;
      for (var s = 0; s < values.length; s++) {
        var series = values[s] || [];
        var down = s >= mirrorFrom;
        var lo = [];
        var hi = [];
        for (var i = 0; i < n; i++) {
          var v = Number(series[i]) || 0;
          if (down) v = -v;
          var base = stack ? (down ? baseDown[i] : baseUp[i]) : 0;
          lo.push(base);
          hi.push(base + v);
          if (stack) {
            if (down) baseDown[i] = base + v; else baseUp[i] = base + v;
          }
          ymax = Math.max(ymax, base + v);
          ymin = Math.min(ymin, base + v);
        }
        bands.push({ lo: lo, hi: hi, color: colors[s % colors.length] });
      }
      var rules = [];
      (data.hrule || []).forEach(function (r) {
        var v = Number(r.value) * (r.scale || 1);
        if (isFinite(v)) {
          rules.push({ value: v, color: r.color || '#c00' });
          ymax = Math.max(ymax, v);
        }
      });
      if (data.ymargin) {
        ymax *= 1 + Number(data.ymargin);
        ymin *= 1 + Number(data.ymargin);
      }
      if (ymax === ymin) ymax = ymin + 1;
      var ystep = niceStep((ymax - ymin) / 4);
      ymax = Math.ceil(ymax / ystep) * ystep;
      ymin = Math.floor(ymin / ystep) * ystep;

      var ticks = [];
      for (var t = ymin; t <= ymax + ystep / 2; t += ystep) ticks.push(t);
      var labelW = 0;
      ticks.forEach(function (t) { labelW = Math.max(labelW, ctx.measureText(valueStr(t)).width); });
      var units = data.units || o.units;
      var top = units ? 18 : 8;
      var p = { x: Math.ceil(labelW) + 10, y: top, w: 0, h: 0 };
      p.w = Math.max(10, width - p.x - 12);
      p.h = Math.max(10, height - top - 20);
      this._plot = p;

      var tmin = n ? times[0] : 0;
      var tmax = n ? times[n - 1] : 1;
      if (tmax <= tmin) tmax = tmin + 1000;
      var X = function (tv) { return p.x + ((tv - tmin) / (tmax - tmin)) * p.w; };
      var Y = function (v) { return p.y + p.h - ((v - ymin) / (ymax - ymin)) * p.h; };

      // Grid, value labels, units.
      ctx.fillStyle = o.textColor;
      ctx.strokeStyle = o.gridColor;
      ctx.lineWidth = 1;
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'right';
      ticks.forEach(function (t) {
        var y = Math.round(Y(t)) + 0.5;
        ctx.beginPath();
        ctx.moveTo(p.x, y);
        ctx.lineTo(p.x + p.w, y);
        ctx.stroke();
        ctx.fillText(valueStr(t), p.x - 4, y);
      });
      if (units) {
        ctx.textAlign = 'left';
        ctx.textBaseline = 'alphabetic';
        ctx.fillText(Array.isArray(units) ? units.join(' ') : units, p.x, 12);
      }
      // Time axis: round times about every 90 pixels.
      var span = tmax - tmin;
      var tstep = TIME_STEPS[TIME_STEPS.length - 1];
      for (var k = 0; k < TIME_STEPS.length; k++) {
        if (span / TIME_STEPS[k] <= p.w / 90) { tstep = TIME_STEPS[k]; break; }
      }
      ctx.textAlign = 'center';
      ctx.textBaseline = 'top';
      for (var tt = Math.ceil(tmin / tstep) * tstep; tt <= tmax; tt += tstep) {
        var x = Math.round(X(tt)) + 0.5;
        ctx.beginPath();
        ctx.moveTo(x, p.y);
        ctx.lineTo(x, p.y + p.h);
        ctx.stroke();
        ctx.fillText(timeStr(tt, o.includeMillis || tstep < 1000), x, p.y + p.h + 4);
      }

      // Series: stacked ones as filled areas, others as lines.
      var stepped = o.step;
      var path = function (xs, ys, move) {
        for (var i = 0; i < xs.length; i++) {
          if (i === 0 && move) ctx.moveTo(xs[i], ys[i]);
          else {
            if (stepped && i > 0) ctx.lineTo(xs[i], ys[i - 1]);
            ctx.lineTo(xs[i], ys[i]);
          }
        }
      };
      var xs = times.map(X);
      ctx.save();
      ctx.beginPath();
      ctx.rect(p.x, p.y - 1, p.w, p.h + 2);
      ctx.clip();
      bands.forEach(function (b) {
        if (n === 0) return;
        ctx.beginPath();
        if (stack) {
          path(xs, b.hi.map(Y), true);
          var rx = xs.slice().reverse();
          var rlo = b.lo.map(Y).reverse();
          if (stepped) {
            // Walk back along the low edge, keeping its steps.
            for (var i = 0; i < rx.length; i++) {
              if (i > 0) ctx.lineTo(rx[i - 1], rlo[i]);
              ctx.lineTo(rx[i], rlo[i]);
            }
          } else path(rx, rlo, false);
          ctx.closePath();
          ctx.fillStyle = b.color;
          ctx.fill();
        } else {
          path(xs, b.hi.map(Y), true);
          ctx.strokeStyle = b.color;
          ctx.lineWidth = 1.5;
          ctx.stroke();
        }
      });
      ctx.restore();
      // Zero line when values go below it (mirror).
      if (ymin < 0) {
        ctx.strokeStyle = o.textColor;
        ctx.beginPath();
        ctx.moveTo(p.x, Math.round(Y(0)) + 0.5);
        ctx.lineTo(p.x + p.w, Math.round(Y(0)) + 0.5);
        ctx.stroke();
      }
      rules.forEach(function (r) {
        ctx.strokeStyle = r.color;
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(p.x, Math.round(Y(r.value)) + 0.5);
        ctx.lineTo(p.x + p.w, Math.round(Y(r.value)) + 0.5);
        ctx.stroke();
        ctx.setLineDash([]);
      });
      // The selected time (a click on a topn chart), unless it is the latest.
      var sel = data.selectedIdx;
      if (sel !== undefined && sel !== null && sel >= 0 && sel < n - 1) {
        ctx.strokeStyle = '#000';
        ctx.beginPath();
        ctx.moveTo(Math.round(xs[sel]) + 0.5, p.y);
        ctx.lineTo(Math.round(xs[sel]) + 0.5, p.y + p.h);
        ctx.stroke();
        ctx.textAlign = xs[sel] > p.x + p.w / 2 ? 'right' : 'left';
        ctx.textBaseline = 'top';
        ctx.fillStyle = '#000';
        ctx.fillText(timeStr(times[sel], o.includeMillis), xs[sel] + (ctx.textAlign === 'left' ? 3 : -3), p.y + 2);
      }
      // Plot frame.
      ctx.strokeStyle = '#bbb';
      ctx.strokeRect(p.x + 0.5, p.y + 0.5, p.w - 1, p.h - 1);
    },

    /** Legend: a table (colour swatch, then one cell per label part) under the plot. */
    _drawLegend: function (legend, colors) {
      var labels = legend && legend.labels;
      if (!labels || labels.length === 0) {
        this._legendHtml = '';
        this._legend.empty();
        return;
      }
      var html;
      var tabular = legend.headings || labels.some(function (l) { return Array.isArray(l); });
      if (tabular) {
        html = '<table class="stripchart-legend-table">';
        if (legend.headings) {
          html += '<thead><tr><th></th>';
          legend.headings.forEach(function (h) { html += '<th>' + h + '</th>'; });
          html += '</tr></thead>';
        }
        html += '<tbody>';
        labels.forEach(function (l, i) {
          var parts = Array.isArray(l) ? l : [l];
          html += '<tr><td class="stripchart-swatch-cell"><div class="stripchart-swatch" style="background-color:'
            + esc(colors[i % colors.length]) + '"></div></td>';
          parts.forEach(function (part) { html += '<td>' + esc(part) + '</td>'; });
          html += '</tr>';
        });
        html += '</tbody></table>';
      } else {
        html = '<div class="stripchart-legend-items">';
        labels.forEach(function (l, i) {
          html += '<span class="stripchart-legend-item"><span class="stripchart-swatch" style="background-color:'
            + esc(colors[i % colors.length]) + '"></span>' + esc(l) + '</span>';
        });
        html += '</div>';
      }
      if (html !== this._legendHtml) {
        this._legendHtml = html;
        this._legend.html(html);
      }
    }
  });

  // Set after the widget factory has wrapped the methods: apps call it unbound
  // (`var nf = $.inmon.stripchart.prototype.valueStr; nf(v)`).
  $.inmon.stripchart.prototype.valueStr = valueStr;
}(jQuery));
