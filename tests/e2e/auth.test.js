'use strict';
// SPEC §3.2 (+ the lead's decisions): sign-up, log-in, the session answer and its cookie, refresh
// rotation (the quick cases; the 10-second reuse window is in auth_refresh.test.js), CSRF on the
// cookie endpoints, log-out, log-out everywhere, admin emails, providers and categories.
// Every server is stopped with the sanitizer check and a check that none of the passwords, access
// tokens or refresh cookies of the test appears in its output.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { test } = require('node:test');
const h = require('./harness');
const k = require('./authkit');

const T = { timeout: 60000 };
const { AUTH } = k;

// ---------------------------------------------------------------------------------------------
// sign-up

test('sign-up → 201 session: USER as typed/trimmed, cookie attributes, HS256 JWT; GET /me agrees', T, async (t) => {
  const { server, api } = await k.setup(t);
  const email = `Alice.${k.rand(3)}@Example.COM`;
  const password = k.newPassword();
  const res = await api.signupRaw({ email, password, nickname: '  앨리스 Kim  ' });
  assert.equal(res.status, 201, res.text);
  h.requestIdOf(res);
  const s = k.assertSession(res); // no Secure with the default public origin http://localhost:8080
  k.assertUser(s.user, { email, nickname: '앨리스 Kim', role: 'user' });

  // The token is HS256 with the data dir's secret, used as the ASCII string.
  const secret = k.serverSecret(server);
  assert.ok(k.verifyJwt(s.token, secret), 'the access token is not HMAC-SHA256 with jwt.secret (as ASCII)');

  const me = await api.me(s.token);
  assert.equal(me.status, 200, me.text);
  h.assertJsonContentType(me);
  assert.deepEqual(me.json, s.user, 'GET /me differs from the session USER');

  // A second account gets another id, another cookie, another token.
  const other = await api.signup();
  assert.notEqual(other.user.id, s.user.id);
  assert.notEqual(other.cookie, s.cookie);
  assert.notEqual(other.claims.jti, s.claims.jti);
  assert.notEqual(other.claims.sid, s.claims.sid);
});

test('CONVO_PUBLIC_ORIGIN=https://convo.example → the cookie is Secure; that origin may refresh', T, async (t) => {
  const { api } = await k.setup(t, { env: { CONVO_PUBLIC_ORIGIN: 'https://convo.example' } });
  const res = await api.signupRaw({ email: k.newEmail(), password: k.newPassword(), nickname: 'secure' });
  assert.equal(res.status, 201, res.text);
  const s = k.assertSession(res, { secure: true });

  const r = await api.refresh(s.cookie, { origin: 'https://convo.example' });
  assert.equal(r.status, 200, r.text);
  const s2 = k.assertSession(r, { secure: true });
  // The old default origin is not this deployment's origin.
  const evil = await api.refresh(s2.cookie, { origin: 'http://localhost:8080' });
  h.assertErrorShape(evil, 403, 'FORBIDDEN');
  const out = await api.logout(s2.cookie);
  assert.equal(out.status, 204, out.text);
  const c = k.refreshCookieOf(out);
  assert.equal(c.value, '');
  assert.equal(c.attrs['max-age'], '0');
  assert.equal(c.attrs.secure, true, 'the clearing cookie must be Secure too (else a browser ignores it)');
});

const LONG_HANGUL = (n) => '가'.repeat(n);

test('sign-up validation → 422 VALIDATION_FAILED listing every bad field (and only those)', T, async (t) => {
  const { api } = await k.setup(t);
  const good = { email: 'valid@example.com', password: 'Pw-valid-123', nickname: 'valid' };
  const cases = [
    ['an empty object', {}, { email: 'REQUIRED', password: 'REQUIRED', nickname: 'REQUIRED' }],
    ['null values', { email: null, password: null, nickname: null },
      { email: 'REQUIRED', password: 'REQUIRED', nickname: 'REQUIRED' }],
    ['all three bad at once', { email: 'not-an-email', password: 'Sh0rt!', nickname: 'x' },
      { email: 'INVALID', password: 'TOO_SHORT', nickname: 'TOO_SHORT' }],
    ['all three bad, other reasons', { email: '@example.com', password: 'p'.repeat(129), nickname: 'n'.repeat(21) },
      { email: 'INVALID', password: 'TOO_LONG', nickname: 'TOO_LONG' }],
    ['non-string values', { email: 42, password: true, nickname: { a: 1 } },
      { email: 'INVALID', password: 'INVALID', nickname: 'INVALID' }],
    ['arrays', { email: ['a@b.co'], password: ['Pw-valid-123'], nickname: ['ab'] },
      { email: 'INVALID', password: 'INVALID', nickname: 'INVALID' }],
    ['email without @', { ...good, email: 'plainaddress' }, { email: 'INVALID' }],
    ['email without local part', { ...good, email: '@example.com' }, { email: 'INVALID' }],
    ['email without domain', { ...good, email: 'user@' }, { email: 'INVALID' }],
    ['email with two @', { ...good, email: 'two@@example.com' }, { email: 'INVALID' }],
    ['email with a space', { ...good, email: 'sp ace@example.com' }, { email: 'INVALID' }],
    ['empty email', { ...good, email: '' }, { email: ['REQUIRED', 'INVALID'] }],
    ['password of 7 characters', { ...good, password: 'Pw-7chr' }, { password: 'TOO_SHORT' }],
    ['password of 7 Hangul characters (21 bytes)', { ...good, password: LONG_HANGUL(7) }, { password: 'TOO_SHORT' }],
    ['password of 129 characters', { ...good, password: 'x'.repeat(129) }, { password: 'TOO_LONG' }],
    ['password of 129 Hangul characters', { ...good, password: LONG_HANGUL(129) }, { password: 'TOO_LONG' }],
    ['empty password', { ...good, password: '' }, { password: ['REQUIRED', 'TOO_SHORT'] }],
    ['email of 255 bytes', { ...good, email: `${'l'.repeat(64)}@${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(58)}.com` },
      { email: ['INVALID', 'TOO_LONG'] }],
    ['email with a local part of 65 bytes', { ...good, email: `${'l'.repeat(65)}@example.com` }, { email: ['INVALID', 'TOO_LONG'] }],
    ['nickname of 1 character after trimming', { ...good, nickname: '  a  ' }, { nickname: 'TOO_SHORT' }],
    ['nickname of blanks', { ...good, nickname: '    ' }, { nickname: ['TOO_SHORT', 'REQUIRED'] }],
    ['nickname of 21 characters', { ...good, nickname: 'n'.repeat(21) }, { nickname: 'TOO_LONG' }],
    ['nickname of 21 Hangul characters', { ...good, nickname: LONG_HANGUL(21) }, { nickname: 'TOO_LONG' }],
    ['nickname with a tab', { ...good, nickname: 'tab\tname' }, { nickname: 'INVALID' }],
    ['nickname with a newline', { ...good, nickname: 'new\nline' }, { nickname: 'INVALID' }],
    ['nickname with BEL', { ...good, nickname: '\u0007bell' }, { nickname: 'INVALID' }],
    ['nickname with DEL', { ...good, nickname: 'del\u007f' }, { nickname: 'INVALID' }],
    ['nickname with a C1 control', { ...good, nickname: 'c1\u0085x' }, { nickname: 'INVALID' }],
    ['nickname with U+202E (right-to-left override)', { ...good, nickname: 'evil\u202Egnp.exe' }, { nickname: 'INVALID' }],
    ['nickname with U+2066 (bidi isolate)', { ...good, nickname: 'iso\u2066late' }, { nickname: 'INVALID' }],
    ['bad email and bad nickname, good password', { email: 'nope', password: 'Pw-valid-123', nickname: '\t' },
      { email: 'INVALID', nickname: ['INVALID', 'TOO_SHORT', 'REQUIRED'] }], // "\t" trims to nothing
  ];
  for (const [name, body, fields] of cases) {
    await t.test(name, async () => {
      const res = await api.signupRaw(body);
      k.assertFields(res, fields, name);
      k.assertNoRefreshCookie(res);
    });
  }
  // None of these created an account: the good email is still free.
  await api.signup({ ...good });
});

test('sign-up lengths count characters, not bytes; nicknames are trimmed', T, async (t) => {
  const { api } = await k.setup(t);
  const ok = [
    ['password of 8 characters', { password: 'Pw-8char' }],
    ['password of 8 Hangul characters', { password: LONG_HANGUL(8) }],
    ['password of 128 characters', { password: `Pw-${'x'.repeat(125)}` }],
    ['password of 128 Hangul characters (384 bytes)', { password: LONG_HANGUL(128) }],
    ['nickname of 2 characters', { nickname: 'ab' }, 'ab'],
    ['nickname "홍길동" (3 characters, 9 bytes)', { nickname: '홍길동' }, '홍길동'],
    ['nickname of 20 characters', { nickname: 'n'.repeat(20) }, 'n'.repeat(20)],
    ['nickname of 20 Hangul characters (60 bytes)', { nickname: LONG_HANGUL(20) }, LONG_HANGUL(20)],
    ['nickname of 20 characters inside blanks', { nickname: `   ${'m'.repeat(20)}   ` }, 'm'.repeat(20)],
    ['nickname with an emoji and inner spaces', { nickname: ' 개발 자 🚀 ' }, '개발 자 🚀'],
    ['nickname of 20 emoji (80 bytes)', { nickname: '🚀'.repeat(20) }, '🚀'.repeat(20)],
    ['an email of 254 bytes', { email: `${'l'.repeat(64)}@${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(57)}.com`.toUpperCase() }],
  ];
  for (const [name, fields, nickname] of ok) {
    await t.test(name, async () => {
      const s = await api.signup(fields);
      k.assertUser(s.user, { email: s.email, nickname: nickname === undefined ? s.nickname : nickname });
      // The password works for log-in exactly as given.
      if (fields.password) await api.login(s.email, fields.password);
      if (fields.email) {
        assert.equal(s.email.length, 254);
        await api.login(s.email.toLowerCase(), s.password);
      }
    });
  }
});

test('sign-up with a body that is not JSON → 415 / 400 in the error shape', T, async (t) => {
  const { api } = await k.setup(t);
  const url = `${AUTH}/signup`;
  const body = JSON.stringify({ email: k.newEmail(), password: k.newPassword(), nickname: 'ctype' });
  const plain = await api.post(url, { body, headers: { 'Content-Type': 'text/plain' } });
  h.assertErrorShape(plain, 415, 'UNSUPPORTED_MEDIA_TYPE');
  const form = await api.post(url, { body: 'email=a%40b.co&password=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  h.assertErrorShape(form, 415, 'UNSUPPORTED_MEDIA_TYPE');
  const none = await api.post(url, { body });
  h.assertErrorShape(none, 415, 'UNSUPPORTED_MEDIA_TYPE');
  const broken = await api.post(url, { body: '{"email": "a@b.co", ', headers: { 'Content-Type': 'application/json' } });
  h.assertErrorShape(broken, 400, 'BAD_REQUEST');
  const notObject = await api.post(url, { body: '["a@b.co"]', headers: { 'Content-Type': 'application/json' } });
  h.assertErrorShape(notObject, [400, 422]);
  // Still serving, and the email of the refused bodies is still free.
  const ok = await api.signupRaw(JSON.parse(body));
  assert.equal(ok.status, 201, ok.text);
});

test('sign-up ignores fields a client must not choose (role, id, providers, createdAt)', T, async (t) => {
  const { api } = await k.setup(t);
  const email = k.newEmail('sneaky');
  const res = await api.signupRaw({ email, password: k.newPassword(), nickname: 'sneaky', role: 'admin',
    id: '1', providers: ['google'], createdAt: '2000-01-01T00:00:00Z', job: 'not-a-job' });
  if (res.status === 422) {
    // Refusing unknown fields is fine too; then nothing was created.
    h.assertErrorShape(res, 422, 'VALIDATION_FAILED');
    return;
  }
  assert.equal(res.status, 201, res.text);
  const s = k.assertSession(res);
  k.assertUser(s.user, { email, nickname: 'sneaky', role: 'user' });
  assert.equal(s.claims.role, 'user');
});

test('a malformed JSON body carrying a password → 400, and the password is not logged', T, async (t) => {
  const { api } = await k.setup(t);
  const pw = k.newPassword();
  api.remember(pw);
  const bodies = [
    `{"email":"a@example.com","password":"${pw}`, // unterminated string
    `{"email":"a@example.com","password":${pw}}`, // unquoted
    `{"email":"a@example.com","password":"${pw}","password":"${pw}"}`, // duplicate key
    `{"email":"a@example.com","password":"${pw}"} trailing`,
  ];
  for (const body of bodies) {
    const res = await api.post(`${AUTH}/login`, { body, headers: { 'Content-Type': 'application/json' } });
    h.assertErrorShape(res, 400, 'BAD_REQUEST');
    const res2 = await api.post(`${AUTH}/signup`, { body, headers: { 'Content-Type': 'application/json' } });
    h.assertErrorShape(res2, 400, 'BAD_REQUEST');
  }
});

test('the same email in any letter case → 409 EMAIL_TAKEN, also when two sign-ups race', T, async (t) => {
  const { api } = await k.setup(t);
  const base = `dup.${k.rand(3)}@example.com`;
  const first = await api.signup({ email: base });
  for (const email of [base, base.toUpperCase(), `Dup${base.slice(3)}`]) {
    const res = await api.signupRaw({ email, password: k.newPassword(), nickname: 'dupe' });
    h.assertErrorShape(res, 409, 'EMAIL_TAKEN');
    k.assertNoRefreshCookie(res);
  }
  // The first account is untouched: its password still logs in, the nickname is unchanged.
  const l = await api.login(base, first.password);
  assert.equal(l.user.id, first.user.id);
  assert.equal(l.user.nickname, first.user.nickname);

  // Two sign-ups for one new address (different case) at the same moment: one wins.
  const race = `race.${k.rand(3)}@example.com`;
  const [a, b] = await Promise.all([
    api.signupRaw({ email: race, password: k.newPassword(), nickname: 'racer1' }),
    api.signupRaw({ email: race.toUpperCase(), password: k.newPassword(), nickname: 'racer2' }),
  ]);
  const statuses = [a.status, b.status].sort();
  assert.deepEqual(statuses, [201, 409], `racing sign-ups: ${a.status} ${a.text} / ${b.status} ${b.text}`);
  h.assertErrorShape(a.status === 409 ? a : b, 409, 'EMAIL_TAKEN');
});

// ---------------------------------------------------------------------------------------------
// log-in

test('log-in → 200 session with any email case; each log-in is a new session', T, async (t) => {
  const { server, api } = await k.setup(t);
  const email = `Bob.${k.rand(3)}@Example.com`;
  const s = await api.signup({ email, nickname: 'bobby' });
  const secret = k.serverSecret(server);
  const seen = new Set([s.cookie]);
  for (const typed of [email, email.toLowerCase(), email.toUpperCase()]) {
    const l = await api.login(typed, s.password);
    assert.equal(l.res.status, 200);
    assert.deepEqual(l.user, s.user, 'log-in USER differs from the sign-up USER');
    assert.equal(l.user.email, email, 'USER.email must stay as typed at sign-up');
    assert.ok(k.verifyJwt(l.token, secret));
    assert.ok(!seen.has(l.cookie), 'a log-in reused a refresh cookie');
    seen.add(l.cookie);
    assert.notEqual(l.claims.sid, s.claims.sid, 'a log-in must start a new session (sid)');
    const me = await api.me(l.token);
    assert.equal(me.status, 200, me.text);
    assert.deepEqual(me.json, s.user);
  }
});

test('wrong password and unknown email → the same 401 INVALID_CREDENTIALS answer', T, async (t) => {
  const { api } = await k.setup(t);
  const s = await api.signup();
  const wrong = await api.loginRaw(s.email, `${s.password}x`);
  const wrongCase = await api.loginRaw(s.email, s.password.toUpperCase());
  const unknown = await api.loginRaw(k.newEmail('ghost'), s.password);
  const strip = (res) => {
    const e = h.assertErrorShape(res, 401, 'INVALID_CREDENTIALS');
    k.assertNoRefreshCookie(res);
    assert.ok(!('fields' in e));
    const { requestId, ...rest } = e;
    void requestId;
    return rest;
  };
  const a = strip(wrong);
  assert.deepEqual(strip(wrongCase), a, 'passwords are case-sensitive; same answer');
  assert.deepEqual(strip(unknown), a, 'unknown email and wrong password must answer alike');
  assert.equal(normalizeHeaders(unknown), normalizeHeaders(wrong), 'the header sets differ');
});

function normalizeHeaders(res) {
  return Object.keys(res.headers).filter((n) => !['date', 'x-request-id', 'content-length'].includes(n)).sort().join(',');
}

test('log-in validation: missing or non-string fields → 422 listing them', T, async (t) => {
  const { api } = await k.setup(t);
  const login = (json) => api.post(`${AUTH}/login`, { json });
  k.assertFields(await login({}), { email: 'REQUIRED', password: 'REQUIRED' }, '{}');
  k.assertFields(await login({ email: 'a@example.com' }), { password: 'REQUIRED' }, 'no password');
  k.assertFields(await login({ email: 7, password: ['x'] }), { email: 'INVALID', password: 'INVALID' }, 'non-strings');
  const long = await api.loginRaw(`${'x'.repeat(300)}@example.com`, 'whatever-123');
  assert.ok([401, 422].includes(long.status), `a 312-byte email at log-in: ${long.status} ${long.text}`);
  h.assertErrorShape(long, long.status, long.status === 401 ? 'INVALID_CREDENTIALS' : 'VALIDATION_FAILED');
  const plain = await api.post(`${AUTH}/login`, { body: '{}', headers: { 'Content-Type': 'text/plain' } });
  h.assertErrorShape(plain, 415, 'UNSUPPORTED_MEDIA_TYPE');
  const broken = await api.post(`${AUTH}/login`, { body: '{', headers: { 'Content-Type': 'application/json' } });
  h.assertErrorShape(broken, 400, 'BAD_REQUEST');
});

// ---------------------------------------------------------------------------------------------
// admin, providers, categories

test('CONVO_ADMIN_EMAILS: that account is admin in USER and JWT (any letter case); others are users', T, async (t) => {
  const { server, api } = await k.setup(t, { env: { CONVO_ADMIN_EMAILS: 'boss@example.com' } });
  const secret = k.serverSecret(server);
  const boss = await api.signup({ email: 'Boss@Example.COM', nickname: 'boss' });
  k.assertUser(boss.user, { email: 'Boss@Example.COM', role: 'admin' });
  assert.equal(boss.claims.role, 'admin');
  assert.ok(k.verifyJwt(boss.token, secret));
  const me = await api.me(boss.token);
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.role, 'admin');
  const l = await api.login('BOSS@example.com', boss.password);
  assert.equal(l.user.role, 'admin');
  assert.equal(l.claims.role, 'admin');
  const r = await api.refreshOk(l.cookie);
  assert.equal(r.user.role, 'admin');
  assert.equal(r.claims.role, 'admin');

  const worker = await api.signup({ email: 'worker@example.com', nickname: 'worker' });
  assert.equal(worker.user.role, 'user');
  assert.equal(worker.claims.role, 'user');
  const look = await api.signup({ email: 'boss@example.com.evil.example', nickname: 'lookalike' });
  assert.equal(look.user.role, 'user', 'a look-alike email must not be admin');
});

test('GET /api/v1/auth/providers → {"providers":[]}; GET /api/v1/categories → the 12 categories', T, async (t) => {
  const { api } = await k.setup(t);
  const p = await api.get(`${AUTH}/providers`);
  assert.equal(p.status, 200, p.text);
  h.assertJsonContentType(p);
  assert.deepEqual(p.json, { providers: [] });

  const c = await api.get('/api/v1/categories');
  assert.equal(c.status, 200, c.text);
  h.assertJsonContentType(c);
  assert.deepEqual(Object.keys(c.json), ['categories']);
  const cats = c.json.categories;
  assert.ok(Array.isArray(cats));
  assert.deepEqual(cats.map((x) => x.id), k.CATEGORY_IDS);
  for (const cat of cats) {
    assert.deepEqual(Object.keys(cat).sort(), ['en', 'id', 'ko'], JSON.stringify(cat));
    assert.ok(typeof cat.ko === 'string' && cat.ko.length > 0, JSON.stringify(cat));
    assert.ok(typeof cat.en === 'string' && cat.en.length > 0, JSON.stringify(cat));
  }
  assert.deepEqual(cats.find((x) => x.id === 'backend'), { id: 'backend', ko: '백엔드', en: 'Backend' });
});

// ---------------------------------------------------------------------------------------------
// refresh

test('refresh → 200 new session with a new cookie; the old access token and the new one both work', T, async (t) => {
  const { server, api } = await k.setup(t);
  const s = await api.signup();
  const r1 = await api.refreshOk(s.cookie);
  assert.notEqual(r1.cookie, s.cookie, 'the cookie was not rotated');
  assert.notEqual(r1.token, s.token);
  assert.notEqual(r1.claims.jti, s.claims.jti);
  assert.deepEqual(r1.user, s.user);
  assert.ok(k.verifyJwt(r1.token, k.serverSecret(server)));
  const r2 = await api.refreshOk(r1.cookie);
  assert.ok(![s.cookie, r1.cookie].includes(r2.cookie));
  for (const tok of [s.token, r1.token, r2.token]) {
    const me = await api.me(tok);
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.id, s.user.id);
  }
  // The cookie among others, as a browser sends it.
  const res = await api.post(`${AUTH}/refresh`, { headers: { Cookie: `theme=dark; convo_rt=${r2.cookie}; lang=ko` } });
  assert.equal(res.status, 200, res.text);
  k.assertSession(res);
});

test('refresh without a cookie, with an unknown or malformed one → 401 REFRESH_INVALID clearing the cookie', T, async (t) => {
  const { api } = await k.setup(t);
  const s = await api.signup();
  const cases = [
    ['no Cookie header', {}],
    ['another cookie only', { headers: { Cookie: 'theme=dark' } }],
    ['an empty convo_rt', { headers: { Cookie: 'convo_rt=' } }],
    ['an unknown 43-char token', { cookie: `A${k.rand(21)}`.slice(0, 43) }],
    ['a random well-formed token', { cookie: crypto.randomBytes(32).toString('base64url') }],
    ['a short token', { cookie: 'abc' }],
    ['a token with a bad character', { cookie: `${s.cookie.slice(0, 42)}*` }],
    ['the real token with one character changed', { cookie: `${s.cookie.slice(0, 42)}${s.cookie[42] === 'A' ? 'B' : 'A'}` }],
    ['the real token plus a character', { cookie: `${s.cookie}A` }],
  ];
  for (const [name, opts] of cases) {
    await t.test(name, async () => {
      const res = await api.post(`${AUTH}/refresh`, opts);
      h.assertErrorShape(res, 401, 'REFRESH_INVALID');
      k.assertCookieCleared(res);
    });
  }
  // None of that disturbed the real session.
  await api.refreshOk(s.cookie);
});

test('a rotated cookie replayed within 10 s → a sibling session; two racing tabs both get one', T, async (t) => {
  const { api } = await k.setup(t);
  const s = await api.signup();
  const b = await api.refreshOk(s.cookie);
  const c = await api.refreshOk(s.cookie); // A again, within the grace window
  assert.ok(![s.cookie, b.cookie].includes(c.cookie), 'the sibling must get its own cookie');
  assert.equal(c.user.id, s.user.id);
  // Both siblings live on.
  const b2 = await api.refreshOk(b.cookie);
  const c2 = await api.refreshOk(c.cookie);
  assert.notEqual(b2.cookie, c2.cookie);

  // Two tabs refreshing with the same cookie at the same moment.
  const [x, y] = await Promise.all([api.refresh(b2.cookie), api.refresh(b2.cookie)]);
  assert.equal(x.status, 200, `tab 1: ${x.text}`);
  assert.equal(y.status, 200, `tab 2: ${y.text}`);
  const xs = k.assertSession(x);
  const ys = k.assertSession(y);
  assert.notEqual(xs.cookie, ys.cookie);
  await api.refreshOk(xs.cookie);
  await api.refreshOk(ys.cookie);
});

// ---------------------------------------------------------------------------------------------
// CSRF

test('CSRF: refresh/logout with a foreign Origin → 403 FORBIDDEN, the cookie is not consumed', T, async (t) => {
  const { api } = await k.setup(t);
  const s = await api.signup();
  let cookie = s.cookie;
  const foreign = ['https://evil.example', 'null', 'http://localhost:8080.evil.example',
    'http://localhost:80800', 'http://localhost', 'https://localhost:8080', 'http://evil.example:8080'];
  for (const origin of foreign) {
    await t.test(`Origin: ${origin}`, async () => {
      for (const what of ['refresh', 'logout']) {
        const res = await api[what](cookie, { origin });
        h.assertErrorShape(res, 403, 'FORBIDDEN');
        k.assertNoRefreshCookie(res);
      }
      // Not consumed, not revoked: a refresh without Origin still works with the same cookie.
      const r = await api.refreshOk(cookie);
      cookie = r.cookie;
    });
  }
  await t.test('Origin: http://localhost:8080 (the public origin) works', async () => {
    const r = await api.refreshOk(cookie, { origin: 'http://localhost:8080' });
    cookie = r.cookie;
    const out = await api.logout(cookie, { origin: 'http://localhost:8080' });
    assert.equal(out.status, 204, out.text);
    const dead = await api.refresh(cookie);
    h.assertErrorShape(dead, 401, 'REFRESH_INVALID');
  });
});

// ---------------------------------------------------------------------------------------------
// log-out

test('logout → 204 clearing the cookie; the family is revoked; other sessions live on', T, async (t) => {
  const { api } = await k.setup(t);
  const s = await api.signup();
  const other = await api.login(s.email, s.password);
  const b = await api.refreshOk(s.cookie); // s.cookie is now a rotated token inside its grace window
  const out = await api.logout(b.cookie);
  assert.equal(out.status, 204, out.text);
  assert.equal(out.text, '');
  h.requestIdOf(out);
  k.assertCookieCleared(out);

  const again = await api.refresh(b.cookie);
  h.assertErrorShape(again, 401, 'REFRESH_INVALID');
  k.assertCookieCleared(again);
  // The rotated parent of the revoked family must not come back through the grace window.
  const parent = await api.refresh(s.cookie);
  assert.equal(parent.status, 401, `a revoked family's rotated token refreshed: ${parent.text}`);
  h.assertErrorShape(parent, 401);
  assert.ok(['REFRESH_INVALID', 'REFRESH_REUSED'].includes(parent.json.error.code), parent.text);

  // The other log-in is another family.
  await api.refreshOk(other.cookie);

  // Logging out twice, or without any cookie, is fine.
  const twice = await api.logout(b.cookie);
  assert.equal(twice.status, 204, twice.text);
  k.assertCookieCleared(twice);
  const none = await api.post(`${AUTH}/logout`);
  assert.equal(none.status, 204, none.text);
  k.assertCookieCleared(none);
  const junk = await api.logout('junk');
  assert.equal(junk.status, 204, junk.text);
});

test('logout-all (Bearer) → 204; every refresh token of the user is revoked, other users keep theirs', T, async (t) => {
  const { api } = await k.setup(t);
  const s = await api.signup();
  const l2 = await api.login(s.email, s.password);
  const l3 = await api.refreshOk((await api.login(s.email, s.password)).cookie);
  const bystander = await api.signup();

  const missing = await api.post(`${AUTH}/logout-all`);
  h.assertErrorShape(missing, 401, 'TOKEN_MISSING');
  const bad = await api.post(`${AUTH}/logout-all`, { token: 'garbage' });
  h.assertErrorShape(bad, 401, 'TOKEN_INVALID');

  const res = await api.post(`${AUTH}/logout-all`, { token: l2.token });
  assert.equal(res.status, 204, res.text);
  h.requestIdOf(res);
  for (const [name, cookie] of [['sign-up', s.cookie], ['log-in 2', l2.cookie], ['log-in 3', l3.cookie]]) {
    const r = await api.refresh(cookie);
    assert.equal(r.status, 401, `${name} cookie still refreshes after logout-all: ${r.text}`);
    h.assertErrorShape(r, 401, 'REFRESH_INVALID');
  }
  await api.refreshOk(bystander.cookie);
  // A new log-in works.
  const fresh = await api.login(s.email, s.password);
  await api.refreshOk(fresh.cookie);
});

// ---------------------------------------------------------------------------------------------
// load and aborted requests (the answers arrive from the hashing pool and the store, later)

test('20 sign-ups and then 20 log-ins at once all succeed, with distinct ids and cookies', T, async (t) => {
  const { api } = await k.setup(t);
  const bodies = Array.from({ length: 20 }, (_, i) => ({ email: k.newEmail(`crowd${i}`), password: k.newPassword(), nickname: `crowd${i}` }));
  const ups = await Promise.all(bodies.map((b) => api.signupRaw(b, { ip: k.freshIp() })));
  const users = ups.map((res, i) => {
    assert.equal(res.status, 201, `sign-up ${i}: ${res.status} ${res.text}`);
    return k.assertSession(res);
  });
  assert.equal(new Set(users.map((u) => u.user.id)).size, 20);
  const ins = await Promise.all(bodies.map((b) => api.loginRaw(b.email, b.password, { ip: k.freshIp() })));
  const sessions = ins.map((res, i) => {
    assert.equal(res.status, 200, `log-in ${i}: ${res.status} ${res.text}`);
    const s = k.assertSession(res);
    assert.equal(s.user.id, users[i].user.id, 'a log-in answered with another account');
    return s;
  });
  assert.equal(new Set([...users, ...sessions].map((s) => s.cookie)).size, 40);
  const refreshed = await Promise.all(sessions.map((s) => api.refresh(s.cookie)));
  refreshed.forEach((res, i) => {
    assert.equal(res.status, 200, `refresh ${i}: ${res.text}`);
    assert.equal(k.assertSession(res).user.id, users[i].user.id, 'a refresh answered with another account');
  });
});

test('clients that hang up while their sign-up, log-in, refresh or password check is pending do not hurt the server', T, async (t) => {
  const { server, api } = await k.setup(t);
  const s = await api.signup();
  const other = await api.signup();
  const req = (method, path, json, extra = '') => {
    const body = json === undefined ? '' : JSON.stringify(json);
    return `${method} ${path} HTTP/1.1\r\nHost: x\r\nX-Real-IP: ${api.ip}\r\n${extra}` +
      `${body ? 'Content-Type: application/json\r\n' : ''}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  };
  const wrongPw = `${s.password}-wrong`;
  api.remember(wrongPw);
  const requests = [
    req('POST', `${AUTH}/signup`, { email: k.newEmail('gone'), password: s.password, nickname: 'gone' }),
    req('POST', `${AUTH}/login`, { email: s.email, password: s.password }),
    req('POST', `${AUTH}/login`, { email: s.email, password: wrongPw }),
    req('POST', `${AUTH}/login`, { email: k.newEmail('nobody'), password: s.password }),
    req('POST', `${AUTH}/refresh`, undefined, `Cookie: convo_rt=${other.cookie}\r\n`),
    req('GET', '/api/v1/me', undefined, `Authorization: Bearer ${s.token}\r\n`),
    req('POST', '/api/v1/me/password', { currentPassword: wrongPw, newPassword: wrongPw }, `Authorization: Bearer ${s.token}\r\n`),
    req('DELETE', '/api/v1/me', { password: wrongPw }, `Authorization: Bearer ${s.token}\r\n`),
  ];
  for (const delay of [0, 5, 20, 40]) {
    await Promise.all(requests.map(async (bytes) => {
      const conn = await h.RawConn.open(server.port);
      await conn.write(bytes);
      if (delay) await new Promise((r) => setTimeout(r, delay));
      conn.close();
    }));
  }
  // Let the pending work finish, then everything still works.
  await new Promise((r) => setTimeout(r, 1000));
  const health = await h.request(`${server.url}/healthz`);
  assert.equal(health.status, 200);
  const l = await api.login(s.email, s.password);
  const me = await api.me(l.token);
  assert.equal(me.status, 200, me.text);
  assert.equal(me.json.id, s.user.id, 'the aborted DELETEs with a wrong password must not delete');
  // "other"'s cookie was presented four times within the grace window: one rotation, one grace
  // sibling, then reuse — a rotated token gets one sibling at most, so its family is revoked.
  const replay = await api.refresh(other.cookie);
  assert.equal(replay.status, 401, replay.text);
  assert.ok(['REFRESH_INVALID', 'REFRESH_REUSED'].includes(replay.json.error.code), replay.text);
});
