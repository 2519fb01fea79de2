'use strict';
// SPEC §3.1: one error shape everywhere, X-Request-Id on every response, malformed HTTP.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const h = require('./harness');

const T = { timeout: 30000 };
// Each test runs its own server: a crash is reported by the test that caused it.

test('GET /api/v1/nope → 404 NOT_FOUND in the error shape', T, async (t) => {
  const server = await h.useServer(t);
  const res = await h.request(`${server.url}/api/v1/nope`);
  const err = h.assertErrorShape(res, 404, 'NOT_FOUND');
  assert.ok(!('fields' in err), 'fields is only for validation errors');
});

test('POST /healthz → 405 METHOD_NOT_ALLOWED with an Allow header containing GET', T, async (t) => {
  const server = await h.useServer(t);
  const res = await h.request(`${server.url}/healthz`, { method: 'POST', body: '' });
  h.assertErrorShape(res, 405, 'METHOD_NOT_ALLOWED');
  assert.ok(res.headers.allow, 'no Allow header');
  assert.ok(res.headers.allow.split(',').map((s) => s.trim()).includes('GET'),
    `Allow: ${res.headers.allow}`);
});

test('every response carries X-Request-Id and the ids differ', T, async (t) => {
  const server = await h.useServer(t);
  const ids = [];
  const ok = await h.request(`${server.url}/healthz`);
  assert.equal(ok.status, 200);
  ids.push(h.requestIdOf(ok));

  const ok2 = await h.request(`${server.url}/healthz`);
  ids.push(h.requestIdOf(ok2));

  const notFound = await h.request(`${server.url}/api/v1/nope`);
  assert.equal(notFound.status, 404);
  ids.push(h.requestIdOf(notFound));

  const page = await h.request(`${server.url}/`);
  assert.equal(page.status, 200, 'GET / (needed for the 304 case)');
  ids.push(h.requestIdOf(page));
  assert.ok(page.headers.etag, 'GET / has no ETag');
  const notModified = await h.request(`${server.url}/`, { headers: { 'If-None-Match': page.headers.etag } });
  assert.equal(notModified.status, 304);
  ids.push(h.requestIdOf(notModified));

  const tooLarge = await h.request(`${server.url}/api/v1/auth/signup`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: Buffer.alloc(70 * 1024, 0x20),
  });
  assert.equal(tooLarge.status, 413);
  ids.push(h.requestIdOf(tooLarge));

  const notAllowed = await h.request(`${server.url}/healthz`, { method: 'DELETE' });
  assert.equal(notAllowed.status, 405);
  ids.push(h.requestIdOf(notAllowed));

  const raw = await h.rawExchange(server.port, 'GARBAGE\r\n\r\n');
  assert.equal(raw.responses.length, 1, 'no response to malformed HTTP');
  ids.push(h.requestIdOf(raw.responses[0]));

  assert.equal(new Set(ids).size, ids.length, `request ids repeat: ${ids.join(' ')}`);
});

test('malformed HTTP → 400 BAD_REQUEST JSON, then the connection closes', T, async (t) => {
  const server = await h.useServer(t);
  const r = await h.rawExchange(server.port, 'GARBAGE\r\n\r\n');
  assert.ok(r.closed, 'the server did not close the connection');
  assert.equal(r.responses.length, 1, `expected one response, got ${JSON.stringify(r.data.toString('latin1'))}`);
  h.assertErrorShape(r.responses[0], 400, 'BAD_REQUEST');
});

// Requests that a strict parser must refuse (smuggling vectors and broken framing).
const MALFORMED = [
  ['an invalid header line', 'GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n'],
  ['a non-numeric Content-Length', 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'],
  ['two different Content-Lengths',
    'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x'],
  ['Content-Length and chunked together',
    'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['a bad chunk size', 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
  ['a bad HTTP version', 'GET /healthz HTTP/9.Q\r\nHost: x\r\n\r\n'],
];

for (const [name, bytes] of MALFORMED) {
  test(`malformed HTTP (${name}) → 400 BAD_REQUEST and close`, T, async (t) => {
    const server = await h.useServer(t);
    const r = await h.rawExchange(server.port, bytes);
    assert.ok(r.closed, `the server did not close the connection; got ${JSON.stringify(r.data.toString('latin1'))}`);
    assert.equal(r.responses.length, 1, `expected one response, got ${JSON.stringify(r.data.toString('latin1'))}`);
    h.assertErrorShape(r.responses[0], 400, 'BAD_REQUEST');
    assert.equal((await h.request(`${server.url}/healthz`)).status, 200, 'the server no longer answers');
  });
}

