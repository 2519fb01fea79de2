// ui.js — DOM helpers. Everything is built with createElement and text nodes: no HTML strings.
import { t } from './i18n.js';

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'required', 'readOnly', 'multiple']);

export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (PROPS.has(k)) el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const kid of kids) {
    if (kid === null || kid === undefined || kid === false) continue;
    if (Array.isArray(kid)) append(el, kid);
    else el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
}

let uid = 0;
export function nextId(p = 'f') { uid += 1; return `${p}${uid}`; }

// A labelled field: label + control + hint + error slot (aria-describedby wired).
export function field({ label, name, type = 'text', value = '', hint, autocomplete, required, minlength, maxlength, control }) {
  const id = nextId(name);
  const hintId = hint ? `${id}-hint` : null;
  const errId = `${id}-err`;
  const input = control || h('input', { id, name, type, autocomplete, required, minlength, maxlength, value });
  input.id = id;
  input.name = name;
  input.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  const err = h('p', { class: 'field-error', id: errId, hidden: true });
  input.addEventListener('input', () => { if (!err.hidden) { err.hidden = true; input.removeAttribute('aria-invalid'); } });
  const wrap = h('div', { class: 'field' },
    h('label', { for: id }, label), input, hint ? h('p', { class: 'hint', id: hintId }, hint) : null, err);
  return {
    wrap, input,
    setError(msg) {
      err.textContent = msg || '';
      err.hidden = !msg;
      if (msg) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    },
  };
}

export function select(options, value) {
  const s = h('select');
  for (const [v, label] of options) s.append(h('option', { value: v, selected: v === value }, label));
  return s;
}

// Toasts (role=status) and the screen-reader announcer (aria-live).
export function toast(msg, kind = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const el = h('div', { class: `toast toast-${kind}` }, msg);
  box.append(el);
  setTimeout(() => el.remove(), 5000);
}

export function announce(msg) {
  const live = document.getElementById('announcer');
  if (!live) return;
  live.textContent = '';
  // a new text node each time, so repeated identical text is announced again
  setTimeout(() => { live.textContent = msg; }, 30);
}

// A modal dialog built on <dialog>: resolves to the submitted value or null.
export function modal(title, body, { submitLabel = t('common.confirm'), danger = false } = {}) {
  return new Promise((resolve) => {
    const titleId = nextId('dlg');
    const form = h('form', { method: 'dialog', class: 'dialog-form' },
      h('h2', { id: titleId }, title),
      body,
      h('div', { class: 'row end' },
        h('button', { type: 'button', class: 'btn ghost', value: 'cancel', onclick: () => dlg.close('cancel') }, t('common.cancel')),
        h('button', { type: 'submit', class: danger ? 'btn danger' : 'btn primary', value: 'ok' }, submitLabel)));
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': titleId }, form);
    dlg.addEventListener('close', () => {
      const ok = dlg.returnValue === 'ok';
      dlg.remove();
      resolve(ok ? new FormData(form) : null);
    });
    form.addEventListener('submit', (e) => { e.preventDefault(); dlg.close('ok'); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

export function confirmBox(text, opts) {
  return modal(text, h('p', { class: 'muted' }, ''), opts).then((r) => r !== null);
}

export function errorText(err) {
  if (err && err.code) {
    const k = `err.${err.code}`;
    const s = t(k);
    if (s !== k) return s;
  }
  return t('err.generic');
}

export function randomId() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
