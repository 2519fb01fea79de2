'use strict';
// SPEC §3.2 refresh-token reuse (slow: waits out the 10-second grace window, so it has a file of
// its own and runs in parallel with the others). A rotated cookie presented again more than 10 s
// after its rotation → 401 REFRESH_REUSED clearing the cookie, and the whole family is revoked:
// every descendant and sibling → 401 REFRESH_INVALID. Other families of the same user live on.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const h = require('./harness');
const k = require('./authkit');

const GRACE_MS = 10000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('a rotated cookie replayed after the 10 s grace → REFRESH_REUSED; its family dies, other families live', { timeout: 60000 }, async (t) => {
  const { api } = await k.setup(t);
  const s = await api.signup();
  const otherFamily = await api.login(s.email, s.password);

  const a = s.cookie;
  const b = await api.refreshOk(a); // A → B
  const sibling = await api.refreshOk(a); // A again within 10 s → a sibling session, same family
  assert.ok(![a, b.cookie].includes(sibling.cookie));
  const c = await api.refreshOk(b.cookie); // B → C
  const rotatedAt = Date.now();

  await sleep(GRACE_MS + 1000 - (Date.now() - rotatedAt));

  // A replayed, long after its rotation: theft assumed, the family is revoked.
  const reuse = await api.refresh(a);
  h.assertErrorShape(reuse, 401, 'REFRESH_REUSED');
  k.assertCookieCleared(reuse);

  // Every member of the family is dead now: the current head C, the sibling, and B.
  for (const [name, cookie] of [['C (the head)', c.cookie], ['the sibling', sibling.cookie]]) {
    const r = await api.refresh(cookie);
    assert.equal(r.status, 401, `${name} still refreshes after the reuse: ${r.text}`);
    h.assertErrorShape(r, 401, 'REFRESH_INVALID');
    k.assertCookieCleared(r);
  }
  const rb = await api.refresh(b.cookie);
  assert.equal(rb.status, 401, `B still refreshes after the reuse: ${rb.text}`);
  h.assertErrorShape(rb, 401);
  assert.ok(['REFRESH_INVALID', 'REFRESH_REUSED'].includes(rb.json.error.code), rb.text);
  // Replaying A again: still refused.
  const reuse2 = await api.refresh(a);
  assert.equal(reuse2.status, 401, reuse2.text);

  // Access tokens already issued are stateless and run out on their own; not tested here.
  // The other family (another log-in of the same user) still works, and so does a new log-in.
  const o = await api.refreshOk(otherFamily.cookie);
  await api.refreshOk(o.cookie);
  const fresh = await api.login(s.email, s.password);
  await api.refreshOk(fresh.cookie);
});
