'use strict';
// SPEC §3.3 (+ the lead's decisions): GET /api/v1/me and the access token checks (missing,
// malformed, forged, expired), PATCH /api/v1/me, POST /api/v1/me/password, DELETE /api/v1/me.
// Forged tokens are made with node:crypto; the server's key is <dataDir>/jwt.secret (the 64 hex
// characters themselves are the HMAC key).

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { test } = require('node:test');
const h = require('./harness');
const k = require('./authkit');

const T = { timeout: 60000 };
const ME = '/api/v1/me';
const HS256 = { alg: 'HS256', typ: 'JWT' };

// ---------------------------------------------------------------------------------------------
// the access token

test('GET /me without a usable Authorization header → 401 TOKEN_MISSING / TOKEN_INVALID', T, async (t) => {
  const { api } = await k.setup(t);
  const s = await api.signup();
  const cases = [
    ['no header', {}, 'TOKEN_MISSING'],
    ['Basic scheme', { Authorization: 'Basic x' }, 'TOKEN_INVALID'],
    ['Basic with credentials', { Authorization: `Basic ${Buffer.from(`${s.email}:x`).toString('base64')}` }, 'TOKEN_INVALID'],
    ['the token without a scheme', { Authorization: s.token }, 'TOKEN_INVALID'],
    ['Bearer garbage', { Authorization: 'Bearer garbage' }, 'TOKEN_INVALID'],
    ['Bearer a.b.c', { Authorization: 'Bearer a.b.c' }, 'TOKEN_INVALID'],
    ['Bearer with two parts of the token', { Authorization: `Bearer ${s.token.split('.').slice(0, 2).join('.')}` }, 'TOKEN_INVALID'],
    ['Bearer with the token and junk after it', { Authorization: `Bearer ${s.token}.x` }, 'TOKEN_INVALID'],
    ['Bearer with a truncated signature', { Authorization: `Bearer ${s.token.slice(0, -1)}` }, 'TOKEN_INVALID'],
    ['the token in a cookie only', { Cookie: `access_token=${s.token}` }, 'TOKEN_MISSING'],
  ];
  for (const [name, headers, code] of cases) {
    await t.test(name, async () => {
      const res = await api.get(ME, { headers });
      const e = h.assertErrorShape(res, 401, code);
      assert.ok(!('fields' in e));
    });
  }
  const ok = await api.me(s.token);
  assert.equal(ok.status, 200, ok.text);
});

test('forged access tokens → 401 TOKEN_INVALID; an expired, correctly signed one → 401 TOKEN_EXPIRED', T, async (t) => {
  const { server, api } = await k.setup(t);
  const s = await api.signup();
  const secret = k.serverSecret(server);
  const { parts, claims } = k.decodeJwt(s.token);
  const now = Math.floor(Date.now() / 1000);
  const b64 = (o) => k.b64url(JSON.stringify(o));

  // Control: a token we sign ourselves with the server's key and fresh claims is accepted, so the
  // rejections below are about what each case changes, not about our signing.
  const own = k.signJwt(HS256, { ...claims, jti: k.rand(12), iat: now, exp: now + 900 }, secret);
  api.rememberToken(own);
  const control = await api.me(own);
  assert.equal(control.status, 200, `a token signed with jwt.secret (as ASCII) was refused: ${control.text}`);
  assert.equal(control.json.id, s.user.id);

  const recomputed = (header, payload, alg = 'sha256') => {
    const hp = `${b64(header)}.${payload}`;
    return `${hp}.${k.b64url(k.hmac(alg, secret, hp))}`;
  };
  const adminPayload = b64({ ...claims, role: 'admin' });
  const cases = [
    ['alg "none", no signature', `${b64({ alg: 'none', typ: 'JWT' })}.${parts[1]}.`],
    ['alg "none", the old signature kept', `${b64({ alg: 'none', typ: 'JWT' })}.${parts[1]}.${parts[2]}`],
    ['alg "None"', `${b64({ alg: 'None', typ: 'JWT' })}.${parts[1]}.`],
    ['alg "NONE"', `${b64({ alg: 'NONE', typ: 'JWT' })}.${parts[1]}.`],
    ['alg "HS512" with a recomputed HMAC-SHA256', recomputed({ alg: 'HS512', typ: 'JWT' }, parts[1])],
    ['alg "HS512" with a real HMAC-SHA512', recomputed({ alg: 'HS512', typ: 'JWT' }, parts[1], 'sha512')],
    ['alg "RS256" with a recomputed HMAC-SHA256', recomputed({ alg: 'RS256', typ: 'JWT' }, parts[1])],
    ['alg "hs256" (wrong case) re-signed', recomputed({ alg: 'hs256', typ: 'JWT' }, parts[1])],
    ['no alg at all, re-signed', recomputed({ typ: 'JWT' }, parts[1])],
    ['payload changed to role "admin", old signature', `${parts[0]}.${adminPayload}.${parts[2]}`],
    ['payload changed to another sub, old signature',
      `${parts[0]}.${b64({ ...claims, sub: String(Number(claims.sub) + 1) })}.${parts[2]}`],
    ['exp pushed a day later, old signature', `${parts[0]}.${b64({ ...claims, exp: claims.exp + 86400 })}.${parts[2]}`],
    ['signed with another secret', k.signJwt(HS256, claims, crypto.randomBytes(32).toString('hex'))],
    ['signed with the hex-decoded secret bytes', k.signJwt(HS256, claims, Buffer.from(secret, 'hex'))],
    ['signature in standard base64 with padding',
      `${parts[0]}.${parts[1]}.${Buffer.from(parts[2], 'base64url').toString('base64')}`],
    ['correctly signed, no exp', k.signJwt(HS256, { sub: claims.sub, iat: now, jti: k.rand(12), role: 'user', sid: claims.sid }, secret)],
    ['correctly signed, no sub', k.signJwt(HS256, { iat: now, exp: now + 900, jti: k.rand(12), role: 'user', sid: claims.sid }, secret)],
    ['correctly signed, sub of no account', k.signJwt(HS256, { ...claims, sub: '987654321', jti: k.rand(12) }, secret)],
    ['correctly signed, payload not JSON', `${parts[0]}.${k.b64url('not json')}.${k.b64url(k.hmac('sha256', secret, `${parts[0]}.${k.b64url('not json')}`))}`],
  ];
  for (const [name, token] of cases) {
    await t.test(name, async () => {
      const res = await api.me(token);
      h.assertErrorShape(res, 401, 'TOKEN_INVALID');
    });
  }

  await t.test('expired (exp an hour ago), correctly signed → TOKEN_EXPIRED', async () => {
    const expired = k.signJwt(HS256, { ...claims, jti: k.rand(12), iat: now - 3600 - 900, exp: now - 3600 }, secret);
    const res = await api.me(expired);
    h.assertErrorShape(res, 401, 'TOKEN_EXPIRED');
  });
  await t.test('expired a minute ago, correctly signed → TOKEN_EXPIRED', async () => {
    const expired = k.signJwt(HS256, { ...claims, jti: k.rand(12), iat: now - 960, exp: now - 60 }, secret);
    const res = await api.me(expired);
    h.assertErrorShape(res, 401, 'TOKEN_EXPIRED');
  });
  await t.test('expired but signed with another secret → TOKEN_INVALID (signature first)', async () => {
    const forged = k.signJwt(HS256, { ...claims, iat: now - 2000, exp: now - 1000 }, 'x'.repeat(64));
    const res = await api.me(forged);
    h.assertErrorShape(res, 401, 'TOKEN_INVALID');
  });
  await t.test('the admin-role forgery is refused on logout-all too', async () => {
    const res = await api.post(`${k.AUTH}/logout-all`, { token: `${parts[0]}.${adminPayload}.${parts[2]}` });
    h.assertErrorShape(res, 401, 'TOKEN_INVALID');
  });
  // The real token still works.
  const ok = await api.me(s.token);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.role, 'user');
});

// ---------------------------------------------------------------------------------------------
// PATCH /me

test('PATCH /me sets and clears job, career, bio, nickname; GET /me shows it; a log-in shows it', T, async (t) => {
  const { api } = await k.setup(t);
  const s = await api.signup({ nickname: 'before' });
  const patch = (json, token = s.token) => api.patch(ME, { json, token });

  let r = await patch({ job: 'backend', career: 'junior', bio: '안녕하세요, 백엔드 개발자입니다.', nickname: '  after  ' });
  assert.equal(r.status, 200, r.text);
  h.assertJsonContentType(r);
  k.assertUser(r.json, { email: s.email, nickname: 'after', job: 'backend', career: 'junior', bio: '안녕하세요, 백엔드 개발자입니다.' });
  assert.equal(r.json.id, s.user.id);
  assert.equal(r.json.createdAt, s.user.createdAt);
  let me = await api.me(s.token);
  assert.deepEqual(me.json, r.json);

  // Partial: only what is given changes.
  r = await patch({ career: 'senior' });
  assert.equal(r.status, 200, r.text);
  k.assertUser(r.json, { nickname: 'after', job: 'backend', career: 'senior', bio: '안녕하세요, 백엔드 개발자입니다.' });
  r = await patch({});
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, (await api.me(s.token)).json);

  // Every category and career is accepted.
  for (const job of k.CATEGORY_IDS) {
    r = await patch({ job });
    assert.equal(r.status, 200, `job ${job}: ${r.text}`);
    assert.equal(r.json.job, job);
  }
  for (const career of k.CAREERS) {
    r = await patch({ career });
    assert.equal(r.status, 200, `career ${career}: ${r.text}`);
    assert.equal(r.json.career, career);
  }

  // Lengths: a bio of 300 characters (Hangul: 900 bytes) is fine; nickname 20 Hangul is fine.
  r = await patch({ bio: '🚀'.repeat(300), nickname: '🚀'.repeat(20) }); // 1200 and 80 bytes
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.bio, '🚀'.repeat(300));
  assert.equal(r.json.nickname, '🚀'.repeat(20));
  r = await patch({ bio: '줄 하나\n\t줄 둘' }); // newline and tab are fine in a bio
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.bio, '줄 하나\n\t줄 둘');
  r = await patch({ bio: '가'.repeat(300), nickname: '나'.repeat(20) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.bio, '가'.repeat(300));
  assert.equal(r.json.nickname, '나'.repeat(20));

  // null clears job, career and bio.
  r = await patch({ job: null, career: null, bio: null });
  assert.equal(r.status, 200, r.text);
  k.assertUser(r.json, { email: s.email, nickname: '나'.repeat(20), job: null, career: null, bio: null });
  me = await api.me(s.token);
  assert.deepEqual(me.json, r.json);

  // Persisted for the next log-in.
  await patch({ job: 'ai_data', career: 'student', bio: 'hello' });
  const l = await api.login(s.email, s.password);
  k.assertUser(l.user, { email: s.email, nickname: '나'.repeat(20), job: 'ai_data', career: 'student', bio: 'hello' });
});

test('PATCH /me validation → 422 listing every bad field; nothing changes', T, async (t) => {
  const { api } = await k.setup(t);
  const s = await api.signup({ nickname: 'steady' });
  const base = await api.patch(ME, { json: { job: 'frontend', career: 'mid', bio: 'keep me' }, token: s.token });
  assert.equal(base.status, 200, base.text);
  const cases = [
    ['unknown job', { job: 'chef' }, { job: 'UNKNOWN' }],
    ['job in another case', { job: 'Backend' }, { job: 'UNKNOWN' }],
    ['unknown career', { career: 'ceo' }, { career: 'UNKNOWN' }],
    ['empty job', { job: '' }, { job: 'UNKNOWN' }], // "" is no category id (null is the way to clear)
    ['empty career', { career: '' }, { career: 'UNKNOWN' }],
    ['bio of 301 characters', { bio: 'b'.repeat(301) }, { bio: 'TOO_LONG' }],
    ['bio of 301 Hangul characters', { bio: '가'.repeat(301) }, { bio: 'TOO_LONG' }],
    ['bio of 301 emoji', { bio: '🚀'.repeat(301) }, { bio: 'TOO_LONG' }],
    ['nickname null', { nickname: null }, { nickname: 'REQUIRED' }],
    ['nickname too short', { nickname: ' x ' }, { nickname: 'TOO_SHORT' }],
    ['nickname too long', { nickname: 'n'.repeat(21) }, { nickname: 'TOO_LONG' }],
    ['nickname with U+202E', { nickname: 'ab\u202Ecd' }, { nickname: 'INVALID' }],
    ['job not a string', { job: 5 }, { job: ['INVALID', 'UNKNOWN'] }],
    ['nickname not a string', { nickname: ['ab'] }, { nickname: 'INVALID' }],
    ['several bad fields at once', { nickname: 'x', job: 'chef', career: 'ceo', bio: 'b'.repeat(301) },
      { nickname: 'TOO_SHORT', job: 'UNKNOWN', career: 'UNKNOWN', bio: 'TOO_LONG' }],
    ['one bad field among good ones', { nickname: 'changed', job: 'backend', career: 'boss', bio: 'changed' },
      { career: 'UNKNOWN' }],
  ];
  for (const [name, json, fields] of cases) {
    await t.test(name, async () => {
      const res = await api.patch(ME, { json, token: s.token });
      k.assertFields(res, fields, name);
    });
  }
  const me = await api.me(s.token);
  assert.deepEqual(me.json, base.json, 'a refused PATCH changed the profile');

  // Fields a user may not set: refused or ignored, never applied.
  for (const json of [{ role: 'admin' }, { email: 'someone.else@example.com' }, { id: '1' },
    { providers: ['password', 'google'] }, { createdAt: '2000-01-01T00:00:00Z' }]) {
    const res = await api.patch(ME, { json, token: s.token });
    assert.ok([200, 422].includes(res.status), `PATCH ${JSON.stringify(json)}: ${res.status} ${res.text}`);
    const now = await api.me(s.token);
    assert.deepEqual(now.json, base.json, `PATCH ${JSON.stringify(json)} changed the profile`);
  }
  const l = await api.login(s.email, s.password);
  assert.equal(l.claims.role, 'user');

  const noToken = await api.patch(ME, { json: { job: 'backend' } });
  h.assertErrorShape(noToken, 401, 'TOKEN_MISSING');
  const plain = await api.patch(ME, { body: '{"job":"qa"}', token: s.token, headers: { 'Content-Type': 'text/plain' } });
  h.assertErrorShape(plain, 415, 'UNSUPPORTED_MEDIA_TYPE');
  const broken = await api.patch(ME, { body: '{"job":', token: s.token, headers: { 'Content-Type': 'application/json' } });
  h.assertErrorShape(broken, 400, 'BAD_REQUEST');
});

// ---------------------------------------------------------------------------------------------
// POST /me/password

test('POST /me/password: checks; then this session lives on, the others are revoked, only the new password logs in', T, async (t) => {
  const { api } = await k.setup(t);
  const s = await api.signup();
  const other = await api.login(s.email, s.password); // another device
  const mine = await api.refreshOk(s.cookie); // this device, after a rotation
  const url = `${ME}/password`;
  const newPw = k.newPassword();

  const noToken = await api.post(url, { json: { currentPassword: s.password, newPassword: newPw } });
  h.assertErrorShape(noToken, 401, 'TOKEN_MISSING');
  k.assertFields(await api.post(url, { json: {}, token: mine.token }),
    { currentPassword: 'REQUIRED', newPassword: 'REQUIRED' }, '{}');
  k.assertFields(await api.post(url, { json: { currentPassword: `${s.password}x`, newPassword: newPw }, token: mine.token }),
    { currentPassword: 'INCORRECT' }, 'wrong current password');
  k.assertFields(await api.post(url, { json: { currentPassword: s.password, newPassword: 'Sh0rt!' }, token: mine.token }),
    { newPassword: 'TOO_SHORT' }, 'new password too short');
  k.assertFields(await api.post(url, { json: { currentPassword: s.password, newPassword: 'x'.repeat(129) }, token: mine.token }),
    { newPassword: 'TOO_LONG' }, 'new password too long');
  // None of the refusals changed anything.
  await api.login(s.email, s.password).then((l) => api.logout(l.cookie));
  await api.refreshOk(other.cookie).then((r) => { other.cookie = r.cookie; });

  const res = await api.post(url, { json: { currentPassword: s.password, newPassword: newPw }, token: mine.token });
  assert.equal(res.status, 204, res.text);
  assert.equal(res.text, '');
  h.requestIdOf(res);

  // This session: its access token and its refresh cookie keep working.
  const me = await api.me(mine.token);
  assert.equal(me.status, 200, me.text);
  const next = await api.refreshOk(mine.cookie);
  await api.refreshOk(next.cookie);
  // The other session's refresh cookie is revoked.
  const dead = await api.refresh(other.cookie);
  h.assertErrorShape(dead, 401, 'REFRESH_INVALID');
  k.assertCookieCleared(dead);

  // Only the new password logs in.
  const old = await api.loginRaw(s.email, s.password);
  h.assertErrorShape(old, 401, 'INVALID_CREDENTIALS');
  const l = await api.login(s.email.toUpperCase(), newPw);
  assert.equal(l.user.id, s.user.id);
  assert.deepEqual(l.user.providers, ['password']);
});

// ---------------------------------------------------------------------------------------------
// DELETE /me

test('DELETE /me: password checks; then 204, cookie cleared, token and cookies dead, the email is free again', T, async (t) => {
  const { api } = await k.setup(t);
  const email = `Leaver.${k.rand(3)}@example.com`;
  const bystander = await api.signup();
  // The leaver is the newest account: a store that reuses the highest id would hand it to the
  // next sign-up, and the leaver's old token would open that account.
  const s = await api.signup({ email, nickname: 'leaver' });
  const other = await api.login(email, s.password);

  const noToken = await api.del(ME, { json: { password: s.password } });
  h.assertErrorShape(noToken, 401, 'TOKEN_MISSING');
  k.assertFields(await api.del(ME, { json: { password: `${s.password}x` }, token: s.token }),
    { password: 'INCORRECT' }, 'wrong password');
  k.assertFields(await api.del(ME, { json: {}, token: s.token }), { password: 'REQUIRED' }, 'no password');
  k.assertFields(await api.del(ME, { json: { password: null }, token: s.token }), { password: 'REQUIRED' }, 'null password');
  k.assertFields(await api.del(ME, { json: { password: 12345678 }, token: s.token }), { password: 'INVALID' }, 'non-string');
  assert.equal((await api.me(s.token)).status, 200, 'a refused DELETE deleted the account');

  const res = await api.del(ME, { json: { password: s.password }, token: s.token });
  assert.equal(res.status, 204, res.text);
  assert.equal(res.text, '');
  h.requestIdOf(res);
  k.assertCookieCleared(res);

  // The still-unexpired access token names an account that is gone.
  const me = await api.me(s.token);
  h.assertErrorShape(me, 401, 'TOKEN_INVALID');
  const patch = await api.patch(ME, { json: { bio: 'ghost' }, token: other.token });
  h.assertErrorShape(patch, 401, 'TOKEN_INVALID');
  const again = await api.del(ME, { json: { password: s.password }, token: other.token });
  h.assertErrorShape(again, 401, 'TOKEN_INVALID');
  // Every refresh cookie of the account is dead.
  for (const cookie of [s.cookie, other.cookie]) {
    const r = await api.refresh(cookie);
    h.assertErrorShape(r, 401, 'REFRESH_INVALID');
  }
  const login = await api.loginRaw(email, s.password);
  h.assertErrorShape(login, 401, 'INVALID_CREDENTIALS');

  // The email (any case) can sign up again: a new account, a new id; the old token stays dead.
  const reborn = await api.signup({ email: email.toLowerCase(), nickname: 'reborn' });
  assert.notEqual(reborn.user.id, s.user.id, 'the new account reuses the deleted id');
  k.assertUser(reborn.user, { email: email.toLowerCase(), nickname: 'reborn' });
  const old = await api.me(s.token);
  h.assertErrorShape(old, 401, 'TOKEN_INVALID');
  const newMe = await api.me(reborn.token);
  assert.equal(newMe.status, 200, newMe.text);
  assert.equal(newMe.json.id, reborn.user.id);
  await api.login(email, reborn.password);

  // Somebody else was not touched.
  assert.equal((await api.me(bystander.token)).status, 200);
  await api.refreshOk(bystander.cookie);
});

test('a deleted account\'s unexpired access token never opens the account signed up after it', T, async (t) => {
  const { api } = await k.setup(t);
  await api.signup();
  const leaver = await api.signup({ nickname: 'leaver' }); // the newest account
  const del = await api.del(ME, { json: { password: leaver.password }, token: leaver.token });
  assert.equal(del.status, 204, del.text);
  h.assertErrorShape(await api.me(leaver.token), 401, 'TOKEN_INVALID');

  // Somebody else signs up next.
  const stranger = await api.signup({ nickname: 'stranger' });
  const me = await api.me(leaver.token);
  assert.equal(me.status, 401, `the deleted account's token (sub ${leaver.user.id}) opened another ` +
    `person's account: GET /me → ${me.status} ${me.text}`);
  assert.notEqual(stranger.user.id, leaver.user.id,
    `the new account got the deleted account's id ${leaver.user.id}`);
  h.assertErrorShape(me, 401, 'TOKEN_INVALID');
  const patch = await api.patch(ME, { json: { bio: 'taken over' }, token: leaver.token });
  h.assertErrorShape(patch, 401, 'TOKEN_INVALID');
  const mine = await api.me(stranger.token);
  assert.equal(mine.json.bio, null);
});
