// Sign-in.  A cancelled account (403 account_cancelled) gets the API's message and a link to
// the reactivation page at the address the API gives (only a same-site path is followed).

import { api } from './api.js';
import { $, busy, checkRequired, clearErrors, flash, say, setText, show } from './dom.js';
import { session } from './session.js';

const REACTIVATION_EMAIL_KEY = 'helpdesk.reactivate.email';

function safePath(url) {
  return typeof url === 'string' && url.startsWith('/') && !url.startsWith('//') ? url : '/reactivate';
}

export function rememberReactivationEmail(email) {
  try {
    window.sessionStorage.setItem(REACTIVATION_EMAIL_KEY, email);
  } catch {
    // the reactivation page then asks for it
  }
}

export function takeReactivationEmail() {
  try {
    const email = window.sessionStorage.getItem(REACTIVATION_EMAIL_KEY);
    window.sessionStorage.removeItem(REACTIVATION_EMAIL_KEY);
    return email;
  } catch {
    return null;
  }
}

export function setupSignin({ onSignedIn }) {
  const form = $('#signin-form');
  const alertBox = $('#signin-error');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    show(alertBox, false);
    if (!checkRequired(form)) return;
    const email = $('#signin-email').value.trim();
    const password = $('#signin-password').value;
    await busy(form, async () => {
      try {
        const { data } = await api('POST', '/login', { body: { email, password }, auth: false });
        $('#signin-password').value = '';
        session.start(data.token, data.account);
        onSignedIn(data);
      } catch (error) {
        showSigninError(error, email);
      }
    });
  });
}

function showSigninError(error, email) {
  const alertBox = $('#signin-error');
  const cancelled = error.code === 'account_cancelled';
  if (cancelled) say('#signin-error-text', 'signin.cancelledNotice');
  else setText('#signin-error-text', error.message);
  show('#signin-reactivate', cancelled);
  if (cancelled) {
    const reactivation = error.details && error.details.reactivation;
    $('#signin-reactivate-link').setAttribute('href', safePath(reactivation && reactivation.url));
    rememberReactivationEmail(email);
  }
  show(alertBox, true);
  if (!cancelled) $('#signin-password').select();
}

/** The sign-in form, empty; ``messageKey``: a catalogue message shown above it. */
export function resetSignin(messageKey) {
  const form = $('#signin-form');
  clearErrors(form);
  show('#signin-error', false);
  show('#signin-reactivate', false);
  $('#signin-password').value = '';
  if (messageKey) flash(messageKey, 'info');
}
