// Time-series charts with uPlot (vendor/uPlot.iife.min.js, global `uPlot`). A chart fills its
// container's width, follows the colour scheme, and records on its element how many points it
// last drew (`data-points`), which the browser tests read.

import { si } from './format.js';

/** The palette (CSS custom properties --s1..--s8) as colour strings. */
export function palette() {
  const cs = getComputedStyle(document.documentElement);
  return [1, 2, 3, 4, 5, 6, 7, 8].map((i) => cs.getPropertyValue(`--s${i}`).trim() || '#888');
}

function themeColors() {
  const cs = getComputedStyle(document.documentElement);
  return { fg: cs.getPropertyValue('--muted').trim(), grid: cs.getPropertyValue('--line').trim() };
}

/** `#rrggbb` with alpha, for bands. */
export function alpha(hex, a) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  return `rgba(${parseInt(m[1], 16)},${parseInt(m[2], 16)},${parseInt(m[3], 16)},${a})`;
}

/**
 * A time chart in `el`. `series`: [{label, color, scale?, hi?, lo?, band?}]: a series with
 * `hi`/`lo` (indices of two `band: true` series) is drawn with the interval between them
 * filled; band series have no line and no legend entry. `scale` ('%' or a unit) puts a series
 * on a second y axis at the right. `unit` labels the first axis. The x axis spans at least a
 * minute. The chart follows the colour scheme when it changes.
 */
export class TimeChart {
  constructor(el, { series, unit = '', height = 220, legend = true }) {
    this.el = el;
    this.spec = { series, unit, height, legend };
    this.data = [[], ...series.map(() => [])];
    el.classList.add('chart');
    // For screen readers: what is drawn (the values themselves are in the page's tables).
    el.setAttribute('role', 'img');
    el.setAttribute('aria-label', `Chart over time: ${series.filter((s) => !s.band).map((s) => s.label).join(', ')}`);
    this.build();
    this.ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - this.u.width) > 2) this.u.setSize({ width: w, height });
    });
    this.ro.observe(el);
    this.mq = window.matchMedia('(prefers-color-scheme: dark)');
    this.onScheme = () => { this.u.destroy(); this.build(); };
    this.mq.addEventListener('change', this.onScheme);
  }

  build() {
    const { series, unit, height, legend } = this.spec;
    const el = this.el;
    const { fg, grid } = themeColors();
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif' };
    const fmt = (u) => (v) => (u === '%' ? `${+v.toPrecision(3)} %` : si(v, u));
    const bands = [];
    const useries = [{}];
    const scales = [];
    series.forEach((s) => {
      if (s.band) {
        useries.push({ label: s.label, stroke: 'transparent', points: { show: false }, width: 0 });
        return;
      }
      const scale = s.scale || 'y';
      if (!scales.includes(scale)) scales.push(scale);
      const f = fmt(s.scale || unit);
      useries.push({
        label: s.label,
        scale,
        stroke: s.color,
        width: 1.5,
        points: { show: true, size: 4, fill: s.color },
        value: (u, v) => (v === null || v === undefined ? '–' : f(v)),
      });
      if (s.hi !== undefined) bands.push({ series: [s.hi + 1, s.lo + 1], fill: alpha(s.color, 0.22) });
    });
    // Band edges share their series' scale.
    series.forEach((s) => {
      if (s.hi !== undefined) {
        useries[s.hi + 1].scale = s.scale || 'y';
        useries[s.lo + 1].scale = s.scale || 'y';
      }
    });
    const yRange = (u, min, max) => [Math.min(0, min ?? 0), max > 0 ? max * 1.08 : 1];
    // x: the data's own span, at least a minute (uPlot widens a single point to days).
    const xRange = (u, min, max) => {
      const t = u.data[0];
      if (!t || !t.length) return [min ?? 0, max ?? 60];
      const hi = t[t.length - 1];
      return [Math.min(t[0], hi - 60), hi];
    };
    const uscales = { x: { time: true, range: xRange } };
    const axes = [axis];
    scales.forEach((sc, i) => {
      uscales[sc] = { range: yRange };
      const f = fmt(sc === 'y' ? unit : sc);
      axes.push({
        ...axis, scale: sc, side: i === 0 ? 3 : 1, grid: i === 0 ? axis.grid : { show: false },
        size: (u, values) => Math.max(40, 12 + 7 * Math.max(0, ...(values || []).map((v) => String(v).length))),
        values: (u, vals) => vals.map(f),
      });
    });
    const opts = {
      width: Math.max(200, el.clientWidth || 600),
      height,
      series: useries,
      bands,
      legend: { show: legend },
      cursor: { points: { size: 6 } },
      scales: uscales,
      axes,
      hooks: {
        draw: [(u) => {
          let n = 0;
          for (let i = 1; i < u.data.length; i++) {
            if (useries[i].stroke === 'transparent') continue;
            for (const v of u.data[i]) if (v !== null && v !== undefined) n++;
          }
          el.dataset.points = String(n);
        }],
      },
    };
    this.u = new uPlot(opts, this.data, el);
  }

  /** Replaces the data: [times (s), ...one array per series]. */
  setData(data) {
    this.data = data;
    this.u.setData(data);
  }

  /** Removes the chart. */
  destroy() {
    this.mq.removeEventListener('change', this.onScheme);
    this.ro.disconnect();
    this.u.destroy();
    delete this.el.dataset.points;
  }
}

/** A rolling window of samples: times (s) and one array per series, at most `keep` seconds. */
export class Window {
  constructor(n, keep = 600) {
    this.keep = keep;
    this.t = [];
    this.cols = Array.from({ length: n }, () => []);
  }

  /** Appends one sample (`values[i]` for series i, null for a gap). */
  push(t, values) {
    this.t.push(t);
    values.forEach((v, i) => this.cols[i].push(v));
    while (this.t.length && this.t[0] < t - this.keep) {
      this.t.shift();
      this.cols.forEach((c) => c.shift());
    }
  }

  /** uPlot data. */
  data() {
    return [this.t, ...this.cols];
  }
}
