'use strict';
// SPEC §4 chat rule 2 (slow: ~35 s): when all of a participant's sockets drop, the partner gets
// partner.presence {online:false}; not back within 30 s → chat.ended "partner_disconnected";
// back in time (even late, at 20 s) → the same chat goes on and does not end at the 30 s mark.
// After a restart both users have 30 s to come back (docs/realtime.md): one who never does ends it.

const assert = require('node:assert/strict');
const path = require('node:path');
const { describe, test } = require('node:test');
const h = require('./harness');
const k = require('./authkit');
const rt = require('./rtkit');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('reconnect window', { concurrency: true }, () => {
  test('away more than 30 s → the partner gets chat.ended "partner_disconnected"; both are free', { timeout: 60000 }, async (t) => {
    const { server, api } = await k.setup(t);
    const { a, ca, cb, chat } = await rt.pair(t, server, api, { category: 'game' });
    await rt.sendMsg(ca, chat, 'brb');
    await ca.terminate();
    const gone = Date.now();
    assert.deepEqual(await cb.next('partner.presence'), { type: 'partner.presence', chatId: chat, online: false });
    await cb.expectNone('chat.ended', 28000);
    const ended = await cb.next('chat.ended', { timeoutMs: 8000 });
    const after = Date.now() - gone;
    assert.deepEqual(ended, { type: 'chat.ended', chatId: chat, reason: 'partner_disconnected' });
    assert.ok(after >= 29500 && after <= 34000, `chat ended ${after} ms after the partner left, expected ~30 s`);
    // B is free; A comes back to no chat; the chat is ended in the history.
    await rt.startWaiting(cb, 'game');
    const back = await rt.online(t, server, a, { name: 'A back' });
    assert.equal(back.ready.chat, null);
    const list = await rt.rest(api, 'GET', '/api/v1/chats', a.token);
    assert.equal(list.json.chats[0].id, chat);
    assert.notEqual(list.json.chats[0].endedAt, null);
    rt.assertErrorFrame(await back.request({ type: 'msg.send', chatId: chat, clientMsgId: 'late', text: 'hi' }), 'NOT_IN_CHAT');
  });

  test('back at 20 s → presence online, the same chat, and it does not end at the 30 s mark', { timeout: 60000 }, async (t) => {
    const { server, api } = await k.setup(t);
    const { a, ca, cb, chat } = await rt.pair(t, server, api, { category: 'embedded' });
    await ca.terminate();
    const gone = Date.now();
    assert.deepEqual(await cb.next('partner.presence'), { type: 'partner.presence', chatId: chat, online: false });
    await sleep(20000);
    const back = await rt.online(t, server, a, { name: 'A back' });
    assert.equal(back.ready.chat.id, chat);
    assert.deepEqual(await cb.next('partner.presence'), { type: 'partner.presence', chatId: chat, online: true });
    await sleep(Math.max(0, gone + 33000 - Date.now()));
    assert.deepEqual([...cb.all('chat.ended'), ...back.all('chat.ended')], [], 'the chat ended although A came back');
    const m = await rt.sendMsg(back, chat, 'still here');
    assert.deepEqual((await cb.next('msg.new')).message, m.message);
  });

  test('after a restart, a partner who never comes back ends the chat ~30 s later (partner_disconnected)', { timeout: 60000 }, async (t) => {
    const dataDir = path.join(h.tempDir(t, 'convo-e2e-rt-window-'), 'data');
    const first = await h.startServer({ dataDir });
    const api = new k.Api(first);
    let p;
    try {
      p = await rt.pair(null, first, api, { category: 'design' });
      await rt.sendMsg(p.ca, p.chat, 'see you after the restart');
    } finally {
      await first.stop();
    }
    const second = await h.startServer({ dataDir });
    const started = Date.now();
    t.after(() => second.stop());
    api.server = second;
    const ca = await rt.online(t, second, p.a, { name: 'A after restart' });
    assert.equal(ca.ready.chat.id, p.chat);
    const ended = await ca.next('chat.ended', { timeoutMs: 40000 });
    const after = Date.now() - started;
    assert.deepEqual(ended, { type: 'chat.ended', chatId: p.chat, reason: 'partner_disconnected' });
    assert.ok(after >= 28000 && after <= 36000, `chat ended ${after} ms after the restart, expected ~30 s`);
    const cb = await rt.online(t, second, p.b, { name: 'B late' });
    assert.equal(cb.ready.chat, null);
  });
});
