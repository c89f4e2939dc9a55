// Number, size, rate and duration formatting, and a tiny DOM builder.

const SI = ['', 'k', 'M', 'G', 'T', 'P'];

/** 1234567 -> "1.23 M" (SI, three significant digits). */
export function si(v, unit = '') {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  if (a < 1000) {
    const s = a === 0 || a >= 100 || Number.isInteger(v) ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toPrecision(3);
    return unit ? `${s} ${unit}` : s;
  }
  let i = 0;
  let x = a;
  while (x >= 1000 && i < SI.length - 1) { x /= 1000; i++; }
  const s = (v < 0 ? '-' : '') + (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  return `${s} ${SI[i]}${unit}`;
}

/** Bytes in binary units: 1536 -> "1.5 MiB" style. */
export function bytes(v) {
  if (v === null || v === undefined) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${u[i]}`;
}

/** An integer with thousands separators. */
export function int(v) {
  return v === null || v === undefined ? '–' : Math.round(v).toLocaleString('en-US');
}

/** Milliseconds -> "3d 4h", "5m 12s", "850 ms". */
export function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400); s %= 86400;
  const h = Math.floor(s / 3600); s %= 3600;
  const m = Math.floor(s / 60); s %= 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

/** A percentage with sensible precision. */
export function pct(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (v > 0 && v < 0.01) return '< 0.01 %';
  return `${v >= 10 ? v.toFixed(1) : v.toFixed(2)} %`;
}

/**
 * h('tr', {class: 'x', onclick}, child, ...): an element; strings become text nodes (never
 * HTML), null/false children are skipped, arrays are flattened.
 */
export function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  const add = (c) => {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) c.forEach(add);
    else e.append(c instanceof Node ? c : String(c));
  };
  children.forEach(add);
  return e;
}
