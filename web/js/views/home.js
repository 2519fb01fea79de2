// views/home.js — the job categories with live counts, and the waiting screen.
import * as api from '../api.js';
import { h } from '../ui.js';
import { t, categories, catName, fmtElapsed } from '../i18n.js';

const ICONS = {
  frontend: 'FE', backend: 'BE', fullstack: 'FS', mobile: 'MO', ai_data: 'AI', devops: 'OPS',
  security: 'SEC', game: 'GM', embedded: 'EMB', qa: 'QA', pm: 'PM', design: 'UX',
};

export function homeView(ctx) {
  const { S, actions } = ctx;
  const summary = h('p', { class: 'stats-line muted', 'aria-live': 'off' });
  const grid = h('ul', { class: 'cat-grid', 'aria-label': t('home.categories') });
  const counts = new Map();

  for (const c of categories()) {
    const count = h('span', { class: 'cat-count' });
    counts.set(c.id, count);
    const btn = h('button', {
      type: 'button', class: `cat${S.user && S.user.job === c.id ? ' mine' : ''}`, 'data-cat': c.id,
      onclick: () => actions.startMatch(c.id),
    }, h('span', { class: `cat-icon c-${c.id}`, 'aria-hidden': 'true' }, ICONS[c.id] || '•'), h('span', { class: 'cat-name' }, catName(c.id)), count);
    grid.append(h('li', null, btn));
  }

  function paint() {
    const st = S.stats;
    for (const [id, el] of counts) el.textContent = t('home.waiting', { n: st && st.waiting ? (st.waiting[id] || 0) : 0 });
    summary.textContent = st ? `${t('home.online', { n: st.online || 0 })} · ${t('home.chatting', { n: st.chatting || 0 })}` : '';
  }
  async function poll() {
    try { S.stats = await api.get('/stats', { auth: false }); } catch { /* keep the last */ }
    paint();
  }
  paint();
  poll();
  const timer = setInterval(poll, 5000);
  ctx.onCleanup(() => clearInterval(timer));
  ctx.on('stats', paint);

  return h('div', { class: 'page home' },
    h('p', { class: 'hello' }, t('home.hello', { name: S.user ? S.user.nickname : '' })),
    h('h1', null, t('home.title')),
    h('p', { class: 'lead' }, t('home.lead')),
    summary,
    grid);
}

export function waitView(ctx) {
  const { S, actions } = ctx;
  const w = S.waiting;
  const elapsed = h('span', { class: 'elapsed', role: 'timer', 'aria-live': 'off' }, '0:00');
  const inQueue = h('p', { class: 'muted' });
  const fbId = 'fallback-any';
  const fb = h('input', { type: 'checkbox', id: fbId, checked: !!w.fallbackAny, onchange: (e) => actions.setFallback(e.target.checked) });
  const notifyBtn = h('button', { type: 'button', class: 'btn ghost small' });

  function paintNotify() {
    const p = 'Notification' in window ? Notification.permission : 'unsupported';
    notifyBtn.hidden = p === 'unsupported' || p === 'denied';
    notifyBtn.disabled = p === 'granted';
    notifyBtn.textContent = p === 'granted' ? t('wait.notifyOn') : t('wait.notify');
  }
  notifyBtn.addEventListener('click', () => actions.enableNotifications().then(paintNotify));
  paintNotify();

  function tick() {
    if (!S.waiting) return;
    elapsed.textContent = fmtElapsed(Date.now() - S.waiting.since);
  }
  function paint() {
    if (!S.waiting) return;
    const st = S.stats && S.stats.waiting ? S.stats.waiting[S.waiting.category] : null;
    const n = S.waiting.count ?? st;
    inQueue.textContent = n ? t('wait.inQueue', { n }) : '';
    fb.checked = !!S.waiting.fallbackAny;
  }
  tick();
  paint();
  const timer = setInterval(tick, 1000);
  ctx.onCleanup(() => clearInterval(timer));
  ctx.on('waiting', paint);
  ctx.on('stats', () => {
    if (S.waiting && S.stats && S.stats.waiting) S.waiting.count = S.stats.waiting[S.waiting.category] ?? S.waiting.count;
    paint();
  });

  return h('div', { class: 'page wait' },
    h('div', { class: 'pulse', 'aria-hidden': 'true' }, h('span'), h('span'), h('span')),
    h('h1', null, t('wait.title')),
    h('p', { class: 'lead' }, t('wait.category', { cat: catName(w.category) })),
    h('p', { class: 'elapsed-row' }, h('span', { class: 'muted' }, t('wait.elapsed')), ' ', elapsed),
    inQueue,
    h('div', { class: 'check' }, fb, h('label', { for: fbId }, t('wait.fallback'))),
    h('div', { class: 'row center' },
      h('button', { type: 'button', class: 'btn outline', 'data-autofocus': true, onclick: () => actions.cancelMatch() }, t('wait.cancel')),
      notifyBtn));
}
