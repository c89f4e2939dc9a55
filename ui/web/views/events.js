// Events and thresholds: a live list of events (long-poll on /events/json) and the
// thresholds (/threshold/json), which can be created and deleted unless the server is
// read-only.

import { ensureToken } from '../app.js';
import { canWrite, del, every, getJson, put, server, token } from '../lib/api.js';
import { h, si } from '../lib/format.js';

const MAX_SHOWN = 200;

export function mount(main, params, setParams) {
  const writable = canWrite();
  const err = h('p', { class: 'err', role: 'alert' });
  const list = h('ul', { class: 'events', id: 'events', 'aria-live': 'polite' });
  const thresholds = h('div', { class: 'scroll', id: 'thresholds' });
  const metricList = h('datalist', { id: 'metric-list' });
  const only = h('input', { type: 'search', name: 'threshold', placeholder: 'all thresholds', value: params.get('threshold') || '', 'aria-label': 'Show events of threshold' });
  let form = null;
  if (writable) {
    form = h('form', { class: 'inline', id: 'threshold-form', 'aria-label': 'New threshold' },
      h('label', {}, 'Name', h('input', { name: 'name', required: true, pattern: '[A-Za-z0-9_\\-]+', size: '12', placeholder: 'name' })),
      h('label', {}, 'Metric', h('input', { name: 'metric', required: true, list: 'metric-list', size: '16', placeholder: 'flow or metric' })),
      h('label', {}, 'Value', h('input', { name: 'value', required: true, type: 'number', step: 'any', size: '8' })),
      h('label', {}, h('input', { name: 'byFlow', type: 'checkbox' }), 'by flow'),
      h('label', {}, 'Timeout', h('input', { name: 'timeout', type: 'number', min: '0', step: 'any', value: '60', size: '4' })),
      h('button', { class: 'primary', type: 'submit' }, 'Create'),
      metricList);
  }
  main.append(
    h('div', { class: 'bar' }, h('h1', {}, 'Events and thresholds')),
    err,
    h('div', { class: 'cols' },
      h('div', { class: 'panel' }, h('div', { class: 'bar' }, h('h2', {}, 'Events (live)'), h('span', { class: 'spacer' }), only), list),
      h('div', { class: 'panel' }, h('h2', {}, 'Thresholds'), form, thresholds)),
  );

  const events = [];
  let lastId = 0;
  const drawEvents = () => {
    const want = only.value.trim();
    const shown = events.filter((e) => !want || e.thresholdID === want);
    list.replaceChildren(...shown.map((e) => h('li', { dataset: { threshold: e.thresholdID } },
      h('span', { class: 'muted mono' }, new Date(e.timestamp).toLocaleTimeString()), ' ',
      h('b', {}, e.thresholdID), ' ',
      h('span', { class: 'mono' }, e.metric), ` = ${si(e.value)} ≥ ${si(e.threshold)} `,
      h('span', { class: 'muted' }, `agent ${e.agent} ds ${e.dataSource}`),
      e.flowKey ? [' ', h('span', { class: 'mono' }, e.flowKey)] : null)));
    if (!shown.length) list.append(h('li', { class: 'empty' }, 'No events yet. Events appear here as thresholds are crossed.'));
  };
  only.addEventListener('input', () => {
    if (only.value) params.set('threshold', only.value); else params.delete('threshold');
    setParams(params);
    drawEvents();
  });
  drawEvents();

  // Long-poll: the first request answers at once with the events so far; each next one
  // waits (up to 60 s) for events newer than the newest shown.
  let first = true;
  const stopEvents = every(0, async (signal) => {
    const wait = first ? 0 : 60;
    const got = await getJson(`/events/json?eventID=${lastId}&maxEvents=${MAX_SHOWN}&timeout=${wait}`, signal);
    first = false;
    if (got.length) {
      events.push(...got);
      events.sort((a, b) => b.eventID - a.eventID);
      events.splice(MAX_SHOWN);
      lastId = events[0].eventID;
      drawEvents();
    }
  }, (e) => { err.textContent = `Cannot read events: ${e.message}`; });

  async function loadThresholds() {
    const t = await getJson('/threshold/json');
    const names = Object.keys(t).sort();
    const rows = names.map((n) => h('tr', { dataset: { name: n } },
      h('td', {}, h('b', {}, n)), h('td', { class: 'mono' }, t[n].metric), h('td', { class: 'num' }, si(t[n].value)),
      h('td', {}, t[n].byFlow ? 'by flow' : ''), h('td', { class: 'num' }, t[n].timeout ?? ''),
      writable ? h('td', {}, h('button', { type: 'button', class: 'danger', 'aria-label': `Delete threshold ${n}`, onclick: () => remove(n) }, 'Delete')) : null));
    const table = h('table', { 'aria-label': 'Thresholds' },
      h('thead', {}, h('tr', {}, h('th', {}, 'name'), h('th', {}, 'metric'), h('th', { class: 'num' }, 'value'), h('th', {}, ''), h('th', { class: 'num' }, 'timeout'), writable ? h('th', {}, '') : null)),
      h('tbody', {}, rows));
    if (!names.length) table.querySelector('tbody').append(h('tr', {}, h('td', { colspan: '6', class: 'empty' }, 'No thresholds.')));
    thresholds.replaceChildren(table);
  }

  function tokenMissing() {
    if (server.writes === 'token' && !token()) {
      err.textContent = 'This server needs its bearer token for changes: use "Set token".';
      ensureToken();
      return true;
    }
    return false;
  }

  async function remove(name) {
    if (tokenMissing()) return;
    try {
      await del(`/threshold/${encodeURIComponent(name)}/json`);
      err.textContent = '';
    } catch (e) { err.textContent = `Cannot delete ${name}: ${e.message}`; }
    loadThresholds().catch(() => {});
  }

  if (form) {
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (tokenMissing()) return;
      const f = form.elements;
      const def = { metric: f.metric.value.trim(), value: Number(f.value.value), byFlow: f.byFlow.checked };
      if (f.timeout.value !== '') def.timeout = Number(f.timeout.value);
      try {
        await put(`/threshold/${encodeURIComponent(f.name.value.trim())}/json`, def);
        err.textContent = '';
        form.reset();
      } catch (x) { err.textContent = `Cannot create the threshold: ${x.message}`; }
      loadThresholds().catch(() => {});
    });
    Promise.all([getJson('/flow/json'), getJson('/metrics/json')]).then(([flows, metrics]) => {
      metricList.replaceChildren(...[...Object.keys(flows), ...Object.keys(metrics)].map((m) => h('option', { value: m })));
    }).catch(() => {});
  }
  loadThresholds().catch((e) => { err.textContent = `Cannot list thresholds: ${e.message}`; });
  const stopThresholds = every(5000, () => loadThresholds());
  return () => { stopEvents(); stopThresholds(); };
}
