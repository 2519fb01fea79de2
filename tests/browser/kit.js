'use strict';
// Helpers for the browser tests: the real server (tests/e2e/harness.js startServer, on a port
// picked here so that CONVO_PUBLIC_ORIGIN can name it), Debian's chromium through playwright-core,
// pages that fail the test on a console error, a CSP violation, an uncaught exception or a
// dialog, and screenshots into tests/browser/artifacts/.
// Not a test file itself (node --test only picks up *.test.js).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const crypto = require('node:crypto');
const { chromium } = require('playwright-core');
const h = require('../e2e/harness');

const WAIT = 15000; // every wait-for-condition
const ARTIFACTS = path.join(__dirname, 'artifacts');
const CHROMIUM = process.env.CONVO_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
  '--disable-default-apps', '--disable-sync', '--no-first-run'];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// The server for this test file, on a port known before it starts: the browser's origin
// (http://127.0.0.1:PORT) must be the public origin for the WebSocket Origin check and for
// cookies without Secure over plain http.
async function startServer(t, { env = {} } = {}) {
  let lastErr;
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    try {
      const server = await h.startServer({
        env: { CONVO_LISTEN: `127.0.0.1:${port}`, CONVO_PUBLIC_ORIGIN: origin, CONVO_LOG: 'info', ...env },
      });
      t.after(() => server.stop());
      server.origin = origin;
      return server;
    } catch (err) {
      lastErr = err; // the port was taken in between: try another
    }
  }
  throw lastErr;
}

async function launch(t) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  t.after(() => browser.close());
  return browser;
}

// Collects the problems seen by a page in page.problems (see person) and returns it. Also for
// another tab of a person: watch(await page.context().newPage(), 'A2').
async function watch(page, name) {
  page.name = name;
  page.problems = [];
  // HTTP errors are judged by URL and status (page.allowHttp: [{path, status}]); the browser's
  // own "Failed to load resource" console line for them carries no URL, so it is left to this.
  page.allowHttp = [{ path: '/api/v1/auth/refresh', status: 401 }];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/^Failed to load resource: the server responded with a status of/.test(msg.text())) {
      page.problems.push(`console error: ${msg.text()}`);
    }
  });
  page.on('response', (res) => {
    if (res.status() < 400) return;
    const p = new URL(res.url()).pathname;
    if (!page.allowHttp.some((a) => a.path === p && a.status === res.status())) {
      page.problems.push(`HTTP ${res.status()} ${res.request().method()} ${p}`);
    }
  });
  page.on('pageerror', (err) => page.problems.push(`uncaught: ${err.message}`));
  page.on('dialog', (d) => {
    page.problems.push(`dialog (${d.type()}): ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return page;
}

// A new context (its own cookie jar: one person) and page. Problems seen by the page are
// collected in page.problems and checked by assertClean(page) (and after the test).
async function person(t, browser, server, { locale = 'ko-KR', viewport = { width: 1280, height: 800 }, name = 'page', permissions, storageState } = {}) {
  const context = await browser.newContext({ baseURL: server.origin, locale, viewport, permissions, storageState });
  context.setDefaultTimeout(WAIT);
  const page = await watch(await context.newPage(), name);
  t.after(() => context.close());
  return page;
}

function assertClean(page, allow = []) {
  const problems = page.problems.filter((p) => !allow.some((re) => re.test(p)));
  assert.deepEqual(problems, [], `[${page.name}] problems in the page`);
}

function rand(n = 3) {
  return crypto.randomBytes(n).toString('hex');
}

function newAccount(tag) {
  return { email: `${tag}.${rand(4)}@example.com`, password: `Pw-${rand(6)}!`, nickname: `${tag}${rand(2)}` };
}

async function shot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

// Signs up through the form (fills the fields, clicks the button) and waits for home. The
// keyboard-only sign-up is tested on its own in screens.test.js.
async function signup(page, acct) {
  await page.goto('/#/signup');
  await page.getByLabel('닉네임').fill(acct.nickname);
  await page.getByLabel('이메일').fill(acct.email);
  await page.getByLabel('비밀번호').fill(acct.password);
  await page.getByRole('button', { name: '가입하고 시작하기' }).click();
  await page.waitForURL(/#\/home$/);
  await page.getByRole('heading', { name: '누구와 이야기할까요?' }).waitFor();
}

// Every HTTP request of the page, from the Chrome DevTools Protocol: encodedDataLength (bytes on
// the wire, headers included) when it finished, decoded body bytes, type and status. settled()
// waits until every request that started has finished or failed.
async function recordNetwork(page) {
  const cdp = await page.context().newCDPSession(page);
  const reqs = new Map();
  cdp.on('Network.requestWillBeSent', (e) => {
    if (e.request.url.startsWith('data:')) return;
    reqs.set(e.requestId, { url: e.request.url, path: new URL(e.request.url).pathname, type: e.type, status: 0, wire: 0, body: 0, done: false });
  });
  cdp.on('Network.responseReceived', (e) => {
    const r = reqs.get(e.requestId);
    if (r) { r.status = e.response.status; r.type = e.type; }
  });
  cdp.on('Network.dataReceived', (e) => {
    const r = reqs.get(e.requestId);
    if (r) r.body += e.dataLength;
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = reqs.get(e.requestId);
    if (r) { r.wire = e.encodedDataLength; r.done = true; }
  });
  cdp.on('Network.loadingFailed', (e) => {
    const r = reqs.get(e.requestId);
    if (r) { r.failed = e.errorText; r.done = true; }
  });
  await cdp.send('Network.enable');
  return {
    list: () => [...reqs.values()],
    async settled() {
      const end = Date.now() + WAIT;
      while ([...reqs.values()].some((r) => !r.done)) {
        if (Date.now() > end) assert.fail(`requests never finished: ${[...reqs.values()].filter((r) => !r.done).map((r) => r.path)}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    },
  };
}

// Runs fn(arg) in the page every 50 ms until it gives a truthy value (awaited: fn may be async),
// and returns it; fails after WAIT. Plain polling from here, so it also works under page.clock.
async function until(page, fn, arg, what = String(fn)) {
  const end = Date.now() + WAIT;
  for (;;) {
    const v = await page.evaluate(fn, arg);
    if (v) return v;
    if (Date.now() > end) assert.fail(`[${page.name}] never true: ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

// The usual start of a two-person test: a server, a browser, pages A and B (Korean, desktop) and
// fresh accounts for them (not signed up yet).
async function twoPeople(t) {
  const server = await startServer(t);
  const browser = await launch(t);
  const a = await person(t, browser, server, { name: 'A' });
  const b = await person(t, browser, server, { name: 'B' });
  return { server, browser, a, b, alice: newAccount('alice'), bob: newAccount('bob') };
}

// Routes a page's WebSocket through a switchable relay: with `refuse` new connections are closed
// (a network drop; close the ones in `sockets` to cut the current one), with `dropSends` the
// page's msg.send frames are held back (a send never acked). `up` and `down` keep the frames
// each way (parsed; null when not JSON) so a test can see how the page caught up.
async function wsRelay(page) {
  const relay = { refuse: false, dropSends: false, sockets: new Set(), up: [], down: [] };
  const parse = (m) => { try { return JSON.parse(m); } catch { return null; } };
  await page.routeWebSocket(/\/ws$/, (ws) => {
    if (relay.refuse) { ws.close({ code: 1011, reason: 'test: offline' }); return; }
    const up = ws.connectToServer();
    relay.sockets.add(ws);
    ws.onMessage((m) => {
      const frame = parse(m);
      if (relay.dropSends && frame && frame.type === 'msg.send') return;
      relay.up.push(frame);
      up.send(m);
    });
    up.onMessage((m) => { relay.down.push(parse(m)); ws.send(m); });
    ws.onClose(() => { relay.sockets.delete(ws); up.close(); });
    up.onClose(() => ws.close());
  });
  return relay;
}

// Signs both up, A waits in 백엔드, B picks it too; returns once each sees the other's nickname.
async function matchInBackend(a, b, alice, bob) {
  await signup(a, alice);
  await signup(b, bob);
  await a.getByRole('button', { name: /백엔드/ }).click();
  await a.waitForURL(/#\/wait$/);
  await b.getByRole('button', { name: /백엔드/ }).click();
  await a.getByTestId('partner-name').filter({ hasText: bob.nickname }).waitFor();
  await b.getByTestId('partner-name').filter({ hasText: alice.nickname }).waitFor();
}

module.exports = { WAIT, ARTIFACTS, startServer, launch, person, watch, twoPeople, wsRelay, matchInBackend, assertClean, newAccount, shot, signup, rand, recordNetwork, until };
