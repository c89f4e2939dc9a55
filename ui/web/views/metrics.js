// Metrics: every agent × interface with utilisation, errors and discards (/dump of the
// interface counter metrics); sortable; a row opens a chart of that interface over time,
// sampled by this page while it is open.

import { every, getJson } from '../lib/api.js';
import { TimeChart, Window, palette } from '../lib/chart.js';
import { h, pct, si } from '../lib/format.js';
import { SortTable } from '../lib/table.js';

const POLL_MS = 2000;
const METRICS = ['ifname', 'ifspeed', 'ifinutilization', 'ifoututilization', 'ifinerrors',
  'ifouterrors', 'ifindiscards', 'ifoutdiscards'];

function meter(v) {
  const w = Math.max(0, Math.min(100, v || 0));
  return h('span', {}, pct(v), h('span', { class: 'meter', 'aria-hidden': 'true' }, h('i', { style: `width:${w}%` })));
}

export function mount(main, params, setParams) {
  const err = h('p', { class: 'err', role: 'alert' });
  const tableEl = h('div', { id: 'interfaces' });
  const detail = h('div', { class: 'panel', id: 'metric-detail', hidden: true });
  const filter = h('input', { type: 'search', name: 'filter', placeholder: 'filter agent or interface', value: params.get('q') || '', 'aria-label': 'Filter interfaces' });
  main.append(
    h('div', { class: 'bar' }, h('h1', {}, 'Metrics'), filter,
      h('span', { class: 'hint' }, 'Interface counters from sFlow counter samples. Select a row for its chart.')),
    err, detail,
    h('div', { class: 'panel' }, tableEl),
  );
  const history = new Map();
  let rows = [];
  let chart = null;
  let selected = params.get('sel');

  const table = new SortTable(tableEl, {
    label: 'Interfaces',
    sort: params.get('sort') || 'inUtil',
    dir: params.get('dir') || 'desc',
    rowKey: (r) => r.id,
    onSort: (s, d) => { params.set('sort', s); params.set('dir', d); setParams(params); },
    onRow: (r) => select(r.id),
    columns: [
      { id: 'agent', label: 'Agent', cell: (r) => h('span', { class: 'mono' }, r.agent) },
      { id: 'ds', label: 'ifIndex', num: true },
      { id: 'name', label: 'Interface' },
      { id: 'speed', label: 'Speed', num: true, fmt: (v) => (v ? si(v, 'b/s') : '–') },
      { id: 'inUtil', label: 'In util.', num: true, cell: (r) => meter(r.inUtil) },
      { id: 'outUtil', label: 'Out util.', num: true, cell: (r) => meter(r.outUtil) },
      { id: 'inErr', label: 'In err/s', num: true, fmt: (v) => si(v) },
      { id: 'outErr', label: 'Out err/s', num: true, fmt: (v) => si(v) },
      { id: 'inDisc', label: 'In disc/s', num: true, fmt: (v) => si(v) },
      { id: 'outDisc', label: 'Out disc/s', num: true, fmt: (v) => si(v) },
    ],
  });
  table.selected = selected;

  const shown = () => {
    const q = filter.value.trim().toLowerCase();
    return q ? rows.filter((r) => `${r.agent} ${r.ds} ${r.name}`.toLowerCase().includes(q)) : rows;
  };
  filter.addEventListener('input', () => {
    if (filter.value) params.set('q', filter.value); else params.delete('q');
    setParams(params);
    table.render(shown());
  });

  function drawDetail() {
    const r = rows.find((x) => x.id === selected);
    if (!selected || !r) { detail.hidden = true; return; }
    detail.hidden = false;
    if (!chart) {
      const c = palette();
      const title = h('h2', { id: 'metric-title' });
      const el = h('div', { id: 'metric-chart' });
      const close = h('button', { type: 'button', class: 'ghost', onclick: () => select(null) }, 'Close');
      detail.replaceChildren(h('div', { class: 'bar' }, title, h('span', { class: 'spacer' }), close), el);
      chart = new TimeChart(el, {
        series: [
          { label: 'in utilisation', color: c[0], scale: '%' }, { label: 'out utilisation', color: c[1], scale: '%' },
          { label: 'in errors/s', color: c[4], scale: '/s' }, { label: 'out errors/s', color: c[5], scale: '/s' },
          { label: 'in discards/s', color: c[2], scale: '/s' }, { label: 'out discards/s', color: c[3], scale: '/s' },
        ],
      });
    }
    detail.querySelector('#metric-title').textContent = `${r.agent} · ifIndex ${r.ds}${r.name ? ` · ${r.name}` : ''} (since this page opened)`;
    chart.setData(history.get(selected).data());
  }

  function select(id) {
    selected = id;
    table.selected = id;
    if (id) params.set('sel', id); else params.delete('sel');
    setParams(params);
    if (chart) { chart.destroy(); chart = null; }
    table.render(shown());
    drawDetail();
  }

  const stop = every(POLL_MS, async (signal) => {
    const dump = await getJson(`/dump/ALL/${METRICS.join(',')}/json`, signal);
    err.textContent = '';
    const byId = new Map();
    for (const m of dump) {
      const id = `${m.agent}:${m.dataSource}`;
      if (!byId.has(id)) byId.set(id, { id, agent: m.agent, ds: Number(m.dataSource) || m.dataSource });
      byId.get(id)[m.metricName] = m.metricValue;
    }
    const now = Date.now() / 1000;
    rows = [...byId.values()].map((m) => ({
      id: m.id, agent: m.agent, ds: m.ds, name: m.ifname || '', speed: m.ifspeed,
      inUtil: m.ifinutilization, outUtil: m.ifoututilization, inErr: m.ifinerrors,
      outErr: m.ifouterrors, inDisc: m.ifindiscards, outDisc: m.ifoutdiscards,
    }));
    for (const r of rows) {
      if (!history.has(r.id)) history.set(r.id, new Window(6));
      history.get(r.id).push(now, [r.inUtil, r.outUtil, r.inErr, r.outErr, r.inDisc, r.outDisc].map((v) => v ?? null));
    }
    table.render(shown());
    drawDetail();
  }, (e) => { err.textContent = `Cannot load metrics: ${e.message}`; });

  return () => { stop(); if (chart) chart.destroy(); };
}
