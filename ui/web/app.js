// flowlens web UI: a hash-routed single page (#/<page>?<state>), one module per page in
// views/. Each view's state lives in its URL's query, so any view can be bookmarked.

import { loadConfig, onStatus, server, setToken, token } from './lib/api.js';

const VIEWS = {
  status: () => import('./views/status.js'),
  metrics: () => import('./views/metrics.js'),
  flows: () => import('./views/flows.js'),
  events: () => import('./views/events.js'),
  apps: () => import('./views/apps.js'),
  api: () => import('./views/apidocs.js'),
};

const main = document.getElementById('view');
let cleanup = null;
let generation = 0;

/** The page and its state from the location's hash. */
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [page, query = ''] = raw.split('?');
  return { page: VIEWS[page] ? page : 'status', params: new URLSearchParams(query) };
}

/** Rewrites the hash's state without reloading the view (so it can be bookmarked). */
function setParams(page, params) {
  const q = params.toString();
  history.replaceState(null, '', `#/${page}${q ? `?${q}` : ''}`);
}

async function route() {
  const { page, params } = parseHash();
  const gen = ++generation;
  if (cleanup) { cleanup(); cleanup = null; }
  for (const a of document.querySelectorAll('header nav a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const mod = await VIEWS[page]();
  if (gen !== generation) return;
  main.replaceChildren();
  main.dataset.view = page;
  document.title = `${page[0].toUpperCase()}${page.slice(1)} · flowlens`;
  // A view may save its state after an await; by then the location may name another page
  // (a link followed, a hash typed): writing this view's hash over it would bring it back.
  const save = (p) => {
    if (gen === generation && parseHash().page === page) setParams(page, p);
  };
  cleanup = mod.mount(main, params, save) || null;
}

function tokenDialog() {
  const dlg = document.getElementById('token-dialog');
  const form = document.getElementById('token-form');
  form.elements.token.value = token();
  dlg.showModal();
  dlg.addEventListener('close', () => {
    if (dlg.returnValue === 'save') {
      setToken(form.elements.token.value.trim());
      // The view that asked retries what needed the token.
      window.dispatchEvent(new Event('flowlens:token'));
    }
    if (dlg.returnValue === 'forget') setToken('');
    updateMode();
  }, { once: true });
}

function updateMode() {
  const badge = document.getElementById('mode');
  const btn = document.getElementById('token');
  if (server.writes === 'read-only') {
    badge.hidden = false;
    badge.textContent = 'read-only';
  } else if (server.writes === 'token') {
    btn.hidden = false;
    btn.textContent = token() ? 'Token ✓' : 'Set token';
  }
}

/** Asks for the token when this server needs one and none is stored; resolves when done. */
export function ensureToken() {
  if (server.writes !== 'token' || token()) return true;
  tokenDialog();
  return false;
}

async function start() {
  const conn = document.getElementById('conn');
  onStatus((ok, msg) => {
    conn.textContent = ok ? `v${server.version}` : msg;
    conn.classList.toggle('bad', !ok);
  });
  try {
    await loadConfig();
  } catch {
    conn.textContent = 'server unreachable';
    conn.classList.add('bad');
  }
  conn.textContent = `v${server.version}`;
  updateMode();
  document.getElementById('token').addEventListener('click', tokenDialog);
  window.addEventListener('hashchange', route);
  if (!location.hash) history.replaceState(null, '', '#/status');
  route();
}

start();
