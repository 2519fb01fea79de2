'use strict';
// SPEC §2: SIGTERM/SIGINT → stop accepting, finish in-flight work, exit 0 within 10 s.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const h = require('./harness');

const T = { timeout: 30000 };
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

test('SIGTERM while a request is arriving → that request is answered, then exit 0', T, async (t) => {
  const server = await h.useServer(t);
  const conn = await openConn(t, server.port);
  const body = '{"email":"a@example.com","password":"password123"}';
  const head = 'POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    `Content-Length: ${body.length}\r\n\r\n`;
  // One write: a complete request, then the head and half the body of a second one. Once the first
  // answer is back the server has read the second one's start: it is in flight.
  await conn.write(get('/healthz') + head + body.slice(0, 10));
  const [first] = await conn.responses(1);
  assert.equal(first.status, 200);

  const stopping = server.stop();
  stopping.catch(() => {}); // awaited below
  // The server is shutting down; it must still take the rest of the body and answer.
  await conn.write(body.slice(10)).catch(() => {});
  const responses = await conn.responses(2, { timeoutMs: 8000 });
  const second = responses[1];
  assert.ok(second.status >= 200 && second.status < 600, `status ${second.status}`);
  h.requestIdOf(second);
  if (second.status >= 400) h.assertErrorShape(second, second.status);
  await conn.waitClose({ timeoutMs: 5000 });

  const result = await stopping;
  assert.ok(result.elapsedMs < 10000, `exit took ${result.elapsedMs} ms`);
});

test('SIGTERM while responses are being written → no response is cut off, exit 0', T, async (t) => {
  const server = await h.useServer(t);
  // Pipeline many requests for the page so that output is pending in the server when SIGTERM comes.
  const conn = await openConn(t, server.port);
  const n = 200;
  await conn.write(Array.from({ length: n }, () => get('/')).join(''));
  await conn.waitFor((d) => d.length > 0, { what: 'the first response bytes' });
  conn.sock.pause(); // let the server's output back up
  const stopping = server.stop();
  stopping.catch(() => {}); // awaited below
  setImmediate(() => conn.sock.resume());
  await conn.waitClose({ timeoutMs: 9000 });
  const responses = h.parseResponses(conn.data, { closed: true });
  assert.ok(responses.length >= 1, 'no response at all');
  for (const r of responses) assert.equal(r.status, 200);
  assert.equal(responses.rest.length, 0, `a response was cut off: ${responses.rest.length} stray bytes`);
  const result = await stopping;
  assert.ok(result.elapsedMs < 10000, `exit took ${result.elapsedMs} ms`);
});
