// The JSON API client of the web app. The browser session lives in HttpOnly cookies set by
// the server (the page never sees a token); every state-changing request echoes the session's
// CSRF token, read from the tickler_csrf cookie, in X-CSRF-Token. An expired access cookie
// (401) is renewed once through POST /api/v1/auth/refresh, serialised across tabs with the
// Web Locks API where the page is a secure context, so two tabs never spend one refresh token.

const EXPIRY_KEY = 'tickler.access_expires_at';
const REFRESHED_KEY = 'tickler.refreshed_at';
const listeners = new Set();

/** An error answered by the API as a problem document (or a network failure: status 0). */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = problem && problem.code;
    this.errors = (problem && problem.errors) || [];
  }
}

/** Calls `listener()` when the session ends (refresh refused). */
export function onSignedOut(listener) {
  listeners.add(listener);
}

function csrfToken() {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === 'tickler_csrf') return rest.join('=');
  }
  return '';
}

/** Whether the page holds a session at all (the CSRF cookie lives as long as the session). */
export function hasSession() {
  return csrfToken() !== '';
}

function rememberExpiry(seconds) {
  localStorage.setItem(EXPIRY_KEY, String(Date.now() + seconds * 1000));
}

/** Milliseconds until the access cookie expires, as last told by the server. */
export function accessExpiresIn() {
  return Number(localStorage.getItem(EXPIRY_KEY) || 0) - Date.now();
}

async function send(method, path, body, options = {}) {
  const headers = { accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', signal: options.signal, keepalive: Boolean(options.keepalive) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
  }
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = csrfToken();
  Object.assign(headers, options.headers || {});
  try {
    return await fetch(path, init);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, { detail: 'network' });
  }
}

async function parse(response) {
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') || '';
  const json = type.includes('json') ? await response.json().catch(() => null) : null;
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

/** Calls the API; renews the session once on 401. */
export async function api(method, path, body, options) {
  let response = await send(method, path, body, options);
  if (response.status === 401 && !path.startsWith('/api/v1/auth/')) {
    if (await refreshSession()) response = await send(method, path, body, options);
  }
  return parse(response);
}

let refreshing = null;

/** Renews the access cookie; resolves to whether the session is still alive. */
export function refreshSession() {
  if (!refreshing) {
    const started = Date.now();
    const run = async () => {
      // Another tab may have refreshed while this one waited for the lock.
      if (Number(localStorage.getItem(REFRESHED_KEY) || 0) > started) return true;
      return doRefresh();
    };
    refreshing = (navigator.locks ? navigator.locks.request('tickler-session-refresh', run) : run())
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function doRefresh(attempt = 0) {
  if (!hasSession()) return signedOut();
  const response = await send('POST', '/api/v1/auth/refresh');
  if (response.ok) {
    const body = await response.json();
    rememberExpiry(body.expires_in);
    localStorage.setItem(REFRESHED_KEY, String(Date.now()));
    return true;
  }
  if (response.status === 409 && attempt < 3) {
    // Another tab spent this refresh token a moment ago; its successor is in the cookie now.
    await new Promise((resolve) => setTimeout(resolve, 250 * (attempt + 1)));
    return doRefresh(attempt + 1);
  }
  if (response.status === 0 || response.status >= 500) return false;
  return signedOut();
}

function signedOut() {
  localStorage.removeItem(EXPIRY_KEY);
  for (const listener of listeners) listener();
  return false;
}

/** Signs in or registers with cookies; returns the session body. */
export async function startSession(path, body) {
  const session = await parse(await send('POST', path, { ...body, session: 'cookie' }));
  rememberExpiry(session.expires_in);
  localStorage.setItem(REFRESHED_KEY, String(Date.now()));
  return session;
}

/** Ends this session (or every session) and forgets it. */
export async function endSession(everywhere = false) {
  try {
    await parse(await send('POST', everywhere ? '/api/v1/auth/logout-all' : '/api/v1/auth/logout'));
  } finally {
    localStorage.removeItem(EXPIRY_KEY);
  }
}

/** Renews the session a minute before the access cookie expires, for as long as the page is open. */
let keeping = false;
export function keepSessionFresh() {
  const tick = async () => {
    if (hasSession() && accessExpiresIn() < 90_000) await refreshSession();
  };
  if (!keeping) {
    keeping = true;
    setInterval(tick, 30_000);
    document.addEventListener('visibilitychange', () => { if (!document.hidden) tick(); });
  }
  return tick();
}

/** Builds a query string from an object, repeating array values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) value.forEach((item) => search.append(key, item));
    else search.append(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
