'use strict';
// Two people in two browser contexts: sign up, B's home counts A waiting in 백엔드, a reload
// while waiting comes back to the queue, get matched, chat both ways with typing and read marks;
// bubble times and history dates per language; a message that looks like HTML stays text; one
// reloads mid-chat and is back in the same chat with nothing lost (an unacked message survives
// the reload in the outbox); a network drop during which both sides write, caught up by
// chat.sync and the outbox without a reload; a fresh load of / lands in the chat; banners for
// "reconnecting…", "partner reconnecting" and "partner left"; history with the transcript.
// Screenshots of each screen go to tests/browser/artifacts/.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const k = require('./kit');

const XSS = '<img src=x onerror=alert(1)>';

test('two people match in 백엔드, chat, reload, reconnect with messages both ways while offline, leave, and read the history', { timeout: 150000 }, async (t) => {
  const { server, browser, a, b, alice, bob } = await k.twoPeople(t);

  // B's WebSocket goes through a switchable relay (kit.wsRelay): sends can be held back (an
  // unacked send) and new connections refused (a network drop); it keeps the frames each way.
  const relay = await k.wsRelay(b);

  // landing
  await a.goto('/');
  await a.waitForURL(/#\/login$/);
  await a.getByRole('heading', { name: '로그인' }).waitFor();
  assert.equal(await a.getByText('Google로 계속하기').count(), 0, 'Google is not configured: no button');
  await k.shot(a, 'landing-desktop');

  await k.signup(a, alice);
  await k.signup(b, bob);
  await k.shot(a, 'home-desktop');
  // 12 categories, each with its waiting count; nobody waits in 백엔드 yet
  assert.equal(await a.locator('.cat').count(), 12);
  const counts = await a.locator('.cat .cat-count').allTextContents();
  assert.equal(counts.filter((x) => /^\d+명 대기$/.test(x)).length, 12, `counts: ${counts}`);
  const bobsBackend = b.locator('[data-cat="backend"] .cat-count');
  assert.equal(await bobsBackend.textContent(), '0명 대기');

  // A waits in 백엔드
  await a.getByRole('button', { name: /백엔드/ }).click();
  await a.waitForURL(/#\/wait$/);
  await a.getByRole('heading', { name: '대화 상대를 찾고 있어요' }).waitFor();
  await a.getByRole('checkbox', { name: /다른 직무/ }).waitFor();
  await a.getByRole('button', { name: '취소' }).waitFor();
  await a.waitForFunction(() => /^0:0[1-9]$/.test(document.querySelector('.elapsed').textContent));
  await k.shot(a, 'waiting-desktop');
  // the counts are live: B's home shows A waiting in 백엔드 (and only there)
  await bobsBackend.filter({ hasText: /^1명 대기$/ }).waitFor();
  assert.equal(await b.locator('[data-cat="frontend"] .cat-count').textContent(), '0명 대기');

  // a reload while waiting lands back on the waiting screen, with the elapsed time kept
  const elapsedSecs = async () => (await a.locator('.elapsed').textContent()).split(':').reduce((m, x) => m * 60 + Number(x), 0);
  await a.waitForFunction(() => {
    const [m, sec] = document.querySelector('.elapsed').textContent.split(':').map(Number);
    return m * 60 + sec >= 3;
  });
  const secsBefore = await elapsedSecs();
  await a.reload();
  await a.getByRole('heading', { name: '대화 상대를 찾고 있어요' }).waitFor();
  assert.match(a.url(), /#\/wait$/);
  const secs = await elapsedSecs();
  assert.ok(secs >= secsBefore, `the elapsed time went on from ${secsBefore} s before the reload (shows ${secs} s)`);
  await a.getByText('백엔드 카테고리').waitFor();

  // B picks 백엔드 too: both land in the chat, each seeing the other
  await b.getByRole('button', { name: /백엔드/ }).click();
  await a.waitForURL(/#\/chat$/);
  await b.waitForURL(/#\/chat$/);
  await a.getByTestId('partner-name').filter({ hasText: bob.nickname }).waitFor();
  await b.getByTestId('partner-name').filter({ hasText: alice.nickname }).waitFor();
  assert.match(await a.getByTestId('partner-meta').textContent(), /백엔드/, 'partner job shown');
  const ice = (await a.getByTestId('icebreaker').textContent()).trim();
  assert.ok(ice.length > 5, `icebreaker: ${ice}`);
  assert.equal((await b.getByTestId('icebreaker').textContent()).trim(), ice, 'both see the same icebreaker');

  // typing indicator
  await a.getByTestId('composer').pressSequentially('안녕', { delay: 20 });
  await b.getByTestId('typing').filter({ hasText: `${alice.nickname}님이 입력 중…` }).waitFor();
  await a.getByTestId('composer').pressSequentially('하세요!');
  await a.keyboard.press('Enter');
  await b.getByTestId('typing').waitFor({ state: 'hidden' });

  // A → B, read mark back on A (B's chat is on screen)
  await b.locator('.msg.theirs .bubble', { hasText: '안녕하세요!' }).waitFor();
  await a.locator('.msg.mine', { hasText: '안녕하세요!' }).locator('[data-status="read"]').waitFor();
  assert.equal(await a.locator('.msg.mine [data-status="read"]').first().textContent(), '읽음');

  // B → A, with a new line (Shift+Enter)
  await b.getByTestId('composer').fill('반가워요.');
  await b.getByTestId('composer').press('Shift+Enter');
  await b.getByTestId('composer').pressSequentially('백엔드 몇 년 차세요?');
  await b.getByTestId('composer').press('Enter');
  await a.locator('.msg.theirs .bubble', { hasText: '몇 년 차' }).waitFor();
  assert.equal(await a.locator('.msg.theirs .bubble').last().textContent(), '반가워요.\n백엔드 몇 년 차세요?');
  await b.locator('.msg.mine [data-status="read"]').first().waitFor();

  // HTML-looking text is text: no element made from it, no dialog
  await a.getByTestId('composer').fill(XSS);
  await a.keyboard.press('Enter');
  const xssBubble = b.locator('.msg.theirs .bubble', { hasText: 'onerror' });
  await xssBubble.waitFor();
  assert.equal(await xssBubble.textContent(), XSS);
  assert.equal(await b.locator('.messages img').count(), 0, 'no <img> made from message text');
  assert.equal(await a.locator('.messages img').count(), 0);
  await a.getByTestId('composer').fill('3년 차예요. 요즘 Go로 API 서버 만들고 있어요.');
  await a.keyboard.press('Enter');
  await b.locator('.msg.theirs .bubble', { hasText: 'Go로 API' }).waitFor();
  await a.locator('.msg.mine', { hasText: 'Go로 API' }).locator('[data-status="read"]').waitFor();
  await k.shot(a, 'chat-desktop');

  // times follow the language: a bubble's time is toLocaleTimeString for ko-KR, then for en-US
  const timeEl = a.locator('.msg.mine', { hasText: 'Go로 API' }).locator('time');
  const sentAt = await timeEl.getAttribute('datetime');
  const timeIn = (loc) => a.evaluate(([iso, l]) => new Date(iso).toLocaleTimeString(l, { hour: 'numeric', minute: '2-digit' }), [sentAt, loc]);
  const timeKo = await timeEl.textContent();
  assert.equal(timeKo, await timeIn('ko-KR'));
  assert.match(timeKo, /^(오전|오후) \d{1,2}:\d{2}$/);
  await a.getByTestId('lang-toggle').click();
  await a.getByRole('button', { name: 'Send' }).waitFor();
  const timeEn = await timeEl.textContent();
  assert.equal(timeEn, await timeIn('en-US'));
  assert.match(timeEn, /^\d{1,2}:\d{2}\s[AP]M$/);
  assert.notEqual(timeEn, timeKo);
  await a.getByTestId('lang-toggle').click();
  await a.getByRole('button', { name: '보내기' }).waitFor();

  // an unacked message: B's send never reaches the server, shows as pending, and is kept
  // in the outbox across a reload, then delivered once (no duplicate)
  relay.dropSends = true;
  await b.getByTestId('composer').fill('오프라인에서 보낸 메시지');
  await b.keyboard.press('Enter');
  await b.locator('.msg.mine.pending', { hasText: '오프라인에서 보낸 메시지' }).locator('[data-status="pending"]').waitFor();
  assert.equal(await b.locator('.msg.mine.pending [data-status="pending"]').textContent(), '보내는 중');
  const outbox = await b.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('convo.outbox.'))
    .map((key) => JSON.parse(localStorage.getItem(key))).flat());
  assert.deepEqual(outbox.map((m) => m.text), ['오프라인에서 보낸 메시지'], 'the unacked message is in the outbox');
  relay.dropSends = false;
  const before = await b.locator('.msg:not(.pending)').count();
  await b.reload();
  await b.waitForURL(/#\/chat$/);
  await b.getByTestId('partner-name').filter({ hasText: alice.nickname }).waitFor();
  await a.locator('.msg.theirs .bubble', { hasText: '오프라인에서 보낸 메시지' }).waitFor();
  await b.locator('.msg.mine:not(.pending)', { hasText: '오프라인에서 보낸 메시지' }).waitFor();
  await b.waitForFunction((n) => document.querySelectorAll('.msg:not(.pending)').length === n, before + 1);
  // nothing lost, nothing doubled, same order on both sides
  const textsA = await a.locator('.messages .bubble').allTextContents();
  const textsB = await b.locator('.messages .bubble').allTextContents();
  assert.deepEqual(textsB, textsA, 'after the reload B has exactly the messages A has');
  assert.equal(textsA.filter((x) => x === '오프라인에서 보낸 메시지').length, 1, 'delivered once');
  assert.equal(textsA.length, 5);
  assert.equal(await b.locator('.msg.pending').count(), 0);

  // B's network drops: B sees "reconnecting…", A sees "partner reconnecting". While B is away
  // A sends two messages and B types one (pending, in the outbox). When B is back — no reload —
  // chat.sync {afterSeq: the last seq B had} brings A's two exactly once and in order, B's own
  // message is sent and turns from pending to sent, and A gets it exactly once.
  await b.evaluate(() => { window.__samePage = true; });
  const lastSeqB = await b.evaluate(async () => (await import('/js/app.js')).S.chat.lastSeq);
  assert.ok(lastSeqB >= 5, `B has seen seq ${lastSeqB}`);
  relay.refuse = true;
  for (const ws of relay.sockets) ws.close({ code: 1006, reason: 'test: drop' });
  await b.locator('[data-banner="reconnecting"]').filter({ hasText: '다시 연결하는 중…' }).waitFor();
  await a.locator('[data-banner="partner-away"]').filter({ hasText: '상대가 다시 연결하는 중이에요…' }).waitFor();
  await k.shot(a, 'chat-partner-away');
  await k.shot(b, 'chat-reconnecting');
  const missed = ['끊긴 동안 보낸 첫 번째', '끊긴 동안 보낸 두 번째'];
  for (const text of missed) {
    await a.getByTestId('composer').fill(text);
    await a.keyboard.press('Enter');
    await a.locator('.msg.mine:not(.pending)', { hasText: text }).locator('[data-status="sent"]').waitFor();
  }
  const offlineB = 'B가 끊긴 동안 쓴 메시지';
  await b.getByTestId('composer').fill(offlineB);
  await b.keyboard.press('Enter');
  await b.locator('.msg.mine.pending', { hasText: offlineB }).locator('[data-status="pending"]').waitFor();
  assert.equal(await b.locator('.msg.theirs .bubble', { hasText: '끊긴 동안' }).count(), 0, 'B is really offline');
  const downBefore = relay.down.length;
  relay.refuse = false;
  await b.locator('[data-banner="reconnecting"]').waitFor({ state: 'detached' });
  await a.locator('[data-banner="partner-away"]').waitFor({ state: 'detached' });
  await b.locator('.msg.mine:not(.pending)', { hasText: offlineB }).locator('[data-status="sent"], [data-status="read"]').waitFor();
  await a.locator('.msg.theirs .bubble', { hasText: offlineB }).waitFor();
  await b.locator('.msg.theirs .bubble', { hasText: missed[1] }).waitFor();
  assert.equal(await b.evaluate(() => window.__samePage), true, 'no reload on B');
  assert.equal(await b.locator('.msg.pending').count(), 0);
  // how B caught up: chat.sync from the last seq it had, answered with exactly the missed two
  const syncs = relay.up.filter((f) => f && f.type === 'chat.sync');
  assert.equal(syncs[syncs.length - 1].afterSeq, lastSeqB, 'chat.sync asks from the last seq B saw');
  const history = relay.down.slice(downBefore).filter((f) => f && f.type === 'chat.history');
  assert.deepEqual(history.flatMap((f) => f.messages.map((m) => m.text)), missed, 'the sync brought what B missed');
  await a.waitForTimeout(500); // time for a duplicate to show up, if there were one
  const textsA2 = await a.locator('.messages .bubble').allTextContents();
  const textsB2 = await b.locator('.messages .bubble').allTextContents();
  assert.deepEqual(textsA2, [...textsA, ...missed, offlineB], 'A has everything once, in order');
  assert.deepEqual(textsB2, textsA2, 'B has exactly what A has, in the same order');

  // a fresh load of / while in a chat lands in the chat, with its messages
  await a.goto('/');
  await a.waitForURL(/#\/chat$/);
  await a.getByTestId('partner-name').filter({ hasText: bob.nickname }).waitFor();
  await a.locator('.msg.theirs .bubble', { hasText: offlineB }).waitFor();
  assert.deepEqual(await a.locator('.messages .bubble').allTextContents(), textsA2);
  await a.locator('[data-banner="partner-away"]').waitFor({ state: 'detached' });
  await b.locator('[data-banner="partner-away"]').waitFor({ state: 'detached' });

  // and messages still flow both ways
  await b.getByTestId('composer').fill('다시 연결됐어요');
  await b.keyboard.press('Enter');
  await a.locator('.msg.theirs .bubble', { hasText: '다시 연결됐어요' }).waitFor();

  // A leaves: A's own banner, B's "partner left" banner; the composer is off
  await a.getByRole('button', { name: '나가기' }).click();
  await a.getByRole('dialog').getByRole('button', { name: '나가기' }).click();
  await a.locator('[data-banner="ended"][data-reason="left"]').filter({ hasText: '대화를 나갔어요.' }).waitFor();
  await b.locator('[data-banner="ended"][data-reason="partner_left"]').filter({ hasText: '상대가 대화를 나갔어요.' }).waitFor();
  assert.equal(await b.getByTestId('composer').isDisabled(), true, 'no sending into an ended chat');
  await k.shot(b, 'chat-partner-left');

  // history: the chat with its whole transcript, the HTML-looking line as text
  await a.getByRole('link', { name: '기록' }).click();
  await a.waitForURL(/#\/history$/);
  const item = a.getByTestId('history').getByRole('link', { name: new RegExp(bob.nickname) });
  await item.waitFor();
  assert.equal(await a.getByTestId('history').getByRole('link').count(), 1);
  await k.shot(a, 'history-desktop');
  // the date follows the language too (toLocaleString for ko-KR, then en-US)
  const dateEl = a.getByTestId('history').locator('time');
  const startedAt = await dateEl.getAttribute('datetime');
  const dateIn = (loc) => a.evaluate(([iso, l]) => new Date(iso).toLocaleString(l, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' }), [startedAt, loc]);
  const dateKo = await dateEl.textContent();
  assert.equal(dateKo, await dateIn('ko-KR'));
  assert.match(dateKo, /^\d{4}년 \d{1,2}월 \d{1,2}일 (오전|오후) \d{1,2}:\d{2}$/);
  await a.getByTestId('lang-toggle').click();
  await a.getByRole('heading', { name: 'Past chats' }).waitFor();
  await dateEl.waitFor();
  const dateEn = await dateEl.textContent();
  assert.equal(dateEn, await dateIn('en-US'));
  assert.match(dateEn, /^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}\s[AP]M$/);
  await a.getByTestId('lang-toggle').click();
  await a.getByRole('heading', { name: '지난 대화' }).waitFor();
  await item.click();
  await a.waitForURL(/#\/history\/.+/);
  await a.getByRole('heading', { name: `${bob.nickname}님과의 대화` }).waitFor();
  await a.locator('[data-testid="transcript"] .bubble').nth(textsA2.length).waitFor();
  const transcript = await a.locator('[data-testid="transcript"] .bubble').allTextContents();
  assert.deepEqual(transcript, [...textsA2, '다시 연결됐어요']);
  assert.equal(await a.locator('[data-testid="transcript"] img').count(), 0);
  await k.shot(a, 'transcript-desktop');

  // "다음 사람 찾기" from the ended chat puts B back in the queue
  await b.getByRole('button', { name: '다음 사람 찾기' }).click();
  await b.waitForURL(/#\/wait$/);
  await b.getByRole('button', { name: '취소' }).click();
  await b.waitForURL(/#\/home$/);

  k.assertClean(a);
  k.assertClean(b);
});

test('a message still unsent when the chat ends stays in the ended chat marked "전송 실패", leaves the outbox, is announced and never delivered', { timeout: 90000 }, async (t) => {
  const { server, browser, a, b, alice, bob } = await k.twoPeople(t);

  // A's WebSocket goes through a relay that can refuse connections (a network drop), as B's
  // does in the test above; it keeps A's frames to the server.
  const relay = await k.wsRelay(a);
  await k.matchInBackend(a, b, alice, bob);

  // A goes offline and writes: pending, in the outbox
  relay.refuse = true;
  for (const ws of relay.sockets) ws.close({ code: 1006, reason: 'test: drop' });
  await a.locator('[data-banner="reconnecting"]').waitFor();
  const text = '끊긴 동안 쓴, 보내지 못할 메시지';
  await a.getByTestId('composer').fill(text);
  await a.keyboard.press('Enter');
  await a.locator('.msg.mine.pending', { hasText: text }).locator('[data-status="pending"]').waitFor();
  const outboxTexts = () => a.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('convo.outbox.'))
    .map((key) => JSON.parse(localStorage.getItem(key))).flat().map((m) => m.text));
  assert.deepEqual(await outboxTexts(), [text]);

  // B leaves; A comes back: the chat is over, and A's message is marked not sent
  await b.getByRole('button', { name: '나가기' }).click();
  await b.getByRole('dialog').getByRole('button', { name: '나가기' }).click();
  await b.locator('[data-banner="ended"][data-reason="left"]').waitFor();
  relay.refuse = false;
  await a.locator('[data-banner="ended"]').waitFor();
  const failed = a.locator('.msg.mine.failed', { hasText: text });
  await failed.locator('[data-status="failed"]').waitFor();
  assert.equal(await failed.locator('[data-status="failed"]').textContent(), '전송 실패');
  assert.equal(await failed.locator('.bubble').textContent(), text);
  assert.equal(await a.locator('.msg.pending').count(), 0, 'no longer shown as sending');
  assert.deepEqual(await outboxTexts(), [], 'the outbox no longer holds it');
  await a.locator('#announcer').filter({ hasText: '메시지 1개를 보내지 못했어요.' }).waitFor();
  // the other language has the text too
  await a.getByTestId('lang-toggle').click();
  await failed.locator('[data-status="failed"]').filter({ hasText: 'Not sent' }).waitFor();
  await a.getByTestId('lang-toggle').click();
  await k.shot(a, 'chat-ended-not-sent');

  // never delivered: not sent by A after the reconnect, never shown to B
  await a.waitForTimeout(4500); // longer than the outbox flusher's period
  assert.equal(relay.up.filter((f) => f.type === 'msg.send' && f.text === text).length, 0, 'A never sent it');
  assert.equal(await b.locator('.msg .bubble', { hasText: text }).count(), 0, 'B never got it');
  k.assertClean(a);
  k.assertClean(b);
});
