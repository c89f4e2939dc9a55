// Flows: define a flow (keys, value, filter) over REST (PUT /flow/<name>/json) and watch it:
// a live top-N table from /activeflows/ALL/<name>/json and a trend of the last 10 minutes in
// which every value carries its 95 % confidence interval (the `ci95` half-width) as a band.
// A read-only server cannot define flows: the page then watches the flows already defined.

import { ensureToken } from '../app.js';
import { canWrite, every, getJson, put, server, token } from '../lib/api.js';
import { TimeChart, palette } from '../lib/chart.js';
import { h, si } from '../lib/format.js';

const POLL_MS = 1000;
const KEEP_SECS = 600;
const TREND_KEYS = 6;
const VALUES = ['bytes', 'frames', 'packets', 'ipbytes', 'requests', 'fragments'];

/** FNV-1a of the definition: the same view reuses the same flow name. */
function flowName(def) {
  let x = 0x811c9dc5;
  for (const c of JSON.stringify(def)) {
    x ^= c.charCodeAt(0);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return `ui_${x.toString(16).padStart(8, '0')}`;
}

const unitOf = (value) => ({ bytes: 'B/s', ipbytes: 'B/s', frames: 'fr/s', packets: 'pkt/s' })[value] || '/s';

export function mount(main, params, setParams) {
  const writable = canWrite();
  const err = h('p', { class: 'err', role: 'alert' });
  const info = h('span', { class: 'hint', id: 'flow-info' });
  const n = Number(params.get('n')) || 20;
  const form = h('form', { class: 'inline', id: 'flow-form', 'aria-label': 'Flow definition' });
  const keyList = h('datalist', { id: 'flowkeys-list' });
  const valueList = h('datalist', { id: 'flowvalues-list' }, VALUES.map((v) => h('option', { value: v })));
  let keysInput = null;
  let flowSelect = null;
  if (writable) {
    keysInput = h('input', {
      name: 'keys', list: 'flowkeys-list', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'ipsource,ipdestination', value: params.get('keys') || 'ipsource,ipdestination',
      'aria-label': 'Flow keys (comma-separated)',
    });
    form.append(
      h('label', {}, 'Keys', keysInput),
      h('label', {}, 'Value', h('input', { name: 'value', list: 'flowvalues-list', value: params.get('value') || 'bytes', size: '8', 'aria-label': 'Value' })),
      h('label', {}, 'Filter', h('input', { name: 'filter', value: params.get('filter') || '', placeholder: 'e.g. ipprotocol=6', spellcheck: 'false', 'aria-label': 'Filter' })),
    );
  } else {
    flowSelect = h('select', { name: 'flow', 'aria-label': 'Defined flow' });
    form.append(h('label', {}, 'Flow', flowSelect));
  }
  form.append(
    h('label', {}, 'Top', h('select', { name: 'n', 'aria-label': 'Top N' }, [10, 20, 50, 100].map((x) => h('option', { value: x, selected: x === n }, x)))),
    h('button', { class: 'primary', type: 'submit' }, writable ? 'Apply' : 'Show'),
    keyList, valueList,
  );
  const tableEl = h('div', { class: 'scroll', id: 'flows-table' });
  const chartEl = h('div', { id: 'flows-chart' });
  main.append(
    h('div', { class: 'bar' }, h('h1', {}, 'Flows'), info),
    h('div', { class: 'panel', style: 'margin-bottom:10px' }, form),
    err,
    h('div', { class: 'panel', style: 'margin-bottom:10px' },
      h('h2', {}, 'Trend: up to 10 minutes, sampled while this page is open (bands: 95 % confidence interval)'), chartEl),
    h('div', { class: 'panel' }, h('h2', {}, 'Top flows'), tableEl),
  );

  // Completion: each known key after what is typed up to the last comma.
  let allKeys = [];
  const complete = () => {
    if (!keysInput) return;
    const v = keysInput.value;
    const head = v.includes(',') ? v.slice(0, v.lastIndexOf(',') + 1) : '';
    const tail = v.slice(head.length).trim();
    const opts = allKeys.filter((k) => k.startsWith(tail)).slice(0, 200).map((k) => h('option', { value: head + k }));
    keyList.replaceChildren(...opts);
  };
  // The keys seen so far (/flowkeys/json), refreshed every few seconds.
  let stopKeys = () => {};
  if (keysInput) {
    stopKeys = every(3000, async (signal) => {
      allKeys = Object.keys(await getJson('/flowkeys/json', signal)).sort();
      complete();
    });
    keysInput.addEventListener('input', complete);
  }

  let stopPoll = () => {};
  let chart = null;
  let chartKeys = '';
  const colors = new Map();
  const hist = { t: [], keys: new Map() };

  function colorOf(key) {
    if (!colors.has(key)) {
      const p = palette();
      const used = new Set(colors.values());
      colors.set(key, p.find((c) => !used.has(c)) || p[colors.size % p.length]);
    }
    return colors.get(key);
  }

  function record(flows) {
    const t = Date.now() / 1000;
    hist.t.push(t);
    const seen = new Set();
    for (const f of flows) {
      if (!hist.keys.has(f.key)) hist.keys.set(f.key, { v: hist.t.slice(0, -1).map(() => null), ci: hist.t.slice(0, -1).map(() => null) });
      const s = hist.keys.get(f.key);
      s.v.push(f.value);
      s.ci.push(f.ci95);
      seen.add(f.key);
    }
    for (const [k, s] of hist.keys) {
      if (!seen.has(k)) { s.v.push(null); s.ci.push(null); }
    }
    while (hist.t.length && hist.t[0] < t - KEEP_SECS) {
      hist.t.shift();
      for (const s of hist.keys.values()) { s.v.shift(); s.ci.shift(); }
    }
    for (const [k, s] of hist.keys) if (s.v.every((v) => v === null)) hist.keys.delete(k);
  }

  function drawTrend(flows, unit) {
    const top = flows.slice(0, TREND_KEYS).map((f) => f.key).filter((k) => hist.keys.has(k));
    const sig = top.join('\n');
    if (sig !== chartKeys) {
      if (chart) chart.destroy();
      chartKeys = sig;
      const series = [];
      top.forEach((k, i) => {
        series.push({ label: k, color: colorOf(k), hi: top.length + 2 * i, lo: top.length + 2 * i + 1 });
      });
      top.forEach((k) => { series.push({ label: `${k} +ci`, band: true }); series.push({ label: `${k} -ci`, band: true }); });
      chartEl.replaceChildren();
      chart = top.length ? new TimeChart(chartEl, { series, unit, legend: false, height: 240 }) : null;
      if (!chart) chartEl.replaceChildren(h('p', { class: 'empty' }, 'Waiting for flows…'));
    }
    if (!chart) return;
    const vals = top.map((k) => hist.keys.get(k).v);
    const bands = top.flatMap((k) => {
      const s = hist.keys.get(k);
      return [s.v.map((v, i) => (v === null ? null : v + s.ci[i])), s.v.map((v, i) => (v === null ? null : Math.max(0, v - s.ci[i])))];
    });
    chart.setData([hist.t, ...vals, ...bands]);
  }

  function drawTable(flows, keyNames, unit) {
    const split = (k) => {
      const parts = k.split(',');
      return parts.length === keyNames.length ? parts : [k];
    };
    const cols = keyNames.length && flows.every((f) => split(f.key).length === keyNames.length) ? keyNames : ['key'];
    const head = h('tr', {}, h('th', { class: 'num' }, '#'), cols.map((c) => h('th', { scope: 'col' }, c)),
      h('th', { class: 'num' }, `value (${unit})`), h('th', { class: 'num', title: 'half-width of the 95 % confidence interval' }, '± 95 %'),
      h('th', { class: 'num hide-narrow' }, 'samples'), h('th', { class: 'hide-narrow' }, 'agent'), h('th', { class: 'hide-narrow' }, 'data source'));
    const rows = flows.map((f, i) => h('tr', { dataset: { key: f.key } },
      h('td', { class: 'num' }, i + 1),
      (cols.length === 1 ? [f.key] : split(f.key)).map((p, j) => h('td', { class: 'key', dataset: { col: cols[j] } },
        j === 0 && i < TREND_KEYS && hist.keys.has(f.key) ? h('span', { class: 'swatch', style: `background:${colorOf(f.key)}` }) : null, p)),
      h('td', { class: 'num' }, si(f.value)),
      h('td', { class: 'num' }, f.ci95 ? `± ${si(f.ci95)}` : '–'),
      h('td', { class: 'num hide-narrow' }, si(f.samples)),
      h('td', { class: 'mono hide-narrow' }, f.agent),
      h('td', { class: 'mono hide-narrow' }, f.dataSource)));
    const table = h('table', { 'aria-label': 'Top flows' }, h('thead', {}, head), h('tbody', {}, rows));
    if (!flows.length) table.querySelector('tbody').append(h('tr', {}, h('td', { class: 'empty', colspan: String(cols.length + 6) }, 'No active flows match yet.')));
    tableEl.replaceChildren(table);
  }

  function watch(name, keyNames, value, topN) {
    stopPoll();
    hist.t = [];
    hist.keys.clear();
    colors.clear();
    if (chart) { chart.destroy(); chart = null; }
    chartKeys = '';
    chartEl.replaceChildren(h('p', { class: 'empty' }, 'Waiting for flows…'));
    const unit = unitOf(value);
    info.textContent = `flow ${name}`;
    stopPoll = every(POLL_MS, async (signal) => {
      const flows = await getJson(`/activeflows/ALL/${encodeURIComponent(name)}/json?maxFlows=${topN}`, signal);
      err.textContent = '';
      record(flows);
      drawTrend(flows, unit);
      drawTable(flows, keyNames, unit);
    }, (e) => { err.textContent = `Cannot read flow ${name}: ${e.message}`; });
  }

  async function apply() {
    const topN = Number(form.elements.n.value) || 20;
    params.set('n', String(topN));
    if (!writable) {
      const name = flowSelect.value;
      if (!name) return;
      params.set('flow', name);
      setParams(params);
      const def = defs[name] || {};
      watch(name, String(def.keys || '').split(',').filter(Boolean), def.value || '', topN);
      return;
    }
    const keys = form.elements.keys.value.split(',').map((s) => s.trim()).filter(Boolean).join(',');
    const value = form.elements.value.value.trim() || 'bytes';
    const filter = form.elements.filter.value.trim();
    params.set('keys', keys);
    params.set('value', value);
    if (filter) params.set('filter', filter); else params.delete('filter');
    setParams(params);
    if (!keys) { err.textContent = 'Give at least one flow key.'; return; }
    const def = { keys, value };
    if (filter) def.filter = filter;
    const name = flowName(def);
    // The name is a hash of the definition: when it exists it is this one, and defining it
    // again would restart its tables (for every other viewer too).
    const known = await getJson('/flow/json').catch(() => ({}));
    if (!known[name]) {
      if (server.writes === 'token' && !token()) {
        err.textContent = 'This server needs its bearer token to define flows: use "Set token".';
        ensureToken();
        return;
      }
      try {
        await put(`/flow/${name}/json`, def);
      } catch (e) {
        err.textContent = `Cannot define the flow: ${e.message}`;
        return;
      }
    }
    watch(name, keys.split(','), value, topN);
  }

  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  const onToken = () => apply();
  window.addEventListener('flowlens:token', onToken);
  let defs = {};
  // Set once the page is left: an answer arriving later must not start polling again.
  let gone = false;
  if (writable) {
    apply();
  } else {
    getJson('/flow/json').then((d) => {
      if (gone) return;
      defs = d;
      const names = Object.keys(d).sort();
      flowSelect.replaceChildren(...names.map((x) => h('option', { value: x, selected: x === params.get('flow') }, x)));
      if (!names.length) { err.textContent = 'No flows are defined, and this server is read-only.'; return; }
      apply();
    }).catch((e) => { err.textContent = `Cannot list flows: ${e.message}`; });
  }
  return () => {
    gone = true;
    window.removeEventListener('flowlens:token', onToken);
    stopPoll();
    stopKeys();
    if (chart) chart.destroy();
  };
}
