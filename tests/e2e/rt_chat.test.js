'use strict';
// SPEC §4 chat rules (+ the lead's decisions): msg.send → msg.ack to the sender socket and msg.new
// to every socket of both users; seq 1, 2, 3… with no gaps under concurrent sends; idempotent
// retries by clientMsgId; text rules (trim, 1–2000 characters, no control characters but \n and
// \t, HTML kept verbatim); NOT_IN_CHAT; typing and msg.read relayed to the partner (and
// partnerReadSeq after a reconnect); chat.sync; a reconnect mid-chat with partner.presence and
// nothing lost; chat.leave. The 30 s reconnect window is in rt_presence_timeout.test.js.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const k = require('./authkit');
const rt = require('./rtkit');

const T = { timeout: 60000 };

async function messagesOf(api, token, chatId, query = '') {
  const res = await rt.rest(api, 'GET', `/api/v1/chats/${chatId}/messages${query}`, token);
  assert.equal(res.status, 200, res.text);
  return res.json.messages;
}

test('msg.send → msg.ack {clientMsgId, message, ref} to the sender socket; msg.new to every socket of both users', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { a, b, ca, cb, chat } = await rt.pair(t, server, api);
  const ca2 = await rt.online(t, server, a, { name: 'A tab 2' });
  const cb2 = await rt.online(t, server, b, { name: 'B tab 2' });
  assert.equal(ca2.ready.chat.id, chat);

  const ack = await ca.request({ type: 'msg.send', chatId: chat, clientMsgId: 'm-1', text: '안녕하세요 👋', ref: 'send1' });
  assert.deepEqual(Object.keys(ack).sort(), ['clientMsgId', 'message', 'ref', 'type']);
  assert.equal(ack.type, 'msg.ack');
  assert.equal(ack.clientMsgId, 'm-1');
  assert.equal(ack.ref, 'send1');
  rt.assertMessage(ack.message, { chatId: chat, senderId: a.id, text: '안녕하세요 👋', seq: 1 });

  for (const c of [ca, ca2, cb, cb2]) {
    const n = await c.next('msg.new');
    assert.deepEqual(n, { type: 'msg.new', message: ack.message }, `[${c.name}] msg.new`);
  }
  // The sender's other tab gets no ack, and nobody gets a second msg.new.
  await Promise.all([ca2, cb, cb2].map((c) => c.expectNone('msg.ack', 200)));
  await Promise.all([ca, ca2, cb, cb2].map((c) => c.expectNone('msg.new', 200)));

  // B answers from the second tab.
  const back = await rt.sendMsg(cb2, chat, 'hi!');
  rt.assertMessage(back.message, { senderId: b.id, seq: 2, text: 'hi!' });
  for (const c of [ca, ca2, cb, cb2]) {
    const n = await c.next('msg.new');
    assert.deepEqual(n.message, back.message);
  }
  const stored = await messagesOf(api, a.token, chat);
  assert.deepEqual(stored, [ack.message, back.message]);
  assert.deepEqual(await messagesOf(api, b.token, chat), stored);
});

test('seq has no gaps: 20 + 20 concurrent sends from both sides → seqs exactly 1..40, each msg.new seen once', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { a, b, ca, cb, chat } = await rt.pair(t, server, api);
  const N = 20;
  for (let i = 0; i < N; i++) {
    ca.send({ type: 'msg.send', chatId: chat, clientMsgId: `a-${i}`, text: `from A ${i}`, ref: `a${i}` });
    cb.send({ type: 'msg.send', chatId: chat, clientMsgId: `b-${i}`, text: `from B ${i}`, ref: `b${i}` });
  }
  const acksA = await ca.nextN('msg.ack', N, { timeoutMs: 15000 });
  const acksB = await cb.nextN('msg.ack', N, { timeoutMs: 15000 });
  const newA = await ca.nextN('msg.new', 2 * N, { timeoutMs: 15000 });
  const newB = await cb.nextN('msg.new', 2 * N, { timeoutMs: 15000 });
  await Promise.all([ca.expectNone('msg.new', 300), cb.expectNone('msg.new', 300)]);
  assert.deepEqual([...ca.all('error'), ...cb.all('error')], [], 'errors during the sends');

  const seqs = [...acksA, ...acksB].map((x) => x.message.seq).sort((x, y) => x - y);
  assert.deepEqual(seqs, Array.from({ length: 2 * N }, (_, i) => i + 1), 'acked seqs');
  // Each side's own messages keep their order.
  const ordered = (acks, tag) => acks.map((x) => x.message).sort((x, y) => x.seq - y.seq).map((m) => m.text);
  assert.deepEqual(ordered(acksA), Array.from({ length: N }, (_, i) => `from A ${i}`));
  assert.deepEqual(ordered(acksB), Array.from({ length: N }, (_, i) => `from B ${i}`));
  for (const [name, news] of [['A', newA], ['B', newB]]) {
    const s = news.map((n) => n.message.seq);
    assert.deepEqual([...s].sort((x, y) => x - y), seqs, `${name}: msg.new seqs`);
    assert.deepEqual(s, [...s].sort((x, y) => x - y), `${name}: msg.new arrive in seq order`);
  }
  for (const ack of [...acksA, ...acksB]) {
    assert.equal(ack.ref, ack.clientMsgId.replace('-', ''));
    const sender = ack.clientMsgId.startsWith('a') ? a.id : b.id;
    assert.equal(ack.message.senderId, sender);
  }
  const stored = await messagesOf(api, a.token, chat);
  assert.deepEqual(stored.map((m) => m.seq), seqs);
  assert.deepEqual(stored, newA.map((n) => n.message).sort((x, y) => x.seq - y.seq));
});

test('the same clientMsgId again → the same msg.ack (same id, seq), no msg.new, no new row', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { a, b, ca, cb, chat } = await rt.pair(t, server, api);
  const first = await rt.sendMsg(ca, chat, 'once', { clientMsgId: 'retry-1' });
  await cb.next('msg.new');
  await ca.next('msg.new');
  const second = await ca.request({ type: 'msg.send', chatId: chat, clientMsgId: 'retry-1', text: 'once', ref: 'again' });
  assert.equal(second.type, 'msg.ack', JSON.stringify(second));
  assert.equal(second.ref, 'again');
  assert.equal(second.clientMsgId, 'retry-1');
  assert.deepEqual(second.message, first.message);
  // Even with a different text (the retry wins by id), and from another socket of the sender.
  const ca2 = await rt.online(t, server, a, { name: 'A2' });
  const third = await ca2.request({ type: 'msg.send', chatId: chat, clientMsgId: 'retry-1', text: 'changed' });
  assert.equal(third.type, 'msg.ack', JSON.stringify(third));
  assert.deepEqual(third.message, first.message);
  await Promise.all([ca, cb, ca2].map((c) => c.expectNone('msg.new', 300)));
  const next = await rt.sendMsg(ca, chat, 'twice');
  assert.equal(next.message.seq, 2, 'the retry must not take a seq');
  // The same clientMsgId from the other user is that user's own message.
  const bsame = await rt.sendMsg(cb, chat, 'mine', { clientMsgId: 'retry-1' });
  assert.equal(bsame.message.seq, 3);
  assert.equal(bsame.message.senderId, b.id);
  const stored = await messagesOf(api, a.token, chat);
  assert.deepEqual(stored.map((m) => [m.seq, m.text]), [[1, 'once'], [2, 'twice'], [3, 'mine']]);
});

test('text: trimmed; 2000 characters OK (Hangul, emoji); HTML verbatim; \\n and \\t inside kept', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { a, ca, cb, chat } = await rt.pair(t, server, api);
  const cases = [
    ['  padded \n\t', 'padded'],
    ['한'.repeat(2000), '한'.repeat(2000)],
    [`  ${'a'.repeat(2000)}  `, 'a'.repeat(2000)],
    ['😀'.repeat(2000), '😀'.repeat(2000)],
    ['<img src=x onerror=alert(1)>', '<img src=x onerror=alert(1)>'],
    ['<script>alert("x")</script> & &amp; "q" \'s\'', '<script>alert("x")</script> & &amp; "q" \'s\''],
    ['line1\nline2\tcol', 'line1\nline2\tcol'],
    ['\\u0000 as text', '\\u0000 as text'],
  ];
  for (const [text, expected] of cases) {
    const ack = await rt.sendMsg(ca, chat, text);
    assert.equal(ack.message.text, expected, `text ${rt.short(text, 40)}`);
    const n = await cb.next('msg.new');
    assert.equal(n.message.text, expected);
  }
  const stored = await messagesOf(api, a.token, chat);
  assert.deepEqual(stored.map((m) => m.text), cases.map((c) => c[1]));
});

test('text: empty, whitespace only, over 2000 characters, control characters → error VALIDATION_FAILED, nothing stored', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { a, ca, cb, chat } = await rt.pair(t, server, api);
  const bad = [
    ['empty', ''],
    ['spaces', '   '],
    ['whitespace', ' \n\t \r\n '],
    ['2001 ASCII', 'a'.repeat(2001)],
    ['2001 Hangul', '한'.repeat(2001)],
    ['SOH', 'a\u0001b'],
    ['ESC', 'red \u001b[31m'],
    ['CR inside', 'a\rb'],
    ['vertical tab', 'a\u000bb'],
    ['form feed', 'a\u000cb'],
    ['DEL', 'a\u007fb'],
    ['text missing', undefined],
    ['text a number', 5],
    ['text null', null],
  ];
  for (const [name, text] of bad) {
    const frame = { type: 'msg.send', chatId: chat, clientMsgId: rt.newClientMsgId(), ref: name };
    if (text !== undefined) frame.text = text;
    const e = await ca.request(frame);
    rt.assertErrorFrame(e, 'VALIDATION_FAILED', name);
  }
  await cb.expectNone('msg.new', 200);
  assert.deepEqual(await messagesOf(api, a.token, chat), []);
  // The chat works afterwards; the first real message is seq 1.
  const ok = await rt.sendMsg(ca, chat, 'fine');
  assert.equal(ok.message.seq, 1);
});

test('text: a NUL character (\\u0000 escape: valid JSON) → VALIDATION_FAILED, the socket stays', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { ca, chat } = await rt.pair(t, server, api);
  const e = await ca.request({ type: 'msg.send', chatId: chat, clientMsgId: rt.newClientMsgId(), text: 'a\u0000b', ref: 'nul' });
  rt.assertErrorFrame(e, 'VALIDATION_FAILED', 'nul');
  assert.ok(ca.isOpen);
});

test('text: C1 control characters (U+0080–U+009F) → VALIDATION_FAILED', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { ca, chat } = await rt.pair(t, server, api);
  for (const [name, text] of [['NEL U+0085', 'a\u0085b'], ['CSI U+009B', 'x\u009b31m']]) {
    const e = await ca.request({ type: 'msg.send', chatId: chat, clientMsgId: rt.newClientMsgId(), text, ref: name });
    rt.assertErrorFrame(e, 'VALIDATION_FAILED', name);
  }
});

test('msg.send: a bad clientMsgId → VALIDATION_FAILED; a chat you are not in → NOT_IN_CHAT', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { ca, cb, chat } = await rt.pair(t, server, api);
  for (const [name, id] of [['missing', undefined], ['empty', ''], ['a number', 5], ['65 chars', 'x'.repeat(65)]]) {
    const frame = { type: 'msg.send', chatId: chat, text: 'hi', ref: name };
    if (id !== undefined) frame.clientMsgId = id;
    rt.assertErrorFrame(await ca.request(frame), 'VALIDATION_FAILED', name);
  }
  // A third user (idle, then in another chat) cannot write into A and B's chat.
  const c = await rt.user(api);
  const cc = await rt.online(t, server, c, { name: 'C' });
  const e1 = await cc.request({ type: 'msg.send', chatId: chat, clientMsgId: 'x1', text: 'intruder' });
  rt.assertErrorFrame(e1, 'NOT_IN_CHAT');
  const other = await rt.pair(t, server, api, { a: c, ca: cc, category: 'qa' });
  const e2 = await cc.request({ type: 'msg.send', chatId: chat, clientMsgId: 'x2', text: 'intruder' });
  rt.assertErrorFrame(e2, 'NOT_IN_CHAT');
  for (const [name, chatId] of [['unknown id', '999999'], ['not a number', 'abc'], ['missing', undefined],
    ['a number, not a string', Number(chat)]]) {
    const frame = { type: 'msg.send', clientMsgId: `y-${name}`, text: 'hi', ref: name };
    if (chatId !== undefined) frame.chatId = chatId;
    const e = await ca.request(frame);
    rt.assertErrorFrame(e, 'NOT_IN_CHAT', name);
  }
  await Promise.all([ca.expectNone('msg.new', 200), cb.expectNone('msg.new', 200),
    other.cb.expectNone('msg.new', 200)]);
  // After the chat ended: NOT_IN_CHAT.
  ca.send({ type: 'chat.leave', chatId: chat });
  await ca.next('chat.ended');
  await cb.next('chat.ended');
  rt.assertErrorFrame(await ca.request({ type: 'msg.send', chatId: chat, clientMsgId: 'z', text: 'late' }), 'NOT_IN_CHAT');
  rt.assertErrorFrame(await cb.request({ type: 'msg.send', chatId: chat, clientMsgId: 'z', text: 'late' }), 'NOT_IN_CHAT');
});

test('typing {chatId, on} → the partner gets typing {chatId, on}', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { b, ca, cb, chat } = await rt.pair(t, server, api);
  const cb2 = await rt.online(t, server, b, { name: 'B2' });
  ca.send({ type: 'typing', chatId: chat, on: true });
  assert.deepEqual(await cb.next('typing'), { type: 'typing', chatId: chat, on: true });
  assert.deepEqual(await cb2.next('typing'), { type: 'typing', chatId: chat, on: true });
  ca.send({ type: 'typing', chatId: chat, on: false });
  assert.deepEqual(await cb.next('typing'), { type: 'typing', chatId: chat, on: false });
  cb.send({ type: 'typing', chatId: chat, on: true });
  assert.deepEqual(await ca.next('typing'), { type: 'typing', chatId: chat, on: true });
  await ca.expectNone('typing', 200);
  // Not in that chat → NOT_IN_CHAT.
  const cc = await rt.online(t, server, await rt.user(api), { name: 'C' });
  rt.assertErrorFrame(await cc.request({ type: 'typing', chatId: chat, on: true }), 'NOT_IN_CHAT');
  await cb.expectNone('typing', 200);
});

test('msg.read {chatId, upToSeq} → the partner gets msg.read; beyond lastSeq → VALIDATION_FAILED; partnerReadSeq after a reconnect', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { a, b, ca, cb, chat } = await rt.pair(t, server, api);
  for (const text of ['one', 'two', 'three']) await rt.sendMsg(ca, chat, text);
  await cb.nextN('msg.new', 3);
  cb.send({ type: 'msg.read', chatId: chat, upToSeq: 2 });
  assert.deepEqual(await ca.next('msg.read'), { type: 'msg.read', chatId: chat, upToSeq: 2 });
  const e = await cb.request({ type: 'msg.read', chatId: chat, upToSeq: 4 });
  rt.assertErrorFrame(e, 'VALIDATION_FAILED');
  for (const bad of [-1, 'two', 1.5, null]) {
    rt.assertErrorFrame(await cb.request({ type: 'msg.read', chatId: chat, upToSeq: bad }), 'VALIDATION_FAILED');
  }
  await ca.expectNone('msg.read', 300);
  // A reconnects: ready.chat.partnerReadSeq = 2, lastSeq = 3.
  const ca2 = await rt.online(t, server, a, { name: 'A2' });
  assert.equal(ca2.ready.chat.id, chat);
  assert.equal(ca2.ready.chat.partnerReadSeq, 2);
  assert.equal(ca2.ready.chat.lastSeq, 3);
  // And B's own view: partnerReadSeq is what A read (nothing).
  const cb2 = await rt.online(t, server, b, { name: 'B2' });
  assert.equal(cb2.ready.chat.partnerReadSeq, 0);
  cb.send({ type: 'msg.read', chatId: chat, upToSeq: 3 });
  assert.equal((await ca2.next('msg.read')).upToSeq, 3);
  assert.equal((await ca.next('msg.read')).upToSeq, 3);
});

test('chat.sync {chatId, afterSeq} → chat.history {chatId, messages after it, ascending, more:false, ref}', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { ca, cb, chat } = await rt.pair(t, server, api);
  const sent = [];
  for (let i = 1; i <= 5; i++) sent.push((await rt.sendMsg(i % 2 ? ca : cb, chat, `m${i}`)).message);
  const h0 = await cb.request({ type: 'chat.sync', chatId: chat, afterSeq: 0, ref: 'sync0' });
  assert.deepEqual(h0, { type: 'chat.history', chatId: chat, messages: sent, more: false, ref: 'sync0' });
  const h3 = await ca.request({ type: 'chat.sync', chatId: chat, afterSeq: 3 });
  assert.equal(h3.type, 'chat.history');
  assert.deepEqual(h3.messages, sent.slice(3));
  assert.equal(h3.more, false);
  const h5 = await ca.request({ type: 'chat.sync', chatId: chat, afterSeq: 5 });
  assert.deepEqual(h5.messages, []);
  // A non-participant gets an error and no messages (the contract names no code for chat.sync:
  // NOT_IN_CHAT as for the other chat frames, or NOT_FOUND as REST answers).
  const cc = await rt.online(t, server, await rt.user(api), { name: 'C' });
  const e = await cc.request({ type: 'chat.sync', chatId: chat, afterSeq: 0, ref: 'intruder' });
  assert.equal(e.type, 'error', JSON.stringify(e));
  assert.ok(['NOT_IN_CHAT', 'NOT_FOUND'].includes(e.code), JSON.stringify(e));
  assert.equal(e.ref, 'intruder');
});

test('a socket drops mid-chat: partner.presence offline; the partner sends 3; reconnect → same chat, chat.sync gives exactly the 3', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { a, ca, cb, chat } = await rt.pair(t, server, api);
  const m1 = await rt.sendMsg(ca, chat, 'before');
  await ca.next('msg.new');
  await cb.next('msg.new');
  const lastSeen = m1.message.seq;

  await ca.terminate();
  const off = await cb.next('partner.presence');
  assert.deepEqual(off, { type: 'partner.presence', chatId: chat, online: false });
  const missed = [];
  for (const text of ['while', 'you', 'were away']) missed.push((await rt.sendMsg(cb, chat, text)).message);

  const back = await rt.online(t, server, a, { name: 'A back' });
  assert.equal(back.ready.chat.id, chat, 'ready.chat is the same chat');
  assert.equal(back.ready.chat.lastSeq, 4);
  const on = await cb.next('partner.presence');
  assert.deepEqual(on, { type: 'partner.presence', chatId: chat, online: true });
  const hist = await back.request({ type: 'chat.sync', chatId: chat, afterSeq: lastSeen });
  assert.deepEqual(hist.messages, missed, 'exactly the missed messages');
  await back.expectNone('msg.new', 200);
  // The chat goes on.
  const again = await rt.sendMsg(back, chat, 'I am back');
  assert.equal(again.message.seq, 5);
  assert.deepEqual((await cb.next((f) => f.type === 'msg.new' && f.message.seq === 5)).message, again.message);
  // B saw each of its own 3 messages and A's two exactly once.
  assert.deepEqual(cb.all('msg.new').map((f) => f.message.seq), [1, 2, 3, 4, 5]);
  await cb.expectNone('partner.presence', 200);
});

test('closing one of two tabs is not "offline"; closing the last one is', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { a, ca, cb, chat } = await rt.pair(t, server, api);
  const ca2 = await rt.online(t, server, a, { name: 'A2' });
  await ca.close();
  await cb.expectNone('partner.presence', 500);
  await ca2.close(1000);
  assert.deepEqual(await cb.next('partner.presence'), { type: 'partner.presence', chatId: chat, online: false });
});

test('chat.leave → leaver gets chat.ended "left", partner "partner_left"; both are free afterwards', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { a, b, ca, cb, chat } = await rt.pair(t, server, api, { category: 'pm' });
  const cb2 = await rt.online(t, server, b, { name: 'B2' });
  await rt.sendMsg(ca, chat, 'last words');
  ca.discard();
  cb.discard();
  cb2.discard();
  ca.send({ type: 'chat.leave', chatId: chat });
  assert.deepEqual(await ca.next('chat.ended'), { type: 'chat.ended', chatId: chat, reason: 'left' });
  assert.deepEqual(await cb.next('chat.ended'), { type: 'chat.ended', chatId: chat, reason: 'partner_left' });
  assert.deepEqual(await cb2.next('chat.ended'), { type: 'chat.ended', chatId: chat, reason: 'partner_left' });
  // Leaving again → NOT_IN_CHAT.
  rt.assertErrorFrame(await ca.request({ type: 'chat.leave', chatId: chat }), 'NOT_IN_CHAT');
  // chat.sync still works for the past chat (docs/realtime.md).
  const past = await cb.request({ type: 'chat.sync', chatId: chat, afterSeq: 0 });
  assert.equal(past.type, 'chat.history', JSON.stringify(past));
  assert.deepEqual(past.messages.map((m) => m.text), ['last words']);
  // Both free: match.start works (no IN_CHAT), and a reconnect shows no chat.
  await rt.startWaiting(ca, 'pm');
  await ca.request({ type: 'match.cancel' });
  await rt.startWaiting(cb, 'frontend');
  const a2 = await rt.online(t, server, a, { name: 'A2' });
  assert.equal(a2.ready.chat, null);
  // Each can match someone new.
  const c = await rt.user(api);
  const cc = await rt.online(t, server, c, { name: 'C' });
  cc.send({ type: 'match.start', category: 'frontend' });
  assert.equal((await cc.next('match.found')).chat.partner.id, b.id);
  await cb.next('match.found');
});

test('/metrics times every msg.ack from its msg.send (retries too): a histogram whose +Inf bucket is the ack count; the messages not yet folded are a gauge', T, async (t) => {
  const { server, api } = await k.setup(t);
  const { ca, cb, chat } = await rt.pair(t, server, api);
  const metric = async () => {
    const res = await rt.rest(api, 'GET', '/metrics');
    assert.equal(res.status, 200);
    const value = (name, le) => {
      const label = le ? `\\{le="${le.replace('+', '\\+')}"\\}` : '';
      const m = res.text.match(new RegExp(`^convo_ws_msg_ack_seconds${name}${label} (\\S+)$`, 'm'));
      assert.ok(m, `no convo_ws_msg_ack_seconds${name} ${le || ''} in /metrics`);
      return Number(m[1]);
    };
    return { count: value('_count'), sum: value('_sum'), inf: value('_bucket', '+Inf'), le1s: value('_bucket', '1') };
  };
  const before = await metric();
  assert.deepEqual([before.count, before.inf], [0, 0]);
  await ca.request({ type: 'msg.send', chatId: chat, clientMsgId: 'a1', text: 'one' }, { type: 'msg.ack' });
  await cb.request({ type: 'msg.send', chatId: chat, clientMsgId: 'b1', text: 'two' }, { type: 'msg.ack' });
  await ca.request({ type: 'msg.send', chatId: chat, clientMsgId: 'a2', text: 'three' }, { type: 'msg.ack' });
  await ca.request({ type: 'msg.send', chatId: chat, clientMsgId: 'a1', text: 'one' }, { type: 'msg.ack' }); // a retry: acked again
  await ca.request({ type: 'msg.send', chatId: chat, clientMsgId: 'a3', text: '   ' }, { type: 'error' }); // refused: no ack
  const after = await metric();
  assert.equal(after.count, 4);
  assert.equal(after.inf, 4);
  assert.ok(after.le1s <= after.inf && after.le1s >= 1, `le=1 bucket ${after.le1s}`);
  assert.ok(after.sum > 0 && after.sum < 4 * 5, `sum ${after.sum} s`);
  // The three stored messages wait in the log until a fold (4 s after the first) puts them in
  // the table: the gauge shows them, then none.
  const unfolded = async () => {
    const res = await rt.rest(api, 'GET', '/metrics');
    const m = res.text.match(/^convo_store_unfolded_messages (\d+)$/m);
    assert.ok(m, 'no convo_store_unfolded_messages in /metrics');
    return Number(m[1]);
  };
  const waitFor = async (want, ms) => {
    let seen = await unfolded();
    for (const end = Date.now() + ms; seen !== want && Date.now() < end; seen = await unfolded())
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen, want, `convo_store_unfolded_messages after up to ${ms} ms`);
  };
  await waitFor(3, 1000);
  await waitFor(0, 15000);
});
