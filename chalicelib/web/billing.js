// "My account" > Billing information: plan, status, next renewal, card, billing address, the
// VAT ID (only where VAT applies), subscribing during or after the trial, and the invoices with "View",
// "Print" (the print view, fetched with the token and printed from a hidden same-origin frame)
// and the PDF (fetched with the token and saved).  Also the "Edit credit card" dialog (PATCH
// /billing/card) with "Update new card" (a Stripe Element confirming a SetupIntent from POST
// /billing/card/setup-intent, then PUT /billing/card with its PaymentMethod) and the
// billing address dialog.

import { api, fetchBlob, get } from './api.js';
import {
  $,
  announce,
  busy,
  checkRequired,
  clearErrors,
  el,
  formValues,
  setFieldError,
  setLines,
  say,
  setText,
  show,
  showError,
} from './dom.js';
import { closeDialog, focusFirst, openDialog } from './dialogs.js';
import { byName, formatDate, formatDateTime, formatMoney, language, t } from './i18n.js';
import { loadCards, resetCards, setupCards } from './cards.js';
import { loadCreditNotes, resetCreditNotes, setupCreditNotes } from './credit_notes.js';
import { applyPendingCharges, pendingSummary } from './pending.js';
import { renderPlanChange, setupPlanChange } from './plans.js';
import { session } from './session.js';
import { CardRefused, confirmCardSetup, mountCard } from './stripe.js';

const state = {
  billing: null,
  plans: null,
  vendor: null,
  countries: {}, // language -> [{code, name, vat_applicable}]
  invoices: [],
  nextCursor: null,
  pendingMode: false,
  mounted: null,
};

// --- reference data -------------------------------------------------------------------------------
async function plans() {
  // signed in: the price (net, VAT, total) for the account's billing country and VAT ID
  if (!state.plans) state.plans = (await get('/plans')).items;
  return state.plans;
}

async function vendor() {
  if (!state.vendor) state.vendor = await get('/vendor', { auth: false });
  return state.vendor;
}

async function countries() {
  const lang = language();
  if (!state.countries[lang]) state.countries[lang] = (await get('/countries', { auth: false })).items;
  return state.countries[lang];
}

function countryName(code) {
  const list = state.countries[language()] || [];
  const found = list.find((item) => item.code === code);
  return found ? found.name : code;
}

function fillCountrySelect(select, list, selected) {
  select.replaceChildren(el('option', { value: '' }, t('field.countryChoose')));
  byName(list).forEach((item) => select.append(el('option', { value: item.code }, item.name)));
  select.value = selected || '';
}

// --- the page -------------------------------------------------------------------------------------
export async function loadBilling() {
  show('#billing-loading', !state.billing);
  show('#billing-error', false);
  try {
    state.plans = null; // the price depends on the billing address and VAT ID: read it again
    const [billing] = await Promise.all([get('/billing'), plans(), countries(), vendor()]);
    state.billing = billing;
    renderBilling();
    show('#billing-body', true);
    await Promise.all([loadInvoices(), loadCreditNotes(), loadCards()]);
  } catch (error) {
    if (error.status === 401) return;
    showError(null, $('#billing-error'), error);
  } finally {
    show('#billing-loading', false);
  }
}

export function resetBilling() {
  state.billing = null;
  setText('#billing-message', '');
  state.invoices = [];
  state.nextCursor = null;
  state.plans = null;
  show('#billing-body', false);
  $('#invoices-body').replaceChildren();
  resetCards();
  resetCreditNotes();
}

function planLabel(plan) {
  // the price the customer pays (VAT included), as GET /plans computed it for them
  const total = plan.price ? plan.price.total : plan.amount;
  const price = formatMoney(total, plan.currency);
  return t(plan.interval === 'year' ? 'plan.year' : 'plan.month', { amount: price });
}

function planBreakdown(plan) {
  if (!plan.price) return '';
  const p = plan.price;
  if (p.reverse_charge) return t('plan.reverseCharge', { net: formatMoney(p.net, p.currency) });
  if (p.tax === 0) return t('plan.noVat', { net: formatMoney(p.net, p.currency) });
  return t('plan.vatIncluded', {
    net: formatMoney(p.net, p.currency),
    tax: formatMoney(p.tax, p.currency),
    rate: p.rate,
  });
}

function cardLine(card) {
  return t('billing.cardLine', {
    brand: brandName(card.brand),
    last4: card.last4,
    month: String(card.exp_month).padStart(2, '0'),
    year: card.exp_year,
  });
}

function brandName(brand) {
  const names = { visa: 'Visa', mastercard: 'Mastercard', amex: 'American Express', discover: 'Discover' };
  return names[brand] || (brand ? brand.charAt(0).toUpperCase() + brand.slice(1) : '');
}

function addressLines(address) {
  if (!address) return [];
  return [
    address.name,
    address.line1,
    address.line2,
    [address.postal_code, address.city].filter(Boolean).join(' '),
    address.state,
    countryName(address.country),
  ];
}

function renderBilling() {
  const billing = state.billing;
  const account = session.account() || {};
  const plan = (state.plans || []).find((item) => item.id === billing.plan);
  const seats = plan && plan.per_seat ? ` × ${t(billing.seats === 1 ? 'change.seatOne' : 'change.seatMany', { count: billing.seats })}` : '';
  setText('#billing-plan', plan ? `${plan.name} – ${planLabel(plan)}${seats}` : t('billing.freeTrial'));
  setText('#billing-status', t(`status.${billing.status}`));
  const trial = billing.status === 'trial';
  const expired = billing.status === 'trial_expired';
  say('#billing-renewal-label', trial ? 'billing.trialEnds' : expired ? 'billing.trialEnded' : 'billing.nextRenewal');
  setText('#billing-renewal', formatDate(trial || expired ? account.trial_ends_at : billing.next_renewal_at));
  setText('#billing-card', billing.card ? cardLine(billing.card) : t('billing.noCard'));
  say('#open-card', billing.card ? 'card.open' : 'card.add');
  if (billing.billing_address) setLines('#billing-address', addressLines(billing.billing_address));
  else setText('#billing-address', t('billing.noAddress'));

  const pending = billing.pending_payment;
  show('#billing-pending', Boolean(pending));
  if (pending) setText('#billing-pending-text', pendingSummary(pending));
  show('#account-suspended', billing.status === 'suspended');
  show('#account-trial-expired', expired);

  renderVat();
  renderSubscribe(account);
  renderPlanChange(billing, state.plans);
}

// --- VAT ------------------------------------------------------------------------------------------
function renderVat() {
  const vat = state.billing.vat || { applicable: false };
  const form = $('#vat-form');
  show(form, Boolean(vat.applicable));
  const vendorNote = $('#vendor-vat');
  show(vendorNote, Boolean(vat.applicable) && Boolean(state.vendor));
  if (!vat.applicable) return;
  clearErrors(form, $('#vat-error'));
  $('#vat-id').value = vat.vat_id || '';
  setText('#vat-state', vat.vat_id && vat.status ? t(`vat.state.${vat.status}`) : '');
  show('#vat-remove', Boolean(vat.vat_id));
  if (state.vendor) {
    // HelpDesk's VAT number when it has one, and whom to write to about it: the address is a
    // mailto: link inside the sentence ("… écrivez à vat@….")
    const { vat_number: number, vat_contact_email: email } = state.vendor;
    setText(vendorNote, number ? `${t('vat.vendorNumber', { number })} ` : '');
    if (email) {
      const [before, after = ''] = t('vat.vendorContact').split('{email}');
      vendorNote.append(before, el('a', { href: `mailto:${email}` }, email), after);
    }
  }
}

function setupVat() {
  const form = $('#vat-form');
  const status = $('#vat-status');
  const save = async (remove) => {
    clearErrors(form, $('#vat-error'));
    setText(status, '');
    const value = $('#vat-id').value.replace(/\s+/g, '').toUpperCase();
    const deleting = remove || !value;
    if (deleting && !(state.billing.vat && state.billing.vat.vat_id)) {
      setFieldError($('#vat-id'), { key: 'error.required' });
      $('#vat-id').focus();
      return;
    }
    await busy(form, async () => {
      try {
        if (deleting) {
          await api('DELETE', '/billing/vat');
          state.billing.vat = { ...state.billing.vat, vat_id: null, status: null };
        } else {
          const { data } = await api('PUT', '/billing/vat', { body: { vat_id: value } });
          state.billing.vat = { ...state.billing.vat, ...data };
        }
        renderVat();
        say(status, deleting ? 'vat.removed' : 'vat.saved');
      } catch (error) {
        if (error.status === 401) return;
        if (error.code === 'invalid_vat_id' || error.code === 'vat_not_applicable') {
          setFieldError($('#vat-id'), (error.fields && error.fields.vat_id) || error.message);
          $('#vat-id').focus();
        } else {
          showError(form, $('#vat-error'), error);
        }
      }
    });
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    save(false);
  });
  $('#vat-remove').addEventListener('click', () => save(true));
}

// --- subscribe ------------------------------------------------------------------------------------
function renderSubscribe(account) {
  const billing = state.billing;
  const panel = $('#subscribe-panel');
  const trial = billing.status === 'trial';
  const expired = billing.status === 'trial_expired'; // subscribing works as from a trial
  show(panel, trial || expired);
  if (!trial && !expired) return;
  const hint = !billing.card
    ? t('subscribe.needCard')
    : t(expired ? 'subscribe.expired' : 'subscribe.trial', { date: formatDate(account.trial_ends_at) });
  setText('#subscribe-trial', hint);
  if (!$('#subscribe-seats').value) $('#subscribe-seats').value = String(billing.seats || 1);
  const list = $('#plan-list');
  const chosen = (list.querySelector('input:checked') || {}).value;
  list.replaceChildren(
    ...(state.plans || []).map((plan, index) =>
      el(
        'label',
        { class: 'plan' },
        el('input', {
          type: 'radio',
          name: 'plan',
          value: plan.id,
          checked: chosen ? chosen === plan.id : index === 0,
        }),
        el('span', { class: 'plan-name' }, plan.name),
        el('span', { class: 'plan-price' }, planLabel(plan)),
        el('span', { class: 'plan-vat hint' }, planBreakdown(plan)),
      ),
    ),
  );
  renderSubscribeConfirm();
}

function chosenPlan() {
  const chosen = $('#subscribe-form').querySelector('input[name=plan]:checked');
  return chosen ? (state.plans || []).find((plan) => plan.id === chosen.value) : null;
}

// The agent seats asked for (a whole number from 1 to 10,000), or null.
function subscribeSeats() {
  const seats = Number($('#subscribe-seats').value);
  return Number.isInteger(seats) && seats >= 1 && seats <= 10000 ? seats : null;
}

// What one period of `plan` costs for `seats` now, VAT included, computed as the server's
// invoice does: the net times the seats for a per-seat plan, then the VAT of the price's rate
// on that net, rounded half up (GET /plans gives one seat's price; the server checks the
// total sent as `expected_total` and answers 409 price_changed if it differs).
function totalFor(plan, seats) {
  const net = plan.amount * (plan.per_seat ? seats : 1);
  const price = plan.price;
  if (!price) return net;
  if (!plan.per_seat || seats === 1) return price.total;
  const [whole, decimals = ''] = String(price.rate || '0').split('.');
  const scale = 10 ** decimals.length;
  const rate = Number(whole) * scale + Number(decimals || 0);
  const denominator = 100 * scale;
  const tax = Math.floor((2 * net * rate + denominator) / (2 * denominator));
  return net + tax;
}

// What the button will charge, said before it is pressed; the EU consumer's consent to start
// at once (waiving the 14-day withdrawal right) is asked only where that right exists.
function renderSubscribeConfirm() {
  const plan = chosenPlan();
  const seats = subscribeSeats();
  const needsConsent = Boolean(plan && plan.price && plan.price.withdrawal_consent);
  show('#subscribe-seats-row', !plan || plan.per_seat);
  const count = plan && plan.per_seat ? seats : 1;
  let total = '';
  if (plan && count) {
    const amount = formatMoney(totalFor(plan, count), plan.currency);
    total = count > 1
      ? t('subscribe.totalSeats', { amount, seats: t('change.seatMany', { count }) })
      : t('subscribe.total', { amount });
  }
  setText('#subscribe-total', total);
  show('#subscribe-consent-row', needsConsent);
  if (!needsConsent) $('#subscribe-consent').checked = false;
}

function setupSubscribe() {
  const form = $('#subscribe-form');
  const alertBox = $('#subscribe-error');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form, alertBox);
    const chosen = form.querySelector('input[name=plan]:checked');
    if (!chosen) return;
    const plan = chosenPlan();
    const seats = plan && plan.per_seat ? subscribeSeats() : 1;
    if (seats === null) {
      showError(form, alertBox, { message: t('change.seatsInvalid'), fields: { seats: t('change.seatsInvalid') } });
      $('#subscribe-seats').focus();
      return;
    }
    const consent = $('#subscribe-consent');
    if (plan && plan.price && plan.price.withdrawal_consent && !consent.checked) {
      setFieldError(consent, t('subscribe.consentRequired'));
      consent.focus();
      return;
    }
    const body = { plan: chosen.value, seats, withdrawal_consent: consent.checked };
    if (plan && plan.price) body.expected_total = totalFor(plan, seats);
    await busy(form, async () => {
      try {
        const { data } = await api('POST', '/billing/subscribe', { body });
        state.billing = data;
        const account = await get('/account');
        session.setAccount(account);
        renderBilling();
        await loadInvoices();
        say('#billing-message', 'subscribe.done');
        $('#billing-title').scrollIntoView({ block: 'start' });
      } catch (error) {
        if (error.status === 401) return;
        if (error.code === 'price_changed') {
          state.plans = null; // show the new price, to be confirmed again
          await plans().catch(() => null);
          renderSubscribe(session.account() || {});
        }
        showError(form, alertBox, error);
      }
    });
  });
  $('#plan-list').addEventListener('change', renderSubscribeConfirm);
  $('#subscribe-seats').addEventListener('input', renderSubscribeConfirm);
}

// --- invoices -------------------------------------------------------------------------------------
async function loadInvoices(more = false) {
  const errorBox = $('#invoices-error');
  show(errorBox, false);
  try {
    const query = more && state.nextCursor ? `?cursor=${encodeURIComponent(state.nextCursor)}` : '';
    const page = await get(`/billing/invoices${query}`);
    state.invoices = more ? [...state.invoices, ...page.items] : page.items;
    state.nextCursor = page.next_cursor;
    renderInvoices();
  } catch (error) {
    if (error.status === 401) return;
    showError(null, errorBox, error);
  }
}

function renderInvoices() {
  const body = $('#invoices-body');
  body.replaceChildren(
    ...state.invoices.map((invoice) => {
      const number = invoice.number;
      const hidden = (text) => el('span', { class: 'visually-hidden' }, text);
      const action = (label, kind, cls) =>
        el(
          'button',
          { type: 'button', class: `${cls} small`, dataset: { action: kind, id: invoice.id } },
          label,
          hidden(` ${number}`),
        );
      return el(
        'tr',
        {},
        el('th', { scope: 'row', 'data-label': t('invoices.number') }, number),
        el('td', { 'data-label': t('invoices.date') }, formatDate(invoice.issued_at)),
        el(
          'td',
          { class: 'num', 'data-label': t('invoices.total') },
          formatMoney(invoice.total, invoice.currency),
        ),
        el(
          'td',
          { 'data-label': t('invoices.status') },
          el('span', { class: `badge ${invoice.status}` }, t(`invoice.status.${invoice.status}`)),
        ),
        el(
          'td',
          { class: 'row-actions' },
          action(t('invoices.view'), 'view', 'secondary'),
          action(t('invoices.print'), 'print', 'secondary'),
          action(t('invoices.pdfShort'), 'pdf', 'link'),
        ),
      );
    }),
  );
  const any = state.invoices.length > 0;
  show('#invoices-table', any);
  show('#invoices-empty', !any);
  show('#invoices-more', Boolean(state.nextCursor));
}

function invoiceById(id) {
  return state.invoices.find((invoice) => invoice.id === id) || { id, number: id };
}

let printUrl = null;

async function printInvoice(invoice, base = '/billing/invoices') {
  const opener = document.activeElement;
  const blob = await fetchBlob(`${base}/${encodeURIComponent(invoice.id)}/print`, 'text/html');
  if (printUrl) URL.revokeObjectURL(printUrl);
  printUrl = URL.createObjectURL(new Blob([blob], { type: 'text/html' }));
  let frame = $('#print-frame');
  if (frame) frame.remove();
  // Same origin (blob:) so that we may call print(); sandboxed without scripts.
  frame = el('iframe', {
    id: 'print-frame',
    class: 'print-frame',
    title: t('invoice.title', { number: invoice.number }),
    sandbox: 'allow-same-origin allow-modals',
    tabindex: '-1',
    'aria-hidden': 'true',
    dataset: { invoice: invoice.number },
  });
  frame.addEventListener(
    'load',
    () => {
      frame.dataset.loaded = 'true';
      announce(t('invoices.printing', { number: invoice.number }));
      try {
        frame.contentWindow.print();
      } catch {
        window.open(printUrl, '_blank', 'noopener');
      }
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    },
    { once: true },
  );
  frame.src = printUrl;
  document.body.append(frame);
}

let pdfUrl = null;

async function downloadPdf(invoice, base = '/billing/invoices') {
  const blob = await fetchBlob(`${base}/${encodeURIComponent(invoice.id)}/pdf`, 'application/pdf');
  if (pdfUrl) URL.revokeObjectURL(pdfUrl);
  pdfUrl = URL.createObjectURL(new Blob([blob], { type: 'application/pdf' }));
  const link = el('a', { href: pdfUrl, download: `${invoice.number}.pdf`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  announce(t('invoices.downloaded', { number: invoice.number }));
}

/** Print or save an invoice (or, with ``base``, a credit note: /billing/credit-notes). */
export async function documentAction(kind, invoice, errorBox, base = '/billing/invoices') {
  show(errorBox, false);
  try {
    if (kind === 'print') await printInvoice(invoice, base);
    else await downloadPdf(invoice, base);
  } catch (error) {
    if (error.status === 401) return;
    showError(null, errorBox, error);
  }
}

async function viewInvoice(id, opener) {
  const dialog = $('#invoice-dialog');
  const summary = invoiceById(id);
  dialog.dataset.id = id;
  setText('#invoice-title', t('invoice.title', { number: summary.number }));
  show('#invoice-body', false);
  show('#invoice-error', false);
  show('#invoice-loading', true);
  openDialog(dialog, opener);
  try {
    const invoice = await get(`/billing/invoices/${encodeURIComponent(id)}`);
    renderInvoice(invoice);
    show('#invoice-body', true);
  } catch (error) {
    if (error.status === 401) return;
    showError(null, $('#invoice-error'), error);
  } finally {
    show('#invoice-loading', false);
  }
}

function partyLines(party) {
  if (!party) return [];
  const lines = party.address ? addressLines(party.address) : [party.name];
  if (party.vat_id) lines.push(t('invoice.vatId', { id: party.vat_id }));
  return lines;
}

function renderInvoice(invoice) {
  const money = (amount) => formatMoney(amount, invoice.currency);
  setText('#invoice-title', t('invoice.title', { number: invoice.number }));
  setText('#invoice-issued', formatDate(invoice.issued_at));
  setText('#invoice-period', `${formatDate(invoice.period_start)} – ${formatDate(invoice.period_end)}`);
  setText('#invoice-status', t(`invoice.status.${invoice.status}`));
  setLines('#invoice-seller', partyLines(invoice.seller));
  setLines('#invoice-customer', partyLines(invoice.customer));
  $('#invoice-lines').replaceChildren(
    ...invoice.lines.map((line) =>
      el(
        'tr',
        {},
        el('td', {}, line.description),
        el('td', { class: 'num' }, String(line.quantity)),
        el('td', { class: 'num' }, money(line.unit_amount)),
        el('td', { class: 'num' }, money(line.amount)),
      ),
    ),
  );
  const total = (label, amount, cls) =>
    el(
      'tr',
      { class: cls || null },
      el('th', { scope: 'row', colspan: '3', class: 'num' }, label),
      el('td', { class: 'num' }, money(amount)),
    );
  const tax = invoice.tax || { rate: 0, amount: 0 };
  $('#invoice-totals').replaceChildren(
    total(t('invoice.subtotal'), invoice.subtotal),
    total(t('invoice.tax', { rate: tax.rate }), tax.amount),
    total(t('invoice.total'), invoice.total, 'grand'),
  );
  setText('#invoice-mention', tax.mention || '');
  show('#invoice-mention', Boolean(tax.mention));
  const transactions = invoice.transactions || [];
  $('#invoice-transactions').replaceChildren(
    ...(transactions.length
      ? transactions.map((tx) =>
          el(
            'li',
            { class: `tx ${tx.status}` },
            el('span', { class: 'tx-date' }, formatDateTime(tx.at)),
            el(
              'span',
              { class: 'tx-card' },
              tx.card && tx.card.last4
                ? t('invoice.tx.card', { brand: brandName(tx.card.brand), last4: tx.card.last4 })
                : '',
            ),
            el('span', { class: 'tx-amount' }, money(tx.amount)),
            el('span', { class: `badge ${tx.status}` }, t(`invoice.tx.${tx.status}`)),
            tx.failure ? el('span', { class: 'tx-failure' }, tx.failure.message) : null,
          ),
        )
      : [el('li', {}, t('invoice.noTransactions'))]),
  );
}

function setupInvoices() {
  $('#invoices-body').addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    const { action, id } = button.dataset;
    if (action === 'view') viewInvoice(id, button);
    else documentAction(action, invoiceById(id), $('#invoices-error'));
  });
  $('#invoices-more').addEventListener('click', () => loadInvoices(true));
  $('#invoice-print').addEventListener('click', () =>
    documentAction('print', invoiceById($('#invoice-dialog').dataset.id), $('#invoice-error')),
  );
  $('#invoice-pdf').addEventListener('click', () =>
    documentAction('pdf', invoiceById($('#invoice-dialog').dataset.id), $('#invoice-error')),
  );
}

// --- the card dialog ------------------------------------------------------------------------------
function fillExpirySelects(card) {
  const month = $('#card-exp-month');
  month.replaceChildren(
    ...Array.from({ length: 12 }, (_, index) => {
      const value = String(index + 1);
      return el('option', { value }, value.padStart(2, '0'));
    }),
  );
  const year = $('#card-exp-year');
  const first = new Date().getUTCFullYear();
  const years = Array.from({ length: 21 }, (_, index) => first + index);
  if (card && !years.includes(card.exp_year)) years.unshift(card.exp_year);
  year.replaceChildren(...years.map((value) => el('option', { value: String(value) }, String(value))));
  if (card) {
    month.value = String(card.exp_month);
    year.value = String(card.exp_year);
  }
}

/** Open "Edit credit card details"; ``pending``: with "Apply pending charges". */
export async function openCardDialog(opener, { pending = false } = {}) {
  const dialog = $('#card-dialog');
  state.pendingMode = pending;
  if (!state.billing) {
    try {
      state.billing = await get('/billing');
    } catch {
      return;
    }
  }
  const card = state.billing.card;
  clearErrors($('#card-edit-form'), $('#card-error'));
  setText('#card-status', '');
  show('#card-apply-pending', pending);
  // Settling is what the pending pop-up is for: "Apply pending charges" leads, "Save" follows.
  $('#card-apply-pending').className = pending ? 'primary' : 'secondary';
  $('#card-edit-save').className = pending ? 'secondary' : 'primary';
  await countries().catch(() => []);
  fillCountrySelect($('#card-country'), state.countries[language()] || [], card && card.country);
  if (card) {
    say('#card-current', 'card.current', { brand: brandName(card.brand), last4: card.last4 });
    fillExpirySelects(card);
    $('#card-name').value = card.name || '';
    $('#card-postal-code').value = card.postal_code || '';
    $('#card-line1').value = card.line1 || '';
    $('#card-city').value = card.city || '';
  }
  showCardPanel(card ? 'edit' : 'new');
  openDialog(dialog, opener);
  if (!card) startNewCard();
}

function showCardPanel(panel) {
  show('#card-edit-form', panel === 'edit');
  show('#card-new-form', panel === 'new');
  const hasCard = Boolean(state.billing && state.billing.card);
  show('#card-new-back', hasCard);
}

async function startNewCard() {
  const form = $('#card-new-form');
  clearErrors(form, $('#card-error'));
  showCardPanel('new');
  const account = session.account() || {};
  const card = state.billing && state.billing.card;
  $('#card-new-name').value = (card && card.name) || account.name || '';
  show('#card-element-loading', true);
  $('#card-new-save').disabled = true;
  stopNewCard();
  try {
    state.mounted = await mountCard($('#card-element'));
    $('#card-new-save').disabled = false;
    focusFirst($('#card-element'));
  } catch {
    showError(null, $('#card-error'), { message: t('card.stripeUnavailable') });
  } finally {
    show('#card-element-loading', false);
  }
}

/** What Stripe.js said of the typed card, in the page's language: next to the field it is
 *  about (the embedded Stripe's input, or Stripe's Element as a whole), else in the alert. */
function showCardRefused(error, alertBox) {
  const element = $('#card-element');
  const input = error.field ? element.querySelector(`input[data-field="${error.field}"]`) : null;
  if (error.field) {
    const target = input || element;
    setFieldError(target, error.key ? { key: error.key } : error.text);
    if (input) input.focus();
    return;
  }
  if (error.key) {
    alertBox.replaceChildren(say(el('p'), error.key));
    alertBox.hidden = false;
  } else {
    showError(null, alertBox, error);
  }
}

function stopNewCard() {
  if (state.mounted) {
    state.mounted.destroy();
    state.mounted = null;
  }
}

function cardChanges(card) {
  const values = formValues($('#card-edit-form'));
  const changes = {};
  const month = Number(values.exp_month);
  const year = Number(values.exp_year);
  if (month !== card.exp_month) changes.exp_month = month;
  if (year !== card.exp_year) changes.exp_year = year;
  if (values.name && values.name !== (card.name || '')) changes.name = values.name;
  if (values.postal_code && values.postal_code !== (card.postal_code || ''))
    changes.postal_code = values.postal_code;
  if (values.country && values.country !== (card.country || '')) changes.country = values.country;
  if (values.line1 && values.line1 !== (card.line1 || '')) changes.line1 = values.line1;
  if (values.city && values.city !== (card.city || '')) changes.city = values.city;
  return changes;
}

function afterCardSaved(card) {
  state.billing.card = card;
  renderBilling();
  say('#card-current', 'card.current', { brand: brandName(card.brand), last4: card.last4 });
}

function setupCardDialog({ onPendingSettled }) {
  const dialog = $('#card-dialog');
  const editForm = $('#card-edit-form');
  const newForm = $('#card-new-form');
  const alertBox = $('#card-error');
  const status = $('#card-status');

  $('#open-card').addEventListener('click', (event) => openCardDialog(event.currentTarget));
  $('#billing-pending-card').addEventListener('click', (event) =>
    openCardDialog(event.currentTarget, { pending: true }),
  );
  $('#card-new-open').addEventListener('click', () => {
    setText(status, '');
    startNewCard();
  });
  $('#card-new-back').addEventListener('click', () => {
    stopNewCard();
    clearErrors(newForm, alertBox);
    showCardPanel('edit');
    $('#card-new-open').focus();
  });
  dialog.addEventListener('close', stopNewCard);

  editForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(editForm, alertBox);
    setText(status, '');
    const changes = cardChanges(state.billing.card);
    if (!Object.keys(changes).length) {
      say(status, 'card.nothing');
      return;
    }
    await busy(editForm, async () => {
      try {
        const { data } = await api('PATCH', '/billing/card', { body: changes });
        afterCardSaved(data);
        fillExpirySelects(data);
        $('#card-line1').value = data.line1 || '';
        $('#card-city').value = data.city || '';
        say(status, 'card.saved');
      } catch (error) {
        if (error.status === 401) return;
        showError(editForm, alertBox, error);
      }
    });
  });

  newForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(newForm, alertBox);
    setText(status, '');
    if (!state.mounted) return;
    await busy(newForm, async () => {
      let paymentMethodId;
      let setup;
      try {
        ({ data: setup } = await api('POST', '/billing/card/setup-intent'));
      } catch (error) {
        if (error.status === 401) return;
        showError(newForm, alertBox, error);
        return;
      }
      try {
        const name = $('#card-new-name').value.trim();
        paymentMethodId = await confirmCardSetup(state.mounted, setup.client_secret, name ? { name } : {});
      } catch (error) {
        if (error instanceof CardRefused) showCardRefused(error, alertBox);
        else showError(null, alertBox, { message: t('card.stripeUnavailable') });
        return;
      }
      try {
        const { data } = await api('PUT', '/billing/card', { body: { payment_method_id: paymentMethodId } });
        const { pending_payment: pendingAfter, ...card } = data;
        afterCardSaved(card);
        stopNewCard();
        fillExpirySelects(card);
        $('#card-name').value = card.name || '';
        $('#card-postal-code').value = card.postal_code || '';
        $('#card-line1').value = card.line1 || '';
        $('#card-city').value = card.city || '';
        showCardPanel('edit');
        let message = 'card.newSaved';
        if ('pending_payment' in data) {
          if (pendingAfter) message = 'pending.stillDue';
          else if (state.pendingMode || state.billing.pending_payment) {
            message = 'pending.paid';
            onPendingSettled();
          }
        }
        say(status, message);
        $('#card-new-open').focus();
        loadBilling();
      } catch (error) {
        if (error.status === 401) return;
        showError(newForm, alertBox, error);
      }
    });
  });

  $('#card-apply-pending').addEventListener('click', async () => {
    clearErrors(editForm, alertBox);
    setText(status, '');
    await busy(editForm, () => applyPendingCharges({ alertBox, status }));
  });
}

// --- the billing address dialog -------------------------------------------------------------------
function setupAddressDialog() {
  const dialog = $('#address-dialog');
  const form = $('#address-form');
  const alertBox = $('#address-error');
  $('#open-address').addEventListener('click', async (event) => {
    const opener = event.currentTarget;
    form.reset();
    clearErrors(form, alertBox);
    const list = await countries().catch(() => []);
    const account = session.account() || {};
    const address = (state.billing && state.billing.billing_address) || {};
    fillCountrySelect($('#address-country'), list, address.country || account.country);
    $('#address-name').value = address.name || account.name || '';
    $('#address-line1').value = address.line1 || '';
    $('#address-line2').value = address.line2 || '';
    $('#address-city').value = address.city || '';
    $('#address-postal-code').value = address.postal_code || '';
    $('#address-state').value = address.state || '';
    openDialog(dialog, opener);
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form, alertBox);
    if (!checkRequired(form)) return;
    const values = formValues(form);
    const body = {
      name: values.name,
      line1: values.line1,
      city: values.city,
      postal_code: values.postal_code,
      country: values.country,
    };
    if (values.line2) body.line2 = values.line2;
    if (values.state) body.state = values.state;
    await busy(form, async () => {
      try {
        const { data } = await api('PUT', '/billing/address', { body });
        state.billing = { ...state.billing, ...data };
        renderBilling();
        closeDialog(dialog);
        say('#billing-message', 'address.saved');
      } catch (error) {
        if (error.status === 401) return;
        showError(form, alertBox, error);
      }
    });
  });
}

export function setupBilling({ onPendingSettled }) {
  setupVat();
  setupSubscribe();
  setupPlanChange({
    changed: async (billing) => {
      state.billing = billing || (await get('/billing'));
      renderBilling();
      await loadInvoices();
    },
  });
  // The ended-trial banner's button: to the plans (or to the card first, when there is none).
  $('#account-trial-expired-go').addEventListener('click', () => {
    const target = state.billing && !state.billing.card ? $('#open-card') : $('#subscribe-panel');
    target.scrollIntoView({ block: 'center' });
    (target.matches('button') ? target : target.querySelector('input, button')).focus();
  });
  setupInvoices();
  setupCreditNotes();
  setupCardDialog({ onPendingSettled });
  setupCards({ onDefaultChanged: () => loadBilling() });
  setupAddressDialog();
  $('#billing-pending-pay').addEventListener('click', async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      await applyPendingCharges({ alertBox: $('#billing-error'), status: null });
    } finally {
      button.disabled = false;
    }
  });
}

/** After a language change: open dialogs show their data in the new language. */
export async function relabelBillingDialogs() {
  const invoiceDialog = $('#invoice-dialog');
  if (invoiceDialog.open && invoiceDialog.dataset.id) {
    try {
      renderInvoice(await get(`/billing/invoices/${encodeURIComponent(invoiceDialog.dataset.id)}`));
    } catch {
      // the dialog keeps the previous language
    }
  }
  const selects = ['#card-country', '#address-country'].filter((id) => $(id).closest('dialog').open);
  if (selects.length) {
    const list = await countries().catch(() => []);
    selects.forEach((id) => fillCountrySelect($(id), list, $(id).value));
  }
}
