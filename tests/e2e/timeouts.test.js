'use strict';
// The slow ones (src/limits.h): header-read timeout 10 s, body silence 10 s, keep-alive idle 30 s.
// They run concurrently, each with its own server.

const assert = require('node:assert/strict');
const { describe, test } = require('node:test');
const h = require('./harness');

const HEADER_TIMEOUT_MS = 10000;
const IDLE_TIMEOUT_MS = 30000;
const SLACK_MS = 5000;

// A close may be preceded by a 408 in the error shape; anything else is wrong.
function assertNothingOr408(conn) {
  if (conn.length === 0) return;
  const responses = h.parseResponses(conn.data, { closed: true });
  assert.equal(responses.length, 1, `unexpected bytes before the close: ${JSON.stringify(conn.data.toString('latin1'))}`);
  h.assertErrorShape(responses[0], 408);
}

describe('timeouts', { concurrency: true, timeout: 70000 }, () => {
  test('incomplete headers then silence: closed after ~10 s', async (t) => {
    const server = await h.useServer(t);
    const conn = await h.RawConn.open(server.port);
    t.after(() => conn.close());
    await conn.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const waited = await conn.waitClose({ timeoutMs: HEADER_TIMEOUT_MS + SLACK_MS });
    assert.ok(waited >= HEADER_TIMEOUT_MS - 1000, `closed after ${waited} ms, before the 10 s header timeout`);
    assertNothingOr408(conn);
  });

  test('headers trickling one byte a second (slowloris): closed after ~10 s', async (t) => {
    const server = await h.useServer(t);
    const conn = await h.RawConn.open(server.port);
    t.after(() => conn.close());
    await conn.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => {
      if (!conn.closed) conn.write('X').catch(() => {});
    }, 1000);
    t.after(() => clearInterval(trickle));
    try {
      await conn.waitClose({ timeoutMs: HEADER_TIMEOUT_MS + SLACK_MS });
    } finally {
      clearInterval(trickle);
    }
    assertNothingOr408(conn);
  });

  test('a body that stops arriving: closed after ~10 s of silence', async (t) => {
    const server = await h.useServer(t);
    const conn = await h.RawConn.open(server.port);
    t.after(() => conn.close());
    await conn.write('POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      'Content-Length: 100\r\n\r\n{"email":');
    await conn.waitClose({ timeoutMs: HEADER_TIMEOUT_MS + SLACK_MS });
    assertNothingOr408(conn);
  });

  test('an idle keep-alive connection is closed after ~30 s', async (t) => {
    const server = await h.useServer(t);
    const conn = await h.RawConn.open(server.port);
    t.after(() => conn.close());
    await conn.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const [res] = await conn.responses(1);
    assert.equal(res.status, 200);
    const waited = await conn.waitClose({ timeoutMs: IDLE_TIMEOUT_MS + 10000 });
    assert.ok(waited >= IDLE_TIMEOUT_MS - SLACK_MS, `idle connection closed after ${waited} ms, expected ~30 s`);
    const rest = conn.data.subarray(res.raw.length);
    assert.equal(rest.length, 0, `bytes after the response on an idle connection: ${JSON.stringify(rest.toString('latin1'))}`);
  });

  test('a connection that never sends a byte is closed too', async (t) => {
    const server = await h.useServer(t);
    const conn = await h.RawConn.open(server.port);
    t.after(() => conn.close());
    const waited = await conn.waitClose({ timeoutMs: IDLE_TIMEOUT_MS + 10000 });
    assert.ok(waited > 1000, `closed after ${waited} ms`);
    assert.equal(conn.length, 0, 'bytes sent to a connection that asked nothing');
  });
});
