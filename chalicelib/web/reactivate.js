// The reactivation page (/reactivate, linked from the cancelled-account message at sign-in).
// It knows the account: the sign-in answer (403 account_cancelled, given only after the
// password checked out) says whether it was a free trial ("Reactivate and sign in": the API
// answers 200 with a session) or a paid subscription ("Send request": 202, support is emailed
// and will contact them), and whether a request is already open ("request pending").  The
// sign-in page keeps that for this page in sessionStorage (signin.js).  Opened directly, the
// page does not know: it offers a neutral "Continue", and the answer decides what happens.

import { api } from './api.js';
import { $, busy, checkRequired, clearErrors, say, show, showError } from './dom.js';
import { session } from './session.js';
import { takeReactivation } from './signin.js';

let known = null; // {kind: 'trial'|'paid', request_open: bool} from the sign-in answer

export function relabelReactivate() {
  const kind = known && known.kind;
  const submit = { trial: 'reactivate.submitTrial', paid: 'reactivate.submitPaid' }[kind] || 'reactivate.submit';
  const hint = { trial: 'reactivate.hintTrial', paid: 'reactivate.hintPaid' }[kind] || 'reactivate.hintUnknown';
  say('#reactivate-submit', submit);
  say('#reactivate-hint', hint);
}

export function showReactivate() {
  const form = $('#reactivate-form');
  clearErrors(form, $('#reactivate-error'));
  const taken = takeReactivation();
  if (taken) {
    known = taken.reactivation;
    $('#reactivate-email').value = taken.email;
  }
  const pending = Boolean(known && known.request_open);
  show('#reactivate-pending', pending);
  show(form, !pending);
  show('#reactivate-done', false);
  relabelReactivate();
}

export function setupReactivate({ onSignedIn }) {
  const form = $('#reactivate-form');
  const alertBox = $('#reactivate-error');
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
