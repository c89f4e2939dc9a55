// flowlens: the `sunburst` jQuery widget of sFlow-RT's sunburst app pages (`$.inmon.sunburst`),
// flowlens's own implementation of the interface apps call (see ui/inc/README.md).
// Needs `$.widget`: load jquery-ui/jquery-ui.min.js or jquery.widget.js first.
//
//   var w = $('#sunburst').sunburst({clickable: true});
//   w.sunburst('draw', {label: 'Protocols', value: 12, depth: 2, children: {
//     ip: {value: 10, id: 'ip', filter: '…', children: {tcp: {value: 8}, udp: {value: 2}}},
//     arp: {value: 2}}});
//   w.on('sunburstclick', function (e, seg) { seg.id, seg.filter, seg.key, seg.path });
//   w.sunburst('segments');   // what the last draw showed: [{key, path, depth, value, …}]
//
// Ring n (from 0) holds the nodes n + 1 levels below the root, between radius
// centerRadius + n·step and centerRadius + (n + 1)·step, step sharing the rest of the
// element's half-size among `depth` rings. A node's angle is its share of the root's value;
// siblings go clockwise from 12 o'clock in key order; a key keeps its colour from draw to draw.
(function ($) {
  'use strict';
  if (!$.widget) {
    throw new Error('jquery.sunburst.js needs $.widget: load jquery.widget.js or jquery-ui first');
  }

  var TAU = 2 * Math.PI;
  var TOP = -Math.PI / 2;

  /** 32-bit FNV-1a of `s`, from `seed` (or the FNV offset basis). */
  function fnv1a(s, seed) {
    var h = (seed === undefined || seed === null) ? 0x811c9dc5 : seed >>> 0;
    for (var i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return h >>> 0;
  }

  /** [r, g, b] of a CSS colour ('#rgb', '#rrggbb' or 'rgb[a](…)'); null if unknown. */
  function parseColor(c) {
    var m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(c || '');
    if (m) {
      var hex = m[1].length === 3 ? m[1].replace(/./g, '$&$&') : m[1];
      return [0, 2, 4].map(function (i) { return parseInt(hex.substr(i, 2), 16); });
    }
    m = /rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?/.exec(c || '');
    if (m && (m[4] === undefined || Number(m[4]) > 0)) return [+m[1], +m[2], +m[3]];
    return null;
  }

  /** Relative luminance (0 black .. 1 white) of [r, g, b]. */
  function luminance(rgb) {
    return (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255;
  }

  /** The page's colours around `el`: its text colour and the first opaque background. */
  function theme(el) {
    var ink = parseColor(window.getComputedStyle(el).color) || [0, 0, 0];
    var bg = null;
    for (var n = el; n && n.nodeType === 1 && !bg; n = n.parentNode) {
      bg = parseColor(window.getComputedStyle(n).backgroundColor);
    }
    return { ink: ink, bg: bg || [255, 255, 255] };
  }

  function css(rgb, alpha) {
    return 'rgba(' + rgb.join(', ') + ', ' + (alpha === undefined ? 1 : alpha) + ')';
  }

  function numberStr(v) {
    if (!isFinite(v)) return '';
    var a = Math.abs(v);
    var si = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
    for (var i = 0; i < si.length; i++) {
      if (a >= si[i][0]) return Number((v / si[i][0]).toPrecision(3)) + si[i][1];
    }
    return String(Number(v.toPrecision(3)));
  }

  /** The tree's depth: the deepest chain of `children` below `node`. */
  function treeDepth(node) {
    var d = 0;
    if (node && node.children) {
      Object.keys(node.children).forEach(function (k) { d = Math.max(d, 1 + treeDepth(node.children[k])); });
    }
    return d;
  }

  /** Lays the tree out: one segment per node, each with its ring and angles. */
  function layout(root, total) {
    var segs = [];
    (function walk(node, depth, start, path) {
      if (!node.children) return;
      Object.keys(node.children).sort().forEach(function (key) {
        var child = node.children[key] || {};
        var value = Number(child.value) || 0;
        if (value <= 0) return;
        var span = (value / total) * TAU;
        var p = path.concat([key]);
        segs.push({ key: key, path: p, id: child.id, filter: child.filter, depth: depth,
          value: value, start: start, end: start + span });
        walk(child, depth + 1, start, p);
        start += span;
      });
    })(root, 0, TOP, []);
    return segs;
  }

  $.widget('inmon.sunburst', {
    options: {
      /** Clicks on a segment trigger `sunburstclick` with {id, filter, key, path}. */
      clickable: false,
      fontFamily: 'sans-serif',
      /** Radius (px) of the centre disc holding the root's label. */
      centerRadius: 60,
      /** Centre disc's fill, outline and text; null: the page's background and text colour. */
      centerColor: null,
      centerOutlineColor: null,
      centerTextColor: null,
      centerFontSize: 20,
      /** The centre label's whole CSS font (older pages); overrides centerFontSize. */
      centerFont: null,
      /** Gaps between segments; null: the page's background colour. */
      segmentOutlineColor: null,
      /** Segment labels; null: dark or light, whichever reads better on the segment. */
      segmentTextColor: null,
      /** Largest label size (px); labels shrink to fit their segment, down to 8 px, or go. */
      segmentFontSize: 15,
      /** Labels run along the radius (else horizontal). */
      segmentFontRotate: true,
      /** The element's CSS height when it has none of its own. */
      height: null,
      /** Hash seed for the key → colour choice. */
      seed: null,
      /** Segment colours, chosen by a hash of the key. */
      colors: ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477',
        '#66aa00', '#b82e2e', '#316395', '#994499', '#22aa99', '#aaaa11', '#6633cc', '#e67300',
        '#8b0707', '#651067', '#329262', '#5574a6', '#3b3eac', '#b77322', '#16d620', '#b91383',
        '#f4359e', '#9c5935', '#a9c413', '#2a778d', '#668d1c', '#bea413', '#0c5922', '#743411']
    },

    _create: function () {
      this.element.addClass('sunburst');
      if (this.options.height) this.element.css('height', this.options.height);
      else if (this.element.height() < 40) this.element.css('height', '400px');
      this._canvas = $('<canvas class="sunburst-canvas"></canvas>')
        .css({ display: 'block', width: '100%', height: '100%' })
        .appendTo(this.element);
      this._data = {};
      this._segs = [];
      this._geom = null;
      this._on(this._canvas, { mousemove: '_hover', click: '_click' });
      if (this.options.clickable) this._canvas.addClass('clickable').css('cursor', 'pointer');
    },

    _destroy: function () {
      this._canvas.remove();
      this.element.removeClass('sunburst').removeAttr('data-segments');
    },

    /** The segments the last draw showed: [{key, path, id, filter, depth, value, start, end,
     *  label}] (angles in radians, clockwise from 3 o'clock; `label`: the text drawn, or null). */
    segments: function () {
      return this._segs.map(function (s) { return $.extend({}, s); });
    },

    /** The segment under the page position (`pageX`, `pageY`), or null. */
    _segmentAt: function (e) {
      var g = this._geom;
      if (!g) return null;
      var off = this._canvas.offset();
      var x = e.pageX - off.left - g.cx;
      var y = e.pageY - off.top - g.cy;
      var r = Math.sqrt(x * x + y * y);
      if (r < g.cr) return null;
      var ring = Math.floor((r - g.cr) / g.step);
      var a = Math.atan2(y, x);
      while (a < TOP) a += TAU;
      for (var i = 0; i < this._segs.length; i++) {
        var s = this._segs[i];
        if (s.depth === ring && a >= s.start && a < s.end) return s;
      }
      return null;
    },

    _hover: function (e) {
      var s = this._segmentAt(e);
      this._canvas.attr('title', s ? s.path.join(' \u203a ') + ': ' + numberStr(s.value) : '');
    },

    _click: function (e) {
      if (!this.options.clickable) return;
      var s = this._segmentAt(e);
      if (s) this._trigger('click', e, { id: s.id, filter: s.filter, key: s.key, path: s.path.slice() });
    },

    /** Draws `data` (see the file's header); with no argument, redraws the last data. */
    draw: function (data) {
      if (data !== undefined) this._data = data || {};
      data = this._data;
      var canvas = this._canvas[0];
      if (!canvas.getContext) return;
      var o = this.options;
      var w = this._canvas.width();
      var h = this._canvas.height();
      var ratio = window.devicePixelRatio || 1;
      canvas.width = Math.max(1, Math.floor(w * ratio));
      canvas.height = Math.max(1, Math.floor(h * ratio));
      var ctx = canvas.getContext('2d');
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, w, h);
      this._segs = [];
      this._geom = null;
      this.element.attr('data-segments', 0);
      if (!w || !h) return;

      var th = theme(this.element[0]);
      var cx = w / 2;
      var cy = h / 2;
      var half = Math.min(cx, cy) - 2;
      var cr = Math.min(Number(o.centerRadius) || 0, half / 2);
      var total = Number(data.value) || 0;
      var depth = Math.max(Number(data.depth) || 0, treeDepth(data));
      var segs = total > 0 && depth > 0 ? layout(data, total) : [];
      var step = depth > 0 ? (half - cr) / depth : 0;
      this._geom = { cx: cx, cy: cy, cr: cr, step: step };
      ctx.translate(cx, cy);

      var outline = o.segmentOutlineColor || css(th.bg);
      var colors = o.colors && o.colors.length ? o.colors : ['#3366cc'];
      segs.forEach(function (s) {
        var r0 = cr + s.depth * step;
        s.color = colors[fnv1a(s.key, o.seed) % colors.length];
        ctx.beginPath();
        ctx.arc(0, 0, r0 + step, s.start, s.end);
        ctx.arc(0, 0, r0, s.end, s.start, true);
        ctx.closePath();
        ctx.fillStyle = s.color;
        ctx.fill();
        ctx.lineWidth = 1.5;
        ctx.strokeStyle = outline;
        ctx.stroke();
      });

      // Labels: each as large as fits its segment (up to segmentFontSize): across the ring
      // along the arc when the arc is long enough, else along the radius; shrunk down to
      // 10 px, then shortened with an ellipsis, else (under 8 px) left out (the segment's
      // tooltip still names it).
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'center';
      var maxSize = Number(o.segmentFontSize) || 15;
      var font = function (size) { ctx.font = size + 'px ' + o.fontFamily; };
      segs.forEach(function (s) {
        s.label = null;
        var mid = (s.start + s.end) / 2;
        var rm = cr + s.depth * step + step / 2;
        var arc = (s.end - s.start) * rm; // arc length at the ring's middle
        var text = s.key;
        var size, along, turn;
        if (o.segmentFontRotate) {
          size = Math.min(maxSize, step - 8);
          font(size);
          if (size >= 8 && ctx.measureText(text).width <= arc - 8) {
            // Along the arc, upright: tangent to the ring, flipped on the lower half.
            turn = Math.sin(mid) > 0 ? mid - Math.PI / 2 : mid + Math.PI / 2;
            along = arc - 8;
          } else {
            // Along the radius, never upside down.
            size = Math.min(maxSize, arc - 2);
            turn = Math.cos(mid) < 0 ? mid + Math.PI : mid;
            along = step - 8;
          }
        } else {
          size = Math.min(maxSize, step / 2);
          turn = 0;
          along = Math.min(step, arc) - 6;
        }
        if (size < 8 || along < 12) return;
        font(size);
        while (ctx.measureText(text).width > along && size > 10) font(--size);
        if (ctx.measureText(text).width > along) {
          while (text.length > 1 && ctx.measureText(text + '\u2026').width > along) text = text.slice(0, -1);
          if (text.length < 2) return;
          text += '\u2026';
        }
        var rgb = parseColor(s.color) || [0, 0, 0];
        ctx.fillStyle = o.segmentTextColor || (luminance(rgb) > 0.55 ? '#1a1a1a' : '#ffffff');
        ctx.save();
        ctx.translate(rm * Math.cos(mid), rm * Math.sin(mid));
        ctx.rotate(turn);
        ctx.fillText(text, 0, 0);
        ctx.restore();
        s.label = text;
      });

      if (cr > 0) {
        ctx.beginPath();
        ctx.arc(0, 0, cr, 0, TAU);
        ctx.fillStyle = o.centerColor || css(th.bg);
        ctx.fill();
        ctx.lineWidth = 1;
        ctx.strokeStyle = o.centerOutlineColor || css(th.ink, 0.3);
        ctx.stroke();
        if (data.label) {
          ctx.font = o.centerFont || (o.centerFontSize + 'px ' + o.fontFamily);
          ctx.textAlign = 'center';
          ctx.fillStyle = o.centerTextColor || css(th.ink);
          var label = String(data.label);
          while (label.length > 1 && ctx.measureText(label).width > 2 * cr - 8) label = label.slice(0, -1);
          ctx.fillText(label === String(data.label) ? label : label + '\u2026', 0, total > 0 ? -8 : 0);
          if (total > 0) {
            ctx.font = Math.round((Number(o.centerFontSize) || 20) * 0.65) + 'px ' + o.fontFamily;
            ctx.fillStyle = css(th.ink, 0.7);
            ctx.fillText(numberStr(total), 0, 12);
          }
        }
      }
      this._segs = segs;
      this.element.attr('data-segments', segs.length);
    }
  });
})(jQuery);
