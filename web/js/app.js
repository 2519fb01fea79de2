// app.js — state, the real-time chat logic, the outbox, routing and the page shell.
import * as api from './api.js';
import { RT } from './rt.js';
import { t, getLang, setLang, setCatalog, catName, endedText } from './i18n.js';
import { h, toast, announce, randomId, errorText } from './ui.js';
import { authView } from './views/auth.js';
import { homeView, waitView } from './views/home.js';

export const S = {
  user: null,
  providers: [],
  stats: null,
  conn: 'down', // connecting | ready | down
  waiting: null, // {category, since, fallbackAny, count}
  chat: null, // see newChat
  outbox: [],
  unread: 0,
  booted: false,
};

// --- tiny event bus ------------------------------------------------------------------------
const subs = new Map();
export function on(kind, fn) {
  if (!subs.has(kind)) subs.set(kind, new Set());
  subs.get(kind).add(fn);
  return () => subs.get(kind).delete(fn);
}
function emit(kind, arg) { for (const fn of subs.get(kind) || []) fn(arg); }

// --- outbox: unacked messages, kept across a reload (per user and tab; never tokens) --------
// Each tab saves only its own key, convo.outbox.<user>.<tab> (the tab's id is in sessionStorage,
// so it survives a reload of that tab): one tab's save no longer erases another tab's entries.
const TAB_KEY = 'convo.tab';
let tabId = '';
function myTab() {
  if (!tabId) {
    try { tabId = sessionStorage.getItem(TAB_KEY) || ''; } catch { /* storage blocked */ }
    if (!tabId) {
      tabId = randomId();
      try { sessionStorage.setItem(TAB_KEY, tabId); } catch { /* memory only */ }
    }
  }
  return tabId;
}
const outboxBase = () => `convo.outbox.${S.user ? S.user.id : 'anon'}`;
const outboxKey = () => `${outboxBase()}.${myTab()}`;
// every outbox key of this user: each tab's, and the one shared key of earlier versions
function outboxKeys() {
  const base = outboxBase();
  try { return Object.keys(localStorage).filter((key) => key === base || key.startsWith(`${base}.`)); } catch { return []; }
}
function readOutbox(key) {
  try { return JSON.parse(localStorage.getItem(key) || '[]').filter((m) => m && m.clientMsgId); } catch { return []; }
}
// Loading also adopts the user's other keys (else a closed tab's unsent messages are orphaned):
// their entries join this tab's outbox, which is saved, and they are removed. Safe while the
// other tab still lives: a clientMsgId sent twice is one message (the server acks the retry,
// ids de-duplicate here), and that tab saves its key again on its next change.
function loadOutbox() {
  const mine = outboxKey();
  const adopted = outboxKeys().filter((key) => key !== mine);
  S.outbox = readOutbox(mine);
  for (const m of adopted.flatMap(readOutbox)) {
    if (!S.outbox.some((x) => x.clientMsgId === m.clientMsgId)) S.outbox.push(m);
  }
  if (!saveOutbox()) return; // not stored here: leave them where they are
  for (const key of adopted) try { localStorage.removeItem(key); } catch { /* ignore */ }
}
// An empty outbox leaves no key behind. False if it could not be stored.
function saveOutbox() {
  try {
    if (S.outbox.length) localStorage.setItem(outboxKey(), JSON.stringify(S.outbox));
    else localStorage.removeItem(outboxKey());
    return true;
  } catch { return false; /* quota: memory only */ }
}
// Unsent text must not outlive the session (shared computers): gone on log-out and deletion,
// from every tab's key.
function forgetOutbox() {
  S.outbox = [];
  for (const key of outboxKeys()) try { localStorage.removeItem(key); } catch { /* ignore */ }
}
function dropOutbox(pred) {
  const before = S.outbox.length;
  S.outbox = S.outbox.filter((m) => !pred(m));
  if (S.outbox.length !== before) saveOutbox();
}

const WAIT_KEY = 'convo.wait';
function saveWait() {
  try {
    if (S.waiting) sessionStorage.setItem(WAIT_KEY, JSON.stringify({ category: S.waiting.category, since: S.waiting.since, fallbackAny: S.waiting.fallbackAny }));
    else sessionStorage.removeItem(WAIT_KEY);
  } catch { /* ignore */ }
}
function loadWait() {
  try { return JSON.parse(sessionStorage.getItem(WAIT_KEY) || 'null'); } catch { return null; }
}

// --- real time -----------------------------------------------------------------------------
function newChat(c) {
  return {
    id: c.id, category: c.category, partner: c.partner, startedAt: c.startedAt, icebreaker: c.icebreaker,
    partnerReadSeq: c.partnerReadSeq || 0, lastSeq: 0, serverLastSeq: c.lastSeq || 0,
    msgs: [], ids: new Set(), ended: null, partnerOnline: true, typing: false, readSent: 0,
    failed: [], // outbox items that can never be delivered (the chat ended first): shown as not sent
  };
}

// The chat ended with messages still unacked: the server will only answer NOT_IN_CHAT, so they
// leave the outbox and stay in the ended chat's view marked as not sent. Returns how many.
function failOutbox(c) {
  const items = S.outbox.filter((m) => m.chatId === c.id);
  for (const m of items) if (!c.failed.some((x) => x.clientMsgId === m.clientMsgId)) c.failed.push(m);
  dropOutbox((m) => m.chatId === c.id);
  return items.length;
}

function announceEnded(c, notSent) {
  const why = endedText(c.ended);
  announce(notSent ? `${why} ${t('chat.notSentCount', { n: notSent })}` : why);
}

const rt = new RT({
  onFrame: (f) => handleFrame(f),
  onState: (st) => {
    S.conn = st;
    emit('conn');
  },
  onAuthLost: (code) => signedOut(code === 'BANNED' ? 'err.BANNED' : 'err.SESSION'),
});

let readyWaiters = [];
let pendingNext = null;
// The person's last "leave" / "next" / "cancel" pressed while the socket was down (one slot: the
// last action wins), carried out by onReady once the socket is back and authenticated.
// {kind: 'leave'|'next', chatId, category} or {kind: 'cancel'}.
let intent = null;
let typingTimer = null;

function handleFrame(f) {
  const c = S.chat;
  switch (f.type) {
    case 'ready': onReady(f); break;
    case 'match.waiting':
      S.waiting = { ...(S.waiting || { since: Date.now(), fallbackAny: false }), category: f.category, count: f.waiting };
      saveWait();
      emit('waiting');
      if (route().name !== 'wait') go('wait');
      break;
    case 'match.found':
      S.waiting = null;
      saveWait();
      S.chat = newChat(f.chat);
      pendingNext = null;
      notifyAway(t('notify.match'), t('notify.matchBody', { name: f.chat.partner.nickname }));
      announce(t('chat.start', { name: f.chat.partner.nickname }));
      go('chat');
      emit('chat');
      break;
    case 'match.cancelled':
      S.waiting = null;
      saveWait();
      emit('waiting');
      if (route().name === 'wait') go('home');
      break;
    case 'msg.ack':
      dropOutbox((m) => m.clientMsgId === f.clientMsgId);
      addMessages([f.message]);
      break;
    case 'msg.new': {
      const fresh = addMessages([f.message]);
      if (fresh && c && f.message.senderId !== S.user.id) {
        c.typing = false;
        emit('typing');
        announce(t('chat.said', { name: c.partner.nickname, text: f.message.text }));
        notifyAway(t('notify.message', { name: c.partner.nickname }), f.message.text);
      }
      break;
    }
    case 'chat.history':
      addMessages(f.messages || []);
      if (f.more && c && f.chatId === c.id) sync();
      break;
    case 'typing':
      if (c && f.chatId === c.id) {
        c.typing = !!f.on;
        clearTimeout(typingTimer);
        if (c.typing) typingTimer = setTimeout(() => { c.typing = false; emit('typing'); }, 8000);
        emit('typing');
      }
      break;
    case 'msg.read':
      if (c && f.chatId === c.id && f.upToSeq > c.partnerReadSeq) {
        c.partnerReadSeq = f.upToSeq;
        emit('read');
      }
      break;
    case 'partner.presence':
      if (c && f.chatId === c.id) {
        c.partnerOnline = !!f.online;
        emit('presence');
      }
      break;
    case 'chat.ended':
      if (c && f.chatId === c.id) {
        c.ended = f.reason || 'over';
        c.typing = false;
        announceEnded(c, failOutbox(c));
        emit('chat');
        if (pendingNext) {
          const cat = pendingNext;
          pendingNext = null;
          startMatch(cat);
        }
      }
      break;
    case 'stats':
      S.stats = f;
      emit('stats');
      break;
    case 'error': onError(f); break;
    default: break;
  }
}

function onReady(f) {
  S.user = f.user;
  const wasWaiting = S.waiting;
  const want = intent;
  intent = null;
  let nextCat = null; // "next" for a chat that ended while we were away: queue again
  if (f.chat) {
    if (!S.chat || S.chat.id !== f.chat.id) S.chat = newChat(f.chat);
    const c = S.chat;
    c.ended = null;
    c.partnerOnline = true;
    c.partnerReadSeq = Math.max(c.partnerReadSeq, f.chat.partnerReadSeq || 0);
    c.serverLastSeq = f.chat.lastSeq || 0;
    sync();
    dropOutbox((m) => m.chatId !== c.id);
    flushOutbox(true);
    S.waiting = null;
    if (want && want.kind !== 'cancel' && want.chatId === c.id) {
      if (want.kind === 'next') pendingNext = want.category;
      rt.send({ type: 'chat.leave', chatId: c.id });
    } else if (want) {
      pendingNext = null; // a cancel (matched meanwhile) or another chat's action: nothing to do
    } else if (pendingNext) {
      rt.send({ type: 'chat.leave', chatId: c.id }); // a "next" whose leave was lost with the socket
    }
  } else {
    if (want && want.kind === 'next' && S.chat && want.chatId === S.chat.id) nextCat = want.category;
    else if (pendingNext && S.chat && !S.chat.ended) nextCat = pendingNext; // its chat.ended was lost
    pendingNext = null;
    if (S.chat) {
      const wasOpen = !S.chat.ended;
      if (wasOpen) {
        S.chat.ended = 'over'; // it ended while we were away
        sync();
      }
      const notSent = failOutbox(S.chat);
      if (wasOpen || notSent) announceEnded(S.chat, notSent);
    }
    dropOutbox(() => true);
    if (f.waiting && want && want.kind === 'cancel') {
      // cancelled while offline: the server still had us queued
      S.waiting = null;
      rt.send({ type: 'match.cancel' });
    } else if (f.waiting) {
      const saved = loadWait();
      const same = saved && saved.category === f.waiting.category;
      S.waiting = { category: f.waiting.category, since: same ? saved.since : Date.now(), fallbackAny: same ? !!saved.fallbackAny : false, count: S.waiting ? S.waiting.count : null };
    } else if (wasWaiting) {
      // the queue forgot us while we were offline: ask again
      S.waiting = null;
      startMatch(wasWaiting.category, wasWaiting.fallbackAny, wasWaiting.since);
    } else {
      S.waiting = null;
    }
  }
  saveWait();
  const waiters = readyWaiters;
  readyWaiters = [];
  waiters.forEach((fn) => fn());
  emit('chat');
  emit('waiting');
  emit('user');
  applyGuards();
  if (nextCat && !S.waiting) startMatch(nextCat);
}

function onError(f) {
  const ref = typeof f.ref === 'string' ? f.ref : '';
  const item = S.outbox.find((m) => m.clientMsgId === ref);
  // a send that crossed chat.ended: already shown as not sent
  if (!item && ref && S.chat && S.chat.failed.some((m) => m.clientMsgId === ref)) return;
  if (item) {
    if (f.code === 'RATE_LIMITED' || f.code === 'UNAVAILABLE') { item.sentAt = 0; return; } // retried by the flusher
    dropOutbox((m) => m === item);
    emit('messages');
    if (f.code === 'NOT_IN_CHAT' || f.code === 'NOT_FOUND') return;
  }
  if (f.code === 'IN_CHAT') { toast(t('err.IN_CHAT')); return; }
  toast(errorText(f), 'error');
}

function sync() {
  const c = S.chat;
  if (c) rt.send({ type: 'chat.sync', chatId: c.id, afterSeq: c.lastSeq });
}

function addMessages(list) {
  const c = S.chat;
  let fresh = false;
  for (const m of list) {
    if (!c || !m || m.chatId !== c.id || c.ids.has(m.id)) continue;
    c.ids.add(m.id);
    c.msgs.push(m);
    fresh = true;
    if (m.seq > c.lastSeq) c.lastSeq = m.seq;
  }
  if (fresh) {
    c.msgs.sort((a, b) => a.seq - b.seq);
    emit('messages');
  }
  return fresh;
}

function flushOutbox(force) {
  const c = S.chat;
  if (!c || c.ended || !rt.ready) return;
  const now = Date.now();
  for (const m of S.outbox) {
    if (m.chatId !== c.id) continue;
    if (!force && m.sentAt && now - m.sentAt < 8000) continue;
    if (rt.send({ type: 'msg.send', chatId: m.chatId, clientMsgId: m.clientMsgId, text: m.text, ref: m.clientMsgId })) m.sentAt = now;
  }
}
setInterval(() => flushOutbox(false), 4000);

// --- actions ---------------------------------------------------------------------------------
export const actions = {
  startMatch: (cat, fallbackAny) => startMatch(cat, fallbackAny),
  cancelMatch() {
    pendingNext = null;
    intent = null;
    if (!rt.send({ type: 'match.cancel' })) {
      intent = { kind: 'cancel' };
      S.waiting = null;
      saveWait();
      go('home');
    }
  },
  setFallback(on) {
    if (!S.waiting) return;
    S.waiting.fallbackAny = on;
    saveWait();
    rt.send({ type: 'match.start', category: S.waiting.category, fallbackAny: on });
  },
  send(text) {
    const c = S.chat;
    const body = text.trim();
    if (!c || c.ended || !body) return false;
    const item = { clientMsgId: randomId(), chatId: c.id, text: body, at: new Date().toISOString(), sentAt: 0 };
    S.outbox.push(item);
    saveOutbox();
    emit('messages');
    if (rt.send({ type: 'msg.send', chatId: c.id, clientMsgId: item.clientMsgId, text: body, ref: item.clientMsgId })) item.sentAt = Date.now();
    return true;
  },
  typing(on) {
    const c = S.chat;
    if (c && !c.ended) rt.send({ type: 'typing', chatId: c.id, on });
  },
  markRead() {
    const c = S.chat;
    if (!c || document.visibilityState !== 'visible' || route().name !== 'chat') return;
    if (c.lastSeq > c.readSent && rt.send({ type: 'msg.read', chatId: c.id, upToSeq: c.lastSeq })) c.readSent = c.lastSeq;
  },
  leave() {
    const c = S.chat;
    if (!c || c.ended) return;
    pendingNext = null;
    intent = null;
    if (!rt.send({ type: 'chat.leave', chatId: c.id })) queueIntent({ kind: 'leave', chatId: c.id });
  },
  next() {
    const c = S.chat;
    if (!c) return;
    if (c.ended) { startMatch(c.category); return; }
    intent = null;
    pendingNext = c.category;
    if (!rt.send({ type: 'chat.leave', chatId: c.id })) queueIntent({ kind: 'next', chatId: c.id, category: c.category });
  },
  async report(reason, detail) {
    const c = S.chat;
    if (!c) return;
    const body = { reason };
    if (detail) body.detail = detail;
    await api.post(`/chats/${encodeURIComponent(c.id)}/report`, body);
  },
  async block() {
    const c = S.chat;
    if (!c) return;
    await api.put(`/blocks/${encodeURIComponent(c.partner.id)}`);
  },
  closeChat() {
    if (S.chat && S.chat.ended) S.chat = null;
    go('home');
  },
  async patchMe(body) {
    S.user = await api.patch('/me', body);
    emit('user');
    await reauth(); // the socket's copy of the profile (what partners see) is read at auth
    return S.user;
  },
  async logout() {
    rt.stop();
    await api.logout().catch(() => {});
    resetState();
    go('login');
  },
  async logoutAll() {
    await api.post('/auth/logout-all');
    await actions.logout();
  },
  async deleteAccount(password) {
    await api.del('/me', password ? { password } : undefined);
    rt.stop();
    api.clearSession();
    resetState();
    go('login');
  },
  async enableNotifications() {
    if (!('Notification' in window)) return 'unsupported';
    if (Notification.permission === 'default') await Notification.requestPermission();
    registerWorker();
    emit('notify');
    return Notification.permission;
  },
  async signedIn(session) {
    S.user = session.user;
    loadOutbox();
    prefetchViews();
    registerWorker();
    await startRealtime();
  },
};

// Offline: keep the action for onReady (replacing any earlier one) and say so.
function queueIntent(i) {
  intent = i;
  pendingNext = null;
  toast(t('conn.queued'));
}

async function startMatch(category, fallbackAny, since) {
  intent = null; // a new wait replaces a queued cancel
  // the first pick is also the person's job (shown to partners); saved before joining the queue
  if (S.user && !S.user.job) await actions.patchMe({ job: category }).catch(() => {});
  const fb = fallbackAny === undefined ? !!(S.waiting && S.waiting.fallbackAny) : !!fallbackAny;
  S.waiting = { category, since: since || Date.now(), fallbackAny: fb, count: null };
  saveWait();
  if (S.chat && S.chat.ended) S.chat = null;
  rt.send({ type: 'match.start', category, fallbackAny: fb });
  emit('waiting');
  go('wait');
}

function resetState() {
  forgetOutbox();
  intent = null;
  pendingNext = null;
  S.user = null;
  S.chat = null;
  S.waiting = null;
  S.unread = 0;
  saveWait();
  updateTitle();
}

function signedOut(msgKey) {
  rt.stop();
  api.clearSession();
  resetState();
  if (msgKey) toast(t(msgKey), 'error');
  go('login');
}

// Sends auth again on the open socket and waits (up to 3 s) for its ready.
function reauth() {
  if (!rt.ready || !api.token()) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 3000);
    readyWaiters.push(() => { clearTimeout(timer); resolve(); });
    rt.send({ type: 'auth', token: api.token() });
  });
}

function startRealtime() {
  return new Promise((resolve) => {
    readyWaiters.push(resolve);
    setTimeout(resolve, 5000); // the page still renders if the socket is slow
    rt.start();
  });
}

// --- while away: title badge and notifications -----------------------------------------------
function updateTitle() {
  document.title = S.unread > 0 ? t('title.unread', { n: S.unread }) : 'CONVO';
}

// Phones show notifications only through a service worker (/sw.js: no fetch handler, no cache).
// It is registered once notifications are allowed, so nobody else pays for it.
let worker = null;
function registerWorker() {
  if (worker || !navigator.serviceWorker || !('Notification' in window) || Notification.permission !== 'granted') return;
  worker = navigator.serviceWorker.register('/sw.js').catch(() => { worker = null; return null; });
}

function notifyAway(title, body) {
  if (document.visibilityState === 'visible') return;
  S.unread += 1;
  updateTitle();
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  const opts = { body: String(body).slice(0, 140), icon: '/icons/icon-192.png', tag: 'convo', renotify: true };
  Promise.resolve(worker)
    .then((reg) => (reg && reg.active ? reg.showNotification(title, opts) : plainNotification(title, opts)))
    .catch(() => plainNotification(title, opts));
}

function plainNotification(title, opts) {
  try {
    const n = new Notification(title, opts);
    n.onclick = () => { window.focus(); n.close(); };
  } catch { /* no page notifications here (phones): the title badge still counts */ }
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') {
    S.unread = 0;
    updateTitle();
    actions.markRead();
    if (S.user && !rt.ws && rt.want) rt.connectNow();
  }
});

// --- routing ---------------------------------------------------------------------------------
export function route() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean);
  const query = new URLSearchParams(qs || '');
  const name = parts[0] || '';
  if (name === 'history' && parts[1]) return { name: 'historyItem', id: decodeURIComponent(parts[1]), query };
  if (name === 'auth' && parts[1] === 'done') return { name: 'authDone', query };
  return { name, query };
}

export function go(name) {
  const target = `#/${name}`;
  if (location.hash !== target) location.hash = target;
  else render();
}

const PUBLIC = new Set(['login', 'signup']);

// Where a signed-in person belongs: the active chat, then the queue.
function applyGuards() {
  const r = route();
  if (!S.booted) return true;
  if (!S.user) {
    if (!PUBLIC.has(r.name)) { go('login'); return false; }
    return true;
  }
  const inChat = S.chat && !S.chat.ended;
  if (inChat && ['', 'login', 'signup', 'authDone', 'home', 'wait'].includes(r.name)) { go('chat'); return false; }
  if (!inChat && S.waiting && ['', 'login', 'signup', 'authDone', 'home'].includes(r.name)) { go('wait'); return false; }
  if (['', 'login', 'signup', 'authDone'].includes(r.name)) { go('home'); return false; }
  if (r.name === 'chat' && !S.chat) { go('home'); return false; }
  if (r.name === 'wait' && !S.waiting) { go(S.chat && !S.chat.ended ? 'chat' : 'home'); return false; }
  if (!['home', 'wait', 'chat', 'history', 'historyItem', 'settings'].includes(r.name)) { go('home'); return false; }
  return true;
}

// The landing and home views come with the first load; the others are fetched when first needed
// (and, once signed in, ahead of time).
const lazy = (load) => ({ load });
const VIEWS = {
  login: (ctx) => authView(ctx, 'login'),
  signup: (ctx) => authView(ctx, 'signup'),
  home: homeView,
  wait: waitView,
  chat: lazy(() => import('./views/chat.js').then((m) => m.chatView)),
  history: lazy(() => import('./views/history.js').then((m) => m.historyView)),
  historyItem: lazy(() => import('./views/history.js').then((m) => m.historyItemView)),
  settings: lazy(() => import('./views/settings.js').then((m) => m.settingsView)),
};

function loadView(name) {
  const v = VIEWS[name];
  if (typeof v === 'function') return Promise.resolve(v);
  if (!v.promise) v.promise = v.load().then((fn) => { VIEWS[name] = fn; return fn; }, (err) => { v.promise = null; throw err; });
  return v.promise;
}

function prefetchViews() {
  for (const name of ['chat', 'history', 'historyItem', 'settings']) loadView(name).catch(() => {});
}

let cleanup = [];
let lastRouteKey = '';
const main = () => document.getElementById('main');

export function render() {
  if (!applyGuards()) return;
  for (const fn of cleanup) fn();
  cleanup = [];
  const r = route();
  const el = main();
  el.replaceChildren();
  renderShell();
  if (!S.booted) {
    el.append(h('p', { class: 'loading', role: 'status' }, t('loading')));
    return;
  }
  const name = VIEWS[r.name] ? r.name : 'home';
  const view = VIEWS[name];
  if (typeof view !== 'function') {
    el.append(h('p', { class: 'loading', role: 'status' }, t('loading')));
    loadView(name).then(() => { if (route().name === r.name) render(); }, () => toast(t('err.NETWORK'), 'error'));
    return;
  }
  const ctx = {
    S, actions, route: r, go, t,
    on: (kind, fn) => { cleanup.push(on(kind, fn)); },
    onCleanup: (fn) => cleanup.push(fn),
  };
  const node = view(ctx);
  if (node) el.append(node);
  const key = `${r.name}:${r.id || ''}`;
  if (key !== lastRouteKey) {
    lastRouteKey = key;
    const focusTarget = el.querySelector('[data-autofocus]') || el.querySelector('h1');
    if (focusTarget) {
      if (!focusTarget.hasAttribute('tabindex') && focusTarget.tagName === 'H1') focusTarget.setAttribute('tabindex', '-1');
      focusTarget.focus({ preventScroll: false });
    }
  }
}

// --- the shell: header with nav and the language toggle --------------------------------------
let brand = null; // built once: a new <img> on every render would make the browser revalidate it
function renderShell() {
  document.documentElement.lang = getLang();
  const header = document.getElementById('top');
  const r = route().name;
  const link = (name, label, current) => h('a', { href: `#/${name}`, class: 'nav-link', 'aria-current': current ? 'page' : null }, label);
  const nav = S.user && S.booted
    ? h('nav', { 'aria-label': t('nav.label'), class: 'nav' },
      S.chat && !S.chat.ended ? link('chat', t('nav.chat'), r === 'chat') : link('home', t('nav.home'), r === 'home' || r === 'wait'),
      link('history', t('nav.history'), r === 'history' || r === 'historyItem'),
      link('settings', t('nav.settings'), r === 'settings'))
    : null;
  const toggle = h('button', {
    type: 'button', class: 'btn ghost small lang-toggle', lang: getLang() === 'ko' ? 'en' : 'ko',
    'aria-label': t('lang.toggleLabel'), 'data-testid': 'lang-toggle',
    onclick: () => { setLang(getLang() === 'ko' ? 'en' : 'ko'); lastRouteKey = ''; render(); updateTitle(); },
  }, t('lang.toggle'));
  brand = brand || h('a', { class: 'brand', 'aria-label': 'CONVO' },
    h('img', { src: '/icons/icon.svg', alt: '', width: 28, height: 28 }), h('span', null, 'CONVO'));
  brand.setAttribute('href', S.user ? '#/home' : '#/login');
  header.replaceChildren(brand, nav || h('span', { class: 'spacer' }), toggle);
}

on('conn', () => emit('chat'));

window.addEventListener('hashchange', render);

// --- boot: catalog, refresh (signed in?) then straight back to the chat or the queue ---------
async function boot() {
  // the language in use (saved choice, else the browser's) is not saved here: only the toggle
  // saves, so a later change of the browser's language is still followed
  render();
  const r0 = route();
  const cats = api.get('/categories', { auth: false }).then((j) => setCatalog(j.categories)).catch(() => {});
  const prov = api.get('/auth/providers', { auth: false }).then((j) => { S.providers = j.providers || []; }).catch(() => {});
  let ok = false;
  try {
    ok = await api.refresh();
  } catch (err) {
    if (err && err.code === 'BANNED') toast(t('err.BANNED'), 'error');
    else toast(errorText(err), 'error');
  }
  await Promise.all([cats, prov]);
  if (ok && S.user) await actions.signedIn({ user: S.user });
  if (r0.name === 'login' && r0.query.get('error')) {
    // a code from our own callback, never free text from a crafted link
    const raw = r0.query.get('error');
    const code = /^[A-Z_]{1,40}$/.test(raw) ? raw : 'UNKNOWN';
    const key = `err.${code}`;
    toast(t(key) !== key ? t(key) : t('err.oauth', { code }), 'error');
  }
  S.booted = true;
  render();
}

api.onSession((s) => {
  if (s && s.user) S.user = s.user;
});

export { catName, emit };
boot();
