// Apps and scripts: the status of every script (/scripts/json), each app's page linked
// (/app/<app>/html/).

import { every, getJson } from '../lib/api.js';
import { bytes, duration, h, int } from '../lib/format.js';

export function mount(main) {
  const err = h('p', { class: 'err', role: 'alert' });
  const appsEl = h('div', { id: 'apps' });
  const scriptsEl = h('div', { class: 'scroll', id: 'scripts' });
  main.append(
    h('div', { class: 'bar' }, h('h1', {}, 'Apps and scripts'),
      h('span', { class: 'hint' }, 'Scripts started with --script, from the apps directory, or built in (--builtin-app).')),
    err,
    h('div', { class: 'panel', style: 'margin-bottom:10px' }, h('h2', {}, 'Apps'), appsEl),
    h('div', { class: 'panel' }, h('h2', {}, 'Scripts'), scriptsEl),
  );
  const stop = every(3000, async (signal) => {
    const scripts = await getJson('/scripts/json', signal);
    err.textContent = '';
    const apps = [...new Set(scripts.map((s) => s.app).filter(Boolean))].sort();
    appsEl.replaceChildren(apps.length
      ? h('ul', { class: 'ops' }, apps.map((a) => h('li', { style: 'grid-template-columns: 1fr' },
        h('a', { href: `/app/${encodeURIComponent(a)}/html/`, dataset: { app: a } }, a))))
      : h('p', { class: 'empty' }, 'No apps. Put sFlow-RT apps in the apps directory (--apps-dir), or run a built-in one (--builtin-app tenants, mtu, tcp, placement).'));
    const now = Date.now();
    const rows = scripts.map((s) => h('tr', { dataset: { id: s.id } },
      h('td', { class: 'mono' }, s.file), h('td', {}, s.app || '–'),
      h('td', { class: s.alive ? 'ok' : 'err' }, s.alive ? 'running' : `stopped${s.error ? `: ${s.error}` : ''}`),
      h('td', { class: 'num' }, duration(now - s.started)),
      h('td', { class: 'num' }, `${int(s.cpuMs)} ms`),
      h('td', { class: 'num' }, bytes(s.memoryBytes)),
      h('td', { class: 'num' }, int(s.handlerCalls)),
      h('td', { class: 'num' }, int(s.handlerErrors)),
      h('td', { class: 'num' }, int(s.httpRequests)),
      h('td', { class: 'key', title: s.lastHandlerError || '' }, s.lastHandlerError || '')));
    const table = h('table', { 'aria-label': 'Scripts' },
      h('thead', {}, h('tr', {}, ['file', 'app', 'state', 'up', 'CPU', 'memory', 'handler calls', 'errors', 'HTTP requests', 'last error']
        .map((c, i) => h('th', { class: i >= 3 && i <= 8 ? 'num' : null }, c)))),
      h('tbody', {}, rows));
    if (!scripts.length) table.querySelector('tbody').append(h('tr', {}, h('td', { colspan: '10', class: 'empty' }, 'No scripts running.')));
    scriptsEl.replaceChildren(table);
  }, (e) => { err.textContent = `Cannot read scripts: ${e.message}`; });
  return stop;
}
