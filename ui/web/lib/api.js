// REST client of the page: the public API only, with the bearer token when the server wants
// one (kept in localStorage under "flowlens.token").

const TOKEN_KEY = 'flowlens.token';

/** What /ui/config.json said: {writes: "open" | "read-only" | "token", version}. */
export const server = { writes: 'open', version: '' };

/** Loads /ui/config.json into `server`. */
export async function loadConfig() {
  Object.assign(server, await getJson('/ui/config.json'));
  return server;
}

/** True when this page may change definitions (not read-only). */
export function canWrite() {
  return server.writes !== 'read-only';
}

/** The stored bearer token, or ''. */
export function token() {
  return localStorage.getItem(TOKEN_KEY) || '';
}

/** Stores (or, with '', forgets) the bearer token. */
export function setToken(t) {
  if (t) localStorage.setItem(TOKEN_KEY, t);
  else localStorage.removeItem(TOKEN_KEY);
}

/** An HTTP error with the server's one-line message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
  }
}

const listeners = new Set();
/** Calls `f(ok, message)` after every request (the header's connection indicator). */
export function onStatus(f) {
  listeners.add(f);
}
function report(ok, msg) {
  for (const f of listeners) f(ok, msg);
}

async function request(method, path, body, signal) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && server.writes === 'token' && token()) {
    headers.Authorization = `Bearer ${token()}`;
  }
  let r;
  try {
    r = await fetch(path, {
      method, headers, signal, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name !== 'AbortError') report(false, 'server unreachable');
    throw e;
  }
  report(true);
  if (!r.ok) throw new ApiError(r.status, (await r.text()).trim());
  return r;
}

/** GET a JSON document. */
export async function getJson(path, signal) {
  return (await request('GET', path, undefined, signal)).json();
}

/** GET a text document. */
export async function getText(path, signal) {
  return (await request('GET', path, undefined, signal)).text();
}

/** PUT a JSON body. */
export async function put(path, body) {
  await request('PUT', path, body);
}

/** DELETE a resource. */
export async function del(path) {
  await request('DELETE', path);
}

/**
 * Calls `f(signal)` now and then every `ms` milliseconds (after the previous call ended)
 * until the returned stop function is called; errors go to `onError`.
 */
export function every(ms, f, onError = () => {}) {
  const ctl = new AbortController();
  let timer = 0;
  const run = async () => {
    let wait = ms;
    try {
      await f(ctl.signal);
    } catch (e) {
      if (e.name !== 'AbortError') onError(e);
      wait = Math.max(ms, 2000); // back off while the server does not answer
    }
    if (!ctl.signal.aborted) timer = setTimeout(run, wait);
  };
  run();
  return () => {
    ctl.abort();
    clearTimeout(timer);
  };
}
