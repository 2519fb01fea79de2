// api.js — fetch wrapper. The access token lives only in this module's memory (never in storage
// or a readable cookie); the refresh token is the server's HttpOnly cookie. One refresh in flight
// at a time per tab, and tabs take turns through a Web Lock so they never race each other.
const BASE = '/api/v1';
let access = null;
let expiresAt = 0;
let refreshing = null;
let timer = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || (status === 0 ? 'NETWORK' : 'INTERNAL');
    this.fields = e.fields || null;
  }
}

export function token() { return access; }
export function onSession(fn) { listeners.add(fn); return () => listeners.delete(fn); }
function emit(s) { for (const fn of listeners) fn(s); }

function setSession(s) {
  access = s.accessToken;
  expiresAt = Date.now() + (s.expiresIn || 900) * 1000;
  clearTimeout(timer);
  // refresh a minute before expiry (or at 80% of a short lifetime)
  const lead = Math.min(60000, (s.expiresIn || 900) * 200);
  timer = setTimeout(() => { refresh().catch(() => {}); }, Math.max(5000, expiresAt - Date.now() - lead));
  emit(s);
}

export function clearSession() {
  access = null;
  expiresAt = 0;
  clearTimeout(timer);
  emit(null);
}

async function raw(method, path, body, auth) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth && access) headers.Authorization = `Bearer ${access}`;
  let res;
  try {
    res = await fetch(BASE + path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null);
  }
  return res;
}

async function parse(res) {
  if (res.status === 204) return null;
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

async function doRefresh() {
  const res = await raw('POST', '/auth/refresh', undefined, false);
  if (res.ok) {
    setSession(await res.json());
    return true;
  }
  if (res.status === 401 || res.status === 403) {
    const err = await parse(res).catch((e) => e);
    clearSession();
    if (err && err.code === 'BANNED') throw err;
    return false;
  }
  throw await parse(res).catch((e) => e);
}

// Refreshes the session; resolves true (signed in) or false (no valid refresh cookie).
export function refresh() {
  if (!refreshing) {
    const run = () => doRefresh();
    const p = navigator.locks ? navigator.locks.request('convo-refresh', run) : run();
    refreshing = p.finally(() => { refreshing = null; });
  }
  return refreshing;
}

export async function call(method, path, body, { auth = true } = {}) {
  if (auth && access && Date.now() > expiresAt - 15000) await refresh().catch(() => {});
  let res = await raw(method, path, body, auth);
  if (auth && res.status === 401) {
    const err = await parse(res).catch((e) => e);
    if (err.code === 'TOKEN_EXPIRED' || err.code === 'TOKEN_INVALID' || err.code === 'TOKEN_MISSING') {
      if (await refresh()) res = await raw(method, path, body, auth);
      else throw new ApiError(401, { error: { code: 'SESSION' } });
    } else {
      throw err;
    }
  }
  return parse(res);
}

export const get = (p, o) => call('GET', p, undefined, o);
export const post = (p, b, o) => call('POST', p, b, o);
export const patch = (p, b, o) => call('PATCH', p, b, o);
export const put = (p, b, o) => call('PUT', p, b, o);
export const del = (p, b, o) => call('DELETE', p, b, o);

export async function signup(email, password, nickname) {
  setSession(await call('POST', '/auth/signup', { email, password, nickname }, { auth: false }));
}
export async function login(email, password) {
  setSession(await call('POST', '/auth/login', { email, password }, { auth: false }));
}
export async function logout() {
  try { await call('POST', '/auth/logout', undefined, { auth: false }); } finally { clearSession(); }
}
