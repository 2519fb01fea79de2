'use strict';
// SPEC §4 matching rule 3 (slow: ~35 s): previous partners are not paired again — unless they
// are the only two waiting (in that category) for 30 s.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const k = require('./authkit');
const rt = require('./rtkit');

test('previous partners, the only two waiting: no match before ~30 s, then they are paired again', { timeout: 60000 }, async (t) => {
  const { server, api } = await k.setup(t);
  const { a, b, ca, cb, chat } = await rt.pair(t, server, api, { category: 'qa' });
  ca.send({ type: 'chat.leave', chatId: chat });
  await ca.next('chat.ended');
  await cb.next('chat.ended');
  const t0 = Date.now();
  await rt.startWaiting(ca, 'qa');
  await rt.startWaiting(cb, 'qa');
  await Promise.all([ca.expectNone('match.found', 27000), cb.expectNone('match.found', 27000)]);
  const fa = await ca.next('match.found', { timeoutMs: 8000 });
  const fb = await cb.next('match.found', { timeoutMs: 2000 });
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 29000 && elapsed <= 35000, `rematched after ${elapsed} ms, expected ~30 s`);
  assert.equal(fa.chat.id, fb.chat.id);
  assert.notEqual(fa.chat.id, chat, 'a new chat, not the old one');
  rt.assertActiveChat(fa.chat, { partner: b, category: 'qa' });
  rt.assertActiveChat(fb.chat, { partner: a, category: 'qa' });
});
