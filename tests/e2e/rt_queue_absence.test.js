'use strict';
// SPEC §4 matching rule 5 (slow: ~19 s): a waiting user whose sockets are all gone for 15 s leaves
// the queue; back within 15 s they are still waiting (the fast half is in rt_match.test.js).

const assert = require('node:assert/strict');
const { describe, test } = require('node:test');
const h = require('./harness');
const k = require('./authkit');
const rt = require('./rtkit');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('queue absence', { concurrency: true }, () => {
  test('all sockets gone for 16 s → out of the queue: a new user does not match them; ready.waiting null', { timeout: 40000 }, async (t) => {
    const { server, api } = await k.setup(t);
    const a = await rt.user(api);
    const a1 = await rt.online(t, server, a, { name: 'A1' });
    const a2 = await rt.online(t, server, a, { name: 'A2' });
    await rt.startWaiting(a1, 'devops');
    await a1.terminate();
    await a2.close();
    const gone = Date.now();
    // Still counted a little before the 15 s.
    await sleep(13000);
    let stats = (await h.request(`${server.url}/api/v1/stats`)).json;
    assert.equal(stats.waiting.devops, 1, `left the queue before 15 s: ${JSON.stringify(stats)}`);
    await sleep(Math.max(0, gone + 16500 - Date.now()));
    stats = (await h.request(`${server.url}/api/v1/stats`)).json;
    assert.equal(stats.waiting.devops, 0, `still in the queue after 16.5 s away: ${JSON.stringify(stats)}`);
    const cb = await rt.online(t, server, await rt.user(api), { name: 'B' });
    const w = await rt.startWaiting(cb, 'devops');
    assert.equal(w.waiting, 1);
    await cb.expectNone('match.found', 2000);
    const back = await rt.online(t, server, a, { name: 'A back' });
    assert.equal(back.ready.waiting, null);
    assert.equal(back.ready.chat, null);
  });

  test('back after 10 s (within 15 s) → still waiting; away again, the 15 s start over', { timeout: 40000 }, async (t) => {
    const { server, api } = await k.setup(t);
    const a = await rt.user(api);
    const a1 = await rt.online(t, server, a, { name: 'A1' });
    await rt.startWaiting(a1, 'security');
    await a1.terminate();
    await sleep(10000);
    const a2 = await rt.online(t, server, a, { name: 'A2' });
    assert.deepEqual(a2.ready.waiting, { category: 'security' });
    await a2.terminate();
    // 10 s after the second departure (20 s after the first) A still waits.
    await sleep(10000);
    const stats = (await h.request(`${server.url}/api/v1/stats`)).json;
    assert.equal(stats.waiting.security, 1, `the absence timer did not restart: ${JSON.stringify(stats)}`);
    const cb = await rt.online(t, server, await rt.user(api), { name: 'B' });
    cb.send({ type: 'match.start', category: 'security' });
    const fb = await cb.next('match.found');
    assert.equal(fb.chat.partner.id, a.id);
    // A, offline, is in the chat when they come back.
    const a3 = await rt.online(t, server, a, { name: 'A3' });
    assert.equal(a3.ready.chat.id, fb.chat.id);
  });
});
