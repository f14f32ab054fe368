// "Billing information" > "Change plan" (Changer de formule): the plan and the agent seats,
// previewed (POST /billing/subscription/preview: what is charged now with its proration lines,
// and the next renewal) before "Confirm" (PATCH /billing/subscription, with one
// Idempotency-Key per confirmed preview).  An upgrade is charged at once; a downgrade waits for
// the renewal and is shown with a button to undo it (DELETE
// /billing/subscription/scheduled-change).  A cancellation scheduled for the end of the period
// is shown with "Resume my subscription" (POST /account/resume).

import { api, idempotencyKey } from './api.js';
import { $, busy, clearErrors, el, say, setText, show, showError } from './dom.js';
import { formatDate, formatMoney, t } from './i18n.js';
import { session } from './session.js';

const state = { billing: null, plans: [], preview: null, key: null, request: null };
let onChanged = async () => {};

function planName(id) {
  const plan = state.plans.find((item) => item.id === id);
  return plan ? plan.name : id;
}

function seatsText(count) {
  return t(count === 1 ? 'change.seatOne' : 'change.seatMany', { count });
}

/** Render the panel for the billing page ``billing`` (plans from GET /plans). */
export function renderPlanChange(billing, plans) {
  state.billing = billing;
  state.plans = plans || [];
  const paying = billing.status === 'active' && Boolean(billing.plan);
  const cancelAt = billing.cancel_at;
  show('#cancel-scheduled', Boolean(cancelAt));
  if (cancelAt) say('#cancel-scheduled-text', 'resume.text', { date: formatDate(cancelAt) });
  show('#change-panel', paying && !cancelAt);
  if (!paying || cancelAt) return;
  const scheduled = billing.scheduled_change;
  show('#change-scheduled', Boolean(scheduled));
  if (scheduled) {
    setText(
      '#change-scheduled-text',
      t('change.scheduled', {
        plan: planName(scheduled.plan),
        seats: seatsText(scheduled.seats),
        date: formatDate(scheduled.at),
      }),
    );
  }
  const select = $('#change-plan');
  const chosen = select.value || billing.plan;
  select.replaceChildren(
    ...state.plans
      .filter((plan) => plan.currency === billing.currency)
      .map((plan) => el('option', { value: plan.id }, plan.name)),
  );
  select.value = state.plans.some((plan) => plan.id === chosen) ? chosen : billing.plan;
  if (!$('#change-seats').value || !state.preview) $('#change-seats').value = String(billing.seats || 1);
  if (!state.preview) show('#change-summary', false);
}

function renderPreview(preview) {
  const now = preview.now;
  const next = preview.next_renewal;
  const target = { plan: planName(preview.plan), seats: seatsText(preview.seats) };
  if (preview.effective === 'now') {
    setText('#change-summary-text', t('change.now', { ...target, total: formatMoney(now.total, now.currency) }));
  } else if (preview.effective === 'renewal') {
    setText('#change-summary-text', t('change.later', { ...target, date: formatDate(next.at) }));
  } else {
    setText('#change-summary-text', t('change.none'));
  }
  const body = $('#change-lines-body');
  body.replaceChildren(
    ...preview.lines.map((line) =>
      el('tr', {}, el('td', {}, line.description), el('td', { class: 'num' }, formatMoney(line.amount, now.currency))),
    ),
  );
  if (preview.lines.length) {
    body.append(
      el(
        'tr',
        {},
        el('td', {}, t('change.tax')),
        el('td', { class: 'num' }, formatMoney(now.tax, now.currency)),
      ),
      el(
        'tr',
        { class: 'total' },
        el('th', { scope: 'row' }, t('change.totalNow')),
        el('td', { class: 'num' }, formatMoney(now.total, now.currency)),
      ),
    );
  }
  show('#change-lines', preview.lines.length > 0);
  setText(
    '#change-next',
    t('change.next', { date: formatDate(next.at), total: formatMoney(next.total, next.currency) }),
  );
  show('#change-confirm', preview.effective !== 'none');
  show('#change-summary', true);
}

function changeRequest(form) {
  const body = {};
  const plan = $('#change-plan', form).value;
  const seats = Number($('#change-seats', form).value);
  if (plan && plan !== state.billing.plan) body.plan = plan;
  if (seats !== state.billing.seats) body.seats = Number.isFinite(seats) ? seats : 0;
  return body;
}

export function setupPlanChange({ changed }) {
  onChanged = changed;
  const form = $('#change-form');
  const alertBox = $('#change-error');
  const hidePreview = () => {
    state.preview = null;
    state.key = null;
    show('#change-summary', false);
  };
  form.addEventListener('input', hidePreview);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form, alertBox);
    hidePreview();
    const seats = Number($('#change-seats').value);
    if (!Number.isInteger(seats) || seats < 1 || seats > 10000) {
      showError(form, alertBox, { message: t('change.seatsInvalid'), fields: { seats: t('change.seatsInvalid') } });
      return;
    }
    state.request = changeRequest(form);
    await busy(form, async () => {
      try {
        const { data } = await api('POST', '/billing/subscription/preview', { body: state.request });
        state.preview = data;
        state.key = idempotencyKey();
        renderPreview(data);
        $('#change-summary-text').focus();
      } catch (error) {
        if (error.status === 401) return;
        showError(form, alertBox, error);
      }
    });
  });
  $('#change-back').addEventListener('click', () => {
    hidePreview();
    $('#change-preview').focus();
  });
  $('#change-confirm').addEventListener('click', async () => {
    if (!state.preview) return;
    const summary = $('#change-summary');
    clearErrors(form, alertBox);
    const effective = state.preview.effective;
    await busy(summary, async () => {
      try {
        const { data } = await api('PATCH', '/billing/subscription', {
          body: state.request,
          headers: { 'Idempotency-Key': state.key },
        });
        hidePreview();
        say('#billing-message', effective === 'now' ? 'change.doneNow' : 'change.doneLater');
        await onChanged(data);
      } catch (error) {
        if (error.status === 401) return;
        showError(form, alertBox, error);
      }
    });
  });
  $('#change-undo').addEventListener('click', async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      const { data } = await api('DELETE', '/billing/subscription/scheduled-change');
      say('#billing-message', 'change.undone');
      await onChanged(data);
      $('#change-preview').focus();
    } catch (error) {
      if (error.status !== 401) showError(form, alertBox, error);
    } finally {
      button.disabled = false;
    }
  });
  $('#resume-subscription').addEventListener('click', async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      const { data } = await api('POST', '/account/resume');
      session.setAccount(data);
      say('#billing-message', 'resume.done');
      await onChanged(null);
    } catch (error) {
      if (error.status !== 401) showError(null, $('#billing-error'), error);
    } finally {
      button.disabled = false;
    }
  });
}
