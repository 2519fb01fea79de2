'use strict';
// SPEC §4 (+ the lead's decisions): GET /ws — the Origin check (403 in the §3.1 shape), a request
// that is not a WebSocket handshake (400), the first frame (auth within 10 s: see
// rt_auth_timeout.test.js), bad / forged / expired tokens (close 4401), ready {user, chat,
// waiting} with the ref echoed, re-auth on an open socket (same user → ready, another user →
// 4401), and a token that expires on an open socket (the socket stays).

const assert = require('node:assert/strict');
const { test } = require('node:test');
const h = require('./harness');
const k = require('./authkit');
const rt = require('./rtkit');

const T = { timeout: 60000 };
const HS256 = { alg: 'HS256', typ: 'JWT' };

// ---------------------------------------------------------------------------------------------
// the upgrade

test('Origin: absent or the public origin → 101; another origin → 403 FORBIDDEN (§3.1 shape)', T, async (t) => {
  const { server } = await k.setup(t);
  for (const origin of [undefined, rt.PUBLIC_ORIGIN]) {
    const r = await rt.handshake(server, { origin });
    assert.ok(r.client, `Origin ${origin}: expected 101, got ${r.status} ${r.text}`);
    await r.client.close();
  }
  const refused = [rt.EVIL_ORIGIN, 'null', 'http://localhost:8081', 'http://localhost', 'https://localhost:8080',
    'http://localhost:8080.evil.example', 'http://evil.example:8080'];
  for (const origin of refused) {
    const r = await rt.handshake(server, { origin });
    if (r.client) {
      await r.client.terminate();
      assert.fail(`Origin ${origin}: the upgrade was accepted (101), expected 403`);
    }
    const e = h.assertErrorShape({ status: r.status, headers: r.headers, json: r.json, text: r.text }, 403, 'FORBIDDEN');
    assert.ok(!('fields' in e), `Origin ${origin}: ${r.text}`);
  }
});

test('CONVO_ALLOWED_ORIGINS: the listed origins (and the public one) may open a socket, others not', T, async (t) => {
  const { server } = await k.setup(t, { env: {
    CONVO_PUBLIC_ORIGIN: 'https://convo.example',
    CONVO_ALLOWED_ORIGINS: 'https://app.example,https://beta.example',
  } });
  for (const origin of ['https://convo.example', 'https://app.example', 'https://beta.example', undefined]) {
    const r = await rt.handshake(server, { origin });
    assert.ok(r.client, `Origin ${origin}: expected 101, got ${r.status} ${r.text}`);
    await r.client.close();
  }
  for (const origin of [rt.PUBLIC_ORIGIN, 'https://evil.example', 'https://app.example.evil.example']) {
    const r = await rt.handshake(server, { origin });
    if (r.client) {
      await r.client.terminate();
      assert.fail(`Origin ${origin}: accepted, expected 403`);
    }
    h.assertErrorShape(r, 403, 'FORBIDDEN');
  }
});

test('GET /ws that is not a WebSocket handshake → 400', T, async (t) => {
  const { server, api } = await k.setup(t);
  const plain = await h.request(`${server.url}/ws`);
  h.assertErrorShape(plain, 400, 'BAD_REQUEST');
  // Upgrade headers without Sec-WebSocket-Key.
  const noKey = await h.request(`${server.url}/ws`, { headers: {
    Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13' } });
  h.assertErrorShape(noKey, 400, 'BAD_REQUEST');
  // Still serving sockets afterwards.
  const c = await rt.online(t, server, await rt.user(api));
  assert.equal((await c.request({ type: 'ping' })).type, 'pong');
});

// ---------------------------------------------------------------------------------------------
// authentication

test('auth with a valid token → ready {user (= the USER), chat:null, waiting:null} with the ref echoed', T, async (t) => {
  const { server, api } = await k.setup(t);
  const s = await api.signup({ nickname: '하늘바다' });
  const c = await rt.connect(t, server);
  const ref = { n: 1, tag: ['auth'] };
  const ready = await c.auth(s.token, { ref });
  assert.deepEqual(ready.ref, ref);
  assert.deepEqual(ready.user, s.user, 'ready.user must be the USER of the session');
  assert.equal(ready.chat, null);
  assert.equal(ready.waiting, null);
  assert.deepEqual(Object.keys(ready).sort(), ['chat', 'ref', 'type', 'user', 'waiting']);

  // Without a ref: no ref key.
  const c2 = await rt.connect(t, server);
  const r2 = await c2.auth(s.token);
  assert.ok(!('ref' in r2), `ready without a ref in the auth frame has one: ${JSON.stringify(r2)}`);
});

test('a first frame other than auth → close 4401', T, async (t) => {
  const { server } = await k.setup(t);
  for (const frame of [{ type: 'ping' }, { type: 'match.start', category: 'backend' }, { type: 'nope' },
    { type: 'msg.send', chatId: '1', clientMsgId: 'x', text: 'hi' }]) {
    const c = await rt.connect(t, server, { name: frame.type });
    c.send(frame);
    await c.expectClose(4401, { what: `first frame ${JSON.stringify(frame)}` });
    assert.deepEqual(c.frames.filter((f) => f.type === 'pong' || f.type === 'ready'), []);
  }
});

test('auth with a missing, malformed, forged or expired token → close 4401', T, async (t) => {
  const { server, api } = await k.setup(t);
  const s = await api.signup();
  const secret = k.serverSecret(server);
  const { parts, claims } = k.decodeJwt(s.token);
  const now = Math.floor(Date.now() / 1000);
  const b64 = (o) => k.b64url(JSON.stringify(o));
  const other = await api.signup();
  const cases = [
    ['no token', { type: 'auth' }],
    ['token null', { type: 'auth', token: null }],
    ['token a number', { type: 'auth', token: 12 }],
    ['empty token', { type: 'auth', token: '' }],
    ['garbage', { type: 'auth', token: 'garbage' }],
    ['truncated signature', { type: 'auth', token: s.token.slice(0, -2) }],
    ['alg none', { type: 'auth', token: `${b64({ alg: 'none', typ: 'JWT' })}.${parts[1]}.` }],
    ['another sub with the old signature', { type: 'auth',
      token: `${parts[0]}.${b64({ ...claims, sub: other.user.id })}.${parts[2]}` }],
    ['signed with another key', { type: 'auth',
      token: k.signJwt(HS256, { ...claims, jti: k.rand(12) }, 'x'.repeat(64)) }],
    ['expired, correctly signed', { type: 'auth',
      token: k.signJwt(HS256, { ...claims, jti: k.rand(12), iat: now - 1000, exp: now - 100 }, secret) }],
    ['sub of no user, correctly signed', { type: 'auth',
      token: k.signJwt(HS256, { ...claims, jti: k.rand(12), sub: '987654321', iat: now, exp: now + 900 }, secret) }],
  ];
  for (const [name, frame] of cases) {
    if (typeof frame.token === 'string') api.rememberToken(frame.token);
    await t.test(name, async () => {
      const c = await rt.connect(t, server, { name });
      c.send({ ...frame, ref: 'a' });
      await c.expectClose(4401, { what: name });
      assert.deepEqual(c.all('ready'), [], `${name}: got a ready frame`);
    });
  }
  // Control: our own signature with fresh claims is accepted, so the rejections are about the change.
  const own = k.signJwt(HS256, { ...claims, jti: k.rand(12), iat: now, exp: now + 900 }, secret);
  api.rememberToken(own);
  const c = await rt.connect(t, server);
  const ready = await c.auth(own);
  assert.equal(ready.user.id, s.user.id);
});

test('a second auth frame: same user (fresh token) → another ready; another user\'s token → close 4401', T, async (t) => {
  const { server, api } = await k.setup(t);
  const s = await api.signup();
  const other = await api.signup();
  const c = await rt.connect(t, server);
  await c.auth(s.token, { ref: 1 });
  const again = await api.login(s.email, s.password);
  const r2 = await c.auth(again.token, { ref: 2 });
  assert.equal(r2.ref, 2);
  assert.equal(r2.user.id, s.user.id);
  // The socket still works.
  const pong = await c.request({ type: 'ping' });
  assert.equal(pong.type, 'pong');
  // The same token again is also fine.
  const r3 = await c.auth(s.token, { ref: 3 });
  assert.equal(r3.user.id, s.user.id);

  c.send({ type: 'auth', token: other.token, ref: 4 });
  await c.expectClose(4401, { what: 'auth with another user\'s token' });
  assert.equal(c.frames.filter((f) => f.ref === 4).length, 0, 'no answer to the other user\'s auth');
});

test('a token that expires on an open socket: the socket stays; an expired token in a new auth → 4401', T, async (t) => {
  const { server, api } = await k.setup(t);
  const a = await rt.user(api);
  const b = await rt.user(api);
  const secret = k.serverSecret(server);
  const { claims } = k.decodeJwt(a.token);
  const now = Math.floor(Date.now() / 1000);
  const short = k.signJwt(HS256, { ...claims, jti: k.rand(12), iat: now, exp: now + 2 }, secret);
  api.rememberToken(short);
  const ca = await rt.connect(t, server, { name: 'A' });
  await ca.auth(short);
  const cb = await rt.online(t, server, b, { name: 'B' });
  const { chat } = await rt.pair(t, server, api, { a, b, ca, cb });
  // Past the expiry (exp is whole seconds: wait until now > exp).
  await new Promise((r) => setTimeout(r, Math.max(0, (now + 3) * 1000 - Date.now()) + 100));
  assert.equal((await ca.request({ type: 'ping' })).type, 'pong', 'the socket must stay after the token expired');
  const ack = await rt.sendMsg(ca, chat, 'still here');
  const nb = await cb.next('msg.new');
  assert.equal(nb.message.id, ack.message.id);
  // A fresh token renews it…
  const fresh = await api.login(a.email, a.password);
  const ready = await ca.auth(fresh.token, { ref: 'renew' });
  assert.equal(ready.chat.id, chat, 'ready after re-auth carries the active chat');
  // …an expired one is refused.
  ca.send({ type: 'auth', token: short });
  await ca.expectClose(4401, { what: 'auth with an expired token on an open socket' });
});
