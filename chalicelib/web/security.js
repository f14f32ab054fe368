// Account security in the console (issue 16): sign-up, "forgot password" and the reset page,
// the pages the mailed links open (email proof, "this was not me"), the banner of an
// unverified address, and under "My account" the Sessions list (under Profile) and the
// Activity log.
//
// Mailed links carry their token in the fragment ("/#/reset-password?token=..."): the browser
// never sends a fragment to a server, so tokens stay out of access logs and Referer headers.
// The page drops the token from the address bar once it has read it.

import { api, get } from './api.js';
import {
  $,
  busy,
  checkRequired,
  clearErrors,
  el,
  flash,
  formValues,
  say,
  setFieldError,
  setText,
  show,
  showError,
} from './dom.js';
import { byName, formatDateTime, language, t } from './i18n.js';
import { session } from './session.js';

const MIN_PASSWORD = 8;
const MAX_PASSWORD = 128;
let pageToken = null;

/** The public pages the hash names: [view, token] or null. */
export function securityPage(hash) {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  const views = {
    '/signup': 'signup',
    '/forgot-password': 'forgot',
    '/reset-password': 'reset',
    '/verify-email': 'verify',
    '/email-not-me': 'notme',
  };
  const view = views[path];
  if (!view) return null;
  const token = new URLSearchParams(query).get('token');
  return [view, token];
}

/** Keep the token in memory and take it out of the address bar (and the history). */
function takeToken(view, token) {
  if (token) {
    pageToken = token;
    const path = { reset: 'reset-password', verify: 'verify-email', notme: 'email-not-me' }[view];
    window.history.replaceState(null, '', `/#/${path}`);
  }
  return pageToken;
}

// --- the password policy, shown as you type ---------------------------------------------------
function passwordHint(input, hint) {
  const length = input.value.length;
  let key = 'signup.passwordPolicy';
  if (length > 0 && length < MIN_PASSWORD) key = 'signup.passwordShort';
  else if (length > MAX_PASSWORD) key = 'signup.passwordLong';
  else if (length >= MIN_PASSWORD) key = 'signup.passwordOk';
  say(hint, key, { min: MIN_PASSWORD, max: MAX_PASSWORD, left: MIN_PASSWORD - length });
}

async function fillCountries() {
  const select = $('#signup-country');
  const chosen = select.value;
  let items = [];
  try {
    items = (await get('/countries', { auth: false })).items;
  } catch {
    items = [];
  }
  const options = [el('option', { value: '' }, t('field.countryChoose'))];
  byName(items).forEach((c) => options.push(el('option', { value: c.code }, c.name)));
  select.replaceChildren(...options);
  select.value = chosen || (language() === 'fr' ? 'FR' : '');
}

// --- pages ------------------------------------------------------------------------------------
/** Prepare ``view`` when it is shown (``token`` from the link, if any). */
export function enterSecurityPage(view, token) {
  if (view === 'signup') {
    clearErrors($('#signup-form'), $('#signup-error'));
    passwordHint($('#signup-password'), $('#signup-password-hint'));
    fillCountries();
  } else if (view === 'forgot') {
    show('#forgot-form', true);
    show('#forgot-done', false);
  } else if (view === 'reset') {
    takeToken(view, token);
    clearErrors($('#reset-form'), $('#reset-error'));
    show('#reset-form', true);
  } else if (view === 'verify') {
    verify(takeToken(view, token));
  } else if (view === 'notme') {
    takeToken(view, token);
    show('#notme-form', true);
    show('#notme-done', false);
  }
}

async function verify(token) {
  show('#verify-loading', true);
  show('#verify-done', false);
  show('#verify-error', false);
  try {
    const { data } = await api('POST', '/account/email/verify', { body: { token: token || '' }, auth: false });
    say('#verify-done-text', 'verify.done', { email: data.email });
    show('#verify-done', true);
    if (session.signedIn() && session.account() && session.account().id === data.id) session.setAccount(data);
  } catch (error) {
    showError(null, $('#verify-error'), error);
  } finally {
    show('#verify-loading', false);
  }
}

export function setupSecurity({ onSignedUp, onReset }) {
  const signup = $('#signup-form');
  const password = $('#signup-password');
  password.addEventListener('input', () => passwordHint(password, $('#signup-password-hint')));
  signup.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(signup, $('#signup-error'));
    if (!checkRequired(signup)) return;
    if (password.value.length < MIN_PASSWORD || password.value.length > MAX_PASSWORD) {
      setFieldError(password, { key: 'signup.passwordShort', params: { left: MIN_PASSWORD - password.value.length } });
      password.focus();
      return;
    }
    const values = formValues(signup);
    await busy(signup, async () => {
      try {
        const body = { ...values, password: password.value, locale: language() };
        const { data } = await api('POST', '/signup', { body, auth: false });
        password.value = '';
        session.start(data.token, data.account);
        onSignedUp(data);
      } catch (error) {
        showError(signup, $('#signup-error'), error);
      }
    });
  });

  const forgot = $('#forgot-form');
  forgot.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(forgot, $('#forgot-error'));
    if (!checkRequired(forgot)) return;
    await busy(forgot, async () => {
      try {
        await api('POST', '/password/forgot', { body: { email: $('#forgot-email').value.trim() }, auth: false });
        show(forgot, false);
        show('#forgot-done', true);
        $('#forgot-done').focus?.();
      } catch (error) {
        showError(forgot, $('#forgot-error'), error);
      }
    });
  });

  const reset = $('#reset-form');
  reset.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(reset, $('#reset-error'));
    if (!checkRequired(reset)) return;
    const body = {
      token: pageToken || '',
      new_password: $('#reset-new').value,
      confirm_password: $('#reset-confirm').value,
    };
    await busy(reset, async () => {
      try {
        await api('POST', '/password/reset', { body, auth: false });
        $('#reset-new').value = '';
        $('#reset-confirm').value = '';
        pageToken = null;
        onReset();
      } catch (error) {
        showError(reset, $('#reset-error'), error);
      }
    });
  });

  const notme = $('#notme-form');
  notme.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(notme, $('#notme-error'));
    await busy(notme, async () => {
      try {
        await api('POST', '/account/email/cancel', { body: { token: pageToken || '' }, auth: false });
        pageToken = null;
        show(notme, false);
        show('#notme-done', true); // this browser's session ended too: its next call signs out
      } catch (error) {
        showError(notme, $('#notme-error'), error);
      }
    });
  });

  $('#account-resend').addEventListener('click', async () => {
    try {
      await api('POST', '/account/email/verification');
      flash('verify.resent', 'success');
    } catch (error) {
      if (error.status !== 401) flash('error.generic', 'error');
    }
  });
  $('#sessions-end-others').addEventListener('click', endOthers);
  $('#activity-more').addEventListener('click', () => loadActivity(true));
}

// --- "My account": the banner, the pending email, sessions, activity -----------------------------
export function renderSecurity(account) {
  show('#account-unverified', !account.email_verified);
  if (!account.email_verified) say('#account-unverified-text', 'verify.banner', { email: account.email });
  show('#profile-pending', Boolean(account.pending_email));
  if (account.pending_email) say('#profile-pending', 'profile.pendingEmail', { email: account.pending_email });
}

export async function loadSessions() {
  show('#sessions-error', false);
  try {
    const { items } = await get('/account/sessions');
    const rows = items.map((item) => {
      const name = item.browser || t('sessions.unknownBrowser');
      const action = item.current
        ? el('span', { class: 'badge' }, t('sessions.current'))
        : el(
            'button',
            { type: 'button', class: 'secondary small', 'data-session': item.id, 'aria-label': t('sessions.endLabel', { browser: name }) },
            t('sessions.end'),
          );
      if (!item.current) action.addEventListener('click', () => endSession(item.id));
      return el(
        'tr',
        { 'data-current': String(item.current) },
        el('td', {}, name),
        el('td', {}, formatDateTime(item.created_at)),
        el('td', {}, formatDateTime(item.last_seen_at)),
        el('td', {}, action),
      );
    });
    $('#sessions-body').replaceChildren(...rows);
    $('#sessions-end-others').disabled = items.length < 2;
  } catch (error) {
    if (error.status !== 401) showError(null, $('#sessions-error'), error);
  }
}

async function endSession(id) {
  try {
    await api('DELETE', `/account/sessions/${encodeURIComponent(id)}`);
    say('#sessions-status', 'sessions.ended');
  } catch (error) {
    if (error.status !== 401) showError(null, $('#sessions-error'), error);
  }
  await loadSessions();
}

async function endOthers() {
  try {
    await api('POST', '/account/sessions/revoke-others');
    say('#sessions-status', 'sessions.endedOthers');
  } catch (error) {
    if (error.status !== 401) showError(null, $('#sessions-error'), error);
  }
  await loadSessions();
}

let activityCursor = null;

export async function loadActivity(more = false) {
  show('#activity-error', false);
  const list = $('#activity-list');
  if (!more) activityCursor = null;
  const query = new URLSearchParams({ limit: '10' });
  if (more && activityCursor) query.set('cursor', activityCursor);
  try {
    const page = await get(`/account/activity?${query}`);
    const items = page.items.map((item) =>
      el(
        'li',
        { 'data-event': item.event },
        el('span', { class: 'activity-when' }, formatDateTime(item.at)),
        el('strong', { class: 'activity-what' }, item.label),
        item.detail ? el('span', { class: 'activity-detail' }, item.detail) : '',
      ),
    );
    if (more) list.append(...items);
    else list.replaceChildren(...items);
    activityCursor = page.next_cursor;
    show('#activity-more', Boolean(activityCursor));
  } catch (error) {
    if (error.status !== 401) showError(null, $('#activity-error'), error);
  }
}

export function relabelSecurity() {
  setText('#sessions-status', '');
}
