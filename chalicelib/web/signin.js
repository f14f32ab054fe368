// Sign-in.  A cancelled account (403 account_cancelled) gets the API's message and a link to
// the reactivation page at the address the API gives (only a same-site path is followed).
//
// Device tokens (OWASP "device cookies"): /login answers a `device_token`; it is kept in
// localStorage per email and sent back with the next sign-ins from this browser, so that this
// device has its own throttle bucket and its owner gets in while someone elsewhere is slowed
// down guessing the password.  It is not a credential (the password is still needed) and
// never leaves this origin; the bearer token stays in sessionStorage (session.js).

import { api } from './api.js';
import { $, busy, checkRequired, clearErrors, flash, say, setText, show } from './dom.js';
import { session } from './session.js';

const REACTIVATION_KEY = 'helpdesk.reactivate';
const DEVICE_TOKENS_KEY = 'helpdesk.devices';
const MAX_DEVICE_TOKENS = 5;

function deviceTokens() {
  try {
    const stored = JSON.parse(window.localStorage.getItem(DEVICE_TOKENS_KEY) || '{}');
    return stored && typeof stored === 'object' && !Array.isArray(stored) ? stored : {};
  } catch {
    return {};
  }
}

/** The device token this browser got at an earlier sign-in to ``email``, or null. */
export function deviceTokenFor(email) {
  const token = deviceTokens()[email.toLowerCase()];
  return typeof token === 'string' ? token : null;
}

/** Keep the device token of a successful sign-in (the newest few accounts). */
export function rememberDeviceToken(email, token) {
  if (typeof token !== 'string' || !token) return;
  const key = email.toLowerCase();
  const kept = Object.entries(deviceTokens()).filter(([k]) => k !== key);
  kept.push([key, token]);
  try {
    window.localStorage.setItem(
      DEVICE_TOKENS_KEY,
      JSON.stringify(Object.fromEntries(kept.slice(-MAX_DEVICE_TOKENS))),
    );
  } catch {
    // storage refused: the next sign-in simply counts as from a new device
  }
}

function safePath(url) {
  return typeof url === 'string' && url.startsWith('/') && !url.startsWith('//') ? url : '/reactivate';
}

/** Keep what the sign-in answer said for the reactivation page: the email, and the
 * account's ``reactivation`` (kind trial|paid, request_open). */
export function rememberReactivation(email, reactivation) {
  try {
    window.sessionStorage.setItem(REACTIVATION_KEY, JSON.stringify({ email, reactivation }));
  } catch {
    // the reactivation page then asks for it
  }
}

export function takeReactivation() {
  try {
    const stored = JSON.parse(window.sessionStorage.getItem(REACTIVATION_KEY) || 'null');
    window.sessionStorage.removeItem(REACTIVATION_KEY);
    if (!stored || typeof stored.email !== 'string') return null;
    const r = stored.reactivation || {};
    const kind = r.kind === 'paid' || r.kind === 'trial' ? r.kind : null;
    return { email: stored.email, reactivation: kind ? { kind, request_open: r.request_open === true } : null };
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
        const body = { email, password };
        const otpField = $('#signin-otp-field');
        if (!otpField.hidden && $('#signin-otp').value.trim()) body.otp = $('#signin-otp').value.trim();
        const deviceToken = deviceTokenFor(email);
        if (deviceToken) body.device_token = deviceToken;
        const { data } = await api('POST', '/login', { body, auth: false });
        rememberDeviceToken(email, data.device_token);
        $('#signin-password').value = '';
        $('#signin-otp').value = '';
        show('#signin-otp-field', false);
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
  if (error.code === 'mfa_required' || error.code === 'invalid_code') {
    // the password checked out: the second step (the password stays typed in)
    show('#signin-otp-field', true);
    if (error.code === 'mfa_required') say('#signin-error-text', 'mfa.required');
    else setText('#signin-error-text', error.message);
    show('#signin-reactivate', false);
    show(alertBox, true);
    $('#signin-otp').value = '';
    $('#signin-otp').focus();
    return;
  }
  const cancelled = error.code === 'account_cancelled';
  if (cancelled) say('#signin-error-text', 'signin.cancelledNotice');
  else setText('#signin-error-text', error.message);
  show('#signin-reactivate', cancelled);
  if (cancelled) {
    const reactivation = error.details && error.details.reactivation;
    $('#signin-reactivate-link').setAttribute('href', safePath(reactivation && reactivation.url));
    rememberReactivation(email, reactivation);
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
  show('#signin-otp-field', false);
  $('#signin-password').value = '';
  $('#signin-otp').value = '';
  if (messageKey) flash(messageKey, 'info');
}
