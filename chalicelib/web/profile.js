// "My account" > Profile: personal information (name, email, phone; an email change asks for
// the current password), the "Change password?" dialog and the "Cancel my account" dialog.

import { api, get } from './api.js';
import { loadBilling } from './billing.js';
import {
  $,
  busy,
  checkRequired,
  clearErrors,
  flash,
  formValues,
  say,
  setFieldError,
  setText,
  show,
  showError,
} from './dom.js';
import { closeDialog, openDialog } from './dialogs.js';
import { formatDate } from './i18n.js';
import { session } from './session.js';

export function renderProfile(account) {
  const form = $('#profile-form');
  clearErrors(form, $('#profile-error'));
  $('#profile-name').value = account.name || '';
  $('#profile-email').value = account.email || '';
  $('#profile-phone').value = shownPhone(account);
  $('#profile-current-password').value = '';
  syncPasswordField();
}

/** The phone as the account's country writes it ("06 12 34 56 78"); the API keeps E.164. */
function shownPhone(account) {
  return account.phone_national || account.phone || '';
}

function syncPasswordField() {
  const account = session.account();
  const changed = account && $('#profile-email').value.trim().toLowerCase() !== account.email.toLowerCase();
  show('#profile-current-password-field', Boolean(changed));
  $('#profile-current-password').required = Boolean(changed);
}

function profileChanges(account) {
  const values = formValues($('#profile-form'));
  const changes = {};
  if (values.name !== account.name) changes.name = values.name;
  if (values.email.toLowerCase() !== account.email.toLowerCase()) {
    changes.email = values.email;
    changes.current_password = $('#profile-current-password').value;
  }
  if (values.phone !== shownPhone(account)) changes.phone = values.phone || null;
  return changes;
}

export function setupProfile() {
  const form = $('#profile-form');
  const status = $('#profile-status');
  $('#profile-email').addEventListener('input', syncPasswordField);
  form.addEventListener('input', () => setText(status, ''));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form, $('#profile-error'));
    setText(status, '');
    if (!checkRequired(form)) return;
    const account = session.account();
    const changes = profileChanges(account);
    if (!Object.keys(changes).length) {
      say(status, 'profile.nothing');
      return;
    }
    await busy(form, async () => {
      try {
        const { data } = await api('PATCH', '/account/profile', { body: changes });
        session.setAccount(data);
        renderProfile(data);
        say(status, 'profile.saved');
      } catch (error) {
        if (error.status === 401 && error.code !== 'invalid_password') return;
        if (error.code === 'invalid_password') {
          setFieldError($('#profile-current-password'), error.message);
          $('#profile-current-password').focus();
          return;
        }
        showError(form, $('#profile-error'), error);
      }
    });
  });

  setupPasswordDialog(status);
  setupCancelDialog();
}

function setupPasswordDialog(status) {
  const dialog = $('#password-dialog');
  const form = $('#password-form');
  const alertBox = $('#password-error');
  $('#open-password').addEventListener('click', (event) => {
    form.reset();
    clearErrors(form, alertBox);
    openDialog(dialog, event.currentTarget);
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form, alertBox);
    if (!checkRequired(form)) return;
    const body = formValuesRaw(form);
    if (body.new_password !== body.confirm_password) {
      setFieldError($('#password-confirm'), { key: 'password.mismatch' });
      $('#password-confirm').focus();
      return;
    }
    await busy(form, async () => {
      try {
        await api('POST', '/account/password', { body });
        form.reset();
        closeDialog(dialog);
        say(status, 'password.changed');
      } catch (error) {
        if (error.status === 401 && error.code !== 'invalid_password') return;
        if (error.code === 'invalid_password') {
          setFieldError($('#password-current'), error.message);
          $('#password-current').focus();
        } else if (error.code === 'weak_password') {
          setFieldError($('#password-new'), error.message);
          $('#password-new').focus();
        } else if (error.code === 'password_mismatch') {
          setFieldError($('#password-confirm'), error.message);
          $('#password-confirm').focus();
        } else {
          showError(form, alertBox, error);
        }
      }
    });
  });
}

/** Passwords are sent exactly as typed (no trimming). */
function formValuesRaw(form) {
  const values = {};
  for (const [name, value] of new FormData(form).entries()) values[name] = String(value);
  return values;
}

function setupCancelDialog() {
  const dialog = $('#cancel-dialog');
  const form = $('#cancel-form');
  const alertBox = $('#cancel-error');
  // A paid, active account is offered the end of its paid period first (nothing refunded,
  // access until then); anyone else cancels now.
  let periodEnd = null;
  const describeWhen = () => {
    const atEnd = periodEnd && $('#cancel-at-end').checked;
    if (atEnd) say('#cancel-when-text', 'cancel.atEndText', { date: formatDate(periodEnd) });
    else say('#cancel-when-text', 'cancel.atNowText');
    say('#cancel-text', atEnd ? 'cancel.textAtEnd' : 'cancel.text');
  };
  $('#cancel-at-end').addEventListener('change', describeWhen);
  $('#cancel-at-now').addEventListener('change', describeWhen);
  $('#open-cancel').addEventListener('click', async (event) => {
    const opener = event.currentTarget;
    form.reset();
    clearErrors(form, alertBox);
    periodEnd = null;
    try {
      const billing = await get('/billing');
      if (billing.status === 'active' && billing.plan && billing.next_renewal_at && !billing.cancel_at) {
        periodEnd = billing.next_renewal_at;
      }
    } catch {
      periodEnd = null; // offered "now" only
    }
    show('#cancel-when', Boolean(periodEnd));
    if (periodEnd) say('#cancel-at-end-label', 'cancel.atEnd', { date: formatDate(periodEnd) });
    describeWhen();
    openDialog(dialog, opener);
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form, alertBox);
    if (!checkRequired(form)) return;
    const body = { password: $('#cancel-password').value };
    const reason = $('#cancel-reason').value;
    const comment = $('#cancel-comment').value.trim();
    if (reason) body.reason = reason;
    if (comment) body.comment = comment;
    const atEnd = Boolean(periodEnd) && $('#cancel-at-end').checked;
    if (atEnd) body.at = 'period_end';
    await busy(form, async () => {
      try {
        const { data } = await api('POST', '/account/cancel', { body });
        form.reset();
        closeDialog(dialog);
        if (atEnd) {
          session.setAccount(data);
          flash('cancel.scheduledDone', 'success', { date: formatDate(data.cancel_at) });
          await loadBilling();
          return;
        }
        session.end('cancelled');
      } catch (error) {
        if (error.status === 401 && error.code !== 'invalid_password') return;
        if (error.code === 'invalid_password' || error.code === 'invalid_credentials') {
          setFieldError($('#cancel-password'), error.message);
          $('#cancel-password').focus();
        } else {
          showError(form, alertBox, error);
        }
      }
    });
  });
}
