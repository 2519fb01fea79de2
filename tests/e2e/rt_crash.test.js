'use strict';
// SPEC §4 chat rules 3 and 4 under a crash: `msg.ack` goes out only once the message is durably
// stored, and nothing acked is ever lost. The embedded store acks a message once its record is
// fdatasync'd in the message log (`<data dir>/convo.db-msglog.<N>`) and folds the log into the
// SQLite `messages` table a few seconds later (or at a clean shutdown); log files a crash leaves behind
// are replayed at start-up. rt_restart.test.js covers the clean (SIGTERM) path; this file kills the
// server with SIGKILL — no shutdown code runs, so acked messages are, most likely, only in the log —
// and checks after a restart on the same data dir that:
// - every acked message is there, exactly once, with the id, seq, sender and text of its ack, seqs
//   1..N without gaps (REST history, the chat summary, ready.chat.lastSeq, chat.sync);
// - a retry of an acked clientMsgId gets the same msg.ack (dedupe sees replayed rows), and a new
//   message continues the seq and gets an id above every earlier one (ids are not reused);
// - a second crash right after a restart (new messages only in the new log, replayed ones just
//   folded) loses and duplicates nothing;
// - `<db>.lock` keeps a second server off a data dir in use: it exits non-zero naming the reason,
//   and the first server (and its unfolded log) is unaffected.

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const h = require('./harness');
const k = require('./authkit');
const rt = require('./rtkit');

const T = { timeout: 120000 };
const ACK_TIMEOUT_MS = 15000;    // a whole burst's acks, on a busy machine under ASan
const KILL_TIMEOUT_MS = 10000;   // SIGKILL → exit
const SECOND_RUN_TIMEOUT_MS = 15000; // the refused second server must exit within this
const PAGE = 100;                // the messages endpoint's largest page (SPEC §3.3 default)

// ---------------------------------------------------------------------------------------------
// helpers

// Starts a server on dataDir; after the test it is stopped (SIGTERM, exit 0, no sanitizer report,
// no secret of api logged) unless it was killed already (stop() then returns the kill's result).
async function start(t, dataDir, api) {
  const server = await h.startServer({ dataDir });
  t.after(async () => {
    const result = await server.stop();
    if (api) k.assertNoSecretsLogged(result, api.secrets);
  });
  return server;
}

// SIGKILL: no clean shutdown. The server must still be running (not crashed before); waits for the
// exit (bounded). A SIGKILLed process exits with no code and prints no sanitizer report, so the
// exit-0 check of stop() is off for this one stop only.
async function sigkill(server) {
  assert.equal(server.proc.exitCode, null, `server (pid ${server.pid}) exited on its own before the ` +
    `SIGKILL (code ${server.proc.exitCode})\n${server.stderr().slice(-3000)}`);
  assert.equal(server.proc.signalCode, null, `server (pid ${server.pid}) died of ` +
    `${server.proc.signalCode} before the SIGKILL\n${server.stderr().slice(-3000)}`);
  server.signal('SIGKILL');
  const result = await server.stop({ expectCode: null, timeoutMs: KILL_TIMEOUT_MS });
  assert.equal(result.signal, 'SIGKILL', `exit after SIGKILL: code ${result.code}, signal ${result.signal}`);
  return result;
}

// The message log files in dataDir with their sizes (diagnostics: were records still unfolded?).
function msglogFiles(dataDir) {
  const files = fs.readdirSync(dataDir).filter((f) => /^convo\.db-msglog\.\d+$/.test(f)).sort()
    .map((f) => `${f}=${fs.statSync(path.join(dataDir, f)).size}B`);
  return files.length ? files.join(' ') : 'none';
}

// What the server logged about replaying the message log at start-up (diagnostics).
function replayLog(server) {
  const lines = server.stderr().split('\n').filter((l) => l.includes('message log replayed'));
  return lines.length ? lines.map((l) => {
    try {
      return `replayed ${JSON.parse(l).messages} record(s)`;
    } catch {
      return l;
    }
  }).join('; ') : 'no replay logged';
}

// A text per message: multi-byte characters, a tab and a newline (allowed, SPEC §4 rule 5), and
// one long text per burst, so that the log's records are not all alike.
function textFor(tag, i) {
  if (i === 7) return `${tag} long ${i} ${'가나다 abc '.repeat(180)}끝`;
  return `${tag} says ${i} — 안녕하세요 ✓\tline one\nline two`;
}

// Sends n messages from each of ca and cb, interleaved, without waiting; then awaits every
// msg.ack (bounded). extra: frames {c, clientMsgId, text} sent in the same burst (retries) whose
// acks are awaited too and returned separately. Returns {acked (the new messages' acks' MESSAGE,
// ascending seq), byId (clientMsgId → ack), retries (acks of extra), ms (first send → last ack)}.
async function burst(pairing, tags, n, { extra = [] } = {}) {
  const { ca, cb, a, b, chat } = pairing;
  const sent = [];
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    for (const [c, u, tag] of [[ca, a, tags[0]], [cb, b, tags[1]]]) {
      const clientMsgId = `${tag}-${i}-${k.rand(3)}`;
      const text = textFor(tag, i);
      c.send({ type: 'msg.send', chatId: chat, clientMsgId, text, ref: clientMsgId });
      sent.push({ c, u, clientMsgId, text, tag, i });
    }
    if (i === Math.floor(n / 2)) {
      for (const x of extra) {
        x.c.send({ type: 'msg.send', chatId: chat, clientMsgId: x.clientMsgId, text: x.text,
          ref: `retry-${x.clientMsgId}` });
      }
    }
  }
  const ackOf = (c, ref) => c.next((f) => f.ref === ref && f.type !== 'msg.new', { timeoutMs: ACK_TIMEOUT_MS });
  const acks = await Promise.all(sent.map((s) => ackOf(s.c, s.clientMsgId)));
  const retries = await Promise.all(extra.map((x) => ackOf(x.c, `retry-${x.clientMsgId}`)));
  const ms = Date.now() - t0;
  const byId = new Map();
  acks.forEach((ack, j) => {
    const s = sent[j];
    assert.equal(ack.type, 'msg.ack', `[${s.c.name}] msg.send ${s.clientMsgId}: ${rt.short(ack)}`);
    assert.equal(ack.clientMsgId, s.clientMsgId);
    rt.assertMessage(ack.message, { chatId: chat, senderId: s.u.id, text: s.text });
    byId.set(s.clientMsgId, ack);
  });
  retries.forEach((ack, j) => {
    assert.equal(ack.type, 'msg.ack', `retry of ${extra[j].clientMsgId}: ${rt.short(ack)}`);
    assert.equal(ack.clientMsgId, extra[j].clientMsgId);
  });
  // Each sender's messages are stored in the order sent.
  for (const tag of tags) {
    const seqs = sent.filter((s) => s.tag === tag).map((s) => byId.get(s.clientMsgId).message.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), `${tag}'s messages out of order: ${seqs}`);
  }
  ca.discard((f) => f.type === 'msg.new');
  cb.discard((f) => f.type === 'msg.new');
  const acked = acks.map((x) => x.message).sort((x, y) => x.seq - y.seq);
  return { acked, byId, retries, ms, sent };
}

// seqs from..to without a gap, ids unique.
function assertContiguous(messages, from, to, what) {
  assert.deepEqual(messages.map((m) => m.seq), Array.from({ length: to - from + 1 }, (_, i) => from + i),
    `${what}: seqs are not ${from}..${to} without gaps`);
  const ids = messages.map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length, `${what}: duplicate message ids`);
  for (const id of ids) assert.match(id, /^[1-9]\d*$/, `${what}: message id ${id}`);
}

function maxId(messages) {
  return messages.reduce((m, x) => (BigInt(x.id) > m ? BigInt(x.id) : m), 0n);
}

// Every message of a chat through GET /chats/{id}/messages, page by page (afterSeq).
async function history(api, chat, token) {
  const out = [];
  for (let page = 0; page < 100; page++) {
    const after = out.length ? out[out.length - 1].seq : 0;
    const res = await rt.rest(api, 'GET', `/api/v1/chats/${chat}/messages?afterSeq=${after}&limit=${PAGE}`, token);
    assert.equal(res.status, 200, `GET messages afterSeq=${after}: ${res.status} ${res.text.slice(0, 300)}`);
    const msgs = res.json.messages;
    assert.ok(Array.isArray(msgs), `messages: ${res.text.slice(0, 300)}`);
    out.push(...msgs);
    if (msgs.length < PAGE) return out;
  }
  assert.fail('more than 100 pages of messages');
}

// The chat's CHAT_SUMMARY in GET /chats of the user.
async function summary(api, chat, token) {
  const res = await rt.rest(api, 'GET', '/api/v1/chats', token);
  assert.equal(res.status, 200, res.text);
  const s = res.json.chats.find((c) => c.id === chat);
  assert.ok(s, `chat ${chat} missing from GET /chats: ${res.text.slice(0, 500)}`);
  return s;
}

// After a restart: both users reconnect, get the same chat with lastSeq; the REST history is
// exactly `expected` (the acks' MESSAGEs, ascending seq) for both; the summary's lastMessage is
// the last of them; chat.sync from 0 gives the same. Returns the new {ca, cb}.
async function checkAfterRestart(t, server, api, p, expected, label) {
  const last = expected[expected.length - 1];
  for (const u of [p.a, p.b]) {
    const stored = await history(api, p.chat, u.token);
    assertContiguous(stored, 1, last.seq, `${label}: REST history of ${u.user.nickname}`);
    assert.deepEqual(stored, expected, `${label}: REST history is not exactly the acked messages`);
    const s = await summary(api, p.chat, u.token);
    assert.equal(s.endedAt, null, `${label}: the chat ended: ${rt.short(s)}`);
    assert.deepEqual(s.lastMessage, last, `${label}: CHAT_SUMMARY.lastMessage is not seq ${last.seq}`);
  }
  const ca = await rt.online(t, server, p.a, { name: `A ${label}` });
  const cb = await rt.online(t, server, p.b, { name: `B ${label}` });
  for (const [c, partner] of [[ca, p.b], [cb, p.a]]) {
    assert.ok(c.ready.chat, `[${c.name}] ready.chat is null: the chat was not loaded back`);
    rt.assertActiveChat(c.ready.chat, { partner });
    assert.equal(c.ready.chat.id, p.chat, `[${c.name}] ready.chat is another chat`);
    assert.equal(c.ready.chat.lastSeq, last.seq, `[${c.name}] ready.chat.lastSeq`);
  }
  const hist = await cb.request({ type: 'chat.sync', chatId: p.chat, afterSeq: 0 }, { timeoutMs: 10000 });
  assert.equal(hist.type, 'chat.history', rt.short(hist));
  assert.deepEqual(hist.messages, expected, `${label}: chat.sync afterSeq 0`);
  return { ca, cb };
}

// A retry of an acked clientMsgId answers the same msg.ack, and no msg.new goes out for it.
async function assertRetry(c, chat, ack, what) {
  const retry = await c.request({ type: 'msg.send', chatId: chat, clientMsgId: ack.clientMsgId,
    text: ack.message.text }, { timeoutMs: 10000 });
  assert.equal(retry.type, 'msg.ack', `${what}: retry of ${ack.clientMsgId}: ${rt.short(retry)}`);
  assert.equal(retry.clientMsgId, ack.clientMsgId);
  assert.deepEqual(retry.message, ack.message, `${what}: the retry's ack is not the original message`);
}

// ---------------------------------------------------------------------------------------------
// the tests

test('acked messages survive SIGKILL: history, summary, lastSeq, retries and the next seq/id after a restart', T, async (t) => {
  const dataDir = path.join(h.tempDir(t, 'convo-e2e-rt-crash-'), 'data');
  const first = await start(t, dataDir);
  const api = new k.Api(first);
  const p = await rt.pair(t, first, api, { category: 'backend' });

  const r = await burst(p, ['A', 'B'], 30);
  assertContiguous(r.acked, 1, 60, 'acks');
  await sigkill(first); // right after the last ack: no clean shutdown, no fold in between (≈1 s)
  t.diagnostic(`burst of 60 acked in ${r.ms} ms; log files after the kill: ${msglogFiles(dataDir)}`);

  const second = await start(t, dataDir, api);
  api.server = second;
  t.diagnostic(`restart: ${replayLog(second)}`);
  const { ca, cb } = await checkAfterRestart(t, second, api, p, r.acked, 'after SIGKILL');

  // Retries of acked clientMsgIds from both sides (first, middle, last of each sender).
  for (const [c, tag] of [[ca, 'A'], [cb, 'B']]) {
    for (const i of [0, 15, 29]) {
      const s = r.sent.find((x) => x.tag === tag && x.i === i);
      await assertRetry(c, p.chat, r.byId.get(s.clientMsgId), 'after SIGKILL');
    }
  }
  await ca.expectNone('msg.new', 300, 'a retry produced a msg.new');
  await cb.expectNone('msg.new', 0, 'a retry produced a msg.new');

  const next = await rt.sendMsg(ca, p.chat, 'the first message after the crash');
  assert.equal(next.message.seq, 61, `seq after the restart: ${rt.short(next.message)}`);
  assert.ok(BigInt(next.message.id) > maxId(r.acked),
    `the new message's id ${next.message.id} is not above every earlier id (max ${maxId(r.acked)}): an id was reused`);
  assert.deepEqual((await cb.next('msg.new')).message, next.message);
  assert.deepEqual(await history(api, p.chat, p.b.token), [...r.acked, next.message],
    'the history after the new message');
});

test('SIGKILL a second time right after the restart: every acked message of both rounds, no gap, no duplicate', T, async (t) => {
  const dataDir = path.join(h.tempDir(t, 'convo-e2e-rt-crash2-'), 'data');
  const first = await start(t, dataDir);
  const api = new k.Api(first);
  const p = await rt.pair(t, first, api, { category: 'devops' });

  // Round 1: 40 messages, then SIGKILL.
  const r1 = await burst(p, ['A1', 'B1'], 20);
  assertContiguous(r1.acked, 1, 40, 'round 1 acks');
  await sigkill(first);
  t.diagnostic(`round 1: 40 acked in ${r1.ms} ms; log files after the kill: ${msglogFiles(dataDir)}`);

  // Restart; reconnect; round 2 at once: 40 new messages plus retries of round-1 messages (their
  // rows were just replayed), then SIGKILL again well within the 4 s fold delay.
  const second = await start(t, dataDir, api);
  const restartedAt = Date.now();
  api.server = second;
  t.diagnostic(`restart 1: ${replayLog(second)}`);
  const ca = await rt.online(t, second, p.a, { name: 'A round 2' });
  const cb = await rt.online(t, second, p.b, { name: 'B round 2' });
  for (const c of [ca, cb]) {
    assert.ok(c.ready.chat && c.ready.chat.id === p.chat, `[${c.name}] ready.chat: ${rt.short(c.ready.chat)}`);
    assert.equal(c.ready.chat.lastSeq, 40, `[${c.name}] ready.chat.lastSeq after restart 1`);
  }
  const retried = [
    r1.sent.find((x) => x.tag === 'A1' && x.i === 0),
    r1.sent.find((x) => x.tag === 'B1' && x.i === 19),
    r1.sent.find((x) => x.tag === 'A1' && x.i === 7),
  ];
  const extra = retried.map((s) => ({ c: s.tag === 'A1' ? ca : cb, clientMsgId: s.clientMsgId, text: s.text }));
  const p2 = { ...p, ca, cb };
  const r2 = await burst(p2, ['A2', 'B2'], 20, { extra });
  await sigkill(second);
  const sinceRestart = Date.now() - restartedAt;
  t.diagnostic(`round 2: 40 acked in ${r2.ms} ms, SIGKILL ${sinceRestart} ms after restart 1 was listening; ` +
    `log files after the kill: ${msglogFiles(dataDir)}` +
    `${r2.ms > 900 ? ' (round 2 took long: its records may have been folded before the kill)' : ''}`);
  r2.retries.forEach((ack, j) => {
    assert.deepEqual(ack.message, r1.byId.get(retried[j].clientMsgId).message,
      `retry of round-1 ${retried[j].clientMsgId} after restart 1 is not the original message`);
  });
  assertContiguous(r2.acked, 41, 80, 'round 2 acks (the retries must not take a seq)');
  assert.ok(BigInt(r2.acked[0].id) > maxId(r1.acked),
    `round 2's first id ${r2.acked[0].id} is not above round 1's ids (max ${maxId(r1.acked)})`);

  const third = await start(t, dataDir, api);
  api.server = third;
  t.diagnostic(`restart 2: ${replayLog(third)}`);
  const all = [...r1.acked, ...r2.acked];
  const { ca: ca3, cb: cb3 } = await checkAfterRestart(t, third, api, p, all, 'after the second SIGKILL');
  const ackOf = (r, tag, i) => r.byId.get(r.sent.find((x) => x.tag === tag && x.i === i).clientMsgId);
  await assertRetry(ca3, p.chat, ackOf(r2, 'A2', 19), 'after the second SIGKILL (a round-2 message)');
  await assertRetry(cb3, p.chat, ackOf(r1, 'B1', 3), 'after the second SIGKILL (a round-1 message)');
  const next = await rt.sendMsg(cb3, p.chat, 'still here after two crashes');
  assert.equal(next.message.seq, 81, `seq after the second restart: ${rt.short(next.message)}`);
  assert.ok(BigInt(next.message.id) > maxId(all),
    `the new message's id ${next.message.id} is not above every earlier id (max ${maxId(all)})`);
  assert.deepEqual((await ca3.next('msg.new')).message, next.message);
  await ca3.expectNone('msg.new', 300, 'a retry produced a msg.new');
});

// Runs a second server on dataDir (bounded). It must exit by itself; if it starts listening it is
// SIGKILLed at once and reported.
function runSecondServer(dataDir) {
  return new Promise((resolve, reject) => {
    const env = { ...h.baseEnv(), CONVO_LISTEN: `${h.HOST}:0`, CONVO_DATA_DIR: dataDir, CONVO_LOG: 'debug' };
    const proc = spawn(h.BIN, [], { env, cwd: path.dirname(dataDir), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let listening = false;
    let timedOut = false;
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      stdout += d;
      if (!listening && /^listening on /m.test(stdout)) {
        listening = true;
        proc.kill('SIGKILL');
      }
    });
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; proc.kill('SIGKILL'); }, SECOND_RUN_TIMEOUT_MS);
    proc.on('error', (err) => { clearTimeout(timer); reject(err); });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, listening, timedOut });
    });
  });
}

test('a second server on the same data dir is refused; the first keeps working and loses nothing', T, async (t) => {
  const dataDir = path.join(h.tempDir(t, 'convo-e2e-rt-crash3-'), 'data');
  const first = await start(t, dataDir);
  const api = new k.Api(first);
  const p = await rt.pair(t, first, api, { category: 'qa' });
  // Acked messages, most likely still only in the first server's log when the second one starts.
  const r = await burst(p, ['A', 'B'], 10);
  assertContiguous(r.acked, 1, 20, 'acks');

  const second = await runSecondServer(dataDir);
  const out = second.stderr.slice(-3000);
  assert.equal(second.listening, false,
    `a second server started listening on the data dir in use (stdout ${JSON.stringify(second.stdout)})\n${out}`);
  assert.equal(second.timedOut, false, `the second server did not exit within ${SECOND_RUN_TIMEOUT_MS} ms\n${out}`);
  assert.equal(second.signal, null, `the second server died of ${second.signal}\n${out}`);
  assert.notEqual(second.code, 0, `the second server exited 0\n${out}`);
  assert.match(second.stderr, /database[^\n]*in use|in use[^\n]*database/i,
    `the second server's stderr does not say that the database is in use:\n${out}`);
  h.assertNoSanitizerReport(second.stderr, 'the refused second server');
  t.diagnostic(`second server: exit ${second.code}: ${second.stderr.trim().split('\n').pop()}`);
  assert.ok(fs.existsSync(path.join(dataDir, 'convo.db.lock')), 'the lock file is gone');

  // The first server is untouched: REST, history (with the unfolded messages) and a new message.
  const me = await rt.rest(api, 'GET', '/api/v1/me', p.a.token);
  assert.equal(me.status, 200, `GET /me on the first server: ${me.status} ${me.text.slice(0, 300)}`);
  assert.deepEqual(await history(api, p.chat, p.a.token), r.acked, 'history on the first server');
  const next = await rt.sendMsg(p.ca, p.chat, 'after the refused second server');
  assert.equal(next.message.seq, 21);
  assert.deepEqual((await p.cb.next('msg.new')).message, next.message);

  // Nothing of the first server's log was taken by the refused one: all 21 survive a SIGKILL.
  await sigkill(first);
  const again = await start(t, dataDir, api);
  api.server = again;
  assert.deepEqual(await history(api, p.chat, p.b.token), [...r.acked, next.message],
    'history after SIGKILL of the first server and a restart');
});

// The rows in the messages table as another process sees them: the sqlite3 CLI opens the database
// and closes it again, as a backup script or an operator would.
function countFromOutside(dataDir) {
  const r = spawnSync('sqlite3', [path.join(dataDir, 'convo.db'), 'SELECT COUNT(*) FROM messages'],
    { encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, `sqlite3: ${r.stderr}`);
  return Number(r.stdout.trim());
}

// Polls until the table holds n rows (the folder has run), opening and closing the database from
// another process each time.
async function waitFolded(dataDir, n) {
  const deadline = Date.now() + 15000;
  let seen = -1;
  while (Date.now() < deadline) {
    seen = countFromOutside(dataDir);
    if (seen === n) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`the messages table holds ${seen} rows, not ${n}, 15 s on (no fold?)`);
}

// Regression (review of the message log): the folder once fsynced the database through a
// descriptor of its own; closing it dropped SQLite's POSIX locks on the file, and the next process
// to open and close the database (the sqlite3 CLI here) deleted the live WAL: what was committed
// after that went to an unlinked file, and a crash lost it.
test('another process opening and closing the database after a fold takes nothing from the server', T, async (t) => {
  const dataDir = path.join(h.tempDir(t, 'convo-e2e-rt-crash4-'), 'data');
  const first = await start(t, dataDir);
  const api = new k.Api(first);
  const p = await rt.pair(t, first, api, { category: 'devops' });
  const r1 = await burst(p, ['A', 'B'], 10);
  await waitFolded(dataDir, 20); // folded, and the database opened and closed from outside
  assert.ok(fs.existsSync(path.join(dataDir, 'convo.db-wal')),
    'the WAL of the running server was deleted by another process closing the database');
  const r2 = await burst(p, ['C', 'D'], 10);
  await waitFolded(dataDir, 40); // the second fold, committed while the outside opens went on
  await sigkill(first);
  const again = await start(t, dataDir, api);
  api.server = again;
  const all = [...r1.acked, ...r2.acked];
  assertContiguous(all, 1, 40, 'acks of both rounds');
  assert.deepEqual(await history(api, p.chat, p.a.token), all, 'history after SIGKILL and a restart');
});
