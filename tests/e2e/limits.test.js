'use strict';
// SPEC §3.1 limits: body over 64 KiB → 413, headers over 16 KiB → 431/413, connection cap → 503.
// (The time limits are in timeouts.test.js.)

const assert = require('node:assert/strict');
const { test } = require('node:test');
const h = require('./harness');

const T = { timeout: 30000 };
const KiB = 1024;
// Each test runs its own server: a crash is reported by the test that caused it.

function postHead(path, headers) {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((l) => `${l}\r\n`).join('')}\r\n`;
}

function jsonBodyOf(size) {
  // {"email":"xxxx…"} padded to exactly size bytes
  const prefix = '{"email":"';
  const suffix = '"}';
  return Buffer.from(prefix + 'x'.repeat(size - prefix.length - suffix.length) + suffix);
}

test('a 70 KiB body (Content-Length: 71680) on a raw socket → the client receives 413', T, async (t) => {
  const server = await h.useServer(t);
  const body = jsonBodyOf(70 * KiB);
  assert.equal(body.length, 71680);
  const head = postHead('/api/v1/auth/signup', ['Content-Type: application/json', `Content-Length: ${body.length}`]);
  const r = await h.rawExchange(server.port, [head, body], { until: h.untilResponses(1), timeoutMs: 8000 });
  assert.ok(r.responses.length >= 1,
    `no complete response (closed=${r.closed}, error=${r.error && r.error.code}): ` +
    JSON.stringify(r.data.toString('latin1').slice(0, 300)));
  h.assertErrorShape(r.responses[0], 413, 'PAYLOAD_TOO_LARGE');
});

test('a 70 KiB body via fetch → 413 PAYLOAD_TOO_LARGE', T, async (t) => {
  const server = await h.useServer(t);
  const res = await fetch(`${server.url}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: jsonBodyOf(70 * KiB),
    signal: AbortSignal.timeout(8000),
  });
  const text = await res.text();
  h.assertErrorShape({ status: res.status, text, json: JSON.parse(text),
    headers: Object.fromEntries(res.headers) }, 413, 'PAYLOAD_TOO_LARGE');
});

test('a body of exactly 64 KiB is not refused as too large', T, async (t) => {
  const server = await h.useServer(t);
  const res = await h.request(`${server.url}/api/v1/auth/signup`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: jsonBodyOf(64 * KiB),
  });
  assert.notEqual(res.status, 413, `64 KiB is the limit, not over it: ${res.text.slice(0, 200)}`);
  h.requestIdOf(res);
});

test('a body of 64 KiB + 1 byte → 413', T, async (t) => {
  const server = await h.useServer(t);
  const res = await h.request(`${server.url}/api/v1/auth/signup`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: jsonBodyOf(64 * KiB + 1),
  });
  h.assertErrorShape(res, 413, 'PAYLOAD_TOO_LARGE');
});

test('a chunked body over 64 KiB → 413', T, async (t) => {
  const server = await h.useServer(t);
  const chunk = Buffer.alloc(8 * KiB, 0x61);
  const parts = [postHead('/api/v1/auth/signup', ['Content-Type: application/json', 'Transfer-Encoding: chunked'])];
  for (let i = 0; i < 9; i++) parts.push(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
  parts.push('0\r\n\r\n');
  const r = await h.rawExchange(server.port, parts, { until: h.untilResponses(1), timeoutMs: 8000 });
  assert.ok(r.responses.length >= 1,
    `no complete response (closed=${r.closed}, error=${r.error && r.error.code}): ` +
    JSON.stringify(r.data.toString('latin1').slice(0, 300)));
  h.assertErrorShape(r.responses[0], 413, 'PAYLOAD_TOO_LARGE');
});

test('one 20 KiB header → 431 (or 413) in the error shape', T, async (t) => {
  const server = await h.useServer(t);
  const req = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(20 * KiB)}\r\n\r\n`;
  const r = await h.rawExchange(server.port, req, { until: h.untilResponses(1), timeoutMs: 8000 });
  assert.ok(r.responses.length >= 1, `no complete response (closed=${r.closed}, error=${r.error && r.error.code})`);
  h.assertErrorShape(r.responses[0], [431, 413], 'PAYLOAD_TOO_LARGE');
});

test('headers just under 16 KiB are accepted', T, async (t) => {
  const server = await h.useServer(t);
  const res = await h.request(`${server.url}/healthz`, { headers: { 'X-Big': 'b'.repeat(15 * KiB) } });
  assert.equal(res.status, 200);
});

test('more than 100 header lines → 431 (or 413) in the error shape', T, async (t) => {
  const server = await h.useServer(t);
  const lines = [];
  for (let i = 0; i < 150; i++) lines.push(`X-H${i}: v\r\n`);
  const req = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join('')}\r\n`;
  const r = await h.rawExchange(server.port, req, { until: h.untilResponses(1), timeoutMs: 8000 });
  assert.ok(r.responses.length >= 1, `no complete response (closed=${r.closed}, error=${r.error && r.error.code})`);
  h.assertErrorShape(r.responses[0], [431, 413], 'PAYLOAD_TOO_LARGE');
});

// What a connection over the cap sees: a 503 UNAVAILABLE error, or a close with no bytes.
async function assertRefused(conn) {
  const GET = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  // A server may answer over-cap connections at once; give it the chance before writing.
  await conn.waitFor((d, closed) => closed || h.parseResponses(d).length > 0, { timeoutMs: 1500 })
    .catch(() => conn.write(GET).catch(() => {}));
  await conn.waitFor((d, closed) => closed || h.parseResponses(d).length > 0,
    { timeoutMs: 5000, what: 'a 503 or a close on the over-cap connection' });
  const responses = h.parseResponses(conn.data, { closed: conn.closed });
  if (responses.length === 0) {
    assert.equal(conn.length, 0, 'garbage instead of a response');
    return;
  }
  const res = responses[0];
  h.assertErrorShape(res, 503, 'UNAVAILABLE');
  assert.ok(res.headers['retry-after'], '503 UNAVAILABLE without Retry-After');
  await conn.waitClose({ timeoutMs: 5000 });
}

test('connection cap: with CONVO_MAX_CONNECTIONS=4 the 5th connection is refused', T, async (t) => {
  const capped = await h.useServer(t, { env: { CONVO_MAX_CONNECTIONS: '4' } });
  const idle = [];
  t.after(() => idle.forEach((c) => c.close()));
  for (let i = 0; i < 4; i++) idle.push(await h.RawConn.open(capped.port));

  const fifth = await h.RawConn.open(capped.port);
  t.after(() => fifth.close());
  await assertRefused(fifth);

  // The four idle ones are still served.
  await idle[0].write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  const [res] = await idle[0].responses(1);
  assert.equal(res.status, 200, 'an accepted idle connection was not served');

  for (const c of idle) c.close();
  const again = await h.eventually(async () => {
    const r = await h.request(`${capped.url}/healthz`);
    assert.equal(r.status, 200);
    return r;
  }, { timeoutMs: 5000 });
  assert.equal(again.status, 200);
});
