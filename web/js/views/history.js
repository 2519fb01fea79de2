// views/history.js — past chats, newest first, and one chat's transcript.
import * as api from '../api.js';
import { h, errorText } from '../ui.js';
import { t, catName, fmtDate } from '../i18n.js';
import { bubble, partnerLine } from './chat.js';

const known = new Map(); // chat id → CHAT_SUMMARY, for the transcript's header

// A transcript opened straight from its URL has no summary from the list: look for it in the
// person's chats, newest first, a few pages at most. Null if not found (or on an error).
const FIND_PAGES = 4;
async function findSummary(id) {
  if (known.has(id)) return known.get(id);
  let next = null;
  try {
    for (let i = 0; i < FIND_PAGES; i++) {
      const j = await api.get(`/chats?limit=50${next ? `&before=${encodeURIComponent(next)}` : ''}`);
      for (const c of j.chats) known.set(c.id, c);
      if (known.has(id) || !j.next) break;
      next = j.next;
    }
  } catch { /* the generic title stays */ }
  return known.get(id) || null;
}

export function historyView(ctx) {
  const list = h('ul', { class: 'history-list', 'data-testid': 'history' });
  const status = h('p', { class: 'muted', role: 'status' }, t('loading'));
  const more = h('button', { type: 'button', class: 'btn outline', hidden: true }, t('common.more'));
  let next = null;

  async function load() {
    more.disabled = true;
    try {
      const q = next ? `?limit=20&before=${encodeURIComponent(next)}` : '?limit=20';
      const j = await api.get(`/chats${q}`);
      for (const c of j.chats) {
        known.set(c.id, c);
        const last = c.lastMessage ? c.lastMessage.text : t('history.noMessages');
        list.append(h('li', null, h('a', { href: `#/history/${encodeURIComponent(c.id)}`, class: 'history-item' },
          h('span', { class: 'avatar small', 'aria-hidden': 'true' }, (c.partner.nickname || '?').slice(0, 1)),
          h('span', { class: 'hi-main' },
            h('span', { class: 'hi-name' }, c.partner.nickname || t('history.deleted'),
              h('span', { class: 'tag' }, catName(c.category)),
              c.endedAt ? null : h('span', { class: 'tag live' }, t('history.active'))),
            h('span', { class: 'hi-last muted' }, last)),
          h('time', { class: 'hi-date muted', datetime: c.startedAt }, fmtDate(c.startedAt)))));
      }
      next = j.next;
      more.hidden = !next;
      status.textContent = list.children.length ? '' : t('history.empty');
    } catch (err) {
      status.textContent = errorText(err);
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', load);
  load();
  return h('div', { class: 'page history' }, h('h1', null, t('history.title')), status, list, more);
}

export function historyItemView(ctx) {
  const { S, route } = ctx;
  const id = route.id;
  const title = h('h1', null, t('history.transcript'));
  const meta = h('p', { class: 'muted' });
  let summary = known.get(id) || null;
  function paintHead() {
    if (!summary) return;
    title.textContent = t('history.with', { name: summary.partner.nickname || t('history.deleted') });
    meta.textContent = [partnerLine(summary.partner), summary.partner.job === summary.category ? '' : catName(summary.category), fmtDate(summary.startedAt)].filter(Boolean).join(' · ');
  }
  paintHead();
  const found = summary ? null : findSummary(id).then((s) => { summary = s; paintHead(); });
  const list = h('ol', { class: 'messages transcript', 'aria-label': t('history.transcript'), 'data-testid': 'transcript' });
  const status = h('p', { class: 'muted', role: 'status' }, t('loading'));

  (async () => {
    try {
      let after = 0;
      for (;;) {
        const [j] = await Promise.all([api.get(`/chats/${encodeURIComponent(id)}/messages?afterSeq=${after}&limit=100`), found]);
        for (const m of j.messages) {
          const mine = m.senderId === S.user.id;
          list.append(bubble(m, { mine, status: '', partnerName: summary ? summary.partner.nickname : t('chat.partner') }));
          after = m.seq;
        }
        if (j.messages.length < 100) break;
      }
      status.textContent = list.children.length ? '' : t('history.noMessages');
    } catch (err) {
      status.textContent = errorText(err);
    }
  })();

  return h('div', { class: 'page transcript-page' },
    h('p', null, h('a', { href: '#/history', class: 'back' }, `← ${t('common.back')}`)),
    title, meta, status, list);
}
