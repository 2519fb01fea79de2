'use strict';
// SPEC §4: the first frame must be auth within 10 s, else close 4401 (slow: ~12 s). WebSocket
// control frames (a client ping) do not count as the auth frame; a socket authenticated in time
// is not closed at the 10 s mark.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const k = require('./authkit');
const rt = require('./rtkit');

test('no auth frame within 10 s → close 4401 (pings do not help); authenticated in time → stays', { timeout: 30000 }, async (t) => {
  const { server, api } = await k.setup(t);
  const u = await rt.user(api);
  const t0 = Date.now();
  const silent = await rt.connect(t, server, { name: 'silent' });
  const pinger = await rt.connect(t, server, { name: 'pinger' });
  const late = await rt.connect(t, server, { name: 'auth at 5 s' });
  const timer = setInterval(() => { if (pinger.isOpen) pinger.ws.ping(); }, 1000);
  t.after(() => clearInterval(timer));

  await new Promise((r) => setTimeout(r, 5000));
  await late.auth(u.token);

  const [s, p] = await Promise.all([
    silent.expectClose(4401, { timeoutMs: 13000, what: 'no frame at all' }),
    pinger.expectClose(4401, { timeoutMs: 13000, what: 'only WebSocket pings' }),
  ]);
  for (const [name, info] of [['silent', s], ['pinger', p]]) {
    const after = info.at - t0;
    assert.ok(after >= 9500 && after <= 12000, `${name}: closed after ${after} ms, expected ~10 s`);
  }
  assert.deepEqual(silent.frames, []);
  // The authenticated one is still open past the deadline and answers.
  await new Promise((r) => setTimeout(r, Math.max(0, t0 + 12000 - Date.now())));
  assert.ok(late.isOpen, `the socket authenticated at 5 s was closed: ${JSON.stringify(late.closeInfo)}`);
  assert.equal((await late.request({ type: 'ping' })).type, 'pong');
});
