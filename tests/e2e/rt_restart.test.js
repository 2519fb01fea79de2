'use strict';
// SPEC §2 and §4 chat rule 3 (+ the lead's decisions): SIGTERM with open sockets → each gets close
// 1001 and the server exits 0 within 10 s; every message acked before a SIGTERM is there after a
// restart on the same data dir, and the chat is still active: a reconnecting user gets ready.chat
// with the same id and the conversation continues with the next seq.

const assert = require('node:assert/strict');
const path = require('node:path');
const { test } = require('node:test');
const h = require('./harness');
const k = require('./authkit');
const rt = require('./rtkit');

const T = { timeout: 60000 };

test('SIGTERM with open sockets (idle, unauthenticated, waiting, chatting) → close 1001 on each; exit 0 within 10 s', T, async (t) => {
  const { server, api } = await k.setup(t);
  const anon = await rt.connect(t, server, { name: 'anon' });
  const idle = await rt.online(t, server, await rt.user(api), { name: 'idle' });
  const waiting = await rt.online(t, server, await rt.user(api), { name: 'waiting' });
  await rt.startWaiting(waiting, 'design');
  const { ca, cb } = await rt.pair(t, server, api);
  const sockets = [anon, idle, waiting, ca, cb];

  const closes = Promise.all(sockets.map((c) => c.waitClose({ timeoutMs: 10000 })));
  const result = await server.stop(); // exit 0 within 10 s, no sanitizer report
  assert.ok(result.elapsedMs < 10000, `exit took ${result.elapsedMs} ms`);
  const infos = await closes;
  infos.forEach((info, i) => {
    assert.equal(info.code, 1001, `[${sockets[i].name}] close code ${info.code} (${info.reason}), expected 1001`);
  });
  // No chat.ended / partner.presence were sent to the chatting users as the server went away.
  for (const c of [ca, cb]) {
    assert.deepEqual(c.frames.filter((f) => f.type === 'chat.ended'), [], `[${c.name}] chat.ended at shutdown`);
  }
});

test('acked messages survive SIGTERM + restart; the chat is still active: same id in ready.chat, seq continues', T, async (t) => {
  const dataDir = path.join(h.tempDir(t, 'convo-e2e-rt-restart-'), 'data');
  const first = await h.startServer({ dataDir });
  const api = new k.Api(first);
  let a;
  let b;
  let chat;
  let acked;
  try {
    const p = await rt.pair(null, first, api, { category: 'fullstack' });
    ({ a, b, chat } = p);
    // A burst from both sides, then every ack awaited.
    for (let i = 0; i < 10; i++) {
      p.ca.send({ type: 'msg.send', chatId: chat, clientMsgId: `a${i}`, text: `A says ${i}`, ref: `a${i}` });
      p.cb.send({ type: 'msg.send', chatId: chat, clientMsgId: `b${i}`, text: `B says ${i}`, ref: `b${i}` });
    }
    const acks = [...await p.ca.nextN('msg.ack', 10, { timeoutMs: 10000 }),
      ...await p.cb.nextN('msg.ack', 10, { timeoutMs: 10000 })];
    acked = acks.map((x) => x.message).sort((x, y) => x.seq - y.seq);
    assert.deepEqual(acked.map((m) => m.seq), Array.from({ length: 20 }, (_, i) => i + 1));
    // B has read up to 5.
    p.cb.send({ type: 'msg.read', chatId: chat, upToSeq: 5 });
    await p.ca.next('msg.read');
    // SIGTERM with both sockets open.
    const closes = Promise.all([p.ca.waitClose({ timeoutMs: 10000 }), p.cb.waitClose({ timeoutMs: 10000 })]);
    const result = await first.stop();
    k.assertNoSecretsLogged(result, api.secrets);
    for (const info of await closes) assert.equal(info.code, 1001);
  } finally {
    await first.stop().catch(() => {});
  }

  const second = await h.startServer({ dataDir });
  api.server = second;
  t.after(async () => {
    const result = await second.stop();
    k.assertNoSecretsLogged(result, api.secrets);
  });
  const stored = await rt.rest(api, 'GET', `/api/v1/chats/${chat}/messages`, a.token);
  assert.equal(stored.status, 200, stored.text);
  assert.deepEqual(stored.json.messages, acked, 'every acked message after the restart');
  const list = await rt.rest(api, 'GET', '/api/v1/chats', b.token);
  assert.equal(list.json.chats[0].id, chat);
  assert.equal(list.json.chats[0].endedAt, null, 'the chat is still active after the restart');

  const ca = await rt.online(t, second, a, { name: 'A after' });
  rt.assertActiveChat(ca.ready.chat, { partner: b, category: 'fullstack' });
  assert.equal(ca.ready.chat.id, chat, 'ready.chat after the restart is the same chat');
  assert.equal(ca.ready.chat.lastSeq, 20);
  assert.equal(ca.ready.chat.partnerReadSeq, 5);
  const cb = await rt.online(t, second, b, { name: 'B after' });
  assert.equal(cb.ready.chat.id, chat);
  const hist = await cb.request({ type: 'chat.sync', chatId: chat, afterSeq: 15 });
  assert.deepEqual(hist.messages, acked.slice(15));
  const next = await rt.sendMsg(ca, chat, 'we are back');
  assert.equal(next.message.seq, 21);
  assert.deepEqual((await cb.next('msg.new')).message, next.message);
  // A retry of a pre-restart clientMsgId is still recognised.
  const retry = await ca.request({ type: 'msg.send', chatId: chat, clientMsgId: 'a3', text: 'A says 3' });
  assert.equal(retry.type, 'msg.ack', JSON.stringify(retry));
  assert.deepEqual(retry.message, acked.find((m) => m.text === 'A says 3'));
  await cb.expectNone('msg.new', 300);
});
