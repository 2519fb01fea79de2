'use strict';
// SPEC §4 matching rules (+ the lead's decisions): match.start → match.waiting {category, waiting,
// ref}; two users of one category → match.found with the same ACTIVE_CHAT id and each other as
// partner (no email); different categories never match; IN_CHAT / VALIDATION_FAILED; match.cancel;
// moving queues; never self (two tabs of one user); never blocked users; no immediate rematch of
// the previous partner; a waiting user who reconnects within 15 s is still waiting; /stats.
// The slow rules (fallbackAny after 10 s, leaving the queue after 15 s away) are in
// rt_match_fallback.test.js and rt_queue_absence.test.js.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const h = require('./harness');
const k = require('./authkit');
const rt = require('./rtkit');

const T = { timeout: 60000 };
const NO_MATCH_MS = 2000; // how long "does not match" is watched

test('two users in one category → both get match.found with the same chat; partner is the other user, no email', T, async (t) => {
  const { server, api } = await k.setup(t);
  const a = await rt.user(api, { nickname: '개발자A', job: 'backend', career: 'junior' });
  const b = await rt.user(api, { nickname: 'dev_b', job: 'frontend', career: 'senior' });
  const ca = await rt.online(t, server, a, { name: 'A' });
  const cb = await rt.online(t, server, b, { name: 'B' });

  const wa = await ca.request({ type: 'match.start', category: 'backend', ref: { r: 'a' } });
  assert.deepEqual(wa, { type: 'match.waiting', category: 'backend', waiting: 1, ref: { r: 'a' } });
  const wb = await cb.request({ type: 'match.start', category: 'backend', ref: 'b' });
  assert.equal(wb.type, 'match.waiting', `B's direct answer: ${JSON.stringify(wb)}`);
  assert.equal(wb.category, 'backend');
  assert.equal(wb.ref, 'b');

  const fa = await ca.next('match.found');
  const fb = await cb.next('match.found');
  assert.deepEqual(Object.keys(fa).sort(), ['chat', 'type']);
  rt.assertActiveChat(fa.chat, { partner: b, category: 'backend' });
  rt.assertActiveChat(fb.chat, { partner: a, category: 'backend' });
  assert.equal(fa.chat.id, fb.chat.id);
  assert.equal(fa.chat.lastSeq, 0);
  assert.equal(fa.chat.partnerReadSeq, 0);
  assert.equal(fb.chat.lastSeq, 0);
  assert.deepEqual(fa.chat.icebreaker, fb.chat.icebreaker, 'both see the same icebreaker');
  assert.equal(fa.chat.startedAt, fb.chat.startedAt);
  assert.ok(Math.abs(Date.parse(fa.chat.startedAt) - Date.now()) < 60000);
  for (const f of [fa, fb]) {
    assert.ok(!JSON.stringify(f).includes('@'), `match.found leaks an email: ${JSON.stringify(f)}`);
  }
  // Reconnecting shows the same chat in ready.
  const ca2 = await rt.online(t, server, a, { name: 'A2' });
  assert.equal(ca2.ready.chat.id, fa.chat.id);
  rt.assertActiveChat(ca2.ready.chat, { partner: b });
  assert.equal(ca2.ready.waiting, null);
});

test('different categories do not match; both stay waiting', T, async (t) => {
  const { server, api } = await k.setup(t);
  const ca = await rt.online(t, server, await rt.user(api), { name: 'A' });
  const cb = await rt.online(t, server, await rt.user(api), { name: 'B' });
  await rt.startWaiting(ca, 'backend');
  const wb = await rt.startWaiting(cb, 'frontend');
  assert.equal(wb.waiting, 1, 'B is alone in frontend');
  await Promise.all([ca.expectNone('match.found', NO_MATCH_MS), cb.expectNone('match.found', NO_MATCH_MS)]);
  const stats = await h.request(`${server.url}/api/v1/stats`);
  assert.equal(stats.status, 200);
  assert.equal(stats.json.waiting.backend, 1);
  assert.equal(stats.json.waiting.frontend, 1);
});

test('match.start while in a chat → error IN_CHAT; an unknown or missing category → VALIDATION_FAILED', T, async (t) => {
  const { server, api } = await k.setup(t);
  const c0 = await rt.online(t, server, await rt.user(api), { name: 'C0' });
  for (const [name, frame] of [
    ['unknown', { type: 'match.start', category: 'cooking' }],
    ['wrong case', { type: 'match.start', category: 'Backend' }],
    ['missing', { type: 'match.start' }],
    ['a number', { type: 'match.start', category: 3 }],
    ['the Korean name', { type: 'match.start', category: '백엔드' }],
  ]) {
    const e = await c0.request({ ...frame, ref: name });
    rt.assertErrorFrame(e, 'VALIDATION_FAILED', name);
  }
  await c0.expectNone((f) => f.type === 'match.waiting', 100);
  const stats = await h.request(`${server.url}/api/v1/stats`);
  assert.equal(Object.values(stats.json.waiting).reduce((x, y) => x + y, 0), 0, JSON.stringify(stats.json));

  const { ca, cb, chat } = await rt.pair(t, server, api);
  for (const c of [ca, cb]) {
    const e = await c.request({ type: 'match.start', category: 'frontend', ref: 7 });
    rt.assertErrorFrame(e, 'IN_CHAT', 7);
  }
  // Still in the same chat: a message goes through.
  const ack = await rt.sendMsg(ca, chat, 'still together');
  assert.equal(ack.message.seq, 1);
});

test('match.cancel → match.cancelled (ref); a new user in that category does not match the cancelled one', T, async (t) => {
  const { server, api } = await k.setup(t);
  const a = await rt.user(api);
  const ca = await rt.online(t, server, a, { name: 'A' });
  await rt.startWaiting(ca, 'devops');
  const cancelled = await ca.request({ type: 'match.cancel', ref: ['x'] });
  assert.deepEqual(cancelled, { type: 'match.cancelled', ref: ['x'] });
  const cb = await rt.online(t, server, await rt.user(api), { name: 'B' });
  const wb = await rt.startWaiting(cb, 'devops');
  assert.equal(wb.waiting, 1, `only B waits in devops: ${JSON.stringify(wb)}`);
  await Promise.all([ca.expectNone('match.found', NO_MATCH_MS), cb.expectNone('match.found', NO_MATCH_MS)]);
  // Cancelling when not waiting is harmless.
  const again = await ca.request({ type: 'match.cancel' });
  assert.equal(again.type, 'match.cancelled');
  // Another socket of A shows no waiting.
  const a2 = await rt.online(t, server, a, { name: 'A2' });
  assert.equal(a2.ready.waiting, null);
  const stats = (await h.request(`${server.url}/api/v1/stats`)).json;
  assert.equal(stats.waiting.devops, 1, JSON.stringify(stats));
});

test('match.start while waiting moves the user to the new queue', T, async (t) => {
  const { server, api } = await k.setup(t);
  const a = await rt.user(api);
  const ca = await rt.online(t, server, a, { name: 'A' });
  await rt.startWaiting(ca, 'backend');
  const moved = await rt.startWaiting(ca, 'frontend');
  assert.equal(moved.waiting, 1);
  let stats = (await h.request(`${server.url}/api/v1/stats`)).json;
  assert.equal(stats.waiting.backend, 0, `A still counted in backend: ${JSON.stringify(stats)}`);
  assert.equal(stats.waiting.frontend, 1);
  const cb = await rt.online(t, server, await rt.user(api), { name: 'B' });
  await rt.startWaiting(cb, 'backend');
  await Promise.all([ca.expectNone('match.found', NO_MATCH_MS), cb.expectNone('match.found', NO_MATCH_MS)]);
  const c = await rt.online(t, server, await rt.user(api), { name: 'C' });
  c.send({ type: 'match.start', category: 'frontend' });
  const fc = await c.next('match.found');
  const fa = await ca.next('match.found');
  assert.equal(fc.chat.id, fa.chat.id);
  rt.assertActiveChat(fa.chat, { category: 'frontend' });
  assert.equal(fc.chat.partner.id, a.id);
  stats = (await h.request(`${server.url}/api/v1/stats`)).json;
  assert.equal(stats.waiting.backend, 1);
  assert.equal(stats.waiting.frontend, 0);
});

test('never self: two sockets of one user both match.start → no match; every socket of the user gets match.found', T, async (t) => {
  const { server, api } = await k.setup(t);
  const a = await rt.user(api);
  const a1 = await rt.online(t, server, a, { name: 'A1' });
  const a2 = await rt.online(t, server, a, { name: 'A2' });
  await rt.startWaiting(a1, 'security');
  const w2 = await a2.request({ type: 'match.start', category: 'security' });
  assert.equal(w2.type, 'match.waiting', JSON.stringify(w2));
  assert.equal(w2.waiting, 1, `one user waits, counted once: ${JSON.stringify(w2)}`);
  await Promise.all([a1.expectNone('match.found', NO_MATCH_MS), a2.expectNone('match.found', NO_MATCH_MS)]);
  const b = await rt.user(api);
  const cb = await rt.online(t, server, b, { name: 'B' });
  cb.send({ type: 'match.start', category: 'security' });
  const fb = await cb.next('match.found');
  const f1 = await a1.next('match.found');
  const f2 = await a2.next('match.found');
  assert.equal(fb.chat.partner.id, a.id);
  assert.equal(f1.chat.id, fb.chat.id);
  assert.deepEqual(f2.chat, f1.chat, 'both tabs get the same match.found');
  rt.assertActiveChat(f1.chat, { partner: b });
});

test('blocked users never match (either direction); a third user matches instead', T, async (t) => {
  const { server, api } = await k.setup(t);
  const a = await rt.user(api, { nickname: 'blocker' });
  const b = await rt.user(api, { nickname: 'blocked' });
  const put = await rt.rest(api, 'PUT', `/api/v1/blocks/${b.id}`, a.token);
  assert.equal(put.status, 204, put.text);

  // The blocked one waits first, the blocker second.
  const cb = await rt.online(t, server, b, { name: 'B' });
  const ca = await rt.online(t, server, a, { name: 'A' });
  await rt.startWaiting(cb, 'game');
  await rt.startWaiting(ca, 'game');
  await Promise.all([ca.expectNone('match.found', NO_MATCH_MS), cb.expectNone('match.found', NO_MATCH_MS)]);
  // A third user pairs with the longest-waiting one (B); A keeps waiting.
  const c = await rt.user(api);
  const cc = await rt.online(t, server, c, { name: 'C' });
  cc.send({ type: 'match.start', category: 'game' });
  const fc = await cc.next('match.found');
  const fb = await cb.next('match.found');
  assert.equal(fc.chat.id, fb.chat.id);
  assert.equal(fc.chat.partner.id, b.id, 'C pairs with the longest-waiting user');
  await ca.expectNone('match.found', 300);
  // The blocker still waits and a fourth user gets them.
  const d = await rt.user(api);
  const cd = await rt.online(t, server, d, { name: 'D' });
  cd.send({ type: 'match.start', category: 'game' });
  const fd = await cd.next('match.found');
  assert.equal(fd.chat.partner.id, a.id);
  await ca.next('match.found');

  // The other direction, in a fresh category: the blocker waits first.
  const e = await rt.user(api);
  const f = await rt.user(api);
  assert.equal((await rt.rest(api, 'PUT', `/api/v1/blocks/${f.id}`, e.token)).status, 204);
  const ce = await rt.online(t, server, e, { name: 'E' });
  const cf = await rt.online(t, server, f, { name: 'F' });
  await rt.startWaiting(ce, 'qa');
  await rt.startWaiting(cf, 'qa');
  await Promise.all([ce.expectNone('match.found', NO_MATCH_MS), cf.expectNone('match.found', NO_MATCH_MS)]);
});

test('previous partners do not rematch right away; with a third user the longest-waiting one pairs with them', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { a, b, ca, cb, chat } = await rt.pair(t, server, api, { category: 'mobile' });
  ca.send({ type: 'chat.leave', chatId: chat });
  const ea = await ca.next('chat.ended');
  const eb = await cb.next('chat.ended');
  assert.deepEqual(ea, { type: 'chat.ended', chatId: chat, reason: 'left' });
  assert.deepEqual(eb, { type: 'chat.ended', chatId: chat, reason: 'partner_left' });

  await rt.startWaiting(ca, 'mobile');
  await rt.startWaiting(cb, 'mobile');
  await Promise.all([ca.expectNone('match.found', NO_MATCH_MS), cb.expectNone('match.found', NO_MATCH_MS)]);
  const c = await rt.user(api);
  const cc = await rt.online(t, server, c, { name: 'C' });
  cc.send({ type: 'match.start', category: 'mobile' });
  const fc = await cc.next('match.found');
  assert.equal(fc.chat.partner.id, a.id, 'C pairs with A, who has waited longest');
  const fa = await ca.next('match.found');
  assert.equal(fa.chat.id, fc.chat.id);
  assert.notEqual(fa.chat.id, chat);
  rt.assertActiveChat(fa.chat, { partner: c });
  await cb.expectNone('match.found', 300);
  void b;
});

test('a waiting user who reconnects within 15 s is still waiting (ready.waiting) and still matches', T, async (t) => {
  const { server, api } = await k.setup(t);
  const a = await rt.user(api);
  const ca = await rt.online(t, server, a, { name: 'A' });
  await rt.startWaiting(ca, 'embedded');
  await ca.terminate();
  const back = await rt.online(t, server, a, { name: 'A again' });
  assert.deepEqual(back.ready.waiting, { category: 'embedded' });
  assert.equal(back.ready.chat, null);
  const cb = await rt.online(t, server, await rt.user(api), { name: 'B' });
  cb.send({ type: 'match.start', category: 'embedded' });
  const fb = await cb.next('match.found');
  const fa = await back.next('match.found');
  assert.equal(fa.chat.id, fb.chat.id);
  assert.equal(fb.chat.partner.id, a.id);
});

test('GET /api/v1/stats: online users, waiting per category (all 12), users chatting', T, async (t) => {
  const { server, api } = await k.setup(t);
  const empty = await h.request(`${server.url}/api/v1/stats`);
  assert.equal(empty.status, 200);
  h.assertJsonContentType(empty);
  assert.deepEqual(Object.keys(empty.json).sort(), ['chatting', 'online', 'waiting']);
  assert.deepEqual(Object.keys(empty.json.waiting).sort(), [...k.CATEGORY_IDS].sort());
  assert.deepEqual(empty.json, { online: 0, chatting: 0,
    waiting: Object.fromEntries(k.CATEGORY_IDS.map((id) => [id, 0])) });

  // One pair chatting, two users waiting (pm, design), one idle user with two tabs.
  await rt.pair(t, server, api, { category: 'ai_data' });
  const w1 = await rt.online(t, server, await rt.user(api), { name: 'W1' });
  const w2 = await rt.online(t, server, await rt.user(api), { name: 'W2' });
  await rt.startWaiting(w1, 'pm');
  await rt.startWaiting(w2, 'design');
  const idle = await rt.user(api);
  const idle1 = await rt.online(t, server, idle, { name: 'idle1' });
  const idle2 = await rt.online(t, server, idle, { name: 'idle2' });
  // A socket that never authenticated is nobody.
  await rt.connect(t, server, { name: 'anon' });

  const s = (await h.request(`${server.url}/api/v1/stats`)).json;
  const waiting = Object.fromEntries(k.CATEGORY_IDS.map((id) => [id, 0]));
  waiting.pm = 1;
  waiting.design = 1;
  assert.deepEqual(s, { online: 5, waiting, chatting: 2 }, 'chatting counts the users in active chats');

  // A waiting user leaves the queue by cancelling; the idle user goes away.
  await w1.request({ type: 'match.cancel' });
  await idle1.close();
  await idle2.terminate();
  const after = await h.eventually(async () => {
    const j = (await h.request(`${server.url}/api/v1/stats`)).json;
    assert.equal(j.online, 4, JSON.stringify(j));
    return j;
  });
  assert.equal(after.waiting.pm, 0);
  assert.equal(after.waiting.design, 1);
  assert.equal(after.chatting, 2);
});
