// API: the OpenAPI document from /api-docs, as a filterable list of paths, methods,
// summaries and parameters; GET paths without parameters link to their answer.

import { getJson } from '../lib/api.js';
import { h } from '../lib/format.js';

export function mount(main, params, setParams) {
  const err = h('p', { class: 'err', role: 'alert' });
  const q = h('input', { type: 'search', name: 'q', placeholder: 'filter paths', value: params.get('q') || '', 'aria-label': 'Filter paths' });
  const list = h('ul', { class: 'ops', id: 'api-ops' });
  const title = h('span', { class: 'hint' });
  main.append(
    h('div', { class: 'bar' }, h('h1', {}, 'API'), q, title,
      h('a', { href: '/api-docs', class: 'hint' }, 'OpenAPI document (JSON)')),
    err, h('div', { class: 'panel' }, list),
  );
  let ops = [];
  const draw = () => {
    const f = q.value.trim().toLowerCase();
    const shown = ops.filter((o) => !f || `${o.path} ${o.summary}`.toLowerCase().includes(f));
    list.replaceChildren(...shown.map((o) => h('li', { dataset: { path: o.path, method: o.method } },
      h('span', { class: `method ${o.method}` }, o.method),
      o.method === 'get' && !o.path.includes('{')
        ? h('a', { class: 'mono', href: o.path }, o.path)
        : h('span', { class: 'mono' }, o.path),
      h('span', { class: 'desc' }, o.summary),
      o.params.length ? h('details', { class: 'params' }, h('summary', {}, `${o.params.length} parameter${o.params.length > 1 ? 's' : ''}`),
        h('table', {}, h('tbody', {}, o.params.map((p) => h('tr', {},
          h('td', { class: 'mono' }, p.name), h('td', {}, p.in), h('td', {}, p.required ? 'required' : ''), h('td', {}, p.description || '')))))) : null)));
    if (!shown.length) list.append(h('li', { class: 'empty' }, 'No path matches.'));
  };
  q.addEventListener('input', () => {
    if (q.value) params.set('q', q.value); else params.delete('q');
    setParams(params);
    draw();
  });
  getJson('/api-docs').then((doc) => {
    title.textContent = `${doc.info?.title || ''} ${doc.info?.version || ''} · OpenAPI ${doc.openapi}`;
    ops = Object.entries(doc.paths || {}).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({
      path, method, summary: op.summary || op.description || '', params: op.parameters || [],
    })));
    draw();
  }).catch((e) => { err.textContent = `Cannot load /api-docs: ${e.message}`; });
  return null;
}
