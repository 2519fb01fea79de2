'use strict';
// The embedded web client: /, client routes, ETag/304, missing assets, HEAD, traversal.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const h = require('./harness');

const T = { timeout: 30000 };
// Each test runs its own server: a crash is reported by the test that caused it.

function assertHtml(res) {
  assert.equal(res.status, 200, `status ${res.status}: ${res.text.slice(0, 200)}`);
  assert.match(String(res.headers['content-type']), /^text\/html\b/i, `Content-Type ${res.headers['content-type']}`);
}

test('GET / → 200 text/html with ETag and Cache-Control', T, async (t) => {
  const server = await h.useServer(t);
  const res = await h.request(`${server.url}/`);
  assertHtml(res);
  assert.ok(res.headers.etag, 'no ETag');
  assert.ok(res.headers['cache-control'], 'no Cache-Control');
  assert.ok(res.body.length > 0, 'empty page');
  assert.equal(Number(res.headers['content-length']), res.body.length, 'Content-Length mismatch');
  h.requestIdOf(res);
});

test('If-None-Match with the ETag → 304 without a body', T, async (t) => {
  const server = await h.useServer(t);
  const first = await h.request(`${server.url}/`);
  assertHtml(first);
  const etag = first.headers.etag;
  assert.ok(etag, 'no ETag');

  // raw, to see that no body bytes follow the 304 (a pipelined request must parse right after it)
  const req = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: ${etag}\r\n\r\n` +
    'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const r = await h.rawExchange(server.port, req, { until: h.untilResponses(2) });
  assert.equal(r.responses.length, 2, `got ${JSON.stringify(r.data.toString('latin1').slice(0, 500))}`);
  const [notModified, health] = r.responses;
  assert.equal(notModified.status, 304);
  assert.equal(notModified.body.length, 0);
  h.requestIdOf(notModified);
  assert.equal(health.status, 200, 'the request after the 304 was not parsed right (body bytes after 304?)');
  assert.deepEqual(health.json, { status: 'ok' });
});

test('If-None-Match with another ETag → 200 with the page', T, async (t) => {
  const server = await h.useServer(t);
  const res = await h.request(`${server.url}/`, { headers: { 'If-None-Match': '"not-the-etag"' } });
  assertHtml(res);
  assert.ok(res.body.length > 0);
});

test('a client route (/chat/123) → 200, the same HTML as /', T, async (t) => {
  const server = await h.useServer(t);
  const root = await h.request(`${server.url}/`);
  const route = await h.request(`${server.url}/chat/123`);
  assertHtml(root);
  assertHtml(route);
  assert.ok(route.body.equals(root.body), '/chat/123 differs from /');
});

for (const missing of ['/definitely-missing-asset.js', '/x.css', '/assets/nope.png']) {
  test(`a missing asset ${missing} → 404 JSON error, not HTML`, T, async (t) => {
    const server = await h.useServer(t);
    const res = await h.request(`${server.url}${missing}`);
    h.assertErrorShape(res, 404, 'NOT_FOUND');
  });
}

test('HEAD / → headers with Content-Length and no body', T, async (t) => {
  const server = await h.useServer(t);
  const get = await h.request(`${server.url}/`);
  assertHtml(get);
  const req = 'HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const r = await h.rawExchange(server.port, req, { until: h.untilResponses(2, ['HEAD', 'GET']), methods: ['HEAD', 'GET'] });
  assert.equal(r.responses.length, 2, `got ${JSON.stringify(r.data.toString('latin1').slice(0, 500))}`);
  const [head, health] = r.responses;
  assert.equal(head.status, 200);
  assert.equal(Number(head.headers['content-length']), get.body.length, 'HEAD Content-Length ≠ GET body length');
  assert.equal(health.status, 200, 'the request after HEAD was not parsed right (body bytes after HEAD?)');
  assert.deepEqual(health.json, { status: 'ok' });
});

// Path traversal must never reach the file system outside the embedded web root.
const TRAVERSALS = [
  '/../../../../etc/passwd',
  '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
  '/..%2f..%2f..%2fetc%2fpasswd',
  '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '/static/..%5c..%5cetc%5cpasswd',
  '/..;/..;/etc/passwd',
  '/index.html%00.js',
];

for (const p of TRAVERSALS) {
  test(`path traversal ${p} does not leak files`, T, async (t) => {
    const server = await h.useServer(t);
    const r = await h.rawExchange(server.port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      { until: h.untilResponses(1) });
    assert.equal(r.responses.length, 1, `no response: ${JSON.stringify(r.data.toString('latin1').slice(0, 300))}`);
    const res = r.responses[0];
    assert.doesNotMatch(res.text, /root:.*:0:0:/, 'served /etc/passwd');
    if (res.status >= 400) h.assertErrorShape(res, [400, 404]);
    else assert.match(String(res.headers['content-type']), /^text\/html\b/i, 'a 2xx here may only be the app page');
  });
}
