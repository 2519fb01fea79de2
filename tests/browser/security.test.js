'use strict';
// Safety, tokens and the page's weight: the headers of the page; no HTML sinks in the client's
// code; the access token never reaches storage or a readable cookie; one refresh in flight,
// a refresh on TOKEN_EXPIRED and before expiry; the first load's transfer; the manifest and its
// icons; a WebSocket handshake that hangs is given up; while the tab is hidden, a title badge,
// notifications (new Notification, or the service worker's showNotification) and no read marks.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test, before, after } = require('node:test');
const h = require('../e2e/harness');
const k = require('./kit');

const T = { timeout: 90000 };
const WEB = path.resolve(__dirname, '../../web');
let server;
let browser;
const cleanups = [];
const fileScope = { after: (fn) => cleanups.push(fn) };
before(async () => {
  server = await k.startServer(fileScope);
  browser = await k.launch(fileScope);
});
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

function webFiles(dir = WEB) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? webFiles(p) : [p];
  });
}

test('the page: strict CSP, nosniff, Referrer-Policy, no framing; no inline code or HTML sinks in web/', T, async () => {
  const res = await h.request(`${server.url}/`);
  assert.equal(res.status, 200);
  const csp = String(res.headers['content-security-policy']);
  for (const d of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"]) {
    assert.ok(csp.includes(d), `CSP lacks ${d}: ${csp}`);
  }
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal(res.headers['referrer-policy'], 'same-origin');
  assert.equal(res.headers['x-frame-options'], 'DENY');

  const html = fs.readFileSync(path.join(WEB, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'inline <script> in index.html');
  assert.doesNotMatch(html, /<style\b|\sstyle=|\son[a-z]+=/i, 'inline style or handler in index.html');
  const sinks = /\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|\.style\.|setAttribute\(\s*['"]style/;
  for (const f of webFiles().filter((p) => p.endsWith('.js'))) {
    const src = fs.readFileSync(f, 'utf8');
    assert.doesNotMatch(src, sinks, `${path.relative(WEB, f)} uses an HTML or style sink`);
    assert.doesNotMatch(src, /document\.cookie/, `${path.relative(WEB, f)} touches document.cookie`);
  }
  const apiSrc = fs.readFileSync(path.join(WEB, 'js/api.js'), 'utf8');
  assert.doesNotMatch(apiSrc, /localStorage|sessionStorage|document\.cookie/, 'api.js (the token holder) uses no storage');
});

test('tokens: only in memory; one refresh in flight; refresh on TOKEN_EXPIRED and before expiry', T, async (t) => {
  const page = await k.person(t, browser, server, { name: 'tokens' });
  await page.clock.install();
  let refreshes = 0;
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/v1/auth/refresh') refreshes++; });
  const signupRes = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/signup'));
  await k.signup(page, k.newAccount('tok'));
  const { accessToken } = await (await signupRes).json();
  assert.ok(accessToken && accessToken.split('.').length === 3);
  const stored = await page.evaluate(() => JSON.stringify({ l: { ...localStorage }, s: { ...sessionStorage }, c: document.cookie }));
  assert.ok(!stored.includes(accessToken) && !stored.includes(accessToken.split('.')[2]), `the access token is in storage: ${stored}`);
  assert.doesNotMatch(await page.evaluate(() => document.cookie), /convo_rt/, 'the refresh cookie is readable');

  // three refreshes asked at once: one request
  const before1 = refreshes;
  const ok = await page.evaluate(async () => {
    const api = await import('/js/api.js');
    return Promise.all([api.refresh(), api.refresh(), api.refresh()]);
  });
  assert.deepEqual(ok, [true, true, true]);
  assert.equal(refreshes - before1, 1, 'one refresh request for three callers');

  // an API call answered TOKEN_EXPIRED: refresh, retry, and the page works
  let expiredOnce = false;
  await page.route('**/api/v1/chats?*', (route) => {
    if (expiredOnce) return route.continue();
    expiredOnce = true;
    return route.fulfill({ status: 401, contentType: 'application/json', body: '{"error":{"code":"TOKEN_EXPIRED","message":"expired","requestId":"x"}}' });
  });
  page.allowHttp.push({ path: '/api/v1/chats', status: 401 });
  const before2 = refreshes;
  await page.getByRole('link', { name: '기록' }).click();
  await page.getByText('아직 대화 기록이 없어요. 첫 대화를 시작해 보세요!').waitFor();
  assert.ok(expiredOnce, 'the stubbed TOKEN_EXPIRED answer was used');
  assert.equal(refreshes - before2, 1, 'one refresh after TOKEN_EXPIRED');

  // before expiry (15 min): a refresh, without any call failing first
  const tokenNow = () => page.evaluate(async () => (await import('/js/api.js')).token());
  const before3 = refreshes;
  const oldToken = await tokenNow();
  await page.clock.fastForward('13:00');
  await page.waitForTimeout(300);
  assert.equal(refreshes, before3, 'no refresh 2 minutes before expiry');
  const next = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/refresh'));
  await page.clock.fastForward('01:30');
  assert.equal((await next).status(), 200);
  for (let i = 0; i < 100 && (await tokenNow()) === oldToken; i++) await page.waitForTimeout(50);
  assert.notEqual(await tokenNow(), oldToken, 'the page uses the new access token');
  assert.equal(refreshes - before3, 1, 'one refresh a minute before expiry');
  k.assertClean(page);
});

// One load's weight: every request the page made (CDP encodedDataLength: bytes on the wire,
// headers included), counted once nothing is in flight; under 100 KB in all, and no script or
// stylesheet over 30 KB.
async function assertLoadWeight(page, net, what) {
  await page.waitForLoadState('networkidle');
  await net.settled();
  const reqs = net.list();
  const total = reqs.reduce((n, r) => n + r.wire, 0);
  const files = reqs.map((r) => `${r.path} ${r.type} ${r.status} ${r.wire}`).join(', ');
  process.stdout.write(`# ${what}: ${reqs.length} requests, ${total} bytes transferred (${files})\n`);
  assert.deepEqual(reqs.filter((r) => r.failed).map((r) => `${r.path} ${r.failed}`), [], `[${what}] failed requests`);
  assert.deepEqual(reqs.filter((r) => !(r.wire > 0)).map((r) => r.path), [], `[${what}] requests with no byte count`);
  assert.ok(reqs.some((r) => r.path === '/js/app.js') && reqs.some((r) => r.type === 'Stylesheet'), `[${what}] the page's files were counted: ${files}`);
  assert.ok(total < 100 * 1024, `[${what}] transfers ${total} bytes: ${files}`);
  for (const r of reqs.filter((x) => x.type === 'Script' || x.type === 'Stylesheet')) {
    assert.ok(r.body > 0 && r.body <= 30 * 1024, `[${what}] ${r.path} is ${r.body} bytes (decoded)`);
    assert.ok(r.wire <= 30 * 1024, `[${what}] ${r.path} transfers ${r.wire} bytes`);
  }
  return reqs;
}

test('first load transfers < 100 KB signed out and signed in, no JS or CSS file over 30 KB; the manifest and its icons', T, async (t) => {
  const page = await k.person(t, browser, server, { name: 'weight' });
  const net = await k.recordNetwork(page);
  await page.goto('/');
  await page.getByRole('heading', { name: '로그인' }).waitFor();
  await assertLoadWeight(page, net, 'first load, signed out');

  // signed in, empty cache: a new context with only the refresh cookie of a fresh account
  const first = await k.person(t, browser, server, { name: 'weight-signup' });
  await k.signup(first, k.newAccount('wt'));
  const state = await first.context().storageState();
  await first.close();
  const member = await k.person(t, browser, server, { name: 'weight-signed-in', storageState: state });
  const net2 = await k.recordNetwork(member);
  await member.goto('/');
  await member.getByRole('heading', { name: '누구와 이야기할까요?' }).waitFor();
  // the views fetched ahead of time once signed in are part of this load
  const lazyViews = ['/js/views/chat.js', '/js/views/history.js', '/js/views/settings.js'];
  await member.waitForFunction((vs) => vs.every((v) => performance.getEntriesByName(`${location.origin}${v}`).length), lazyViews);
  const reqs = await assertLoadWeight(member, net2, 'first load, signed in');
  for (const v of lazyViews) assert.ok(reqs.some((r) => r.path === v), `${v} counted`);
  assert.ok(!reqs.some((r) => r.path === '/sw.js'), 'no service worker without notifications allowed');
  assert.ok(reqs.some((r) => r.path === '/api/v1/auth/refresh' && r.status === 200), 'the load was signed in');

  const man = await h.request(`${server.url}/manifest.webmanifest`);
  assert.equal(man.status, 200);
  const m = JSON.parse(man.text);
  assert.equal(m.short_name, 'CONVO');
  assert.equal(m.display, 'standalone');
  assert.equal(m.start_url, '/');
  const html = await page.content();
  assert.match(html, /<link rel="manifest" href="\/manifest.webmanifest">/);
  for (const size of [192, 512]) {
    const icon = m.icons.find((i) => i.sizes === `${size}x${size}` && i.type === 'image/png');
    assert.ok(icon, `no ${size} PNG icon`);
    const res = await h.request(`${server.url}${icon.src}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.equal(res.body.toString('latin1', 1, 4), 'PNG');
    assert.equal(res.body.readUInt32BE(16), size, 'PNG width');
    assert.equal(res.body.readUInt32BE(20), size, 'PNG height');
  }
  k.assertClean(page);
  k.assertClean(member);
});

// Before the page's scripts: WebSocket wrapped so that the first socket made after
// sessionStorage 'stall-ws' is set never connects (it stays CONNECTING, as behind a black-holed
// network); every socket made is listed in window.__ws with the (page clock) time it was made.
function stallNextSocket() {
  const Real = window.WebSocket;
  window.__ws = [];
  function Stalled(url) { this.url = url; this.readyState = 0; }
  Stalled.prototype.close = function close() { this.readyState = 3; };
  Stalled.prototype.send = function send() { throw new Error('not open'); };
  function WS(url, protocols) {
    const stall = sessionStorage.getItem('stall-ws') === '1';
    if (stall) sessionStorage.removeItem('stall-ws');
    const ws = stall ? new Stalled(url) : new Real(url, protocols);
    window.__ws.push({ stall, at: Date.now(), ws });
    return ws;
  }
  Object.assign(WS, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  window.WebSocket = WS;
}

test('a WebSocket stuck connecting is given up after 10 s and the normal reconnect follows', T, async (t) => {
  const page = await k.person(t, browser, server, { name: 'stuck' });
  await page.addInitScript(stallNextSocket);
  await k.signup(page, k.newAccount('stk'));
  await page.clock.install();
  await page.evaluate(() => sessionStorage.setItem('stall-ws', '1'));
  await page.reload();
  const state = () => page.evaluate(async () => {
    const { S } = await import('/js/app.js');
    return { conn: S.conn, sockets: window.__ws.map((w) => ({ stall: w.stall, at: w.at, state: w.ws.readyState })) };
  });
  await page.clock.fastForward('00:06'); // the page renders after waiting 5 s for the socket
  await page.getByRole('heading', { name: '누구와 이야기할까요?' }).waitFor();
  let st = await state();
  assert.equal(st.sockets.length, 1);
  assert.equal(st.sockets[0].stall, true);
  assert.equal(st.conn, 'connecting', 'still waiting for the handshake after 6 s');
  await page.clock.fastForward('00:05');
  for (let i = 0; i < 100 && (st = await state()).conn !== 'ready'; i++) await page.waitForTimeout(50);
  assert.equal(st.conn, 'ready', `the page reconnected: ${JSON.stringify(st)}`);
  assert.equal(st.sockets.length, 2, 'one new socket after the stuck one');
  assert.equal(st.sockets[0].state, 3, 'the stuck socket was closed');
  const gap = st.sockets[1].at - st.sockets[0].at;
  assert.ok(gap >= 10000 && gap < 12000, `the new socket came ${gap} ms after the stuck one`);
  // and it works: joining a queue gets the server's match.waiting
  await page.getByRole('button', { name: /모바일/ }).click();
  await page.waitForURL(/#\/wait$/);
  const counted = () => page.evaluate(async () => typeof (await import('/js/app.js')).S.waiting.count === 'number');
  for (let i = 0; i < 100 && !(await counted()); i++) await page.waitForTimeout(50);
  assert.ok(await counted(), 'match.waiting came back over the new socket');
  k.assertClean(page);
});

// Makes the page believe it is hidden (or visible again) and says so.
function setHidden(page, hidden) {
  return page.evaluate((hid) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hid ? 'hidden' : 'visible') });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hid });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

test('while away: a match and new messages badge the title and notify (no service worker: new Notification); read marks wait until back', T, async (t) => {
  const a = await k.person(t, browser, server, { name: 'awayA' });
  const b = await k.person(t, browser, server, { name: 'awayB' });
  await a.addInitScript(() => {
    // a browser without service workers, where the page's own Notification is the way
    Object.defineProperty(Navigator.prototype, 'serviceWorker', { configurable: true, get: () => undefined });
    window.__notes = [];
    window.Notification = class {
      constructor(title, opts) { window.__notes.push({ title, body: opts && opts.body }); }
      static get permission() { return 'granted'; }
      static requestPermission() { return Promise.resolve('granted'); }
      close() {}
    };
  });
  const alice = k.newAccount('away');
  const bob = k.newAccount('back');
  await k.signup(a, alice);
  await k.signup(b, bob);
  await a.getByRole('button', { name: /데브옵스/ }).click();
  await a.waitForURL(/#\/wait$/);
  await a.getByRole('button', { name: '매칭되면 알림 받기' }).or(a.getByRole('button', { name: '알림이 켜져 있어요' })).waitFor();
  await setHidden(a, true);
  await b.getByRole('button', { name: /데브옵스/ }).click();
  await b.waitForURL(/#\/chat$/);
  await a.waitForFunction(() => document.title === '(1) CONVO');
  await b.getByTestId('composer').fill('자리 비우셨나요?');
  await b.keyboard.press('Enter');
  await a.waitForFunction(() => document.title === '(2) CONVO');
  const notes = await a.evaluate(() => window.__notes);
  assert.deepEqual(notes, [
    { title: '대화 상대를 찾았어요!', body: `${bob.nickname}님과 연결됐어요` },
    { title: `${bob.nickname}님의 새 메시지`, body: '자리 비우셨나요?' },
  ]);
  // announced for screen readers
  await a.locator('#announcer').filter({ hasText: `${bob.nickname}: 자리 비우셨나요?` }).waitFor();
  // not read while A is away
  await b.locator('.msg.mine [data-status="sent"]').waitFor();
  await setHidden(a, false);
  await a.waitForFunction(() => document.title === 'CONVO');
  await b.locator('.msg.mine [data-status="read"]').waitFor();
  k.assertClean(a);
  k.assertClean(b);
});

test('while away on a phone-like browser (no page Notification): notifications go through the service worker', T, async (t) => {
  const sw = await h.request(`${server.url}/sw.js`);
  assert.equal(sw.status, 200);
  assert.match(String(sw.headers['content-type']), /^text\/javascript/);
  const a = await k.person(t, browser, server, { name: 'swA', permissions: ['notifications'] });
  const b = await k.person(t, browser, server, { name: 'swB' });
  await a.addInitScript(() => {
    // as on Chrome for Android: the page may not construct a Notification itself
    const N = window.Notification;
    window.Notification = class extends N {
      constructor() { throw new TypeError('Illegal constructor. Use ServiceWorkerRegistration.showNotification() instead.'); } // eslint-disable-line constructor-super
    };
  });
  const bob = k.newAccount('swb');
  await k.signup(a, k.newAccount('swa'));
  await k.signup(b, bob);
  // notifications are allowed: the worker is registered and active
  await k.until(a, async () => {
    const reg = await navigator.serviceWorker.getRegistration();
    return !!(reg && reg.active && reg.active.scriptURL.endsWith('/sw.js'));
  }, null, 'an active /sw.js');
  await a.getByRole('button', { name: /QA/ }).click();
  await a.waitForURL(/#\/wait$/);
  await setHidden(a, true);
  await b.getByRole('button', { name: /QA/ }).click();
  await b.waitForURL(/#\/chat$/);
  await a.waitForFunction(() => document.title === '(1) CONVO');
  await b.getByTestId('composer').fill('알림 보이나요?');
  await b.keyboard.press('Enter');
  await a.waitForFunction(() => document.title === '(2) CONVO');
  // one tag: the message's notification replaced the match's
  const shown = await k.until(a, async () => {
    const reg = await navigator.serviceWorker.getRegistration();
    const list = await reg.getNotifications();
    return list.length && list[0].body === '알림 보이나요?' ? list.map((n) => ({ title: n.title, body: n.body, tag: n.tag })) : null;
  }, null, 'the message notification');
  assert.deepEqual(shown, [{ title: `${bob.nickname}님의 새 메시지`, body: '알림 보이나요?', tag: 'convo' }]);
  k.assertClean(a);
  k.assertClean(b);
});
