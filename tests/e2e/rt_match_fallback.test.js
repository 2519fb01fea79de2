'use strict';
// SPEC §4 matching rule 2 (slow: ~14 s): with fallbackAny, after 10 s in the queue a user can be
// paired with anyone else who also allows fallback; without it, never across categories. Also the
// stats frames pushed to waiting users (at most every 5 s).

const assert = require('node:assert/strict');
const { test } = require('node:test');
const k = require('./authkit');
const rt = require('./rtkit');

test('fallbackAny: two users of different categories who both allow it match after 10 s; others do not', { timeout: 40000 }, async (t) => {
  const { server, api } = await k.setup(t);
  const a = await rt.user(api, { nickname: 'fallback_a' });
  const b = await rt.user(api, { nickname: 'fallback_b' });
  const c = await rt.user(api, { nickname: 'strict_c' });
  const d = await rt.user(api, { nickname: 'strict_d' });
  const ca = await rt.online(t, server, a, { name: 'A backend+fallback' });
  const cb = await rt.online(t, server, b, { name: 'B frontend+fallback' });
  const cc = await rt.online(t, server, c, { name: 'C game' });
  const cd = await rt.online(t, server, d, { name: 'D qa' });

  const t0 = Date.now();
  await rt.startWaiting(ca, 'backend', { fallbackAny: true });
  await rt.startWaiting(cb, 'frontend', { fallbackAny: true });
  await rt.startWaiting(cc, 'game', { fallbackAny: false });
  await rt.startWaiting(cd, 'qa');

  // Not before 10 s.
  await Promise.all([ca, cb, cc, cd].map((x) => x.expectNone('match.found', 9000)));
  const fa = await ca.next('match.found', { timeoutMs: 5000 });
  const fb = await cb.next('match.found', { timeoutMs: 1000 });
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 9500 && elapsed <= 13500, `fallback match after ${elapsed} ms, expected ~10 s`);
  assert.equal(fa.chat.id, fb.chat.id);
  rt.assertActiveChat(fa.chat, { partner: b });
  rt.assertActiveChat(fb.chat, { partner: a });
  assert.ok(['backend', 'frontend'].includes(fa.chat.category), `category of a fallback chat: ${fa.chat.category}`);
  assert.equal(fa.chat.category, fb.chat.category);
  // The ones without fallback keep waiting.
  await Promise.all([cc.expectNone('match.found', 1000), cd.expectNone('match.found', 1000)]);

  // stats frames: waiting users got some (at most one per 5 s), shaped like /api/v1/stats.
  for (const x of [cc, cd]) {
    const stats = x.frames.map((f, i) => [f, x.times[i]]).filter(([f]) => f.type === 'stats');
    assert.ok(stats.length >= 1 && stats.length <= 4, `[${x.name}] ${stats.length} stats frames in ~12 s of waiting`);
    for (const [f] of stats) {
      assert.deepEqual(Object.keys(f).sort(), ['chatting', 'online', 'type', 'waiting'], JSON.stringify(f));
      assert.deepEqual(Object.keys(f.waiting).sort(), [...k.CATEGORY_IDS].sort());
    }
    for (let i = 1; i < stats.length; i++) {
      const gap = stats[i][1] - stats[i - 1][1];
      assert.ok(gap >= 4500, `[${x.name}] two stats frames ${gap} ms apart`);
    }
  }
  // Users in a chat get no stats frames after the match.
  const idx = ca.frames.indexOf(fa);
  assert.deepEqual(ca.frames.slice(idx + 1).filter((f) => f.type === 'stats'), []);
});
