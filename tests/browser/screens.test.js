'use strict';
// The screens one at a time: keyboard-only sign-up with labels and visible focus; the language
// (follows the browser, toggle, remembered, landing chips, same keys in both dictionaries);
// settings (profile, password, Google row only when configured, log out everywhere and delete
// account clear the unsent outbox, OAuth error codes); a phone-sized (360x740) chat; a nickname
// that looks like HTML, and job and career as the partner sees them; report and block.

const assert = require('node:assert/strict');
const { test, before, after } = require('node:test');
const k = require('./kit');

const T = { timeout: 90000 };
let server;
let browser;
const cleanups = []; // one server and one browser for the file, stopped after its tests
const fileScope = { after: (fn) => cleanups.push(fn) };
before(async () => {
  server = await k.startServer(fileScope);
  browser = await k.launch(fileScope);
});
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

// Presses Tab until the focused element satisfies pred (a function run in the page).
async function tabTo(page, pred, arg, max = 30) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(pred, arg)) return;
  }
  assert.fail(`[${page.name}] Tab never reached the element (${pred})`);
}

// Every form control on the page has an accessible label.
async function assertLabelled(page) {
  const bare = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
    .map((el) => el.outerHTML.slice(0, 120)));
  assert.deepEqual(bare, [], `[${page.name}] controls without a label`);
}

const outboxKeys = (page) => page.evaluate(() => Object.keys(localStorage).filter((x) => x.startsWith('convo.outbox.')));

// Puts an unsent message in the signed-in person's outbox in localStorage, as a dropped send leaves it.
async function leaveUnsent(page) {
  await page.evaluate(async () => {
    const { S } = await import('/js/app.js');
    const item = { clientMsgId: 'c0ffee', chatId: 'gone', text: '보내지 못한 메시지', at: new Date().toISOString(), sentAt: 0 };
    localStorage.setItem(`convo.outbox.${S.user.id}`, JSON.stringify([item]));
  });
  assert.equal((await outboxKeys(page)).length, 1);
}

async function focusRingVisible(page) {
  return page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
  });
}

test('keyboard only: sign up, pick a job, cancel the wait; labels everywhere, visible focus', T, async (t) => {
  const page = await k.person(t, browser, server, { name: 'kbd' });
  const sockets = [];
  page.on('websocket', (s) => sockets.push(s));
  const acct = k.newAccount('kbd');
  await page.goto('/#/signup');
  await page.getByRole('heading', { name: '회원가입' }).waitFor();
  await assertLabelled(page);
  await tabTo(page, () => document.activeElement.name === 'nickname');
  assert.ok(await focusRingVisible(page), 'the focused field shows a focus ring');
  await page.keyboard.type(acct.nickname);
  await tabTo(page, () => document.activeElement.name === 'email');
  await page.keyboard.type(acct.email);
  await tabTo(page, () => document.activeElement.name === 'password');
  await page.keyboard.type('short');
  await page.keyboard.press('Enter');
  // client-side check: the error is tied to the field and focus goes to it
  await page.locator('[name="password"][aria-invalid="true"]').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.name), 'password');
  await page.keyboard.press('Control+A');
  await page.keyboard.type(acct.password);
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/home$/);
  await page.getByRole('heading', { name: '누구와 이야기할까요?' }).waitFor();

  await tabTo(page, () => document.activeElement.dataset.cat === 'backend');
  assert.ok(await focusRingVisible(page), 'the focused category shows a focus ring');
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/wait$/);
  await page.getByRole('checkbox', { name: /다른 직무/ }).waitFor();
  await assertLabelled(page);
  // focus lands on cancel; Space on the checkbox toggles the fallback option
  assert.equal(await page.evaluate(() => document.activeElement.textContent), '취소');
  await tabTo(page, () => document.activeElement.id === 'fallback-any');
  // the option goes to the server at once (match.start again, same category, fallbackAny)
  const fallbackFrame = new Promise((resolve) => {
    sockets.forEach((s) => s.on('framesent', (f) => { if (/"fallbackAny":true/.test(f.payload)) resolve(f.payload); }));
  });
  await page.keyboard.press('Space');
  assert.match(await fallbackFrame, /"type":"match.start"/);
  assert.equal(await page.getByRole('checkbox', { name: /다른 직무/ }).isChecked(), true);
  await tabTo(page, () => document.activeElement.textContent === '취소');
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/home$/);
  k.assertClean(page);
});

test('language: Korean by default, English when the browser prefers it, the toggle is remembered', T, async (t) => {
  const en = await k.person(t, browser, server, { name: 'en-browser', locale: 'en-US' });
  await en.goto('/');
  await en.getByRole('heading', { name: 'Log in' }).waitFor();
  assert.equal(await en.evaluate(() => document.documentElement.lang), 'en');

  const page = await k.person(t, browser, server, { name: 'toggle' });
  const acct = k.newAccount('lang');
  const chips = () => page.locator('.hero-chips li').allTextContents();
  await page.goto('/');
  await page.getByRole('heading', { name: '로그인' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'ko');
  // the landing's job chips are in the page's language
  const chipsKo = await chips();
  assert.ok(chipsKo.length === 8 && chipsKo.includes('백엔드'), `ko chips: ${chipsKo}`);
  assert.deepEqual(chipsKo.filter((x) => /^[A-Za-z ·]+$/.test(x)), [], 'no English-only chip in Korean');
  await page.getByTestId('lang-toggle').click();
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  const chipsEn = await chips();
  assert.ok(chipsEn.length === 8 && chipsEn.includes('Backend'), `en chips: ${chipsEn}`);
  assert.deepEqual(chipsEn.filter((x) => /[가-힣]/.test(x)), [], 'no Hangul chip in English');
  // both dictionaries have the same keys, including every reason a chat can end
  const dicts = await page.evaluate(async () => {
    const i18n = await import('/js/i18n.js');
    return { ko: i18n.keys('ko').sort(), en: i18n.keys('en').sort() };
  });
  assert.deepEqual(dicts.en, dicts.ko, 'ko and en have the same keys');
  for (const r of ['left', 'partner_left', 'partner_disconnected', 'disconnected', 'blocked', 'reported', 'over']) {
    assert.ok(dicts.ko.includes(`ended.${r}`), `no text for a chat ended as "${r}"`);
  }
  await page.getByRole('link', { name: 'Sign up' }).first().click();
  await page.getByLabel('Nickname').fill(acct.nickname);
  await page.getByLabel('Email').fill(acct.email);
  await page.getByLabel('Password').fill(acct.password);
  await k.shot(page, 'landing-english');
  await page.getByRole('button', { name: 'Sign up and start' }).click();
  await page.getByRole('heading', { name: 'Who do you want to talk to?' }).waitFor();
  await page.getByRole('button', { name: /Backend/ }).waitFor();
  await page.locator('.cat-count').first().filter({ hasText: /waiting$/ }).waitFor();
  await k.shot(page, 'home-english');
  // remembered across a reload, and still signed in
  await page.reload();
  await page.getByRole('heading', { name: 'Who do you want to talk to?' }).waitFor();
  // the history page (empty for a fresh account) follows the toggle both ways; dates and
  // times per language are checked in chat.test.js
  await page.getByRole('link', { name: 'History' }).click();
  await page.getByText('No chats yet. Start your first one!').waitFor();
  await page.getByTestId('lang-toggle').click();
  await page.getByText('아직 대화 기록이 없어요. 첫 대화를 시작해 보세요!').waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('convo.lang')), 'ko');
  k.assertClean(en);
  k.assertClean(page);
});

test('language: the first visit saves nothing, so a later browser language is followed; a toggled choice sticks', T, async (t) => {
  const en = await k.person(t, browser, server, { name: 'en-first', locale: 'en-US' });
  await en.goto('/');
  await en.getByRole('heading', { name: 'Log in' }).waitFor();
  // the same storage, the browser now in Korean: Korean
  const stored = await en.context().storageState();
  const ko = await k.person(t, browser, server, { name: 'ko-later', locale: 'ko-KR', storageState: stored });
  await ko.goto('/');
  await ko.getByRole('heading', { name: '로그인' }).waitFor();
  assert.equal(await ko.evaluate(() => document.documentElement.lang), 'ko');
  assert.equal(await en.evaluate(() => localStorage.getItem('convo.lang')), null, 'nothing saved without the toggle');
  // one click of the toggle: English, kept across a reload and in any browser language
  await ko.getByTestId('lang-toggle').click();
  await ko.getByRole('heading', { name: 'Log in' }).waitFor();
  assert.equal(await ko.evaluate(() => localStorage.getItem('convo.lang')), 'en');
  await ko.reload();
  await ko.getByRole('heading', { name: 'Log in' }).waitFor();
  assert.equal(await ko.evaluate(() => document.documentElement.lang), 'en');
  const chosen = await ko.context().storageState();
  const again = await k.person(t, browser, server, { name: 'ko-chosen', locale: 'ko-KR', storageState: chosen });
  await again.goto('/');
  await again.getByRole('heading', { name: 'Log in' }).waitFor();
  assert.equal(await again.evaluate(() => document.documentElement.lang), 'en');
  k.assertClean(en);
  k.assertClean(ko);
  k.assertClean(again);
});

test('settings: profile, password, log out everywhere, delete account; Google only when configured', T, async (t) => {
  const page = await k.person(t, browser, server, { name: 'settings' });
  const acct = k.newAccount('set');
  await k.signup(page, acct);
  await page.getByRole('link', { name: '설정' }).click();
  await page.getByRole('heading', { name: '설정', level: 1 }).waitFor();
  await assertLabelled(page);
  assert.equal(await page.getByTestId('google-row').count(), 0, 'no Google row without the provider');

  // profile
  await page.getByLabel('닉네임').fill('새닉네임');
  await page.getByLabel('직무').selectOption('frontend');
  await page.getByLabel('경력').selectOption('junior');
  await page.getByLabel('소개').fill('React 좋아해요');
  await page.getByRole('button', { name: '저장' }).click();
  await page.getByText('저장했어요').waitFor();
  const me = await page.evaluate(async () => (await import('/js/app.js')).S.user);
  assert.equal(me.nickname, '새닉네임');
  assert.equal(me.job, 'frontend');
  assert.equal(me.career, 'junior');
  // a bad nickname is shown on its field
  page.allowHttp.push({ path: '/api/v1/me', status: 422 });
  await page.getByLabel('닉네임').fill('x');
  await page.getByRole('button', { name: '저장' }).click();
  await page.locator('[name="nickname"][aria-invalid="true"]').waitFor();
  await page.getByLabel('닉네임').fill('새닉네임');

  // password: wrong current one, then right
  page.allowHttp.push({ path: '/api/v1/me/password', status: 422 });
  await page.getByLabel('현재 비밀번호').fill('wrong-password');
  await page.getByLabel('새 비밀번호').fill('New-pass-123');
  await page.getByRole('button', { name: '비밀번호 변경' }).click();
  await page.getByText('비밀번호가 맞지 않아요.').waitFor();
  await page.getByLabel('현재 비밀번호').fill(acct.password);
  await page.getByRole('button', { name: '비밀번호 변경' }).click();
  await page.getByText('비밀번호를 바꿨어요. 다른 기기에서는 로그아웃됐어요.').waitFor();
  await page.getByLabel('닉네임').fill('새닉네임');
  await page.evaluate(() => window.scrollTo(0, 0));
  await k.shot(page, 'settings-desktop');

  // log out everywhere: back to the landing, unsent text gone from storage, and a reload stays
  // signed out
  await leaveUnsent(page);
  await page.getByTestId('logout-all').click();
  await page.waitForURL(/#\/login$/);
  assert.deepEqual(await outboxKeys(page), [], 'the outbox is gone after log out everywhere');
  await page.reload();
  await page.getByRole('heading', { name: '로그인' }).waitFor();

  // log in with the new password, then delete the account
  await page.getByLabel('이메일').fill(acct.email);
  await page.getByLabel('비밀번호').fill('New-pass-123');
  await page.getByRole('button', { name: '로그인' }).last().click();
  await page.waitForURL(/#\/home$/);
  await page.getByText('새닉네임님, 반가워요').waitFor();
  await page.getByRole('link', { name: '설정' }).click();
  await page.getByLabel('비밀번호 확인').fill('New-pass-123');
  await leaveUnsent(page);
  await page.getByRole('button', { name: '계정 삭제' }).click();
  await page.getByRole('dialog').getByRole('button', { name: '계정 삭제' }).click();
  await page.waitForURL(/#\/login$/);
  assert.deepEqual(await outboxKeys(page), [], 'the outbox is gone after deleting the account');
  page.allowHttp.push({ path: '/api/v1/auth/login', status: 401 });
  await page.getByLabel('이메일').fill(acct.email);
  await page.getByLabel('비밀번호').fill('New-pass-123');
  await page.getByRole('button', { name: '로그인' }).last().click();
  await page.getByText('이메일 또는 비밀번호가 맞지 않아요.').waitFor();
  k.assertClean(page);

  // with Google configured (the providers answer stubbed): the landing button and the settings row
  const g = await k.person(t, browser, server, { name: 'google' });
  await g.route('**/api/v1/auth/providers', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: '{"providers":["google"]}' }));
  await g.goto('/');
  const btn = g.getByRole('link', { name: 'Google로 계속하기' });
  await btn.waitFor();
  assert.equal(await btn.getAttribute('href'), '/api/v1/auth/oauth/google/start?next=%2F');
  await k.signup(g, k.newAccount('goo'));
  await g.getByRole('link', { name: '설정' }).click();
  await g.getByTestId('google-row').getByRole('button', { name: 'Google 계정 연결' }).waitFor();
  // the OAuth callback's error redirect is explained
  const e = await k.person(t, browser, server, { name: 'oauth-error' });
  await e.goto('/#/login?error=ACCOUNT_EXISTS_LOCAL');
  await e.getByText('이 이메일은 비밀번호로 가입돼 있어요. 로그인한 뒤 설정에서 Google을 연결해 주세요.').waitFor();
  // an unknown code is shown as it is; anything that is not a code is not shown at all
  const e2 = await k.person(t, browser, server, { name: 'oauth-code' });
  await e2.goto('/#/login?error=SOME_NEW_CODE');
  await e2.getByText('Google 로그인에 실패했어요 (SOME_NEW_CODE).').waitFor();
  const e3 = await k.person(t, browser, server, { name: 'oauth-spoof' });
  await e3.goto(`/#/login?error=${encodeURIComponent('보안 점검: 010-0000-0000으로 전화하세요')}`);
  await e3.getByText('Google 로그인에 실패했어요 (UNKNOWN).').waitFor();
  assert.equal(await e3.getByText(/010-0000-0000/).count(), 0, 'free text from the link is not shown');
  k.assertClean(g);
  k.assertClean(e);
  k.assertClean(e2);
  k.assertClean(e3);
});

test('phone-sized (360x740): sign up, match, chat both ways, "다음 사람" back into the queue; nothing wider than the screen', T, async (t) => {
  const phone = { width: 360, height: 740 };
  const a = await k.person(t, browser, server, { name: 'phoneA', viewport: phone });
  const b = await k.person(t, browser, server, { name: 'phoneB', viewport: phone });
  const noOverflow = async (page, what) => {
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(w <= 360, `[${page.name}] ${what} is ${w}px wide at 360px`);
  };
  await a.goto('/');
  await a.getByRole('heading', { name: '로그인' }).waitFor();
  await noOverflow(a, 'landing');
  await k.shot(a, 'landing-phone');
  const alice = k.newAccount('pa');
  const bob = k.newAccount('pb');
  await k.signup(a, alice);
  await k.signup(b, bob);
  await noOverflow(a, 'home');
  await k.shot(a, 'home-phone');
  await a.getByRole('button', { name: /프론트엔드/ }).click();
  await a.waitForURL(/#\/wait$/);
  await noOverflow(a, 'waiting');
  await k.shot(a, 'waiting-phone');
  await b.getByRole('button', { name: /프론트엔드/ }).click();
  await a.waitForURL(/#\/chat$/);
  await b.waitForURL(/#\/chat$/);
  await a.getByTestId('composer').fill('폰에서 안녕하세요');
  await a.getByRole('button', { name: '보내기' }).click();
  await b.locator('.msg.theirs .bubble', { hasText: '폰에서 안녕하세요' }).waitFor();
  await b.getByTestId('composer').fill('네 반가워요! 프론트엔드 개발하세요? 저는 리액트로 사내 어드민 만들고 있어요.');
  await b.getByRole('button', { name: '보내기' }).click();
  await a.locator('.msg.theirs .bubble', { hasText: '리액트' }).waitFor();
  await a.locator('.msg.mine [data-status="read"]').waitFor();
  // the composer and the send button are on screen
  const box = await a.getByRole('button', { name: '보내기' }).boundingBox();
  assert.ok(box && box.y + box.height <= 740 && box.x + box.width <= 360, `send button off screen: ${JSON.stringify(box)}`);
  await noOverflow(a, 'chat');
  await k.shot(a, 'chat-phone');
  // "다음 사람" in a live chat: the chat ends for both, and A goes straight back into the queue
  await a.getByRole('button', { name: '다음 사람' }).click();
  await b.locator('[data-banner="ended"][data-reason="partner_left"]').waitFor();
  await a.waitForURL(/#\/wait$/);
  await a.getByText('프론트엔드 카테고리').waitFor();
  await a.getByRole('button', { name: '취소' }).click();
  await a.waitForURL(/#\/home$/);
  k.assertClean(a);
  k.assertClean(b);
});

test('a nickname that looks like HTML stays text in the chat and history; the partner sees job and career', T, async (t) => {
  const nick = '<img src=x>';
  const x = await k.person(t, browser, server, { name: 'htmlNick' });
  const y = await k.person(t, browser, server, { name: 'partner' });
  await k.signup(x, { ...k.newAccount('hn'), nickname: nick });
  await x.getByText(`${nick}님, 반가워요`).waitFor();
  await k.signup(y, k.newAccount('pt'));
  // X sets job and career in settings
  await x.getByRole('link', { name: '설정' }).click();
  await x.getByLabel('직무').selectOption('embedded');
  await x.getByLabel('경력').selectOption('senior');
  await x.getByRole('button', { name: '저장' }).click();
  await x.getByText('저장했어요').waitFor();
  await x.getByRole('link', { name: '홈' }).click();
  await x.getByRole('button', { name: /임베디드/ }).click();
  await x.waitForURL(/#\/wait$/);
  await y.getByRole('button', { name: /임베디드/ }).click();
  await y.waitForURL(/#\/chat$/);
  const name = y.getByTestId('partner-name');
  await name.filter({ hasText: 'img' }).waitFor();
  assert.equal(await name.textContent(), nick);
  assert.equal(await y.getByTestId('partner-meta').textContent(), '임베디드 · 시니어 (8년+)');
  await x.getByTestId('composer').pressSequentially('안녕', { delay: 20 });
  await y.getByTestId('typing').filter({ hasText: `${nick}님이 입력 중…` }).waitFor();
  await x.keyboard.press('Enter');
  await y.locator('.msg.theirs .bubble', { hasText: '안녕' }).waitFor();
  assert.equal(await y.locator('#main img').count(), 0, 'no <img> made from the nickname in the chat');
  await y.getByRole('button', { name: '나가기' }).click();
  await y.getByRole('dialog').getByRole('button', { name: '나가기' }).click();
  await y.locator('[data-banner="ended"][data-reason="left"]').waitFor();
  await y.getByRole('link', { name: '기록' }).click();
  const item = y.getByTestId('history').getByRole('link');
  await item.waitFor();
  assert.equal(await item.locator('.hi-name').evaluate((el) => el.firstChild.textContent), nick);
  assert.equal(await y.locator('#main img').count(), 0, 'no <img> made from the nickname in the history');
  await item.click();
  await y.getByRole('heading', { name: `${nick}님과의 대화` }).waitFor();
  await y.locator('[data-testid="transcript"] .bubble', { hasText: '안녕' }).waitFor();
  assert.equal(await y.locator('#main img').count(), 0, 'no <img> made from the nickname in the transcript');
  k.assertClean(x);
  k.assertClean(y);
});

test('report and block end the chat: the reporter and blocker see why, the partner sees "partner left"', T, async (t) => {
  const pairUp = async (tag, cat) => {
    const a = await k.person(t, browser, server, { name: `${tag}A` });
    const b = await k.person(t, browser, server, { name: `${tag}B` });
    await k.signup(a, k.newAccount(`${tag}a`));
    await k.signup(b, k.newAccount(`${tag}b`));
    await a.getByRole('button', { name: new RegExp(cat) }).click();
    await a.waitForURL(/#\/wait$/);
    await b.getByRole('button', { name: new RegExp(cat) }).click();
    await a.waitForURL(/#\/chat$/);
    await b.waitForURL(/#\/chat$/);
    return [a, b];
  };

  const [ra, rb] = await pairUp('rep', '보안');
  await ra.getByRole('button', { name: '신고' }).click();
  const dlg = ra.getByRole('dialog', { name: '신고하기' });
  await dlg.waitFor();
  await assertLabelled(ra);
  await dlg.getByLabel('사유').selectOption('spam');
  await dlg.getByLabel('자세한 내용 (선택)').fill('광고 링크만 보내요');
  await k.shot(ra, 'chat-report-dialog');
  await dlg.getByRole('button', { name: '신고하기' }).click();
  await ra.locator('[data-banner="ended"][data-reason="reported"]').waitFor();
  await rb.locator('[data-banner="ended"][data-reason="partner_left"]').waitFor();

  const [ba, bb] = await pairUp('blk', '게임');
  await ba.getByRole('button', { name: '차단' }).click();
  await ba.getByRole('dialog').getByRole('button', { name: '차단' }).click();
  await ba.locator('[data-banner="ended"][data-reason="blocked"]').filter({ hasText: '상대를 차단했어요.' }).waitFor();
  await bb.locator('[data-banner="ended"][data-reason="partner_left"]').waitFor();
  // after the partner left, "홈으로" takes the other one back home
  await bb.getByRole('button', { name: '홈으로' }).click();
  await bb.waitForURL(/#\/home$/);
  for (const p of [ra, rb, ba, bb]) k.assertClean(p);
});
