'use strict';
// SPEC §4 (+ the lead's decisions): frames on an authenticated socket — ping/pong and the ref
// echo (any JSON value), BAD_REQUEST for JSON that is not an object or has no string type,
// UNKNOWN_TYPE, close 1009 for frames over 16 KiB (single or fragmented), 1007 for invalid UTF-8
// or text that is not JSON, 1003 for a binary frame, and the rate limit (20 frames/s, burst 40:
// RATE_LIMITED at most once a second, close 1008 at a deficit of 40 more).

const assert = require('node:assert/strict');
const { test } = require('node:test');
const k = require('./authkit');
const rt = require('./rtkit');

const T = { timeout: 60000 };
const MAX_FRAME = 16 * 1024;

async function authed(t) {
  const { server, api } = await k.setup(t);
  const u = await rt.user(api);
  const c = await rt.online(t, server, u);
  return { server, api, u, c };
}

// A ping frame of exactly n bytes (a pad field fills it up).
function pingOfSize(n, ref = 'big') {
  const base = JSON.stringify({ type: 'ping', ref, pad: '' });
  const s = JSON.stringify({ type: 'ping', ref, pad: 'x'.repeat(n - base.length) });
  assert.equal(Buffer.byteLength(s), n);
  return s;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('ping → pong; the ref (any JSON value) is echoed as is; no ref → no ref key', T, async (t) => {
  const { c } = await authed(t);
  c.send({ type: 'ping' });
  const p = await c.next('pong');
  assert.deepEqual(p, { type: 'pong' });
  for (const ref of [7, 'abc', { a: [1, { b: null }], c: '한글' }, [1, 'two'], true, 0, '', 1.5]) {
    const pong = await c.request({ type: 'ping', ref });
    assert.deepEqual(pong, { type: 'pong', ref }, `ref ${JSON.stringify(ref)}`);
  }
  // ref: null is a JSON value too.
  c.send({ type: 'ping', ref: null });
  const pn = await c.next('pong');
  assert.ok('ref' in pn && pn.ref === null, `ref null: ${JSON.stringify(pn)}`);
});

test('JSON that is not an object (array, number, string, null, boolean) → error BAD_REQUEST; the socket stays', T, async (t) => {
  const { server, u } = await authed(t);
  for (const text of ['[]', '[{"type":"ping"}]', '42', '"ping"', 'null', 'true']) {
    await t.test(text, async () => {
      const c = await rt.online(t, server, u, { name: text });
      c.send(text);
      const e = await c.next('error');
      rt.assertErrorFrame(e, 'BAD_REQUEST');
      assert.equal((await c.request({ type: 'ping' })).type, 'pong');
      await c.close();
    });
  }
});

test('an object without a string type → error BAD_REQUEST with the ref; the socket stays', T, async (t) => {
  const { c } = await authed(t);
  for (const frame of [{ ref: 'n1' }, { type: 42, ref: 'n2' }, { type: null, ref: 'n3' },
    { type: ['ping'], ref: 'n4' }, { type: { x: 1 }, ref: 'n5' }]) {
    const e = await c.request(frame);
    rt.assertErrorFrame(e, 'BAD_REQUEST', frame.ref);
  }
  assert.equal((await c.request({ type: 'ping' })).type, 'pong');
  assert.ok(c.isOpen);
});

test('unknown type → error UNKNOWN_TYPE with the ref; the socket stays', T, async (t) => {
  const { c } = await authed(t);
  for (const type of ['nope', 'PING', 'Ping', ' ping', 'match', 'ready', 'pong', 'msg.new', '']) {
    const e = await c.request({ type, ref: `u-${type}` });
    rt.assertErrorFrame(e, 'UNKNOWN_TYPE', `u-${type}`);
  }
  assert.equal((await c.request({ type: 'ping' })).type, 'pong');
});

test('a frame of exactly 16 KiB is accepted; 16 KiB + 1 → close 1009', T, async (t) => {
  const { server, api, u, c } = await authed(t);
  c.send(pingOfSize(MAX_FRAME, 'at-limit'));
  const p = await c.next('pong');
  assert.equal(p.ref, 'at-limit');
  c.send(pingOfSize(MAX_FRAME + 1, 'over'));
  await c.expectClose(1009, { what: `a ${MAX_FRAME + 1}-byte text frame` });
  assert.equal(c.frames.filter((f) => f.ref === 'over').length, 0);

  // A large frame before auth too.
  const c2 = await rt.connect(t, server);
  c2.send(JSON.stringify({ type: 'auth', token: u.token, pad: 'x'.repeat(MAX_FRAME) }));
  await c2.expectClose(1009, { what: 'an oversized auth frame' });
  void api;
});

test('a fragmented message: 2 × 4 KiB is reassembled; 2 × 10 KiB (over 16 KiB in all) → close 1009', T, async (t) => {
  const { c } = await authed(t);
  const small = pingOfSize(8192, 'frag-ok');
  c.ws.send(small.slice(0, 4096), { fin: false });
  c.ws.send(small.slice(4096), { fin: true });
  const p = await c.next('pong');
  assert.equal(p.ref, 'frag-ok');
  const big = pingOfSize(20480, 'frag-big');
  c.ws.send(big.slice(0, 10240), { fin: false });
  c.ws.send(big.slice(10240), { fin: true });
  await c.expectClose(1009, { what: 'a 20 KiB message in two fragments' });
});

test('invalid UTF-8 in a text frame → close 1007', T, async (t) => {
  const cases = [
    ['a 0xff byte', Buffer.from([0x7b, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])],
    ['a UTF-16 surrogate (ED A0 80)', Buffer.concat([Buffer.from('{"type":"ping","ref":"'),
      Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])],
    ['an overlong "/" (C0 AF)', Buffer.concat([Buffer.from('{"type":"ping","ref":"'),
      Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])],
    ['a truncated sequence at the end', Buffer.concat([Buffer.from('{"type":"ping"}'), Buffer.from([0xe2, 0x82])])],
  ];
  for (const [name, bytes] of cases) {
    await t.test(name, async (st) => {
      const { c } = await authed(st);
      c.sendRaw(bytes);
      await c.expectClose(1007, { what: name });
      assert.deepEqual(c.all('pong'), []);
    });
  }
});

test('text that is not JSON → close 1007', T, async (t) => {
  for (const text of ['hello', '{"type":"ping"', '{"type":"ping"} x', "{'type':'ping'}", '{"type":"ping",}']) {
    await t.test(JSON.stringify(text), async (st) => {
      const { c } = await authed(st);
      c.send(text);
      await c.expectClose(1007, { what: `text ${JSON.stringify(text)}` });
    });
  }
});

test('a binary frame → close 1003', T, async (t) => {
  const { c } = await authed(t);
  c.sendRaw(Buffer.from('{"type":"ping"}'), { binary: true });
  await c.expectClose(1003, { what: 'a binary frame with JSON in it' });
  assert.deepEqual(c.all('pong'), []);
});

test('rate limit: burst 40, then RATE_LIMITED (once a second at most); refill at ~20/s; a flood → close 1008', T, async (t) => {
  const { c } = await authed(t);
  // The auth frame took a token; wait until the bucket is full again (1 token = 50 ms).
  await sleep(200);

  // 1. A burst of 40 on a full bucket: 40 pongs, no error.
  for (let i = 0; i < 40; i++) c.send({ type: 'ping', ref: `b${i}` });
  const burst = await c.nextN('pong', 40);
  assert.deepEqual(burst.map((p) => p.ref), Array.from({ length: 40 }, (_, i) => `b${i}`));
  await c.expectNone('error', 150, 'no error for a burst of 40');

  // 2. A sustained 15 frames/s for 2 s from an empty bucket: every frame answered, no error.
  const t0 = Date.now();
  for (let i = 0; i < 30; i++) {
    const due = t0 + Math.round((i + 1) * 1000 / 15);
    if (due > Date.now()) await sleep(due - Date.now());
    c.send({ type: 'ping', ref: `s${i}` });
  }
  const sustained = await c.nextN('pong', 30);
  assert.equal(sustained.length, 30);
  assert.deepEqual(c.all('error'), [], 'errors at 15 frames/s');

  // 3. Over the limit: 60 at once on a bucket that is about empty → exactly one RATE_LIMITED (they
  //    all arrive within a second), the rest silently dropped, the socket stays open (deficit < 40).
  await sleep(2100); // full again (40 tokens)
  for (let i = 0; i < 60; i++) c.send({ type: 'ping', ref: `o${i}` });
  const err = await c.next('error');
  rt.assertErrorFrame(err, 'RATE_LIMITED');
  // Synchronise with a ping after a refill: everything before it has been processed.
  await sleep(3200);
  const marker = await c.request({ type: 'ping', ref: 'marker' });
  assert.equal(marker.type, 'pong', 'the socket must still work after the bucket refilled');
  const over = c.discard((f) => f.type === 'pong' && /^o\d+$/.test(f.ref));
  assert.ok(over.length >= 39 && over.length <= 45, `pongs for 60 frames sent at once on a full bucket: ${over.length}`);
  assert.equal(c.all('error').length, 1, `RATE_LIMITED errors for one burst: ${JSON.stringify(c.all('error'))}`);
  assert.ok(c.isOpen);

  // 4. A flood: 200 at once → a deficit of 40 more → close 1008 (after one more RATE_LIMITED).
  for (let i = 0; i < 200; i++) c.send({ type: 'ping', ref: `f${i}` });
  await c.expectClose(1008, { what: 'a flood of 200 frames' });
  const floodPongs = c.frames.filter((f) => f.type === 'pong' && /^f\d+$/.test(f.ref)).length;
  assert.ok(floodPongs <= 45, `pongs during the flood: ${floodPongs}`);
  const errors = c.all('error');
  assert.equal(errors.length, 2, `RATE_LIMITED errors: ${JSON.stringify(errors)}`);
  rt.assertErrorFrame(errors[1], 'RATE_LIMITED');
});

test('rate limit is per socket: a flooded socket does not limit another socket of the same user', T, async (t) => {
  const { server, u, c } = await authed(t);
  const c2 = await rt.online(t, server, u, { name: 'tab2' });
  for (let i = 0; i < 200; i++) c.send({ type: 'ping', ref: `f${i}` });
  await c.expectClose(1008);
  for (let i = 0; i < 30; i++) c2.send({ type: 'ping', ref: `t${i}` });
  const pongs = await c2.nextN('pong', 30);
  assert.equal(pongs.length, 30);
  assert.deepEqual(c2.all('error'), []);
});
