// Pending payments: the pop-up shown at sign-in when /login returns `pending_payment`, and
// "Apply pending charges" (POST /billing/pending/pay with an Idempotency-Key).  A decline shows
// the guidance from the error body; `requires_action` hands the PaymentIntent's client secret to
// Stripe.js so that the bank can authenticate the customer (the pop-ups are closed first: a
// modal dialog would make Stripe's authentication frame inert).

import { api, get, idempotencyKey } from './api.js';
import { $, el, flash, setText, show, showError } from './dom.js';
import { closeDialog, handOver, openDialog } from './dialogs.js';
import { formatDate, formatMoney, t } from './i18n.js';
import { authenticatePayment } from './stripe.js';

let attemptKey = null; // one key per attempt: kept only to repeat a request that got no answer
let hooks = { openCard: () => {}, refresh: () => {} };

export function pendingSummary(pending) {
  return t('billing.pendingText', { total: formatMoney(pending.total.amount, pending.total.currency) });
}

function itemNode(item) {
  const lines = [
    t('pending.item', { amount: formatMoney(item.amount, item.currency), date: formatDate(item.since) }),
  ];
  const details = [];
  if (item.last_failure && item.last_failure.message)
    details.push(el('span', { class: 'guidance' }, item.last_failure.message));
  if (item.attempts) details.push(el('span', {}, t('pending.attempts', { count: item.attempts })));
  if (item.next_retry_at)
    details.push(el('span', {}, t('pending.nextRetry', { date: formatDate(item.next_retry_at) })));
  return el('li', {}, el('strong', {}, lines[0]), ...details);
}

function renderPending(pending) {
  $('#pending-items').replaceChildren(...pending.items.map(itemNode));
  setText('#pending-total', formatMoney(pending.total.amount, pending.total.currency));
}

export function showPendingDialog(pending, opener) {
  renderPending(pending);
  show('#pending-error', false);
  setText('#pending-status', '');
  openDialog($('#pending-dialog'), opener);
}

/** After a language change: the open pop-up is read again (the API words the guidance). */
export async function relabelPending() {
  if (!$('#pending-dialog').open) return;
  try {
    const billing = await get('/billing');
    if (billing.pending_payment) renderPending(billing.pending_payment);
  } catch {
    // the pop-up keeps the previous language
  }
}

function closeAll() {
  ['#pending-dialog', '#card-dialog'].forEach((selector) => closeDialog($(selector)));
}

/** POST /billing/pending/pay; messages go to ``alertBox``/``status`` of the calling dialog. */
export async function applyPendingCharges({ alertBox, status }) {
  attemptKey = attemptKey || idempotencyKey();
  show(alertBox, false);
  if (status) setText(status, '');
  try {
    const { data } = await api('POST', '/billing/pending/pay', {
      headers: { 'Idempotency-Key': attemptKey },
    });
    attemptKey = null;
    if (data && data.requires_action) {
      closeAll();
      let ok = false;
      try {
        ok = await authenticatePayment(data.requires_action.client_secret);
      } catch {
        ok = false;
      }
      flash(ok ? 'pending.authenticated' : 'pending.authFailed', ok ? 'success' : 'error');
      hooks.refresh();
      return;
    }
    closeAll();
    flash('pending.paid', 'success');
    hooks.refresh();
  } catch (error) {
    if (error.status !== 0) attemptKey = null; // answered: the next click is a new attempt
    if (error.status === 401) return;
    showError(null, alertBox, error);
  }
}

export function setupPending({ openCard, refresh }) {
  hooks = { openCard, refresh };
  const dialog = $('#pending-dialog');
  $('#pending-card').addEventListener('click', () => {
    handOver(dialog);
    closeDialog(dialog);
    openCard(null, { pending: true });
  });
  $('#pending-pay').addEventListener('click', async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      await applyPendingCharges({ alertBox: $('#pending-error'), status: $('#pending-status') });
    } finally {
      button.disabled = false;
    }
  });
}
