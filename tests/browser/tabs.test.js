'use strict';
// One person in several tabs (pages of one browser context: shared localStorage and cookies,
// each tab its own sessionStorage). Tab A1 cannot send (its msg.send frames are dropped), so its
// message stays pending in its outbox; tab A2 sends and gets an ack (with one shared outbox key
// that save erased A1's entry); A1 is closed; a new tab A3 adopts the orphaned outbox (and an
// old-style shared key left by an earlier version) and delivers it: B sees each message once.
// Log-out then removes the outbox keys of every tab.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const k = require('./kit');

// every outbox entry in localStorage, with its key
const outboxItems = (page) => page.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('convo.outbox.'))
  .flatMap((key) => JSON.parse(localStorage.getItem(key)).map((m) => ({ key, text: m.text }))));

test('an unsent message of a closed tab is adopted by the next tab of that person and delivered once', { timeout: 120000 }, async (t) => {
  const { a, b, alice, bob } = await k.twoPeople(t);

  // A1's WebSocket goes through a relay that can drop its msg.send frames (a send never acked)
  const relay = await k.wsRelay(a);
  await k.matchInBackend(a, b, alice, bob);
  const uid = await a.evaluate(async () => (await import('/js/app.js')).S.user.id);
  const chatId = await a.evaluate(async () => (await import('/js/app.js')).S.chat.id);

  // a second tab of A, in the same chat
  const ctx = a.context();
  const a2 = await k.watch(await ctx.newPage(), 'A2');
  await a2.goto('/');
  await a2.waitForURL(/#\/chat$/);
  await a2.getByTestId('partner-name').filter({ hasText: bob.nickname }).waitFor();

  // A1 writes while it cannot send: pending, in storage
  const fromA1 = 'A1 탭에서 못 보낸 메시지';
  relay.dropSends = true;
  await a.getByTestId('composer').fill(fromA1);
  await a.keyboard.press('Enter');
  await a.locator('.msg.mine.pending', { hasText: fromA1 }).locator('[data-status="pending"]').waitFor();
  assert.deepEqual((await outboxItems(a)).map((m) => m.text), [fromA1]);

  // A2 sends and gets the ack: its outbox is saved twice (with the message, then empty)
  const fromA2 = 'A2 탭에서 보낸 메시지';
  await a2.getByTestId('composer').fill(fromA2);
  await a2.keyboard.press('Enter');
  await a2.locator('.msg.mine:not(.pending)', { hasText: fromA2 }).locator('[data-status="sent"], [data-status="read"]').waitFor();
  await b.locator('.msg.theirs .bubble', { hasText: fromA2 }).waitFor();
  assert.deepEqual((await outboxItems(a2)).map((m) => m.text), [fromA1], 'A2\'s saves left A1\'s unsent message in storage');

  // A1 goes away with its message unsent; an old-style shared key (an earlier version) holds one more
  k.assertClean(a);
  await a.close();
  const fromOldKey = '예전 버전이 남긴 메시지';
  await a2.evaluate(([id, item]) => localStorage.setItem(`convo.outbox.${id}`, JSON.stringify([item])),
    [uid, { clientMsgId: `old${k.rand()}`, chatId, text: fromOldKey, at: new Date().toISOString(), sentAt: 0 }]);

  // a new tab A3 adopts both and delivers them
  const a3 = await k.watch(await ctx.newPage(), 'A3');
  await a3.goto('/');
  await a3.waitForURL(/#\/chat$/);
  for (const text of [fromA1, fromOldKey]) {
    await b.locator('.msg.theirs .bubble', { hasText: text }).waitFor();
    await a3.locator('.msg.mine:not(.pending)', { hasText: text }).locator('[data-status="sent"], [data-status="read"]').waitFor();
  }
  await a3.waitForFunction(() => document.querySelectorAll('.msg.pending').length === 0);
  await b.waitForTimeout(500); // a second copy would come right behind the first
  const onB = await b.locator('.messages .bubble').allTextContents();
  for (const text of [fromA1, fromA2, fromOldKey]) assert.equal(onB.filter((x) => x === text).length, 1, `B has "${text}" once`);
  // the adopted keys are gone (A1's, the old shared one) and an empty outbox leaves no key
  const tabIds = await Promise.all([a2, a3].map((p) => p.evaluate(() => sessionStorage.getItem('convo.tab'))));
  assert.ok(tabIds[0] && tabIds[1] && tabIds[0] !== tabIds[1], `each tab has its own id: ${tabIds}`);
  assert.deepEqual(await a3.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('convo.outbox.'))), []);
  k.assertClean(a2);
  k.assertClean(a3);
  k.assertClean(b);

  // log-out removes the outbox of every tab of this person
  await a3.evaluate(([id, item]) => localStorage.setItem(`convo.outbox.${id}.othertab`, JSON.stringify([item])),
    [uid, { clientMsgId: `x${k.rand()}`, chatId, text: '다른 탭의 메시지', at: new Date().toISOString(), sentAt: 0 }]);
  await a3.evaluate(() => { location.hash = '#/settings'; });
  await a3.getByTestId('logout').click();
  await a3.waitForURL(/#\/login$/);
  assert.deepEqual(await a3.evaluate((id) => Object.keys(localStorage).filter((key) => key.startsWith(`convo.outbox.${id}`)), uid), [],
    'no outbox key of this person is left after log-out');
  k.assertClean(a3);
});
