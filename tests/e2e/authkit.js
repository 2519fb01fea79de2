'use strict';
// Helpers for the accounts-API end-to-end tests (auth*.test.js, me.test.js): an API client that
// remembers every secret it sends or receives (passwords, access tokens, refresh cookies) so that
// the server's logs can be checked for them when it stops, session/cookie/USER assertions, and
// JWT tools (decode, sign with node:crypto) for forged and expired tokens.
// Not a test file itself (node --test only picks up *.test.js).

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

const AUTH = '/api/v1/auth';
const COOKIE_NAME = 'convo_rt';
const COOKIE_RE = /^[A-Za-z0-9_-]{43}$/;
const RFC3339_UTC_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const CATEGORY_IDS = ['frontend', 'backend', 'fullstack', 'mobile', 'ai_data', 'devops', 'security',
  'game', 'embedded', 'qa', 'pm', 'design'];
const CAREERS = ['student', 'jobseeker', 'junior', 'mid', 'senior'];

// ---------------------------------------------------------------------------------------------
// unique values

let ipCounter = 0;
// A client address for X-Real-IP (only a header value: the server trusts it from loopback).
// Unique within a test process; each test file is its own process and its own servers.
function freshIp() {
  ipCounter++;
  return `10.${(process.pid % 200) + 1}.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

function rand(n = 6) {
  return crypto.randomBytes(n).toString('hex');
}

// A password nobody would log by accident: easy to find in stderr if it leaks.
function newPassword() {
  return `Pw-${rand(8)}!`;
}

function newEmail(tag = 'user') {
  return `${tag}.${rand(4)}@example.com`;
}

// ---------------------------------------------------------------------------------------------
// the API client

const SECRET_BODY_KEYS = ['password', 'currentPassword', 'newPassword'];
const MIN_SECRET_LEN = 8; // shorter strings could occur in a log by chance

class Api {
  constructor(server, { ip } = {}) {
    this.server = server;
    this.ip = ip || freshIp();
    this.secrets = new Set();
  }

  remember(s) {
    if (typeof s === 'string' && s.length >= MIN_SECRET_LEN) this.secrets.add(s);
  }

  // call(method, path, {json, body, headers, token, cookie, origin, ip, rawAuth}) → response
  // (harness request() shape). json is sent as application/json; a POST/PATCH/DELETE without a
  // body is sent with Content-Length: 0.
  async call(method, urlPath, opts = {}) {
    const { json, headers = {}, token, cookie, origin, ip, server, timeoutMs } = opts;
    let { body } = opts;
    const hdrs = { 'X-Real-IP': ip || this.ip };
    if (json !== undefined) {
      body = typeof json === 'string' ? json : JSON.stringify(json);
      hdrs['Content-Type'] = 'application/json';
      if (json && typeof json === 'object') {
        for (const k of SECRET_BODY_KEYS) this.remember(json[k]);
      }
    }
    if (body === undefined && method !== 'GET' && method !== 'HEAD') body = '';
    // node:http frames a DELETE body by closing the connection only (no Content-Length): say it.
    if (body !== undefined) hdrs['Content-Length'] = String(Buffer.byteLength(body));
    if (token !== undefined) {
      hdrs.Authorization = `Bearer ${token}`;
      this.rememberToken(token);
    }
    if (cookie !== undefined) {
      hdrs.Cookie = `${COOKIE_NAME}=${cookie}`;
      this.remember(cookie);
    }
    if (origin !== undefined) hdrs.Origin = origin;
    Object.assign(hdrs, headers);
    const res = await h.request(`${(server || this.server).url}${urlPath}`, { method, headers: hdrs, body, timeoutMs });
    const j = res.json;
    if (j && typeof j === 'object' && typeof j.accessToken === 'string') this.rememberToken(j.accessToken);
    for (const c of setCookies(res)) {
      const v = cookieValue(c);
      if (v) this.remember(v);
    }
    return res;
  }

  rememberToken(token) {
    if (typeof token !== 'string') return;
    this.remember(token);
    const parts = token.split('.');
    if (parts.length === 3) this.remember(parts[2]); // the signature alone (a truncated log line)
  }

  get(p, o) { return this.call('GET', p, o); }
  post(p, o) { return this.call('POST', p, o); }
  patch(p, o) { return this.call('PATCH', p, o); }
  del(p, o) { return this.call('DELETE', p, o); }

  signupRaw(body, o = {}) { return this.post(`${AUTH}/signup`, { json: body, ...o }); }
  loginRaw(email, password, o = {}) { return this.post(`${AUTH}/login`, { json: { email, password }, ...o }); }
  refresh(cookie, o = {}) { return this.post(`${AUTH}/refresh`, { cookie, ...o }); }
  logout(cookie, o = {}) { return this.post(`${AUTH}/logout`, { cookie, ...o }); }
  me(token, o = {}) { return this.get('/api/v1/me', { token, ...o }); }

  // Signs up a fresh account (or the given fields) and checks the 201 session answer.
  // Returns {email, password, nickname, user, token, cookie, res}.
  async signup(fields = {}, o = {}) {
    const body = { email: newEmail(), password: newPassword(), nickname: `tester${rand(2)}`, ...fields };
    const res = await this.signupRaw(body, o);
    assert.equal(res.status, 201, `sign-up ${body.email}: ${res.status} ${res.text.slice(0, 300)}`);
    const s = assertSession(res);
    return { ...body, ...s, res };
  }

  // Logs in and checks the 200 session answer. Returns {user, token, cookie, res}.
  async login(email, password, o = {}) {
    const res = await this.loginRaw(email, password, o);
    assert.equal(res.status, 200, `log-in ${email}: ${res.status} ${res.text.slice(0, 300)}`);
    return { ...assertSession(res), res };
  }

  // Refreshes and checks the 200 session answer. Returns {user, token, cookie, res}.
  async refreshOk(cookie, o = {}) {
    const res = await this.refresh(cookie, o);
    assert.equal(res.status, 200, `refresh: ${res.status} ${res.text.slice(0, 300)}`);
    return { ...assertSession(res), res };
  }
}

// Starts a server for test t (harness useServer: stop + sanitizer check after the test) and an
// Api for it; after the stop, the server's output must contain none of the Api's secrets.
async function setup(t, opts) {
  const server = await h.useServer(t, opts);
  const api = new Api(server);
  t.after(async () => {
    const result = await server.stop();
    assertNoSecretsLogged(result, api.secrets);
  });
  return { server, api };
}

function assertNoSecretsLogged(result, secrets) {
  const out = `${result.stderr}\n${result.stdout}`;
  for (const s of secrets) {
    const i = out.indexOf(s);
    if (i >= 0) {
      const lineStart = out.lastIndexOf('\n', i) + 1;
      const lineEnd = out.indexOf('\n', i);
      assert.fail(`the server logged a secret (${s.slice(0, 6)}…, ${s.length} chars):\n` +
        out.slice(lineStart, lineEnd < 0 ? undefined : lineEnd).slice(0, 1000));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// cookies

function setCookies(res) {
  const sc = res.headers['set-cookie'];
  if (!sc) return [];
  return Array.isArray(sc) ? sc : [sc];
}

// The value of a `convo_rt=…` Set-Cookie line, else null.
function cookieValue(line) {
  const m = /^convo_rt=([^;]*)/.exec(line);
  return m ? m[1] : null;
}

// Parses one Set-Cookie line into {name, value, attrs: {lower-case name: value|true}, list}.
function parseSetCookie(line) {
  const parts = line.split(';').map((s) => s.trim());
  const [nv, ...rest] = parts;
  const eq = nv.indexOf('=');
  const attrs = {};
  const list = [];
  for (const a of rest) {
    if (a === '') continue;
    const e = a.indexOf('=');
    const k = (e < 0 ? a : a.slice(0, e)).trim().toLowerCase();
    list.push(k);
    attrs[k] = e < 0 ? true : a.slice(e + 1).trim();
  }
  return { name: nv.slice(0, eq), value: nv.slice(eq + 1), attrs, list };
}

// The one convo_rt Set-Cookie of res, parsed; fails when there is none or several.
function refreshCookieOf(res) {
  const lines = setCookies(res).filter((l) => l.startsWith(`${COOKIE_NAME}=`));
  assert.equal(lines.length, 1,
    `expected one Set-Cookie ${COOKIE_NAME}, got ${JSON.stringify(res.headers['set-cookie'])}`);
  return parseSetCookie(lines[0]);
}

// The refresh cookie of a session answer: exactly the SPEC attributes.
function assertSessionCookie(res, { secure = false } = {}) {
  const c = refreshCookieOf(res);
  assert.match(c.value, COOKIE_RE, `cookie value ${JSON.stringify(c.value)} is not 43 base64url chars`);
  assert.equal(c.attrs.httponly, true, `no HttpOnly: ${JSON.stringify(c)}`);
  assert.equal(c.attrs.samesite, 'Strict', `SameSite: ${JSON.stringify(c)}`);
  assert.equal(c.attrs.path, '/api/v1/auth', `Path: ${JSON.stringify(c)}`);
  assert.equal(c.attrs['max-age'], '1209600', `Max-Age: ${JSON.stringify(c)}`);
  if (secure) assert.equal(c.attrs.secure, true, `no Secure: ${JSON.stringify(c)}`);
  else assert.ok(!('secure' in c.attrs), `unexpected Secure: ${JSON.stringify(c)}`);
  assert.ok(!('domain' in c.attrs), `unexpected Domain: ${JSON.stringify(c)}`);
  const expected = new Set(['httponly', 'samesite', 'path', 'max-age', ...(secure ? ['secure'] : [])]);
  assert.deepEqual(new Set(c.list), expected, `cookie attributes ${JSON.stringify(c.list)}`);
  return c.value;
}

// The answer clears the refresh cookie: `convo_rt=; …; Max-Age=0`.
function assertCookieCleared(res) {
  const c = refreshCookieOf(res);
  assert.equal(c.value, '', `the cleared cookie has a value: ${JSON.stringify(res.headers['set-cookie'])}`);
  assert.equal(c.attrs['max-age'], '0', `Max-Age: ${JSON.stringify(res.headers['set-cookie'])}`);
  assert.equal(c.attrs.path, '/api/v1/auth', `Path (must match to clear): ${JSON.stringify(c)}`);
}

function assertNoRefreshCookie(res) {
  const lines = setCookies(res).filter((l) => l.startsWith(`${COOKIE_NAME}=`));
  assert.deepEqual(lines, [], 'the answer must not touch the refresh cookie');
}

// ---------------------------------------------------------------------------------------------
// session and USER

function assertUser(u, { email, nickname, role = 'user', job = null, career = null, bio = null } = {}) {
  assert.ok(u && typeof u === 'object', `USER is not an object: ${JSON.stringify(u)}`);
  assert.deepEqual(Object.keys(u).sort(),
    ['bio', 'career', 'createdAt', 'email', 'id', 'job', 'nickname', 'providers', 'role'],
    `USER keys: ${JSON.stringify(u)}`);
  assert.equal(typeof u.id, 'string', `id must be a string: ${JSON.stringify(u)}`);
  assert.ok(u.id.length > 0);
  if (email !== undefined) assert.equal(u.email, email);
  if (nickname !== undefined) assert.equal(u.nickname, nickname);
  assert.equal(u.job, job);
  assert.equal(u.career, career);
  assert.equal(u.bio, bio);
  assert.equal(u.role, role);
  assert.deepEqual(u.providers, ['password']);
  assert.match(u.createdAt, RFC3339_UTC_RE, `createdAt ${u.createdAt} is not RFC 3339 UTC`);
  const created = Date.parse(u.createdAt);
  assert.ok(Math.abs(created - Date.now()) < 5 * 60 * 1000, `createdAt ${u.createdAt} is not now`);
}

// A session answer (200 or 201): body shape, JSON content type, the cookie, the JWT's header and
// claims (sub = user.id, exp = iat + 900, role = user.role). Returns {user, token, cookie, claims}.
function assertSession(res, opts = {}) {
  h.assertJsonContentType(res);
  const b = res.json;
  assert.ok(b && typeof b === 'object', `session body is not JSON: ${res.text.slice(0, 300)}`);
  assert.deepEqual(Object.keys(b).sort(), ['accessToken', 'expiresIn', 'tokenType', 'user'],
    `session keys: ${res.text.slice(0, 300)}`);
  assert.equal(b.tokenType, 'Bearer');
  assert.equal(b.expiresIn, 900);
  assert.equal(typeof b.accessToken, 'string');
  const { header, claims } = decodeJwt(b.accessToken);
  assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' }, `JWT header ${JSON.stringify(header)}`);
  assert.equal(claims.sub, b.user.id, `JWT sub ${JSON.stringify(claims.sub)} vs user.id ${b.user.id}`);
  assert.ok(Number.isInteger(claims.iat) && Number.isInteger(claims.exp), `iat/exp: ${JSON.stringify(claims)}`);
  assert.equal(claims.exp - claims.iat, 900, `exp - iat: ${JSON.stringify(claims)}`);
  assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 60, `iat is not now: ${JSON.stringify(claims)}`);
  assert.ok(typeof claims.jti === 'string' && claims.jti.length >= 16, `jti: ${JSON.stringify(claims)}`);
  assert.ok(typeof claims.sid === 'string' && claims.sid.length > 0, `sid: ${JSON.stringify(claims)}`);
  assert.equal(claims.role, b.user.role, `JWT role vs user.role: ${JSON.stringify(claims)}`);
  const cookie = assertSessionCookie(res, opts);
  return { user: b.user, token: b.accessToken, cookie, claims };
}

// A 422 VALIDATION_FAILED whose fields are exactly `fields` (values may be lists of accepted codes).
function assertFields(res, fields, what = '') {
  const err = h.assertErrorShape(res, 422, 'VALIDATION_FAILED');
  const got = err.fields;
  assert.ok(got && typeof got === 'object', `${what}: no fields in ${res.text.slice(0, 300)}`);
  assert.deepEqual(Object.keys(got).sort(), Object.keys(fields).sort(),
    `${what}: fields ${JSON.stringify(got)}, expected ${JSON.stringify(fields)}`);
  for (const [k, v] of Object.entries(fields)) {
    const ok = Array.isArray(v) ? v.includes(got[k]) : got[k] === v;
    assert.ok(ok, `${what}: fields.${k} = ${JSON.stringify(got[k])}, expected ${JSON.stringify(v)}`);
  }
  return got;
}

// ---------------------------------------------------------------------------------------------
// JWT

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

function decodeJwt(token) {
  const parts = token.split('.');
  assert.equal(parts.length, 3, `not a compact JWT: ${token.slice(0, 80)}`);
  const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  return { header, claims, parts };
}

function hmac(alg, key, data) {
  return crypto.createHmac(alg, key).update(data).digest();
}

// header.payload.signature with HMAC-<hashAlg> over the first two parts.
function signJwt(header, claims, key, hashAlg = 'sha256') {
  const h64 = b64url(typeof header === 'string' ? header : JSON.stringify(header));
  const p64 = b64url(typeof claims === 'string' ? claims : JSON.stringify(claims));
  return `${h64}.${p64}.${b64url(hmac(hashAlg, key, `${h64}.${p64}`))}`;
}

// The server's HMAC key: <dataDir>/jwt.secret, 64 hex chars used as an ASCII string.
function serverSecret(server) {
  const text = fs.readFileSync(path.join(server.dataDir, 'jwt.secret'), 'utf8');
  assert.match(text, /^[0-9a-f]{64}\n?$/, 'jwt.secret is not 64 hex chars');
  return text.slice(0, 64);
}

function verifyJwt(token, key) {
  const [a, b, s] = token.split('.');
  return b64url(hmac('sha256', key, `${a}.${b}`)) === s;
}

module.exports = {
  AUTH,
  Api,
  CAREERS,
  CATEGORY_IDS,
  COOKIE_RE,
  assertCookieCleared,
  assertFields,
  assertNoRefreshCookie,
  assertNoSecretsLogged,
  assertSession,
  assertSessionCookie,
  assertUser,
  b64url,
  decodeJwt,
  freshIp,
  hmac,
  newEmail,
  newPassword,
  parseSetCookie,
  rand,
  refreshCookieOf,
  serverSecret,
  setup,
  signJwt,
  verifyJwt,
};
