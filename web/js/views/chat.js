// views/chat.js — the chat: partner, icebreaker, bubbles with time and read marks, typing,
// leave / next / report / block, and the banners (partner left, partner reconnecting, reconnecting…).
import { h, modal, confirmBox, toast, errorText, select, nextId } from '../ui.js';
import { t, getLang, catName, careerName, fmtTime, endedText } from '../i18n.js';

export function partnerLine(p) {
  return [p.job ? catName(p.job) : '', p.career ? careerName(p.career) : ''].filter(Boolean).join(' · ');
}

export function bubble(m, { mine, status, partnerName }) {
  const meta = h('span', { class: 'meta' }, h('time', { datetime: m.sentAt || '' }, m.sentAt ? fmtTime(m.sentAt) : ''));
  if (mine && status) meta.append(h('span', { class: `status status-${status}`, 'data-status': status }, t(`chat.${status}`)));
  return h('li', { class: `msg ${mine ? 'mine' : 'theirs'}`, 'data-seq': m.seq || null },
    h('span', { class: 'sr-only' }, `${mine ? t('chat.me') : partnerName}: `),
    h('p', { class: 'bubble', dir: 'auto' }, m.text),
    meta);
}

export function chatView(ctx) {
  const { S, actions } = ctx;
  let c = S.chat;
  const me = S.user.id;

  const presence = h('span', { class: 'presence-dot', 'aria-hidden': 'true' });
  const head = h('header', { class: 'chat-head' },
    h('div', { class: 'avatar', 'aria-hidden': 'true' }),
    h('div', { class: 'who' },
      h('h1', { class: 'partner-name', 'data-testid': 'partner-name' }),
      h('p', { class: 'partner-meta muted', 'data-testid': 'partner-meta' })),
    presence);
  const actionsBar = h('div', { class: 'chat-actions', role: 'toolbar', 'aria-label': t('chat.actions') },
    h('button', { type: 'button', class: 'btn small primary', 'data-action': 'next', onclick: () => actions.next() }, t('chat.next')),
    h('button', { type: 'button', class: 'btn small outline', 'data-action': 'leave', onclick: onLeave }, t('chat.leave')),
    h('button', { type: 'button', class: 'btn small ghost', 'data-action': 'report', onclick: onReport }, t('chat.report')),
    h('button', { type: 'button', class: 'btn small ghost', 'data-action': 'block', onclick: onBlock }, t('chat.block')));

  const banners = h('div', { class: 'banners', role: 'status' });
  const ice = h('aside', { class: 'icebreaker', 'aria-label': t('chat.icebreaker') },
    h('p', { class: 'ice-label' }, t('chat.icebreaker')), h('p', { class: 'ice-text', 'data-testid': 'icebreaker' }));
  const list = h('ol', { class: 'messages', 'aria-label': t('chat.messages'), 'data-testid': 'messages' });
  const typing = h('p', { class: 'typing', hidden: true, 'data-testid': 'typing' });
  const scroller = h('div', { class: 'scroller', tabindex: '0', 'aria-label': t('chat.messages') }, ice, list, typing);

  const inputId = nextId('composer');
  const input = h('textarea', { id: inputId, rows: 1, maxlength: 2000, placeholder: t('chat.placeholder'), 'data-autofocus': true, 'data-testid': 'composer', autocomplete: 'off' });
  const sendBtn = h('button', { type: 'submit', class: 'btn primary send' }, t('chat.send'));
  input.setAttribute('aria-describedby', `${inputId}-hint`);
  const composer = h('form', { class: 'composer' },
    h('label', { for: inputId, class: 'sr-only' }, t('chat.input')),
    h('span', { id: `${inputId}-hint`, class: 'sr-only' }, t('chat.enterHint')), input, sendBtn);

  // typing: on while typing, off after 3 s of quiet or on send
  let typingOn = false;
  let typingTimer = null;
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingOn) { typingOn = false; actions.typing(false); }
  }
  input.addEventListener('input', () => {
    autosize();
    if (!input.value.trim()) { stopTyping(); return; }
    if (!typingOn) { typingOn = true; actions.typing(true); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  composer.addEventListener('submit', (e) => {
    e.preventDefault();
    if (actions.send(input.value)) {
      input.value = '';
      autosize();
      stopTyping();
      stick = true;
    }
    input.focus();
  });
  function autosize() {
    input.rows = Math.min(5, Math.max(1, input.value.split('\n').length));
  }
  ctx.onCleanup(stopTyping);

  async function onLeave() {
    if (await confirmBox(t('chat.confirmLeave'), { submitLabel: t('chat.leave'), danger: true })) actions.leave();
  }
  async function onBlock() {
    if (!(await confirmBox(t('chat.confirmBlock'), { submitLabel: t('chat.block'), danger: true }))) return;
    try { await actions.block(); } catch (err) { toast(errorText(err), 'error'); }
  }
  async function onReport() {
    const reasonId = nextId('reason');
    const detailId = nextId('detail');
    const reasons = ['spam', 'abuse', 'sexual', 'scam', 'other'].map((r) => [r, t(`report.${r}`)]);
    const sel = select(reasons, 'spam');
    sel.id = reasonId;
    sel.name = 'reason';
    const body = h('div', { class: 'stack' },
      h('div', { class: 'field' }, h('label', { for: reasonId }, t('report.reason')), sel),
      h('div', { class: 'field' }, h('label', { for: detailId }, t('report.detail')), h('textarea', { id: detailId, name: 'detail', rows: 3, maxlength: 1000 })));
    const data = await modal(t('report.title'), body, { submitLabel: t('report.submit'), danger: true });
    if (!data) return;
    try { await actions.report(String(data.get('reason')), String(data.get('detail') || '').trim()); } catch (err) { toast(errorText(err), 'error'); }
  }

  // --- painting ---
  const cache = new Map();
  let stick = true;
  scroller.addEventListener('scroll', () => {
    stick = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  });

  function paintHead() {
    c = S.chat;
    if (!c) return;
    head.querySelector('.avatar').textContent = (c.partner.nickname || '?').slice(0, 1);
    head.querySelector('.partner-name').textContent = c.partner.nickname;
    head.querySelector('.partner-meta').textContent = partnerLine(c.partner);
    presence.classList.toggle('off', !c.partnerOnline || !!c.ended);
    const ib = c.icebreaker || {};
    ice.querySelector('.ice-text').textContent = ib[getLang()] || ib.ko || '';
  }

  function paintList() {
    c = S.chat;
    if (!c) return;
    const seen = new Set();
    const nodes = [];
    for (const m of c.msgs) {
      const mine = m.senderId === me;
      const status = mine ? (m.seq <= c.partnerReadSeq ? 'read' : 'sent') : '';
      const key = `m${m.id}:${status}`;
      let li = cache.get(key);
      if (!li) { li = bubble(m, { mine, status, partnerName: c.partner.nickname }); cache.set(key, li); }
      seen.add(key);
      nodes.push(li);
    }
    for (const o of S.outbox) {
      if (o.chatId !== c.id) continue;
      const key = `p${o.clientMsgId}`;
      let li = cache.get(key);
      if (!li) { li = bubble({ text: o.text, sentAt: o.at }, { mine: true, status: 'pending' }); li.classList.add('pending'); cache.set(key, li); }
      seen.add(key);
      nodes.push(li);
    }
    for (const o of c.failed) {
      const key = `f${o.clientMsgId}`;
      let li = cache.get(key);
      if (!li) { li = bubble({ text: o.text, sentAt: o.at }, { mine: true, status: 'failed' }); li.classList.add('failed'); cache.set(key, li); }
      seen.add(key);
      nodes.push(li);
    }
    for (const k of cache.keys()) if (!seen.has(k)) cache.delete(k);
    list.replaceChildren(...nodes);
    if (stick) scroller.scrollTop = scroller.scrollHeight;
    actions.markRead();
  }

  function paintTyping() {
    c = S.chat;
    const on = !!(c && c.typing && !c.ended);
    typing.hidden = !on;
    typing.textContent = on ? t('chat.typing', { name: c.partner.nickname }) : '';
    if (on && stick) scroller.scrollTop = scroller.scrollHeight;
  }

  function paintState() {
    c = S.chat;
    if (!c) return;
    const items = [];
    if (c.ended) {
      items.push(h('div', { class: 'banner ended', 'data-banner': 'ended', 'data-reason': c.ended },
        h('p', null, endedText(c.ended)),
        h('div', { class: 'row' },
          h('button', { type: 'button', class: 'btn primary small', onclick: () => actions.next() }, t('chat.findNext')),
          h('button', { type: 'button', class: 'btn outline small', onclick: () => actions.closeChat() }, t('chat.goHome')))));
    } else if (S.conn !== 'ready') {
      items.push(h('div', { class: 'banner warn', 'data-banner': 'reconnecting' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('chat.reconnecting')));
    } else if (!c.partnerOnline) {
      items.push(h('div', { class: 'banner warn', 'data-banner': 'partner-away' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('chat.partnerAway')));
    }
    const was = banners.dataset.sig || '';
    const sig = items.map((x) => x.dataset.banner).join(',');
    if (sig !== was || c.ended) { banners.replaceChildren(...items); banners.dataset.sig = sig; }
    const over = !!c.ended;
    actionsBar.hidden = over;
    input.disabled = over;
    sendBtn.disabled = over;
    composer.classList.toggle('disabled', over);
    presence.classList.toggle('off', !c.partnerOnline || over);
    if (over && document.activeElement === input) {
      const b = banners.querySelector('button');
      if (b) b.focus();
    }
  }

  ctx.on('messages', paintList);
  ctx.on('read', paintList);
  ctx.on('typing', paintTyping);
  ctx.on('presence', paintState);
  ctx.on('conn', paintState);
  ctx.on('chat', () => {
    if (S.chat && S.chat !== c) cache.clear();
    paintHead(); paintState(); paintList(); paintTyping();
  });

  const root = h('div', { class: 'chat' }, head, actionsBar, banners, scroller, composer);
  paintHead();
  paintState();
  paintList();
  paintTyping();
  return root;
}
