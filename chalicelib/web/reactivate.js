// The reactivation page (/reactivate, linked from the cancelled-account message at sign-in).
// The customer says what the account was: a free trial ("Reactivate and sign in": the API
// answers 200 with a session) or a paid subscription ("Send request": 202, support is emailed
// and will contact them).  The answer, not the choice, decides what happens next.

import { api } from './api.js';
import { $, busy, checkRequired, clearErrors, say, show, showError } from './dom.js';
import { session } from './session.js';
import { takeReactivationEmail } from './signin.js';

function kind() {
  const chosen = $('#reactivate-form').querySelector('input[name=kind]:checked');
  return chosen ? chosen.value : 'trial';
}

export function relabelReactivate() {
  const paid = kind() === 'paid';
  say('#reactivate-submit', paid ? 'reactivate.submitPaid' : 'reactivate.submitTrial');
  say('#reactivate-hint', paid ? 'reactivate.hintPaid' : 'reactivate.hintTrial');
}

export function showReactivate() {
  const form = $('#reactivate-form');
  clearErrors(form, $('#reactivate-error'));
  const email = takeReactivationEmail();
  if (email) $('#reactivate-email').value = email;
  const requested = new URLSearchParams(window.location.search).get('kind');
  if (requested === 'paid' || requested === 'trial') {
    form.querySelector(`input[name=kind][value=${requested}]`).checked = true;
  }
  show(form, true);
  show('#reactivate-done', false);
  relabelReactivate();
}

export function setupReactivate({ onSignedIn }) {
  const form = $('#reactivate-form');
  const alertBox = $('#reactivate-error');
  form.addEventListener('change', relabelReactivate);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form, alertBox);
    if (!checkRequired(form)) return;
    const body = { email: $('#reactivate-email').value.trim(), password: $('#reactivate-password').value };
    await busy(form, async () => {
      try {
        const { status, data } = await api('POST', '/account/reactivate', { body, auth: false });
        $('#reactivate-password').value = '';
        if (status === 200 && data && data.token) {
          session.start(data.token, data.account);
          onSignedIn(data);
          return;
        }
        show(form, false);
        show('#reactivate-done', true);
        $('#reactivate-done-title').focus();
      } catch (error) {
        showError(form, alertBox, error);
      }
    });
  });
}
