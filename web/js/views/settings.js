// views/settings.js — profile, password, linked Google, notifications, sessions, delete account.
import * as api from '../api.js';
import { h, field, select, toast, errorText, confirmBox } from '../ui.js';
import { t, categories, catName, CAREERS, careerName, getLang, setLang } from '../i18n.js';

function showFieldErrors(err, fields, fallback) {
  let shown = false;
  if (err.fields) {
    for (const [k, code] of Object.entries(err.fields)) {
      if (fields[k]) { fields[k].setError(t(`field.${code}`)); shown = true; }
    }
  }
  if (!shown) fallback(errorText(err));
}

function section(title, ...kids) {
  const id = `sec-${title.length}-${Math.random().toString(36).slice(2, 7)}`;
  return h('section', { class: 'card settings-card', 'aria-labelledby': id }, h('h2', { id }, title), ...kids);
}

export function settingsView(ctx) {
  const { S, actions } = ctx;
  const u = S.user;
  const hasPassword = (u.providers || ['password']).includes('password');

  // profile
  const nick = field({ label: t('auth.nickname'), name: 'nickname', value: u.nickname, required: true, minlength: 2, maxlength: 20, autocomplete: 'nickname' });
  const job = field({ label: t('settings.job'), name: 'job', control: select([['', t('settings.none')], ...categories().map((c) => [c.id, catName(c.id)])], u.job || '') });
  const career = field({ label: t('settings.career'), name: 'career', control: select([['', t('settings.none')], ...CAREERS.map((c) => [c, careerName(c)])], u.career || '') });
  const bio = field({ label: t('settings.bio'), name: 'bio', control: h('textarea', { rows: 3, maxlength: 300, value: u.bio || '' }) });
  const profileMsg = h('p', { class: 'form-note', role: 'status' });
  const profile = h('form', { class: 'stack', novalidate: true }, nick.wrap, job.wrap, career.wrap, bio.wrap,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn primary' }, t('common.save')), profileMsg));
  profile.addEventListener('submit', async (e) => {
    e.preventDefault();
    [nick, job, career, bio].forEach((f) => f.setError(''));
    profileMsg.textContent = '';
    try {
      await actions.patchMe({ nickname: nick.input.value.trim(), job: job.input.value || null, career: career.input.value || null, bio: bio.input.value || null });
      profileMsg.textContent = t('common.saved');
    } catch (err) {
      showFieldErrors(err, { nickname: nick, job, career, bio }, (m) => { profileMsg.textContent = m; });
    }
  });

  // password
  const cur = field({ label: t('settings.currentPassword'), name: 'currentPassword', type: 'password', autocomplete: 'current-password', required: true });
  const nw = field({ label: t('settings.newPassword'), name: 'newPassword', type: 'password', autocomplete: 'new-password', required: true, minlength: 8, hint: t('auth.passwordHint') });
  const pwMsg = h('p', { class: 'form-note', role: 'status' });
  const pwForm = h('form', { class: 'stack', novalidate: true }, cur.wrap, nw.wrap,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn primary' }, t('settings.password')), pwMsg));
  pwForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    cur.setError(''); nw.setError(''); pwMsg.textContent = '';
    if (nw.input.value.length < 8) { nw.setError(t('field.TOO_SHORT')); nw.input.focus(); return; }
    try {
      await api.post('/me/password', { currentPassword: cur.input.value, newPassword: nw.input.value });
      cur.input.value = ''; nw.input.value = '';
      pwMsg.textContent = t('settings.passwordChanged');
    } catch (err) {
      showFieldErrors(err, { currentPassword: cur, newPassword: nw }, (m) => { pwMsg.textContent = m; });
    }
  });

  // linked accounts: only when the server has Google configured
  let linked = null;
  if (S.providers.includes('google')) {
    const isLinked = (u.providers || []).includes('google');
    const btn = h('button', {
      type: 'button', class: 'btn outline small', 'data-testid': 'link-google',
      onclick: async () => {
        try { const j = await api.post('/auth/oauth/google/link'); location.assign(j.url); } catch (err) { toast(errorText(err), 'error'); }
      },
    }, t('settings.googleLink'));
    linked = section(t('settings.accounts'),
      h('div', { class: 'row between', 'data-testid': 'google-row' },
        h('span', { class: 'provider' }, h('img', { src: '/icons/google.svg', alt: '', width: 18, height: 18 }), t('settings.google')),
        isLinked ? h('span', { class: 'tag ok' }, t('settings.googleLinked')) : btn));
  }

  // notifications
  const notifyState = h('span', { class: 'muted' });
  const notifyBtn = h('button', { type: 'button', class: 'btn outline small' }, t('settings.notifyEnable'));
  function paintNotify() {
    const p = 'Notification' in window ? Notification.permission : 'denied';
    notifyBtn.hidden = p !== 'default';
    notifyState.textContent = p === 'granted' ? t('settings.notifyGranted') : p === 'denied' ? t('settings.notifyDenied') : '';
  }
  notifyBtn.addEventListener('click', () => actions.enableNotifications().then(paintNotify));
  paintNotify();

  // language
  const langSel = select([['ko', '한국어'], ['en', 'English']], getLang());
  const lang = field({ label: t('settings.language'), name: 'lang', control: langSel });
  langSel.addEventListener('change', () => { setLang(langSel.value); location.reload(); });

  // delete
  const delPw = hasPassword ? field({ label: t('settings.deletePassword'), name: 'password', type: 'password', autocomplete: 'current-password' }) : null;
  const delMsg = h('p', { class: 'form-note', role: 'status' });
  const delForm = h('form', { class: 'stack', novalidate: true },
    h('p', { class: 'muted' }, t('settings.deleteLead')), delPw && delPw.wrap,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'btn danger' }, t('settings.delete')), delMsg));
  delForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (delPw) delPw.setError('');
    if (delPw && !delPw.input.value) { delPw.setError(t('field.REQUIRED')); delPw.input.focus(); return; }
    if (!(await confirmBox(t('settings.confirmDelete'), { submitLabel: t('settings.delete'), danger: true }))) return;
    try {
      await actions.deleteAccount(delPw ? delPw.input.value : null);
    } catch (err) {
      showFieldErrors(err, { password: delPw }, (m) => { delMsg.textContent = m; });
    }
  });

  return h('div', { class: 'page settings' },
    h('h1', null, t('settings.title')),
    h('p', { class: 'muted' }, u.email),
    section(t('settings.profile'), profile),
    hasPassword ? section(t('settings.password'), pwForm) : null,
    linked,
    section(t('settings.notifications'), h('div', { class: 'row' }, notifyBtn, notifyState)),
    section(t('settings.language'), lang.wrap),
    section(t('settings.sessions'), h('div', { class: 'row' },
      h('button', { type: 'button', class: 'btn outline', 'data-testid': 'logout', onclick: () => actions.logout() }, t('settings.logout')),
      h('button', { type: 'button', class: 'btn outline', 'data-testid': 'logout-all', onclick: () => actions.logoutAll().catch((err) => toast(errorText(err), 'error')) }, t('settings.logoutAll')))),
    section(t('settings.danger'), delForm));
}
