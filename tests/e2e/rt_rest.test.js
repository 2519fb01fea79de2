'use strict';
// SPEC §3.3 with the real-time layer (+ the lead's decisions): GET /api/v1/chats (CHAT_SUMMARY,
// newest first, paging by before/next), GET /chats/{id}/messages (afterSeq, limit; participants
// only), POST /chats/{id}/report (201, the chat ends: "reported" / "partner_left"), blocks (PUT
// during a chat ends it: "blocked" / "partner_left"; GET lists; DELETE), the admin's report list
// (403 for others) and bans (sockets closed 4403, the partner's chat ends, log-in and refresh →
// 403 BANNED naming the end date, a new socket → 4403).

const assert = require('node:assert/strict');
const { test } = require('node:test');
const h = require('./harness');
const k = require('./authkit');
const rt = require('./rtkit');

const T = { timeout: 60000 };
const ADMIN_EMAIL = 'admin@example.com';
const ADMIN_ENV = { env: { CONVO_ADMIN_EMAILS: ADMIN_EMAIL } };
const SUMMARY_KEYS = ['category', 'endedAt', 'id', 'lastMessage', 'partner', 'startedAt'];
const RFC3339_UTC_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function partnerOf(u) {
  return { id: u.id, nickname: u.user.nickname, job: u.user.job, career: u.user.career };
}

function assertSummary(s, { id, category, partner, ended, lastMessage }) {
  assert.deepEqual(Object.keys(s).sort(), SUMMARY_KEYS, `CHAT_SUMMARY keys: ${JSON.stringify(s)}`);
  assert.equal(s.id, id);
  assert.equal(s.category, category);
  assert.deepEqual(s.partner, partner);
  assert.match(s.startedAt, RFC3339_UTC_RE);
  if (ended) {
    assert.match(String(s.endedAt), RFC3339_UTC_RE, `endedAt of an ended chat: ${JSON.stringify(s)}`);
    assert.ok(Date.parse(s.endedAt) >= Date.parse(s.startedAt));
  } else {
    assert.equal(s.endedAt, null, `endedAt of an active chat: ${JSON.stringify(s)}`);
  }
  assert.deepEqual(s.lastMessage, lastMessage);
}

test('GET /api/v1/chats: summaries newest first; paging with limit and before=next', T, async (t) => {
  const { server, api } = await k.setup(t);
  const a = await rt.user(api, { nickname: 'history_a', job: 'backend', career: 'mid' });
  const b = await rt.user(api, { nickname: 'history_b', job: 'qa', career: 'student' });
  const c = await rt.user(api, { nickname: 'history_c' });
  const ca = await rt.online(t, server, a, { name: 'A' });

  const first = await rt.pair(t, server, api, { a, b, ca, category: 'backend' });
  await rt.sendMsg(ca, first.chat, 'hello b');
  const last1 = await rt.sendMsg(first.cb, first.chat, 'bye a');
  ca.send({ type: 'chat.leave', chatId: first.chat });
  await ca.next('chat.ended');
  await first.cb.next('chat.ended');

  const second = await rt.pair(t, server, api, { a, b: c, ca, category: 'frontend' });
  ca.discard();

  const all = await rt.rest(api, 'GET', '/api/v1/chats', a.token);
  assert.equal(all.status, 200, all.text);
  h.assertJsonContentType(all);
  assert.deepEqual(Object.keys(all.json).sort(), ['chats', 'next']);
  assert.equal(all.json.chats.length, 2, all.text);
  assertSummary(all.json.chats[0], { id: second.chat, category: 'frontend', partner: partnerOf(c), ended: false, lastMessage: null });
  assertSummary(all.json.chats[1], { id: first.chat, category: 'backend', partner: partnerOf(b), ended: true, lastMessage: last1.message });
  assert.equal(all.json.next, null);
  assert.ok(!all.text.includes('@'), `emails in /chats: ${all.text}`);

  // B's view of the first chat.
  const bv = await rt.rest(api, 'GET', '/api/v1/chats', b.token);
  assert.equal(bv.json.chats.length, 1);
  assertSummary(bv.json.chats[0], { id: first.chat, category: 'backend', partner: partnerOf(a), ended: true, lastMessage: last1.message });

  // Paging.
  const p1 = await rt.rest(api, 'GET', '/api/v1/chats?limit=1', a.token);
  assert.equal(p1.status, 200, p1.text);
  assert.deepEqual(p1.json.chats.map((x) => x.id), [second.chat]);
  assert.equal(typeof p1.json.next, 'string', `next after a full page: ${p1.text}`);
  const p2 = await rt.rest(api, 'GET', `/api/v1/chats?limit=1&before=${encodeURIComponent(p1.json.next)}`, a.token);
  assert.equal(p2.status, 200, p2.text);
  assert.deepEqual(p2.json.chats.map((x) => x.id), [first.chat]);
  if (p2.json.next !== null) {
    const p3 = await rt.rest(api, 'GET', `/api/v1/chats?limit=1&before=${encodeURIComponent(p2.json.next)}`, a.token);
    assert.equal(p3.status, 200, p3.text);
    assert.deepEqual(p3.json.chats, []);
    assert.equal(p3.json.next, null);
  }
  // No token → 401; a user with no chats → empty.
  h.assertErrorShape(await api.get('/api/v1/chats'), 401, 'TOKEN_MISSING');
  const d = await rt.user(api);
  const none = await rt.rest(api, 'GET', '/api/v1/chats', d.token);
  assert.deepEqual(none.json, { chats: [], next: null });
});

test('GET /api/v1/chats/{id}/messages: afterSeq and limit, ascending; a non-participant or unknown chat → 404', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { a, b, ca, cb, chat } = await rt.pair(t, server, api);
  const sent = [];
  for (let i = 1; i <= 6; i++) sent.push((await rt.sendMsg(i % 3 ? ca : cb, chat, `message ${i}`)).message);
  const all = await rt.rest(api, 'GET', `/api/v1/chats/${chat}/messages`, b.token);
  assert.equal(all.status, 200, all.text);
  h.assertJsonContentType(all);
  assert.deepEqual(all.json, { messages: sent });
  const page = await rt.rest(api, 'GET', `/api/v1/chats/${chat}/messages?afterSeq=2&limit=3`, a.token);
  assert.equal(page.status, 200, page.text);
  assert.deepEqual(page.json.messages, sent.slice(2, 5));
  const tail = await rt.rest(api, 'GET', `/api/v1/chats/${chat}/messages?afterSeq=6`, a.token);
  assert.deepEqual(tail.json.messages, []);

  const c = await rt.user(api);
  h.assertErrorShape(await rt.rest(api, 'GET', `/api/v1/chats/${chat}/messages`, c.token), 404, 'NOT_FOUND');
  h.assertErrorShape(await rt.rest(api, 'GET', '/api/v1/chats/987654/messages', a.token), 404, 'NOT_FOUND');
  h.assertErrorShape(await api.get(`/api/v1/chats/${chat}/messages`), 401, 'TOKEN_MISSING');
  void cb;
});

test('POST /chats/{id}/report → 201, the chat ends ("reported" / "partner_left"); a bad reason → 422; the admin sees it', T, async (t) => {
  const { server, api } = await k.setup(t, ADMIN_ENV);
  const { a, b, ca, cb, chat } = await rt.pair(t, server, api);
  await rt.sendMsg(cb, chat, 'buy my crypto');

  for (const body of [{ reason: 'rude' }, {}, { reason: 'SPAM' }, { reason: 5 }, { reason: 'spam', detail: 7 }]) {
    const bad = await rt.rest(api, 'POST', `/api/v1/chats/${chat}/report`, a.token, { json: body });
    h.assertErrorShape(bad, 422, 'VALIDATION_FAILED');
  }
  await ca.expectNone('chat.ended', 200, 'a refused report must not end the chat');

  const res = await rt.rest(api, 'POST', `/api/v1/chats/${chat}/report`, a.token,
    { json: { reason: 'scam', detail: 'asked for money' } });
  assert.equal(res.status, 201, res.text);
  assert.deepEqual(await ca.next('chat.ended'), { type: 'chat.ended', chatId: chat, reason: 'reported' });
  assert.deepEqual(await cb.next('chat.ended'), { type: 'chat.ended', chatId: chat, reason: 'partner_left' });
  // Both are free; the chat shows as ended.
  await rt.startWaiting(ca, 'backend');
  const list = await rt.rest(api, 'GET', '/api/v1/chats', a.token);
  assert.notEqual(list.json.chats[0].endedAt, null);

  // The admin's list.
  const admin = await rt.user(api, { email: ADMIN_EMAIL });
  assert.equal(admin.user.role, 'admin');
  const reports = await rt.rest(api, 'GET', '/api/v1/admin/reports', admin.token);
  assert.equal(reports.status, 200, reports.text);
  assert.deepEqual(Object.keys(reports.json).sort(), ['next', 'reports']);
  assert.equal(reports.json.reports.length, 1, reports.text);
  const r = reports.json.reports[0];
  assert.equal(r.chatId, chat);
  assert.equal(r.reason, 'scam');
  assert.equal(r.detail, 'asked for money');
  assert.ok(JSON.stringify(r).includes(b.id), `the report names the reported user: ${JSON.stringify(r)}`);
  assert.ok(JSON.stringify(r).includes(a.id), `the report names the reporter: ${JSON.stringify(r)}`);
  // Not for others.
  h.assertErrorShape(await rt.rest(api, 'GET', '/api/v1/admin/reports', a.token), 403, 'FORBIDDEN');
  h.assertErrorShape(await api.get('/api/v1/admin/reports'), 401, 'TOKEN_MISSING');
});

test('PUT /blocks/{id} during a chat → 204, the chat ends ("blocked" / "partner_left"); GET /blocks lists; DELETE → 204', T, async (t) => {
  const { server, api } = await k.setup(t);
  const a = await rt.user(api);
  const b = await rt.user(api, { nickname: '차단대상', job: 'design', career: 'jobseeker' });
  const { ca, cb, chat } = await rt.pair(t, server, api, { a, b });
  const put = await rt.rest(api, 'PUT', `/api/v1/blocks/${b.id}`, a.token);
  assert.equal(put.status, 204, put.text);
  assert.equal(put.text, '');
  assert.deepEqual(await ca.next('chat.ended'), { type: 'chat.ended', chatId: chat, reason: 'blocked' });
  assert.deepEqual(await cb.next('chat.ended'), { type: 'chat.ended', chatId: chat, reason: 'partner_left' });
  rt.assertErrorFrame(await cb.request({ type: 'msg.send', chatId: chat, clientMsgId: 'x', text: 'hey' }), 'NOT_IN_CHAT');

  const list = await rt.rest(api, 'GET', '/api/v1/blocks', a.token);
  assert.equal(list.status, 200, list.text);
  const entries = Object.values(list.json).find(Array.isArray);
  assert.ok(entries, `no list in ${list.text}`);
  assert.deepEqual(entries, [partnerOf(b)]);
  // Again: idempotent.
  assert.equal((await rt.rest(api, 'PUT', `/api/v1/blocks/${b.id}`, a.token)).status, 204);
  assert.equal(Object.values((await rt.rest(api, 'GET', '/api/v1/blocks', a.token)).json).find(Array.isArray).length, 1);
  // B's list is empty (blocking is one-sided in the list).
  assert.deepEqual(Object.values((await rt.rest(api, 'GET', '/api/v1/blocks', b.token)).json).find(Array.isArray), []);
  // Yourself → 422; an unknown user → 404.
  h.assertErrorShape(await rt.rest(api, 'PUT', `/api/v1/blocks/${a.id}`, a.token), 422, 'VALIDATION_FAILED');
  h.assertErrorShape(await rt.rest(api, 'PUT', '/api/v1/blocks/987654', a.token), 404, 'NOT_FOUND');

  const del = await rt.rest(api, 'DELETE', `/api/v1/blocks/${b.id}`, a.token);
  assert.equal(del.status, 204, del.text);
  assert.deepEqual(Object.values((await rt.rest(api, 'GET', '/api/v1/blocks', a.token)).json).find(Array.isArray), []);
});

test('admin ban: every socket of the user closes 4403, the partner gets partner_left; log-in, refresh → 403 BANNED; a new socket → 4403', T, async (t) => {
  const { server, api } = await k.setup(t, ADMIN_ENV);
  const admin = await rt.user(api, { email: ADMIN_EMAIL });
  const a = await rt.user(api);
  const b = await rt.user(api, { nickname: 'spammer' });
  const { ca, cb, chat } = await rt.pair(t, server, api, { a, b });
  const cb2 = await rt.online(t, server, b, { name: 'B2' });

  // Not for a non-admin.
  h.assertErrorShape(await rt.rest(api, 'POST', `/api/v1/admin/users/${b.id}/ban`, a.token,
    { json: { days: 1, reason: 'spam' } }), 403, 'FORBIDDEN');
  await cb.expectNone('chat.ended', 100);
  // Bad bodies → 422.
  for (const body of [{ days: 0, reason: 'spam' }, { days: 'x', reason: 'spam' }, { reason: 'spam' }]) {
    h.assertErrorShape(await rt.rest(api, 'POST', `/api/v1/admin/users/${b.id}/ban`, admin.token, { json: body }),
      422, 'VALIDATION_FAILED');
  }

  const before = Date.now();
  const ban = await rt.rest(api, 'POST', `/api/v1/admin/users/${b.id}/ban`, admin.token, { json: { days: 1, reason: 'spam' } });
  assert.equal(ban.status, 204, ban.text);
  await cb.expectClose(4403, { what: 'the banned user\'s socket' });
  await cb2.expectClose(4403, { what: 'the banned user\'s second socket' });
  assert.deepEqual(await ca.next('chat.ended'), { type: 'chat.ended', chatId: chat, reason: 'partner_left' });
  await rt.startWaiting(ca, 'backend'); // A is free

  // Log-in → 403 BANNED; the message names the end date (one day from now).
  const login = await api.loginRaw(b.email, b.password);
  const e = h.assertErrorShape(login, 403, 'BANNED');
  const dates = new Set([before, Date.now()].map((ms) => new Date(ms + 86400000).toISOString().slice(0, 10)));
  assert.ok([...dates].some((d) => e.message.includes(d)),
    `BANNED message ${JSON.stringify(e.message)} does not name the end date (${[...dates].join(' or ')})`);
  // A new socket with the still-valid access token → 4403.
  const c3 = await rt.connect(t, server, { name: 'B3' });
  c3.send({ type: 'auth', token: b.token });
  await c3.expectClose(4403, { what: 'auth of a banned user' });
  // Nobody gets paired with the banned user; the admin's /stats do not count them.
  const stats = (await h.request(`${server.url}/api/v1/stats`)).json;
  assert.equal(stats.online, 1, `online after the ban: ${JSON.stringify(stats)}`);
  // The refresh cookie issued before the ban → 403 BANNED (not a generic 401).
  const refresh = await api.refresh(b.cookie);
  h.assertErrorShape(refresh, 403, 'BANNED');
});

test('admin ban of a waiting user: removed from the queue (does not match)', T, async (t) => {
  const { server, api } = await k.setup(t, ADMIN_ENV);
  const admin = await rt.user(api, { email: ADMIN_EMAIL });
  const b = await rt.user(api);
  const cb = await rt.online(t, server, b, { name: 'B' });
  await rt.startWaiting(cb, 'pm');
  const ban = await rt.rest(api, 'POST', `/api/v1/admin/users/${b.id}/ban`, admin.token, { json: { days: 3, reason: 'abuse' } });
  assert.equal(ban.status, 204, ban.text);
  await cb.expectClose(4403);
  const c = await rt.online(t, server, await rt.user(api), { name: 'C' });
  const w = await rt.startWaiting(c, 'pm');
  assert.equal(w.waiting, 1, `the banned user still counts as waiting: ${JSON.stringify(w)}`);
  await c.expectNone('match.found', 1500);
});
