'use strict';
// Two people in two browser contexts: sign up, B's home counts A waiting in 백엔드, get matched,
// chat both ways with typing and read marks; bubble times and history dates per language; a
// message that looks like HTML stays text; one reloads mid-chat and is
// back in the same chat with nothing lost (an unacked message survives the reload in the outbox);
// banners for "reconnecting…", "partner reconnecting" and "partner left"; history with the
// transcript. Screenshots of each screen go to tests/browser/artifacts/.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const k = require('./kit');

const XSS = '<img src=x onerror=alert(1)>';

test('two people match in 백엔드, chat, reload, reconnect, leave, and read the history', { timeout: 150000 }, async (t) => {
  const server = await k.startServer(t);
  const browser = await k.launch(t);
  const a = await k.person(t, browser, server, { name: 'A' });
  const b = await k.person(t, browser, server, { name: 'B' });
  const alice = k.newAccount('alice');
  const bob = k.newAccount('bob');

  // B's WebSocket goes through a switchable relay: frames from the page can be held back
  // (an unacked send) and new connections refused (a network drop).
  const relay = { dropSends: false, refuse: false, sockets: new Set() };
  await b.routeWebSocket(/\/ws$/, (ws) => {
    if (relay.refuse) { ws.close({ code: 1011, reason: 'test: offline' }); return; }
    const up = ws.connectToServer();
    relay.sockets.add(ws);
    ws.onMessage((m) => {
      if (relay.dropSends && typeof m === 'string' && JSON.parse(m).type === 'msg.send') return;
      up.send(m);
    });
    up.onMessage((m) => ws.send(m));
    ws.onClose(() => { relay.sockets.delete(ws); up.close(); });
    up.onClose(() => ws.close());
  });

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

  // B's network drops: B sees "reconnecting…", A sees "partner reconnecting"; both clear when B is back
  relay.refuse = true;
  for (const ws of relay.sockets) ws.close({ code: 1006, reason: 'test: drop' });
  await b.locator('[data-banner="reconnecting"]').filter({ hasText: '다시 연결하는 중…' }).waitFor();
  await a.locator('[data-banner="partner-away"]').filter({ hasText: '상대가 다시 연결하는 중이에요…' }).waitFor();
  await k.shot(a, 'chat-partner-away');
  await k.shot(b, 'chat-reconnecting');
  relay.refuse = false;
  await b.locator('[data-banner="reconnecting"]').waitFor({ state: 'detached' });
  await a.locator('[data-banner="partner-away"]').waitFor({ state: 'detached' });
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
  await a.locator('[data-testid="transcript"] .bubble').nth(5).waitFor();
  const transcript = await a.locator('[data-testid="transcript"] .bubble').allTextContents();
  assert.deepEqual(transcript, [...textsA, '다시 연결됐어요']);
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
