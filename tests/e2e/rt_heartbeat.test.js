'use strict';
// SPEC §4 heartbeat (slow: ~70 s): the server pings every 25 s; a socket silent for 60 s (it does
// not even answer the pings) is dropped; one that answers the pings (as browsers do) stays even
// though it sends no frame of its own.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const k = require('./authkit');
const rt = require('./rtkit');

test('server pings every 25 s; a socket that does not answer them is dropped after ~60 s, one that does stays', { timeout: 100000 }, async (t) => {
  const { server, api } = await k.setup(t);
  const u = await rt.user(api);
  const ponger = await rt.connect(t, server, { name: 'answers pings' });
  const mute = await rt.connect(t, server, { name: 'mute', wsOptions: { autoPong: false } });
  await ponger.auth(u.token);
  await mute.auth(u.token);
  const t0 = Date.now();

  const info = await mute.waitClose({ timeoutMs: 75000 });
  const after = info.at - t0;
  assert.ok(after >= 55000 && after <= 70000, `the mute socket was closed after ${after} ms (code ${info.code}), expected ~60 s`);
  assert.ok(mute.pings >= 2, `the mute socket got ${mute.pings} pings in ${after} ms (every 25 s expected)`);
  assert.ok(ponger.isOpen, `the socket that answers pings was closed: ${JSON.stringify(ponger.closeInfo)}`);
  assert.ok(ponger.pings >= 2 && ponger.pings <= 3, `pings received: ${ponger.pings}`);
  assert.equal((await ponger.request({ type: 'ping' })).type, 'pong');
});
