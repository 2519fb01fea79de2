'use strict';
// SPEC §3.2 brute force: after 10 failed log-ins for one email within 15 minutes the next attempt
// (even with the right password) → 429 RATE_LIMITED with Retry-After; 30 log-in attempts a minute
// from one address, the 31st → 429. The server takes the client address from X-Real-IP when the
// TCP peer is loopback, so each test uses its own X-Real-IP values (header values only).

const assert = require('node:assert/strict');
const { test } = require('node:test');
const h = require('./harness');
const k = require('./authkit');

const T = { timeout: 60000 };

function assertRateLimited(res, maxSeconds) {
  const e = h.assertErrorShape(res, 429, 'RATE_LIMITED');
  assert.ok(!('fields' in e));
  k.assertNoRefreshCookie(res);
  const ra = res.headers['retry-after'];
  assert.ok(ra !== undefined, `429 without Retry-After: ${JSON.stringify(res.headers)}`);
  assert.match(ra, /^\d+$/, `Retry-After ${JSON.stringify(ra)} is not whole seconds`);
  const n = Number(ra);
  assert.ok(n > 0 && n <= maxSeconds, `Retry-After ${n}, expected 1..${maxSeconds}`);
  return n;
}

test('10 failed log-ins for one email → the 11th attempt is 429 even with the right password; other emails are not', T, async (t) => {
  const { api } = await k.setup(t);
  const victim = await api.signup({ email: `Victim.${k.rand(3)}@example.com` });
  const bystander = await api.signup();
  const attacker = k.freshIp();
  for (let i = 1; i <= 10; i++) {
    const res = await api.loginRaw(victim.email, `${victim.password}-${i}`, { ip: attacker });
    h.assertErrorShape(res, 401, 'INVALID_CREDENTIALS');
  }
  // The owner, from another address, with the right password: still limited (per email).
  const owner = k.freshIp();
  assertRateLimited(await api.loginRaw(victim.email, victim.password, { ip: owner }), 15 * 60);
  assertRateLimited(await api.loginRaw(victim.email, victim.password, { ip: attacker }), 15 * 60);
  // The email in another letter case is the same email.
  assertRateLimited(await api.loginRaw(victim.email.toUpperCase(), victim.password, { ip: owner }), 15 * 60);
  // Another email from the attacker's address is unaffected.
  const other = await api.login(bystander.email, bystander.password, { ip: attacker });
  assert.equal(other.user.id, bystander.user.id);
  // The victim's existing session is not touched by the limit.
  await api.refreshOk(victim.cookie);
  const me = await api.me(victim.token);
  assert.equal(me.status, 200, me.text);
});

test('the per-email limit also holds for an unknown email (no account enumeration)', T, async (t) => {
  const { api } = await k.setup(t);
  const ghost = k.newEmail('ghost');
  const real = await api.signup();
  const answers = { ghost: [], real: [] };
  for (let i = 1; i <= 10; i++) {
    answers.ghost.push(await api.loginRaw(ghost, `wrong-pass-${i}`));
    answers.real.push(await api.loginRaw(real.email, `wrong-pass-${i}`, { ip: k.freshIp() }));
  }
  for (const res of [...answers.ghost, ...answers.real]) h.assertErrorShape(res, 401, 'INVALID_CREDENTIALS');
  const g = await api.loginRaw(ghost, 'wrong-pass-11', { ip: k.freshIp() });
  const r = await api.loginRaw(real.email, real.password, { ip: k.freshIp() });
  assertRateLimited(g, 15 * 60);
  assertRateLimited(r, 15 * 60);
  const strip = (res) => { const { requestId, ...rest } = res.json.error; void requestId; return rest; };
  assert.deepEqual(strip(g), strip(r), 'the 429 for an unknown email differs from the one for an account');
});

test('30 log-in attempts a minute from one address → the 31st is 429; other addresses are not limited', T, async (t) => {
  const { api } = await k.setup(t);
  const s = await api.signup();
  const busy = k.freshIp();
  // Distinct unknown emails, so that only the per-address limit can trigger.
  for (let i = 1; i <= 29; i++) {
    const res = await api.loginRaw(k.newEmail(`spray${i}`), `wrong-pass-${i}`, { ip: busy });
    h.assertErrorShape(res, 401, 'INVALID_CREDENTIALS');
  }
  // The 30th attempt is a good one: a success counts as an attempt too, and it is still allowed.
  const thirtieth = await api.login(s.email, s.password, { ip: busy });
  assert.equal(thirtieth.user.id, s.user.id);
  // The 31st, even with the right password → 429.
  const secs = assertRateLimited(await api.loginRaw(s.email, s.password, { ip: busy }), 60);
  assert.ok(secs <= 60);
  assertRateLimited(await api.loginRaw(k.newEmail('spray31'), 'wrong-pass-31', { ip: busy }), 60);
  // Per address: another X-Real-IP is served, for the same account and for others.
  await api.login(s.email, s.password, { ip: k.freshIp() });
  const other = await api.loginRaw(k.newEmail('elsewhere'), 'wrong-pass', { ip: k.freshIp() });
  h.assertErrorShape(other, 401, 'INVALID_CREDENTIALS');
  // The limit is about log-ins: from the busy address, sign-up, refresh and /me still work.
  const fresh = await api.signup({}, { ip: busy });
  await api.refreshOk(fresh.cookie, { ip: busy });
  const me = await api.me(fresh.token, { ip: busy });
  assert.equal(me.status, 200, me.text);
  // And still limited for log-ins.
  assertRateLimited(await api.loginRaw(fresh.email, fresh.password, { ip: busy }), 60);
});

test('30 sign-ups from one address in 10 minutes → the 31st is 429; another address still signs up', T, async (t) => {
  const { api } = await k.setup(t);
  const crowd = k.freshIp();
  for (let i = 0; i < 30; i++) await api.signup({}, { ip: crowd });
  assertRateLimited(await api.signupRaw({ email: k.newEmail('31st'), password: 'password-31', nickname: 'thirty-one' }, { ip: crowd }), 10 * 60);
  await api.signup({}, { ip: k.freshIp() });
});

test('password guesses through /me/password share the account limit with log-in', T, async (t) => {
  const { api } = await k.setup(t);
  const s = await api.signup();
  const ip = k.freshIp();
  for (let i = 1; i <= 10; i++) {
    const res = await api.post('/api/v1/me/password', {
      token: s.token, ip, json: { currentPassword: `${s.password}-${i}`, newPassword: 'another-password-1' },
    });
    const e = h.assertErrorShape(res, 422, 'VALIDATION_FAILED');
    assert.equal(e.fields.currentPassword, 'INCORRECT');
  }
  assertRateLimited(await api.post('/api/v1/me/password', {
    token: s.token, ip, json: { currentPassword: s.password, newPassword: 'another-password-1' },
  }), 15 * 60);
  assertRateLimited(await api.loginRaw(s.email, s.password, { ip: k.freshIp() }), 15 * 60);
});

test('more than 64 password hashes pending → 503 UNAVAILABLE with Retry-After, never a hang; the rest succeed', T, async (t) => {
  const { api } = await k.setup(t);
  // 64 queued argon2id hashes (~35 ms of a core each, pool threads at nice 10) take seconds on two
  // cores busy with the other test files: "never a hang" is a 20 s bound, not the 5 s default.
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) =>
    api.signupRaw({ email: k.newEmail(`burst${i}`), password: 'burst-password-1', nickname: `burst${i}` },
      { ip: k.freshIp(), timeoutMs: 20000 })));
  const busy = results.filter((r) => r.status === 503);
  const created = results.filter((r) => r.status === 201);
  assert.equal(busy.length + created.length, 100, `statuses: ${results.map((r) => r.status).join(',')}`);
  assert.ok(busy.length >= 1, 'no 503 although 100 hashes were asked for at once');
  assert.ok(created.length >= 64, `only ${created.length} sign-ups went through`);
  const e = h.assertErrorShape(busy[0], 503, 'UNAVAILABLE');
  assert.ok(e.message);
  assert.match(String(busy[0].headers['retry-after']), /^\d+$/);
  // After the burst the server answers sign-ups again.
  await api.signup({}, { ip: k.freshIp() });
});
