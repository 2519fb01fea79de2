'use strict';
// A transcript opened straight from its URL (a fresh page on #/history/ID, signed in) shows the
// partner's nickname and the date, not the generic title: the summary is looked up in /chats.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const k = require('./kit');

test('#/history/ID loaded directly shows the partner and the date', { timeout: 90000 }, async (t) => {
  const { a, b, alice, bob } = await k.twoPeople(t);
  await k.matchInBackend(a, b, alice, bob);
  await a.getByTestId('composer').fill('기록에 남을 인사');
  await a.keyboard.press('Enter');
  await b.locator('.msg.theirs .bubble', { hasText: '기록에 남을 인사' }).waitFor();
  const id = await a.evaluate(async () => (await import('/js/app.js')).S.chat.id);
  await a.getByRole('button', { name: '나가기' }).click();
  await a.getByRole('dialog').getByRole('button', { name: '나가기' }).click();
  await a.locator('[data-banner="ended"][data-reason="left"]').waitFor();

  // a new tab of A opens the transcript's URL directly
  const a2 = await k.watch(await a.context().newPage(), 'A2');
  await a2.goto(`/#/history/${encodeURIComponent(id)}`);
  await a2.getByRole('heading', { name: `${bob.nickname}님과의 대화` }).waitFor();
  await a2.locator('[data-testid="transcript"] .bubble', { hasText: '기록에 남을 인사' }).waitFor();
  const startedAt = await a2.evaluate(async (chatId) => {
    const api = await import('/js/api.js');
    return (await api.get('/chats?limit=20')).chats.find((c) => c.id === chatId).startedAt;
  }, id);
  const date = await a2.evaluate((iso) => new Date(iso).toLocaleString('ko-KR', { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' }), startedAt);
  await a2.locator('.transcript-page p.muted', { hasText: date }).waitFor();
  assert.equal(await a2.getByRole('heading', { name: '대화 내용' }).count(), 0);
  await k.shot(a2, 'transcript-direct');

  // an id not among the person's chats keeps the generic title (and the not-found text)
  for (const status of [400, 404]) a2.allowHttp.push({ path: '/api/v1/chats/no-such-chat/messages', status });
  await a2.goto('/#/history/no-such-chat');
  await a2.reload();
  await a2.locator('.transcript-page [role="status"]').filter({ hasNotText: '불러오는 중' }).filter({ hasText: /./ }).waitFor();
  await a2.waitForTimeout(500);
  assert.equal(await a2.getByRole('heading', { level: 1 }).textContent(), '대화 내용');
  k.assertClean(a);
  k.assertClean(a2);
  k.assertClean(b);
});
