'use strict';
// /healthz, /readyz, /metrics (Prometheus text), and the structured logs.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const h = require('./harness');

const T = { timeout: 30000 };
// Each test runs its own server: a crash is reported by the test that caused it.

test('GET /healthz → 200 {"status":"ok"}', T, async (t) => {
  const server = await h.useServer(t);
  const res = await h.request(`${server.url}/healthz`);
  assert.equal(res.status, 200);
  h.assertJsonContentType(res);
  assert.deepEqual(res.json, { status: 'ok' });
  h.requestIdOf(res);
});

test('GET /readyz → 200 {"status":"ready"}', T, async (t) => {
  const server = await h.useServer(t);
  const res = await h.request(`${server.url}/readyz`);
  assert.equal(res.status, 200, res.text);
  h.assertJsonContentType(res);
  assert.deepEqual(res.json, { status: 'ready' });
});

// Parses Prometheus text format 0.0.4 into samples [{name, labels, value}]; throws on a bad line.
function parseMetrics(text) {
  const samples = [];
  const sampleRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
  const labelRe = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      if (line.startsWith('# TYPE ')) {
        assert.match(line, /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)$/);
      }
      continue;
    }
    const m = sampleRe.exec(line);
    assert.ok(m, `bad metrics line: ${JSON.stringify(line)}`);
    const labels = {};
    if (m[3]) {
      labelRe.lastIndex = 0;
      while (labelRe.lastIndex < m[3].length) {
        const lm = labelRe.exec(m[3]);
        assert.ok(lm, `bad labels in: ${JSON.stringify(line)}`);
        labels[lm[1]] = lm[2];
      }
    }
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    assert.ok(!Number.isNaN(value) || m[4] === 'NaN', `bad value in: ${JSON.stringify(line)}`);
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}

const find = (samples, name, labels = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

test('GET /metrics → Prometheus text with requests, a duration histogram, connections, memory', T, async (t) => {
  const server = await h.useServer(t);
  const N = 7;
  for (let i = 0; i < N; i++) assert.equal((await h.request(`${server.url}/healthz`)).status, 200);

  const res = await h.request(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain;\s*version=0\.0\.4/, res.headers['content-type']);
  h.requestIdOf(res);
  const samples = parseMetrics(res.text);

  const healthz = find(samples, 'convo_http_requests_total', { route: '/healthz', status: '200' });
  assert.equal(healthz.length, 1, 'no convo_http_requests_total{route="/healthz",status="200"}');
  assert.ok(healthz[0].value >= N, `healthz count ${healthz[0].value} < ${N}`);
  assert.match(res.text, /^convo_http_requests_total\{route="\/healthz",status="200"\} \d+/m);

  const buckets = find(samples, 'convo_http_request_duration_seconds_bucket');
  assert.ok(buckets.length > 0, 'no duration histogram buckets');
  assert.ok(buckets.every((b) => 'le' in b.labels), 'bucket without le');
  const sums = find(samples, 'convo_http_request_duration_seconds_sum');
  const counts = find(samples, 'convo_http_request_duration_seconds_count');
  assert.ok(sums.length > 0 && counts.length > 0, 'histogram without _sum/_count');

  // Per label set: cumulative buckets, ending with +Inf equal to _count.
  const key = (labels) => JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort());
  for (const count of counts) {
    const series = buckets.filter((b) => key(b.labels) === key(count.labels));
    assert.ok(series.length > 0, `no buckets for ${key(count.labels)}`);
    const inf = series.find((b) => b.labels.le === '+Inf');
    assert.ok(inf, `no le="+Inf" bucket for ${key(count.labels)}`);
    assert.equal(inf.value, count.value, `+Inf bucket ≠ _count for ${key(count.labels)}`);
    const ordered = series.map((b) => [Number(b.labels.le), b.value]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ordered.length; i++) {
      assert.ok(ordered[i][1] >= ordered[i - 1][1], `buckets not cumulative for ${key(count.labels)}`);
    }
  }
  const totalCount = counts.reduce((a, c) => a + c.value, 0);
  assert.ok(totalCount >= N, `histogram _count total ${totalCount} < ${N}`);

  const open = find(samples, 'convo_http_connections_open');
  assert.equal(open.length, 1, 'no convo_http_connections_open');
  assert.ok(open[0].value >= 1, `connections_open ${open[0].value} while a connection is open`);

  const rss = find(samples, 'convo_process_resident_memory_bytes');
  assert.equal(rss.length, 1, 'no convo_process_resident_memory_bytes');
  assert.ok(rss[0].value > 0, 'resident memory is 0');
});

test('/metrics counts 404s under a route label that is not the raw path', T, async (t) => {
  const server = await h.useServer(t);
  // Unmatched paths must not create one series each (cardinality).
  for (let i = 0; i < 5; i++) await h.request(`${server.url}/api/v1/random-${i}-${Date.now()}`);
  const res = await h.request(`${server.url}/metrics`);
  assert.doesNotMatch(res.text, /random-\d/, 'raw request paths used as metric labels');
});

test('logs: every stderr line is JSON with ts, level, msg; no token or cookie value', T, async (t) => {
  const server = await h.useServer(t);
  const JWT_SECRET = 'e2e-configured-jwt-secret-0123456789-ABCDEFG';
  const logged = await h.useServer(t, { env: { CONVO_LOG: 'debug', CONVO_JWT_SECRET: JWT_SECRET } });
  const secretHeaders = { Authorization: 'Bearer SECRETTOKEN123', Cookie: 'convo_rt=SECRETCOOKIE456' };
  const calls = [
    ['GET', '/healthz'],
    ['GET', '/api/v1/nope'],
    ['GET', '/api/v1/me'],
    ['POST', '/api/v1/auth/refresh'],
    ['POST', '/api/v1/auth/logout'],
    ['POST', '/healthz'],
    ['GET', '/'],
    ['GET', '/missing.js'],
  ];
  for (const [method, path] of calls) {
    const res = await h.request(`${logged.url}${path}`, { method, headers: secretHeaders, body: method === 'POST' ? '' : undefined });
    h.requestIdOf(res);
  }
  // the same secrets inside requests the parser refuses
  await h.rawExchange(logged.port, 'GET /healthz HTTP/1.1\r\nAuthorization: Bearer SECRETTOKEN123\r\n' +
    'Cookie: convo_rt=SECRETCOOKIE456\r\nbroken header line\r\n\r\n');
  await h.rawExchange(logged.port, 'GET /?token=SECRETTOKEN123 HTTP/1.1\r\nHost: x\r\n' +
    `X-Big: ${'b'.repeat(20 * 1024)}\r\nCookie: convo_rt=SECRETCOOKIE456\r\n\r\n`, { until: h.untilResponses(1) });

  const { stderr } = await logged.stop();
  assert.ok(!stderr.includes('SECRETTOKEN123'), 'the bearer token appears in the logs');
  assert.ok(!stderr.includes('SECRETCOOKIE456'), 'the refresh cookie appears in the logs');
  assert.ok(!stderr.includes(JWT_SECRET), 'the JWT secret appears in the logs');
  const lines = h.logLines(stderr);
  assert.ok(lines.length > 0, 'no log lines at CONVO_LOG=debug');
  for (const line of lines) {
    assert.equal(typeof line.ts, 'string', `no ts: ${JSON.stringify(line)}`);
    assert.ok(!Number.isNaN(Date.parse(line.ts)), `ts is not a time: ${line.ts}`);
    assert.ok(['debug', 'info', 'warn', 'error'].includes(line.level), `level: ${JSON.stringify(line)}`);
    assert.equal(typeof line.msg, 'string', `no msg: ${JSON.stringify(line)}`);
  }
});

test('CONVO_LOG=error keeps routine requests out of the logs', T, async (t) => {
  const quiet = await h.useServer(t, { env: { CONVO_LOG: 'error' } });
  for (let i = 0; i < 3; i++) await h.request(`${quiet.url}/healthz`);
  const { stderr } = await quiet.stop();
  const lines = h.logLines(stderr);
  assert.ok(lines.every((l) => l.level === 'error'), `non-error lines at CONVO_LOG=error: ${stderr.slice(0, 500)}`);
});
