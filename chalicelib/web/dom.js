// Small DOM helpers.  Text from the API only ever reaches the page through textContent or
// attribute setters (never innerHTML), so nothing the API returns can become markup.

import { t } from './i18n.js';

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

/** A new element: el('button', {type: 'button', class: 'x', dataset: {id}}, 'text', child). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Plain text (from the API or already formatted); the node is no longer re-translated. */
export function setText(target, text) {
  const node = typeof target === 'string' ? $(target) : target;
  delete node.dataset.i18n;
  delete node.dataset.i18nParams;
  node.textContent = text ?? '';
  return node;
}

/** A catalogue string that follows the language picker (re-translated when it changes). */
export function say(target, key, params = {}) {
  const node = typeof target === 'string' ? $(target) : target;
  node.dataset.i18n = key;
  if (Object.keys(params).length) node.dataset.i18nParams = JSON.stringify(params);
  else delete node.dataset.i18nParams;
  node.textContent = t(key, params);
  return node;
}

/** Forget messages the API wrote in the previous language (errors next to fields and in
 *  alert boxes); catalogue messages (say) stay and are re-translated. */
export function clearApiMessages() {
  $$('[aria-invalid]').forEach((input) => {
    const holder = document.getElementById(errorIdFor(input));
    if (!holder || !holder.dataset.i18n) setFieldError(input, null);
  });
  $$('.alert.error').forEach((box) => {
    if (box.id === 'signin-error' && !$('#signin-reactivate').hidden) return;
    box.hidden = true;
  });
}

export function show(target, visible = true) {
  const node = typeof target === 'string' ? $(target) : target;
  node.hidden = !visible;
  return node;
}

/** Lines of text as text nodes separated by <br> (addresses). */
export function setLines(target, lines) {
  const node = typeof target === 'string' ? $(target) : target;
  node.replaceChildren();
  lines.filter(Boolean).forEach((line, index) => {
    if (index) node.append(el('br'));
    node.append(document.createTextNode(line));
  });
}

/** Screen-reader announcement of something that happened elsewhere on the page. */
export function announce(text) {
  const region = $('#announcer');
  region.textContent = '';
  window.setTimeout(() => {
    region.textContent = text;
  }, 50);
}

// --- forms ------------------------------------------------------------------------------------
function errorIdFor(input) {
  return `${input.id}-error`;
}

/** A message under a field: text from the API, or {key, params} from the catalogue. */
export function setFieldError(input, message) {
  const id = errorIdFor(input);
  let holder = document.getElementById(id);
  const described = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
  if (!message) {
    input.removeAttribute('aria-invalid');
    if (holder) holder.remove();
    const rest = described.filter((item) => item !== id);
    if (rest.length) input.setAttribute('aria-describedby', rest.join(' '));
    else input.removeAttribute('aria-describedby');
    return;
  }
  if (!holder) {
    holder = el('p', { id, class: 'field-error' });
    const field = input.closest('.field') || input.parentElement;
    field.append(holder);
  }
  if (typeof message === 'object') say(holder, message.key, message.params || {});
  else setText(holder, message);
  input.setAttribute('aria-invalid', 'true');
  if (!described.includes(id)) input.setAttribute('aria-describedby', [...described, id].join(' '));
}

export function clearErrors(form, alertBox) {
  form.querySelectorAll('[aria-invalid]').forEach((input) => setFieldError(input, null));
  if (alertBox) {
    alertBox.hidden = true;
    alertBox.replaceChildren();
  }
}

/** Required fields that are empty get a message; the first one is focused. True when valid. */
export function checkRequired(form) {
  let first = null;
  form.querySelectorAll('[required]').forEach((input) => {
    if (input.closest('[hidden]')) return;
    const empty = !String(input.value || '').trim();
    if (empty) {
      setFieldError(input, { key: 'error.required' });
      first = first || input;
    } else if (input.type === 'email' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(input.value.trim())) {
      setFieldError(input, { key: 'error.email' });
      first = first || input;
    }
  });
  if (first) first.focus();
  return !first;
}

/**
 * Show an API error: its message in the form's alert box and its field messages next to the
 * fields (matched by name).  Returns true when some field got a message.
 */
export function showError(form, alertBox, error) {
  const message = error && error.message ? error.message : t('error.generic');
  let focused = false;
  if (error && error.fields) {
    for (const [name, text] of Object.entries(error.fields)) {
      const input = form && form.querySelector(`[name="${CSS.escape(name)}"]`);
      if (input && !input.closest('[hidden]')) {
        setFieldError(input, text);
        if (!focused) {
          input.focus();
          focused = true;
        }
      }
    }
  }
  if (alertBox) {
    alertBox.replaceChildren(el('p', {}, message));
    alertBox.hidden = false;
    if (!focused && alertBox.closest('dialog') === null) alertBox.scrollIntoView({ block: 'nearest' });
  }
  return focused;
}

/** Disable a form's buttons while ``work`` runs; the form is aria-busy meanwhile. */
export async function busy(form, work) {
  const buttons = form.querySelectorAll('button');
  const states = Array.from(buttons, (button) => button.disabled);
  const focused = form.contains(document.activeElement) ? document.activeElement : null;
  buttons.forEach((button) => {
    button.disabled = true;
  });
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    buttons.forEach((button, index) => {
      button.disabled = states[index];
    });
    form.removeAttribute('aria-busy');
    if (focused && focused.isConnected && !focused.disabled && document.activeElement === document.body) {
      focused.focus();
    }
  }
}

export function formValues(form) {
  const values = {};
  for (const [name, value] of new FormData(form).entries()) values[name] = String(value).trim();
  return values;
}

// --- page-level messages -------------------------------------------------------------------------
/** A catalogue message at the top of the page (kind: info, success, warning, error). */
export function flash(key, kind = 'info', params = {}) {
  const box = $('#flash');
  box.className = `alert ${kind}`;
  box.replaceChildren(say(el('p'), key, params));
  box.hidden = false;
}

export function clearFlash() {
  const box = $('#flash');
  box.hidden = true;
  box.replaceChildren();
}

/** What the last action said (the page message, the forms' status lines) goes at the next
 *  action or view, so that "You have been signed out." never sits above a later error. */
export function clearStatusMessages() {
  clearFlash();
  $$('.form-status').forEach((node) => setText(node, ''));
}
