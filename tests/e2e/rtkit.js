'use strict';
// Helpers for the real-time (SPEC §4, GET /ws) end-to-end tests, on top of harness.js and
// authkit.js. Not a test file itself (node --test only picks up *.test.js).
//
// WsClient wraps one `ws` WebSocket: it records every frame the server sends (parsed JSON), lets a
// test await the next unconsumed frame of a type or matching a predicate (always with a bounded
// timeout), send frames with a ref and await the answer carrying that ref, assert that no
// matching frame arrives for a while, and await the close with its code.
// connect()/handshake() open sockets (with or without an Origin); user()/online()/pair() build
// the usual situations: signed-up users, authenticated sockets, two users matched in a chat.
// Every socket opened through a test context t is terminated after that test.

const assert = require('node:assert/strict');
const WebSocket = require('ws');
const k = require('./authkit');

const DEFAULT_TIMEOUT_MS = 5000;
const PUBLIC_ORIGIN = 'http://localhost:8080'; // CONVO_PUBLIC_ORIGIN's default
const EVIL_ORIGIN = 'https://evil.example';

let refCounter = 0;
function newRef(tag = 'r') {
  refCounter++;
  return `${tag}-${process.pid}-${refCounter}`;
}

function short(v, n = 400) {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s && s.length > n ? `${s.slice(0, n)}…` : s;
}

// A frame matcher: a type string, a predicate, or an object whose keys must all be deep-equal.
function toPredicate(match) {
  if (typeof match === 'function') return match;
  if (typeof match === 'string') return (f) => f && f.type === match;
  if (match && typeof match === 'object') {
    return (f) => f && Object.entries(match).every(([key, v]) => isDeepStrictEqual(f[key], v));
  }
  throw new TypeError(`bad frame matcher ${match}`);
}

function describeMatch(match) {
  if (typeof match === 'string') return `a "${match}" frame`;
  if (typeof match === 'function') return `a frame matching ${match.name || 'the predicate'}`;
  return `a frame like ${short(match)}`;
}

function isDeepStrictEqual(a, b) {
  return require('node:util').isDeepStrictEqual(a, b);
}

class WsClient {
  constructor(ws, name = 'ws') {
    this.ws = ws;
    this.name = name;
    this.frames = [];   // every frame received, in order (parsed; {__raw, __binary} when not JSON)
    this.times = [];    // Date.now() at each frame's arrival (parallel to frames)
    this.queue = [];    // frames not yet consumed by next()
    this.pings = 0;     // WebSocket ping control frames received
    this.closed = false;
    this.closeInfo = null; // {code, reason, at}
    this.errors = [];
    this.waiters = new Set();
    this.user = null;   // the USER of the ready frame, once authenticated
    this.ready = null;
    ws.on('message', (data, isBinary) => {
      let f;
      if (isBinary) {
        f = { __binary: true, __raw: data.toString('hex') };
      } else {
        const text = data.toString('utf8');
        try {
          f = JSON.parse(text);
        } catch {
          f = { __raw: text };
        }
      }
      this.frames.push(f);
      this.times.push(Date.now());
      this.queue.push(f);
      this.notify();
    });
    ws.on('ping', () => { this.pings++; this.notify(); });
    ws.on('error', (err) => { this.errors.push(err); this.notify(); });
    this.closedPromise = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closed = true;
        this.closeInfo = { code, reason: reason.toString('utf8'), at: Date.now() };
        this.notify();
        resolve(this.closeInfo);
      });
    });
  }

  notify() {
    for (const w of [...this.waiters]) w();
  }

  // Resolves when check() returns a value other than undefined; rejects on timeout or (unless
  // allowClosed) when the socket closes first. what: a description for the error.
  waitUntil(check, { timeoutMs = DEFAULT_TIMEOUT_MS, what = 'a condition', allowClosed = false } = {}) {
    return new Promise((resolve, reject) => {
      let timer;
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(run);
      };
      const run = () => {
        let v;
        try {
          v = check();
        } catch (err) {
          done();
          reject(err);
          return;
        }
        if (v !== undefined) {
          done();
          resolve(v);
        } else if (this.closed && !allowClosed) {
          done();
          reject(new Error(`[${this.name}] socket closed (code ${this.closeInfo.code} ` +
            `${JSON.stringify(this.closeInfo.reason)}) before ${what}; ${this.summary()}`));
        }
      };
      timer = setTimeout(() => {
        done();
        reject(new Error(`[${this.name}] timed out after ${timeoutMs} ms waiting for ${what}; ` +
          `${this.summary()}`));
      }, timeoutMs);
      this.waiters.add(run);
      run();
    });
  }

  summary() {
    const unconsumed = this.queue.map((f) => short(f, 300));
    return `frames received: ${this.frames.length}, unconsumed: [${unconsumed.join(', ')}]` +
      `${this.closed ? `, closed ${this.closeInfo.code}` : ''}` +
      `${this.errors.length ? `, errors: ${this.errors.map((e) => e.message).join('; ')}` : ''}`;
  }

  // The next unconsumed frame matching `match` (type string, predicate or partial object); it is
  // consumed (later next() calls skip it). Frames that do not match stay in the queue.
  next(match, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const pred = toPredicate(match);
    return this.waitUntil(() => {
      const i = this.queue.findIndex((f) => pred(f));
      if (i < 0) return undefined;
      return this.queue.splice(i, 1)[0];
    }, { timeoutMs, what: describeMatch(match) });
  }

  // n frames matching, in order of arrival (consumed).
  async nextN(match, n, { timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const pred = toPredicate(match);
    await this.waitUntil(() => (this.queue.filter((f) => pred(f)).length >= n ? true : undefined),
      { timeoutMs, what: `${n} × ${describeMatch(match)}` });
    const out = [];
    for (let i = 0; i < this.queue.length && out.length < n;) {
      if (pred(this.queue[i])) out.push(this.queue.splice(i, 1)[0]);
      else i++;
    }
    return out;
  }

  // Asserts that no unconsumed frame matching `match` is present or arrives within ms.
  // (A bounded wait: used only to show that something does NOT happen.)
  async expectNone(match, ms, what) {
    const pred = toPredicate(match);
    const found = await this.waitUntil(() => {
      const f = this.queue.find((x) => pred(x));
      return f === undefined ? undefined : f;
    }, { timeoutMs: ms, allowClosed: true }).catch(() => undefined);
    assert.equal(found, undefined,
      `[${this.name}] ${what || `expected no ${describeMatch(match)}`} within ${ms} ms, got ${short(found)}`);
  }

  // Every frame of a type received so far (consumed or not).
  all(type) {
    return this.frames.filter((f) => f.type === type);
  }

  // Drops unconsumed frames matching (default: all) from the queue; returns them.
  discard(match = () => true) {
    const pred = toPredicate(match);
    const dropped = this.queue.filter((f) => pred(f));
    this.queue = this.queue.filter((f) => !pred(f));
    return dropped;
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  // Raw data: a text frame by default (a Buffer is sent as is, even invalid UTF-8).
  sendRaw(data, { binary = false } = {}) {
    this.ws.send(data, { binary });
  }

  // Sends frame with a ref (a fresh one unless frame.ref is set) and awaits the frame that echoes
  // it. opts.type: also assert the answer's type.
  async request(frame, { timeoutMs = DEFAULT_TIMEOUT_MS, type } = {}) {
    const ref = 'ref' in frame ? frame.ref : newRef(frame.type);
    this.send({ ...frame, ref });
    const answer = await this.next((f) => f && f.type !== 'msg.new' && f.type !== 'stats' &&
      isDeepStrictEqual(f.ref, ref), { timeoutMs });
    if (type) {
      assert.equal(answer.type, type, `[${this.name}] answer to ${short(frame)}: ${short(answer)}`);
    }
    return answer;
  }

  // Sends {type:"auth", token} (+ref) and awaits ready; checks the ready frame's shape.
  async auth(token, { ref, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    const frame = { type: 'auth', token };
    if (ref !== undefined) frame.ref = ref;
    this.send(frame);
    const ready = await this.next((f) => f.type === 'ready' &&
      (ref === undefined || isDeepStrictEqual(f.ref, ref)), { timeoutMs });
    assertReady(ready);
    this.ready = ready;
    this.user = ready.user;
    return ready;
  }

  // Resolves with {code, reason} once the socket is closed (by either side).
  async waitClose({ timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    await this.waitUntil(() => (this.closed ? true : undefined),
      { timeoutMs, what: 'the close', allowClosed: true });
    return this.closeInfo;
  }

  // Asserts the server closes the socket with `code` within timeoutMs.
  async expectClose(code, { timeoutMs = DEFAULT_TIMEOUT_MS, what = '' } = {}) {
    const info = await this.waitClose({ timeoutMs });
    assert.equal(info.code, code, `[${this.name}] ${what ? `${what}: ` : ''}close code ${info.code} ` +
      `(${JSON.stringify(info.reason)}), expected ${code}; ${this.summary()}`);
    return info;
  }

  // A clean close from the client (close frame), resolves once closed.
  async close(code = 1000) {
    if (this.closed) return this.closeInfo;
    try {
      this.ws.close(code);
    } catch {
      this.ws.terminate();
    }
    const timer = setTimeout(() => this.ws.terminate(), 2000);
    const info = await this.closedPromise;
    clearTimeout(timer);
    return info;
  }

  // Drops the TCP connection without a close frame, resolves once closed.
  async terminate() {
    if (!this.closed) this.ws.terminate();
    return this.closedPromise;
  }
}

function wsUrl(server, path = '/ws') {
  return `ws://${server.host}:${server.port}${path}`;
}

// Opens a WebSocket. Resolves with {client} on 101, or {status, headers, text, json} when the
// server answers the upgrade with something else. opts.origin: the Origin header (none when
// undefined); opts.headers; opts.wsOptions (passed to ws).
function handshake(server, { origin, headers = {}, path = '/ws', timeoutMs = DEFAULT_TIMEOUT_MS,
  name, wsOptions = {} } = {}) {
  return new Promise((resolve, reject) => {
    const options = { headers: { ...headers }, handshakeTimeout: timeoutMs, perMessageDeflate: false,
      ...wsOptions };
    if (origin !== undefined) options.origin = origin;
    const ws = new WebSocket(wsUrl(server, path), options);
    let settled = false;
    const client = new WsClient(ws, name);
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      resolve({ client });
    });
    ws.once('unexpected-response', (req, res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
        req.destroy();
      });
      res.on('error', () => {});
    });
    ws.on('error', (err) => {
      if (settled) return;
      settled = true;
      reject(new Error(`WebSocket to ${wsUrl(server, path)} failed: ${err.message}`));
    });
  });
}

// Opens a WebSocket that must be accepted (101); terminated after the test t (when given).
async function connect(t, server, opts = {}) {
  const r = await handshake(server, opts);
  assert.ok(r.client, `upgrade refused: ${r.status} ${short(r.text)}`);
  if (t) t.after(() => r.client.terminate());
  return r.client;
}

// Signs up a user (with an optional job/career via PATCH /me). Returns the authkit sign-up
// result plus id and user (updated).
async function user(api, { nickname, job, career, email, password } = {}) {
  const fields = {};
  if (nickname !== undefined) fields.nickname = nickname;
  if (email !== undefined) fields.email = email;
  if (password !== undefined) fields.password = password;
  const s = await api.signup(fields);
  let u = s.user;
  if (job !== undefined || career !== undefined) {
    const body = {};
    if (job !== undefined) body.job = job;
    if (career !== undefined) body.career = career;
    const res = await api.patch('/api/v1/me', { json: body, token: s.token });
    assert.equal(res.status, 200, `PATCH /me ${short(body)}: ${res.status} ${res.text}`);
    u = res.json;
  }
  return { ...s, user: u, id: u.id };
}

// A socket of user u (from user()), authenticated: ready checked. name for messages.
async function online(t, server, u, { name, origin } = {}) {
  const c = await connect(t, server, { name: name || u.user.nickname, origin });
  const ready = await c.auth(u.token);
  assert.equal(ready.user.id, u.id, `ready.user is not the authenticated user: ${short(ready)}`);
  return c;
}

const ACTIVE_CHAT_KEYS = ['category', 'icebreaker', 'id', 'lastSeq', 'partner', 'partnerReadSeq', 'startedAt'];
const PARTNER_KEYS = ['career', 'id', 'job', 'nickname'];
const MESSAGE_KEYS = ['chatId', 'id', 'senderId', 'sentAt', 'seq', 'text'];
const RFC3339_UTC_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function assertReady(f) {
  assert.equal(f.type, 'ready', `not a ready frame: ${short(f)}`);
  assert.ok(f.user && typeof f.user === 'object' && typeof f.user.id === 'string', `ready.user: ${short(f)}`);
  assert.ok('chat' in f, `ready has no chat: ${short(f)}`);
  assert.ok('waiting' in f, `ready has no waiting: ${short(f)}`);
  if (f.chat !== null) assertActiveChat(f.chat);
  if (f.waiting !== null) {
    assert.deepEqual(Object.keys(f.waiting), ['category'], `ready.waiting: ${short(f)}`);
  }
}

// ACTIVE_CHAT; partner (a user from user()) when given is checked against it.
function assertActiveChat(c, { partner, category } = {}) {
  assert.ok(c && typeof c === 'object', `ACTIVE_CHAT is not an object: ${short(c)}`);
  assert.deepEqual(Object.keys(c).sort(), ACTIVE_CHAT_KEYS, `ACTIVE_CHAT keys: ${short(c)}`);
  assert.equal(typeof c.id, 'string', `chat.id must be a string: ${short(c)}`);
  assert.ok(c.id.length > 0);
  assert.ok(k.CATEGORY_IDS.includes(c.category), `chat.category: ${short(c)}`);
  if (category !== undefined) assert.equal(c.category, category);
  assert.deepEqual(Object.keys(c.partner).sort(), PARTNER_KEYS, `chat.partner keys (no email!): ${short(c)}`);
  assert.equal(typeof c.partner.id, 'string');
  assert.match(c.startedAt, RFC3339_UTC_RE, `chat.startedAt: ${short(c)}`);
  assert.ok(c.icebreaker && typeof c.icebreaker.ko === 'string' && c.icebreaker.ko.length > 0 &&
    typeof c.icebreaker.en === 'string' && c.icebreaker.en.length > 0, `chat.icebreaker: ${short(c)}`);
  assert.ok(Number.isInteger(c.lastSeq) && c.lastSeq >= 0, `chat.lastSeq: ${short(c)}`);
  assert.ok(Number.isInteger(c.partnerReadSeq) && c.partnerReadSeq >= 0, `chat.partnerReadSeq: ${short(c)}`);
  if (partner) {
    assert.deepEqual(c.partner, {
      id: partner.id,
      nickname: partner.user.nickname,
      job: partner.user.job,
      career: partner.user.career,
    }, `chat.partner is not the other user: ${short(c)}`);
  }
}

function assertMessage(m, { chatId, senderId, text, seq } = {}) {
  assert.ok(m && typeof m === 'object', `MESSAGE is not an object: ${short(m)}`);
  assert.deepEqual(Object.keys(m).sort(), MESSAGE_KEYS, `MESSAGE keys: ${short(m)}`);
  assert.equal(typeof m.id, 'string', `message.id: ${short(m)}`);
  assert.equal(typeof m.chatId, 'string');
  assert.equal(typeof m.senderId, 'string');
  assert.ok(Number.isInteger(m.seq) && m.seq >= 1, `message.seq: ${short(m)}`);
  assert.match(m.sentAt, RFC3339_UTC_RE, `message.sentAt: ${short(m)}`);
  assert.ok(Math.abs(Date.parse(m.sentAt) - Date.now()) < 5 * 60 * 1000, `sentAt is not now: ${m.sentAt}`);
  if (chatId !== undefined) assert.equal(m.chatId, chatId);
  if (senderId !== undefined) assert.equal(m.senderId, senderId);
  if (text !== undefined) assert.equal(m.text, text);
  if (seq !== undefined) assert.equal(m.seq, seq);
}

// Error frame {type:"error", code, message, ref?}.
function assertErrorFrame(f, code, ref) {
  assert.equal(f.type, 'error', `expected an error ${code}, got ${short(f)}`);
  assert.equal(f.code, code, `error code: ${short(f)}`);
  assert.equal(typeof f.message, 'string', `error.message: ${short(f)}`);
  if (ref !== undefined) assert.deepEqual(f.ref, ref, `error.ref: ${short(f)}`);
}

// match.start (with a ref) → match.waiting {category, waiting, ref}; returns it.
async function startWaiting(c, category, extra = {}) {
  const w = await c.request({ type: 'match.start', category, ...extra });
  assert.equal(w.type, 'match.waiting', `[${c.name}] match.start ${category}: ${short(w)}`);
  assert.equal(w.category, category);
  assert.ok(Number.isInteger(w.waiting) && w.waiting >= 1, `match.waiting.waiting: ${short(w)}`);
  return w;
}

// Two fresh users (or the given ones) online and matched in category. Returns
// {a, b, ca, cb, chat (id), chatA, chatB}.
async function pair(t, server, api, { category = 'backend', a, b, ca, cb } = {}) {
  a = a || await user(api, { nickname: `alice${k.rand(2)}` });
  b = b || await user(api, { nickname: `bob${k.rand(2)}` });
  ca = ca || await online(t, server, a, { name: 'A' });
  cb = cb || await online(t, server, b, { name: 'B' });
  await startWaiting(ca, category);
  const ref = newRef('match.start');
  cb.send({ type: 'match.start', category, ref });
  const fa = await ca.next('match.found');
  const fb = await cb.next('match.found');
  assertActiveChat(fa.chat, { partner: b, category });
  assertActiveChat(fb.chat, { partner: a, category });
  assert.equal(fa.chat.id, fb.chat.id, 'both sides must get the same chat id');
  // B's direct answer (match.waiting, possibly before the match.found) is not needed further.
  cb.discard((f) => f.type === 'match.waiting' && isDeepStrictEqual(f.ref, ref));
  return { a, b, ca, cb, chat: fa.chat.id, chatA: fa.chat, chatB: fb.chat };
}

let clientMsgCounter = 0;
function newClientMsgId() {
  clientMsgCounter++;
  return `c${process.pid}-${clientMsgCounter}-${k.rand(3)}`;
}

// msg.send → msg.ack (checked); returns the ack.
async function sendMsg(c, chatId, text, { clientMsgId = newClientMsgId(), timeoutMs } = {}) {
  const ack = await c.request({ type: 'msg.send', chatId, clientMsgId, text }, { timeoutMs });
  assert.equal(ack.type, 'msg.ack', `[${c.name}] msg.send ${short(text, 60)}: ${short(ack)}`);
  assert.equal(ack.clientMsgId, clientMsgId);
  assertMessage(ack.message, { chatId });
  return ack;
}

// Calls the REST API with a Bearer token.
function rest(api, method, path, token, opts = {}) {
  return api.call(method, path, { token, ...opts });
}

module.exports = {
  DEFAULT_TIMEOUT_MS,
  EVIL_ORIGIN,
  PUBLIC_ORIGIN,
  WsClient,
  assertActiveChat,
  assertErrorFrame,
  assertMessage,
  assertReady,
  connect,
  handshake,
  newClientMsgId,
  newRef,
  online,
  pair,
  rest,
  sendMsg,
  short,
  startWaiting,
  user,
  wsUrl,
};
