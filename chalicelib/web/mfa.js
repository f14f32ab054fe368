// "My account" > Profile > Two-factor sign-in: turning TOTP on (password, then the QR code
// made by the API as an SVG data: URI, then a first code; the ten recovery codes are shown
// once) and off (password and a code).  The sign-in form's code field is signin.js's.

import { api } from './api.js';
import { $, busy, checkRequired, clearErrors, el, say, setFieldError, show, showError } from './dom.js';
import { closeDialog, openDialog } from './dialogs.js';
import { t } from './i18n.js';
import { session } from './session.js';

export function renderMfa(account) {
  const on = Boolean(account && account.mfa_enabled);
  say('#mfa-state', on ? 'mfa.stateOn' : 'mfa.stateOff');
  show('#mfa-on', !on);
  show('#mfa-off', on);
}

async function refreshAccount() {
  const { data } = await api('GET', '/account');
  session.setAccount(data);
  renderMfa(data);
}

function codeError(input, error, form, alertBox) {
  if (error.code === 'invalid_code' || error.code === 'invalid_password') {
    setFieldError(input, error.message);
    input.focus();
  } else if (error.status !== 401) {
    showError(form, alertBox, error);
  }
}

export function setupMfa() {
  const dialog = $('#mfa-dialog');
  const start = $('#mfa-start-form');
  const confirm = $('#mfa-confirm-form');
  $('#mfa-on').addEventListener('click', (event) => {
    start.reset();
    confirm.reset();
    clearErrors(start, $('#mfa-start-error'));
    clearErrors(confirm, $('#mfa-confirm-error'));
    show(start, true);
    show(confirm, false);
    show('#mfa-codes', false);
    openDialog(dialog, event.currentTarget);
  });
  start.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(start, $('#mfa-start-error'));
    if (!checkRequired(start)) return;
    await busy(start, async () => {
      try {
        const { data } = await api('POST', '/account/mfa/totp', { body: { password: $('#mfa-password').value } });
        start.reset();
        $('#mfa-qr').src = data.qr_svg;
        $('#mfa-qr').alt = t('mfa.qrAlt');
        $('#mfa-secret').textContent = data.secret;
        show(start, false);
        show(confirm, true);
        $('#mfa-code').focus();
      } catch (error) {
        codeError($('#mfa-password'), error, start, $('#mfa-start-error'));
      }
    });
  });
  confirm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(confirm, $('#mfa-confirm-error'));
    if (!checkRequired(confirm)) return;
    await busy(confirm, async () => {
      try {
        const { data } = await api('POST', '/account/mfa/totp/confirm', { body: { code: $('#mfa-code').value.trim() } });
        $('#mfa-codes-list').replaceChildren(...data.recovery_codes.map((code) => el('li', {}, code)));
        show(confirm, false);
        show('#mfa-codes', true);
        $('#mfa-codes button').focus();
        say('#mfa-status', 'mfa.enabled');
        await refreshAccount();
      } catch (error) {
        codeError($('#mfa-code'), error, confirm, $('#mfa-confirm-error'));
      }
    });
  });

  const offDialog = $('#mfa-off-dialog');
  const off = $('#mfa-off-form');
  $('#mfa-off').addEventListener('click', (event) => {
    off.reset();
    clearErrors(off, $('#mfa-off-error'));
    openDialog(offDialog, event.currentTarget);
  });
  off.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(off, $('#mfa-off-error'));
    if (!checkRequired(off)) return;
    const body = { password: $('#mfa-off-password').value, code: $('#mfa-off-code').value.trim() };
    await busy(off, async () => {
      try {
        await api('DELETE', '/account/mfa', { body });
        off.reset();
        closeDialog(offDialog);
        say('#mfa-status', 'mfa.disabled');
        await refreshAccount();
      } catch (error) {
        const input = error.code === 'invalid_password' ? $('#mfa-off-password') : $('#mfa-off-code');
        codeError(input, error, off, $('#mfa-off-error'));
      }
    });
  });
}
