// views/auth.js — the landing page: sign up / log in, and Google when the server offers it.
import * as api from '../api.js';
import { h, field, errorText } from '../ui.js';
import { t, catName } from '../i18n.js';

// A few of the job categories, named in the page's language (the server's catalog, as on home).
const HERO_CHIPS = ['frontend', 'backend', 'ai_data', 'mobile', 'devops', 'security', 'game', 'design'];

export function authView(ctx, mode) {
  const { S, actions } = ctx;
  const isSignup = mode === 'signup';
  const email = field({ label: t('auth.email'), name: 'email', type: 'email', autocomplete: 'email', required: true });
  const password = field({
    label: t('auth.password'), name: 'password', type: 'password', required: true, minlength: isSignup ? 8 : null,
    autocomplete: isSignup ? 'new-password' : 'current-password', hint: isSignup ? t('auth.passwordHint') : null,
  });
  const nickname = isSignup ? field({ label: t('auth.nickname'), name: 'nickname', autocomplete: 'nickname', required: true, minlength: 2, maxlength: 20, hint: t('auth.nicknameHint') }) : null;
  const formError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn primary block' }, isSignup ? t('auth.signupSubmit') : t('auth.loginSubmit'));

  const form = h('form', { class: 'stack', novalidate: true, 'aria-labelledby': 'auth-title' },
    nickname && nickname.wrap, email.wrap, password.wrap, formError, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const f of [email, password, nickname]) if (f) f.setError('');
    formError.hidden = true;
    const vals = { email: email.input.value.trim(), password: password.input.value, nickname: nickname ? nickname.input.value.trim() : '' };
    let bad = false;
    if (!vals.email) { email.setError(t('field.REQUIRED')); bad = true; }
    if (!vals.password) { password.setError(t('field.REQUIRED')); bad = true; } else if (isSignup && vals.password.length < 8) { password.setError(t('field.TOO_SHORT')); bad = true; }
    if (nickname && vals.nickname.length < 2) { nickname.setError(vals.nickname ? t('field.TOO_SHORT') : t('field.REQUIRED')); bad = true; }
    if (bad) { form.querySelector('[aria-invalid="true"]').focus(); return; }
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    try {
      if (isSignup) await api.signup(vals.email, vals.password, vals.nickname);
      else await api.login(vals.email, vals.password);
      await actions.signedIn({ user: S.user });
      ctx.go('home');
    } catch (err) {
      const fields = { email, password, nickname };
      let shown = false;
      if (err.fields) {
        for (const [k, code] of Object.entries(err.fields)) {
          if (fields[k]) { fields[k].setError(t(`field.${code}`)); shown = true; }
        }
      }
      if (!shown) {
        formError.textContent = errorText(err);
        formError.hidden = false;
      }
      const firstBad = form.querySelector('[aria-invalid="true"]');
      if (firstBad) firstBad.focus();
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
  });

  const google = S.providers.includes('google')
    ? [h('p', { class: 'or' }, h('span', null, t('auth.or'))),
      h('a', { class: 'btn outline block google', href: '/api/v1/auth/oauth/google/start?next=%2F', 'data-testid': 'google' },
        h('img', { src: '/icons/google.svg', alt: '', width: 18, height: 18 }), t('auth.google'))]
    : null;

  const tab = (m, label) => h('a', { href: `#/${m}`, class: 'tab', 'aria-current': m === mode ? 'page' : null }, label);
  return h('div', { class: 'landing' },
    h('section', { class: 'hero' },
      h('p', { class: 'eyebrow' }, 'CONVO'),
      h('p', { class: 'hero-title' }, t('app.tagline')),
      h('p', { class: 'hero-pitch' }, t('app.pitch')),
      h('ul', { class: 'hero-chips', 'aria-hidden': 'true' },
        HERO_CHIPS.filter((id) => catName(id) !== id).map((id) => h('li', null, catName(id))))),
    h('section', { class: 'card auth-card' },
      h('nav', { class: 'tabs', 'aria-label': t('auth.tabs') }, tab('login', t('auth.login')), tab('signup', t('auth.signup'))),
      h('h1', { id: 'auth-title', class: 'card-title' }, isSignup ? t('auth.signup') : t('auth.login')),
      form,
      google,
      h('p', { class: 'switch muted' }, isSignup ? t('auth.haveAccount') : t('auth.noAccount'), ' ',
        h('a', { href: isSignup ? '#/login' : '#/signup' }, isSignup ? t('auth.login') : t('auth.signup')))));
}
