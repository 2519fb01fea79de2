'use strict';
// SPEC §2: SIGTERM/SIGINT → stop accepting, finish in-flight work, exit 0 within 10 s.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const h = require('./harness');

const T = { timeout: 30000 };
// src/limits.h SHUTDOWN_DEADLINE_MS: past it the server force-closes what is left. A clean shutdown
// finishes before it.
const FORCED_DEADLINE_MS = 8000;
const get = (path) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

async function openConn(t, port) {
  const conn = await h.RawConn.open(port);
  t.after(() => conn.close());
  return conn;
}

async function assertRefusesConnections(port) {
  await assert.rejects(h.RawConn.open(port, { timeoutMs: 2000 }).then((c) => {
    c.close();
    return c;
  }), (err) => err.code === 'ECONNREFUSED', 'still accepting after exit');
}

test('SIGTERM with an idle keep-alive connection → exit 0 within 10 s, the socket is closed', T, async (t) => {
  const server = await h.useServer(t);
  const conn = await openConn(t, server.port);
  await conn.write(get('/healthz'));
  const [res] = await conn.responses(1);
  assert.equal(res.status, 200);

  const result = await server.stop(); // asserts exit 0 within 10 s and no sanitizer report
  assert.ok(result.elapsedMs < 10000, `exit took ${result.elapsedMs} ms`);
  await conn.waitClose({ timeoutMs: 1000 });
  await assertRefusesConnections(server.port);
});

test('SIGINT → exit 0 as well', T, async (t) => {
  const server = await h.useServer(t);
  assert.equal((await h.request(`${server.url}/healthz`)).status, 200);
  const result = await server.stop({ signal: 'SIGINT' });
  assert.equal(result.code, 0);
});

// Resolves once the server no longer accepts connections: it has seen the signal.
function waitUntilRefusing(port) {
  return h.eventually(() => assertRefusesConnections(port), { timeoutMs: 5000, intervalMs: 20 });
}

test('SIGTERM while a request is arriving → that request is answered, then close and exit 0', T, async (t) => {
  const server = await h.useServer(t);
  const conn = await openConn(t, server.port);
  const body = '{"email":"a@example.com","password":"password123"}';
  const head = 'POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    `Content-Length: ${body.length}\r\n\r\n`;
  // One write: a complete request, then the head and part of the body of a second one. Once the
  // first answer is back the server has read the second one's start: it is in flight.
  await conn.write(get('/healthz') + head + body.slice(0, 10));
  const [first] = await conn.responses(1);
  assert.equal(first.status, 200);

  server.signal('SIGTERM');
  await waitUntilRefusing(server.port); // the server is shutting down now
  await conn.write(body.slice(10)).catch(() => {});
  const responses = await conn.responses(2, { timeoutMs: 5000 });
  const second = responses[1];
  h.requestIdOf(second);
  if (second.status >= 400) h.assertErrorShape(second, second.status);
  // Nothing else will be served on it: the server closes it once the answer is out.
  await conn.waitClose({ timeoutMs: 3000 });

  const result = await server.stop();
  assert.ok(result.elapsedMs < FORCED_DEADLINE_MS, `exit took ${result.elapsedMs} ms after SIGTERM (forced deadline)`);
});

test('a response written during shutdown ends the connection (no keep-alive past SIGTERM)', T, async (t) => {
  const server = await h.useServer(t);
  const conn = await openConn(t, server.port);
  // in flight once the first answer is back: the second request's headers are in, its body is not
  await conn.write(get('/healthz') + 'POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
    'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n');
  await conn.responses(1);
  server.signal('SIGTERM');
  await waitUntilRefusing(server.port);
  await conn.write('{}').catch(() => {});
  const [, res] = await conn.responses(2, { timeoutMs: 5000 });
  h.requestIdOf(res);
  const connHeader = String(res.headers.connection || '').toLowerCase();
  assert.equal(connHeader, 'close', `Connection: ${res.headers.connection} on a reply sent while shutting down`);
  await conn.waitClose({ timeoutMs: 3000 });
  const result = await server.stop();
  assert.ok(result.elapsedMs < FORCED_DEADLINE_MS, `exit took ${result.elapsedMs} ms after SIGTERM (forced deadline)`);
});

test('SIGTERM while responses are being written → none is cut off, close, exit 0', T, async (t) => {
  const server = await h.useServer(t);
  // Thousands of pipelined page requests: megabytes of answers, more than the socket buffers hold
  // while the client is not reading, so output is pending in the server when SIGTERM comes.
  const conn = await openConn(t, server.port);
  const n = 3000;
  conn.write(Array.from({ length: n }, () => get('/')).join('')).catch(() => {});
  await conn.waitFor((d) => d.length > 0, { what: 'the first response bytes' });
  conn.sock.pause();
  server.signal('SIGTERM');
  await waitUntilRefusing(server.port);
  conn.sock.resume();
  await conn.waitClose({ timeoutMs: 9000 });
  const responses = h.parseResponses(conn.data, { closed: true });
  assert.ok(responses.length >= 1, 'no response at all');
  for (const r of responses) assert.equal(r.status, 200);
  assert.equal(responses.rest.length, 0, `a response was cut off after ${responses.length} complete ones: ` +
    `${responses.rest.length} stray bytes, socket error ${conn.error ? conn.error.code : 'none'}`);
  const result = await server.stop();
  assert.ok(result.elapsedMs < FORCED_DEADLINE_MS, `exit took ${result.elapsedMs} ms after SIGTERM (forced deadline)`);
  assert.doesNotMatch(result.stderr, /deadline/, 'the shutdown needed the forced deadline');
});
