// flowlens: the `heatmap` jQuery widget of sFlow-RT's heatmap app pages (`$.inmon.heatmap`),
// flowlens's own implementation of the interface apps call (see ui/inc/README.md).
// Needs `$.widget`: load jquery-ui/jquery-ui.min.js or jquery.widget.js first.
//
//   var w = $('#traffic').heatmap({radius: 10, axisShow: true});
//   w.heatmap('draw', [{x: 0.1, y: 0.2, z: 0.9}, …]);   // x, y, z: fractions 0..1
//   w.heatmap('draw');                                  // redraws the last points (resize)
//   w.heatmap('cells');                                 // [{col, row, heat}, …] last drawn
//
// Each point spreads its heat `z` over the cells within `radius` pixels of (x·width,
// y·height) (x from the left, y from the top); a cell's heat is the largest any point gives
// it, so nearby points do not saturate one another. Cells are drawn in a blue → cyan →
// yellow → red ramp (darker red at the very top), transparent where there is no heat, so the page's own background
// (light or dark) shows through.
(function ($) {
  'use strict';
  if (!$.widget) {
    throw new Error('jquery.heatmap.js needs $.widget: load jquery.widget.js or jquery-ui first');
  }

  // The colour ramp: [heat, r, g, b, alpha], heat rising from 0 to 1.
  var RAMP = [
    [0.0, 40, 60, 190, 0.35],
    [0.3, 30, 140, 230, 0.65],
    [0.55, 40, 200, 190, 0.85],
    [0.72, 240, 220, 50, 0.95],
    [0.88, 225, 45, 35, 1.0],
    [1.0, 185, 15, 30, 1.0]
  ];

  /** The ramp's colour for heat `h` (0..1) as [r, g, b, alpha]. */
  function rampColor(h) {
    h = Math.max(0, Math.min(1, h));
    for (var i = 1; i < RAMP.length; i++) {
      if (h <= RAMP[i][0]) {
        var a = RAMP[i - 1];
        var b = RAMP[i];
        var f = (h - a[0]) / (b[0] - a[0]);
        return [0, 1, 2, 3].map(function (k) { return a[k + 1] + (b[k + 1] - a[k + 1]) * f; });
      }
    }
    return RAMP[RAMP.length - 1].slice(1);
  }

  /** The element's text colour as `rgba(r, g, b, alpha)` (the page's theme, light or dark). */
  function inkColor(el, alpha) {
    var m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(window.getComputedStyle(el).color || '');
    var rgb = m ? [m[1], m[2], m[3]] : [0, 0, 0];
    return 'rgba(' + rgb.join(', ') + ', ' + alpha + ')';
  }

  $.widget('inmon.heatmap', {
    options: {
      /** The diagonal (x = y: a source talking to itself) drawn as a reference line. */
      axisShow: true,
      /** The diagonal's colour; null: the element's text colour, faint. */
      axisColor: null,
      /** How far (px) a point's heat spreads. */
      radius: 10,
      /** Side of a cell (px); null: a fifth of `radius`, at least 2. */
      cellSize: null,
      /** The element's CSS height when it has none of its own (apps pass `height`). */
      height: null
    },

    _create: function () {
      this.element.addClass('heatmap');
      if (this.options.height) this.element.css('height', this.options.height);
      else if (this.element.height() < 40) this.element.css('height', '400px');
      this._canvas = $('<canvas class="heatmap-canvas"></canvas>')
        .css({ display: 'block', width: '100%', height: '100%' })
        .appendTo(this.element);
      this._points = [];
      this._cells = [];
    },

    _destroy: function () {
      this._canvas.remove();
      this.element.removeClass('heatmap').removeAttr('data-cells');
    },

    /** The cells the last draw filled: [{col, row, heat}], heat 0..1. */
    cells: function () {
      return this._cells.slice();
    },

    /** Draws `points` ([{x, y, z}], fractions); with no argument, redraws the last ones. */
    draw: function (points) {
      if (points !== undefined) this._points = Array.isArray(points) ? points : [];
      var canvas = this._canvas[0];
      if (!canvas.getContext) return;
      var w = this._canvas.width();
      var h = this._canvas.height();
      var ratio = window.devicePixelRatio || 1;
      canvas.width = Math.max(1, Math.floor(w * ratio));
      canvas.height = Math.max(1, Math.floor(h * ratio));
      var ctx = canvas.getContext('2d');
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, w, h);
      if (!w || !h) return;

      var o = this.options;
      var radius = Math.max(1, Number(o.radius) || 10);
      var size = Math.max(2, Number(o.cellSize) || Math.round(radius / 5));
      var cols = Math.ceil(w / size);
      var rows = Math.ceil(h / size);
      var heat = new Float32Array(cols * rows);
      var reach = Math.ceil(radius / size);
      this._points.forEach(function (p) {
        var x = Number(p.x) * w;
        var y = Number(p.y) * h;
        var z = Number(p.z);
        if (!isFinite(x) || !isFinite(y) || !(z > 0)) return;
        z = Math.min(1, z);
        var c0 = Math.floor(x / size);
        var r0 = Math.floor(y / size);
        for (var r = Math.max(0, r0 - reach); r <= Math.min(rows - 1, r0 + reach); r++) {
          for (var c = Math.max(0, c0 - reach); c <= Math.min(cols - 1, c0 + reach); c++) {
            var dx = (c + 0.5) * size - x;
            var dy = (r + 0.5) * size - y;
            var d = Math.sqrt(dx * dx + dy * dy) / radius;
            if (d > 1) continue;
            // A smooth bump: full heat at the point, none at `radius`.
            var v = z * (1 - d * d) * (1 - d * d);
            var i = r * cols + c;
            if (v > heat[i]) heat[i] = v;
          }
        }
      });

      var cells = [];
      for (var i = 0; i < heat.length; i++) {
        if (heat[i] < 0.02) continue;
        var col = i % cols;
        var row = (i - col) / cols;
        var rgba = rampColor(heat[i]);
        ctx.fillStyle = 'rgba(' + Math.round(rgba[0]) + ',' + Math.round(rgba[1]) + ',' +
          Math.round(rgba[2]) + ',' + rgba[3].toFixed(3) + ')';
        ctx.fillRect(col * size, row * size, size, size);
        cells.push({ col: col, row: row, heat: heat[i] });
      }
      this._cells = cells;
      this.element.attr('data-cells', cells.length);

      if (o.axisShow) {
        ctx.strokeStyle = o.axisColor || inkColor(this.element[0], 0.25);
        ctx.lineWidth = 1;
        ctx.setLineDash([4, 4]);
        ctx.beginPath();
        ctx.moveTo(0, 0);
        ctx.lineTo(w, h);
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }
  });
})(jQuery);
