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

// ---------------------------------------------------------------------------------------------
// Compression: compressible files carry a gzip copy made at build time, sent when
// Accept-Encoding allows gzip (Content-Encoding: gzip, ETag "…-gz"), always with
// Vary: Accept-Encoding; identity otherwise.

const zlib = require('node:zlib');

const GZIP = { 'Accept-Encoding': 'gzip, deflate, br' };

function gzipEtagOf(etag) {
  return etag.replace(/"$/, '-gz"');
}

function assertVary(res) {
  assert.match(String(res.headers.vary), /(^|,)\s*accept-encoding\s*(,|$)/i, `Vary: ${res.headers.vary}`);
}

function assertIdentity(res, identity) {
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-encoding'], undefined, 'Content-Encoding on an identity answer');
  assert.equal(res.headers.etag, identity.headers.etag);
  assert.ok(res.body.equals(identity.body), 'body differs from the identity body');
  assertVary(res);
}

for (const [what, find] of [['/', async () => '/'], ['the page\'s stylesheet', (base) => pageAsset(base, /^text\/css/)],
  ['the page\'s script', (base) => pageAsset(base, /javascript/)]]) {
  test(`GET ${what} with Accept-Encoding: gzip → gzip that decompresses to the identity bytes`, T, async (t) => {
    const server = await h.useServer(t);
    const p = await find(server.url);
    if (!p) return t.skip(`the page references no ${what}`);
    const identity = await h.request(`${server.url}${p}`);
    assert.equal(identity.status, 200);
    assert.equal(identity.headers['content-encoding'], undefined, 'gzip sent without Accept-Encoding');
    assertVary(identity);
    const gz = await h.request(`${server.url}${p}`, { headers: GZIP });
    assert.equal(gz.status, 200);
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assertVary(gz);
    assert.equal(gz.headers['content-type'], identity.headers['content-type']);
    assert.equal(Number(gz.headers['content-length']), gz.body.length, 'Content-Length mismatch');
    assert.ok(gz.body.length < identity.body.length, `gzip ${gz.body.length} B ≥ identity ${identity.body.length} B`);
    assert.ok(zlib.gunzipSync(gz.body).equals(identity.body), 'gunzip(body) differs from the identity body');
    assert.equal(gz.headers.etag, gzipEtagOf(identity.headers.etag), 'the gzip ETag is not the identity one + -gz');
    assert.equal(gz.headers['x-content-type-options'], 'nosniff');
  });
}

test('identity without Accept-Encoding, with gzip;q=0, with only other codings', T, async (t) => {
  const server = await h.useServer(t);
  const identity = await h.request(`${server.url}/`);
  for (const ae of ['gzip;q=0', 'GZIP; q=0.000', 'br, deflate', 'identity', '*;q=0', 'gzip;q=0, *', '']) {
    const res = await h.request(`${server.url}/`, { headers: { 'Accept-Encoding': ae } });
    assertIdentity(res, identity);
  }
  for (const ae of ['gzip', 'x-gzip', '*', 'br;q=1, gzip;q=0.5', 'deflate, gzip;q=1.0, *;q=0.5']) {
    const res = await h.request(`${server.url}/`, { headers: { 'Accept-Encoding': ae } });
    assert.equal(res.headers['content-encoding'], 'gzip', `Accept-Encoding: ${ae}`);
  }
});

test('304 with the gzip ETag; each variant revalidates only against its own ETag', T, async (t) => {
  const server = await h.useServer(t);
  const gz = await h.request(`${server.url}/`, { headers: GZIP });
  const identity = await h.request(`${server.url}/`);
  assert.notEqual(gz.headers.etag, identity.headers.etag);
  // raw and pipelined: no body bytes may follow the 304
  const req = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\nIf-None-Match: ${gz.headers.etag}\r\n\r\n` +
    'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const r = await h.rawExchange(server.port, req, { until: h.untilResponses(2) });
  assert.equal(r.responses.length, 2, `got ${JSON.stringify(r.data.toString('latin1').slice(0, 500))}`);
  const [notModified, health] = r.responses;
  assert.equal(notModified.status, 304);
  assert.equal(notModified.body.length, 0);
  assert.equal(notModified.headers.etag, gz.headers.etag);
  assertVary(notModified);
  assert.equal(notModified.headers['x-content-type-options'], 'nosniff');
  assert.equal(health.status, 200);
  // the identity ETag does not validate the gzip variant, nor the gzip ETag the identity one
  const gzWithIdentityTag = await h.request(`${server.url}/`,
    { headers: { ...GZIP, 'If-None-Match': identity.headers.etag } });
  assert.equal(gzWithIdentityTag.status, 200);
  assert.equal(gzWithIdentityTag.headers['content-encoding'], 'gzip');
  const identityWithGzipTag = await h.request(`${server.url}/`, { headers: { 'If-None-Match': gz.headers.etag } });
  assertIdentity(identityWithGzipTag, identity);
  const identity304 = await h.request(`${server.url}/`, { headers: { 'If-None-Match': identity.headers.etag } });
  assert.equal(identity304.status, 304);
  assert.equal(identity304.headers.etag, identity.headers.etag);
});

test('HEAD with Accept-Encoding: gzip → the gzip Content-Length and no body', T, async (t) => {
  const server = await h.useServer(t);
  const gz = await h.request(`${server.url}/`, { headers: GZIP });
  const req = 'HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n' +
    'HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const methods = ['HEAD', 'HEAD', 'GET'];
  const r = await h.rawExchange(server.port, req, { until: h.untilResponses(3, methods), methods });
  assert.equal(r.responses.length, 3, `got ${JSON.stringify(r.data.toString('latin1').slice(0, 800))}`);
  const [headGz, headIdentity, health] = r.responses;
  assert.equal(headGz.status, 200);
  assert.equal(headGz.headers['content-encoding'], 'gzip');
  assert.equal(Number(headGz.headers['content-length']), gz.body.length, 'HEAD Content-Length ≠ gzip body length');
  assert.equal(headGz.headers.etag, gz.headers.etag);
  assertVary(headGz);
  assert.equal(headIdentity.headers['content-encoding'], undefined);
  assert.ok(Number(headIdentity.headers['content-length']) > gz.body.length);
  assert.equal(health.status, 200, 'the request after HEAD was not parsed right (body bytes after HEAD?)');
  assert.deepEqual(health.json, { status: 'ok' });
});

// ---------------------------------------------------------------------------------------------
// Security headers

test('the page gets CSP, nosniff, Referrer-Policy and X-Frame-Options DENY', T, async (t) => {
  const server = await h.useServer(t);
  for (const [p, headers] of [['/', {}], ['/chat/1', GZIP], ['/index.html', {}]]) {
    const res = await h.request(`${server.url}${p}`, { headers });
    assertHtml(res);
    const csp = String(res.headers['content-security-policy']);
    for (const directive of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'",
      "object-src 'none'", "base-uri 'none'"]) {
      assert.ok(csp.includes(directive), `${p}: CSP ${csp} lacks ${directive}`);
    }
    assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'/, `${p}: CSP allows inline code`);
    assert.match(csp, /(^|;\s*)img-src 'self'(;|$)/, `${p}: images only from the origin (no data:)`);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['referrer-policy'], 'same-origin');
    assert.equal(res.headers['cache-control'], 'no-cache');
  }
});

test('nosniff on every static answer: files, 304, HEAD, 404, 405', T, async (t) => {
  const server = await h.useServer(t);
  const asset = (await pageAsset(server.url, /^text\/css/)) || '/index.html';
  const css = await h.request(`${server.url}${asset}`);
  const answers = [
    css,
    await h.request(`${server.url}${asset}`, { headers: { 'If-None-Match': css.headers.etag } }),
    await h.request(`${server.url}/`, { method: 'HEAD' }),
    await h.request(`${server.url}/missing.png`),
    await h.request(`${server.url}/`, { method: 'POST', body: '' }),
  ];
  assert.deepEqual(answers.map((r) => r.status), [200, 304, 200, 404, 405]);
  for (const res of answers) assert.equal(res.headers['x-content-type-options'], 'nosniff', `status ${res.status}`);
  if (asset !== '/index.html') assert.equal(css.headers['content-security-policy'], undefined, 'CSP is for the page only');
});

// ---------------------------------------------------------------------------------------------
// What the page loads: every same-origin file the page references (links, scripts, images, the
// manifest and its icons, CSS url()s and static ES module imports), found by following the
// references from /. Each must exist with the right type. The budget (< 100 KB gzipped) counts
// what a browser fetches on a first load: not the manifest's icons nor apple-touch-icon, which
// are fetched only to install the app (bench/web.js measures the real load in Chromium).

const TYPES = {
  '.html': /^text\/html; charset=utf-8$/, '.css': /^text\/css; charset=utf-8$/,
  '.js': /^text\/javascript; charset=utf-8$/, '.mjs': /^text\/javascript; charset=utf-8$/,
  '.json': /^application\/json; charset=utf-8$/,
  '.webmanifest': /^application\/manifest\+json; charset=utf-8$/,
  '.svg': /^image\/svg\+xml$/, '.png': /^image\/png$/, '.ico': /^image\/x-icon$/,
  '.webp': /^image\/webp$/, '.woff2': /^font\/woff2$/,
};
const COMPRESSIBLE = /^(text\/|application\/(json|manifest\+json)|image\/svg\+xml)/;

// [{ref, firstLoad}] referenced by a file of the given type.
function referencesIn(text, type) {
  const found = [];
  const add = (re, firstLoad = () => true) => {
    for (const m of text.matchAll(re)) found.push({ ref: m[m.length - 1], firstLoad: firstLoad(m) });
  };
  if (/html/.test(type)) {
    add(/<(?:script|img|source)\b[^>]*?\ssrc\s*=\s*["']([^"']+)["']/gi);
    add(/<link\b([^>]*?)\shref\s*=\s*["']([^"']+)["']/gi, (m) => !/apple-touch-icon/i.test(m[0]));
  } else if (/css/.test(type)) {
    add(/url\(\s*["']?([^"')]+)["']?\s*\)/gi);
    add(/@import\s+["']([^"']+)["']/gi);
  } else if (/javascript/.test(type)) {
    add(/^\s*import\s+(?:[\w$*{},\s]+?\s+from\s+)?["']([^"']+)["']/gm);
    add(/^\s*export\s+[\w$*{},\s]+?\s+from\s+["']([^"']+)["']/gm);
  } else if (/manifest|json/.test(type)) {
    for (const icon of JSON.parse(text).icons || []) found.push({ ref: icon.src, firstLoad: false });
  }
  return found;
}

// Map path → {res (gzip requested), firstLoad}, following references from /.
async function crawl(base) {
  const seen = new Map();
  const queue = [{ path: '/', firstLoad: true }];
  while (queue.length) {
    const { path: p, firstLoad } = queue.shift();
    if (seen.has(p)) {
      seen.get(p).firstLoad ||= firstLoad;
      continue;
    }
    const res = await h.request(`${base}${p}`, { headers: GZIP });
    seen.set(p, { res, firstLoad });
    if (res.status !== 200) continue;
    const type = String(res.headers['content-type']);
    const body = res.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(res.body) : res.body;
    for (const { ref, firstLoad: fl } of referencesIn(body.toString('utf8'), type)) {
      const u = new URL(ref, `${base}${p}`);
      if (u.origin === base && !u.pathname.startsWith('/api/')) queue.push({ path: u.pathname, firstLoad: firstLoad && fl });
    }
  }
  return seen;
}

// A file the page references whose Content-Type matches re (e.g. its stylesheet), or null.
async function pageAsset(base, re) {
  for (const [p, { res }] of await crawl(base)) {
    if (p !== '/' && res.status === 200 && re.test(String(res.headers['content-type']))) return p;
  }
  return null;
}

test('every file the page references is served, with its type, nosniff and gzip; first load < 100 KB', T, async (t) => {
  const server = await h.useServer(t);
  const files = await crawl(server.url);
  let total = 0;
  const counted = [];
  for (const [p, { res, firstLoad }] of files) {
    assert.equal(res.status, 200, `${p} is referenced by the page but answers ${res.status}`);
    const ext = (/\.[a-z0-9]+$/i.exec(p) || ['.html'])[0];
    const type = String(res.headers['content-type']);
    if (TYPES[ext]) assert.match(type, TYPES[ext], `${p}: Content-Type ${type}`);
    assert.equal(res.headers['x-content-type-options'], 'nosniff', p);
    if (COMPRESSIBLE.test(type) && res.body.length >= 512) {
      assert.equal(res.headers['content-encoding'], 'gzip', `${p} (${type}) is not sent gzipped`);
    }
    if (res.headers['content-encoding'] === 'gzip') assertVary(res);
    if (firstLoad) {
      total += res.body.length;
      counted.push(p);
    }
  }
  t.diagnostic(`${files.size} files; first load ${counted.length} files, ${total} bytes: ${counted.join(' ')}`);
  assert.ok(total < 100 * 1024, `a first load of the page fetches ${total} bytes (budget 100 KB): ${counted.join(' ')}`);
});
