'use strict';
// What the chat's "나가기" / "다음 사람" and the waiting screen's "취소" do while the WebSocket is
// down ("다시 연결하는 중…"): the last of them is kept (one slot) and carried out once the socket
// is back and authenticated, with a toast saying so; a cancelled wait is never re-queued.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const k = require('./kit');

test('offline "나가기" then "다음 사람": a toast, and once back the last one is done (leave the chat, then the queue)', { timeout: 90000 }, async (t) => {
  const { a, b, alice, bob } = await k.twoPeople(t);
  const relay = await k.wsRelay(a);
  await k.matchInBackend(a, b, alice, bob);

  relay.refuse = true;
  for (const ws of relay.sockets) ws.close({ code: 1006, reason: 'test: drop' });
  await a.locator('[data-banner="reconnecting"]').waitFor();
  const sent = relay.up.length;

  await a.getByRole('button', { name: '나가기' }).click();
  await a.getByRole('dialog').getByRole('button', { name: '나가기' }).click();
  await a.locator('.toast', { hasText: '연결되면 바로 처리할게요.' }).first().waitFor();
  await a.getByRole('button', { name: '다음 사람' }).click();
  assert.equal(await a.locator('.toast', { hasText: '연결되면 바로 처리할게요.' }).count() >= 1, true);
  assert.match(a.url(), /#\/chat$/, 'nothing is done while offline');
  await k.shot(a, 'chat-offline-queued');

  relay.refuse = false;
  // the last action wins: "다음 사람" — the chat is left and A is back in the 백엔드 queue
  await b.locator('[data-banner="ended"][data-reason="partner_left"]').waitFor();
  await a.waitForURL(/#\/wait$/);
  await a.getByText('백엔드 카테고리').waitFor();
  const after = relay.up.slice(sent).map((f) => f.type).filter((x) => x !== 'ping');
  assert.deepEqual(after.filter((x) => x === 'chat.leave'), ['chat.leave'], `one chat.leave (frames: ${after})`);
  assert.ok(after.indexOf('auth') < after.indexOf('chat.leave'), 'sent after re-auth');
  assert.ok(after.indexOf('chat.leave') < after.indexOf('match.start'), 'then the queue');

  // the other language has the toast text too
  await a.getByTestId('lang-toggle').click();
  const en = await a.evaluate(async () => (await import('/js/i18n.js')).t('conn.queued'));
  assert.equal(en, 'Done as soon as we reconnect.');
  await a.getByTestId('lang-toggle').click();
  k.assertClean(a);
  k.assertClean(b);
});

test('offline "취소" on the waiting screen: home at once, match.cancel once back, and never re-queued', { timeout: 90000 }, async (t) => {
  const { a, b, alice, bob } = await k.twoPeople(t);
  const relay = await k.wsRelay(a);
  await k.signup(a, alice);
  await k.signup(b, bob);
  await a.getByRole('button', { name: /백엔드/ }).click();
  await a.waitForURL(/#\/wait$/);
  await b.locator('[data-cat="backend"] .cat-count').filter({ hasText: /^1명 대기$/ }).waitFor();

  relay.refuse = true;
  for (const ws of relay.sockets) ws.close({ code: 1006, reason: 'test: drop' });
  await a.waitForFunction(async () => (await import('/js/app.js')).S.conn !== 'ready');
  const sent = relay.up.length;
  await a.getByRole('button', { name: '취소' }).click();
  await a.waitForURL(/#\/home$/);

  relay.refuse = false;
  await a.waitForFunction(async () => (await import('/js/app.js')).S.conn === 'ready');
  await b.locator('[data-cat="backend"] .cat-count').filter({ hasText: /^0명 대기$/ }).waitFor();
  const after = relay.up.slice(sent).map((f) => f.type);
  assert.ok(after.includes('match.cancel'), `match.cancel sent once back (frames: ${after})`);
  assert.ok(!after.includes('match.start'), 'not re-queued');
  // B now waits in 백엔드 and is not matched with A, who stays home
  await b.getByRole('button', { name: /백엔드/ }).click();
  await b.waitForURL(/#\/wait$/);
  await a.waitForTimeout(1500);
  assert.match(a.url(), /#\/home$/);
  assert.match(b.url(), /#\/wait$/);
  k.assertClean(a);
  k.assertClean(b);
});
